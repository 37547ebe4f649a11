"""The deterministic cycle cost model: instruction classes and transition costs.

Instructions are classified by mnemonic with capstone, once per new word or
basic block (see ``blockcost``; the native hook tells the common words' class
from their bits, ``wordclass``); the figures come from one TOML data file that
notes the source of each number.  capstone's library is loaded when a word first
needs it (``disassembler.lite_disassembler``, without the capstone package): a
run whose words the native hook can all tell never loads it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from emu import tomlcache
from emu.cpu.disassembler import lite_disassembler
from emu.cpu.iclass import INSTRUCTION_CLASSES, classify

if TYPE_CHECKING:
    from emu.cpu.pipeline import CoreTiming

__all__ = ["INSTRUCTION_CLASSES", "TRANSITIONS", "EL2_WORK", "CPUS", "BlockClassifier", "CostModel",
           "CostModelError", "classify", "load_cost_model", "load_cpu_model"]

TRANSITIONS = (
    "el1_to_el2", "el2_to_el1", "el2_handler", "el2_copy_per_64_bytes",
    "el2_to_el3", "el3_world_switch", "el3_to_el2",
)
# Work the EL2 mediator does per unit (a page, a constituent, a call): a core model's [el2_work] table.
EL2_WORK = (
    "ffa_call", "memory_transaction", "constituent", "translate_page", "map_page", "unmap_page",
    "tlb_invalidate",
)
# --cpu names: each is a core model file in emu/data, scheduled per block (see emu.cpu.scheduler).
CPUS = ("cortex-a72", "neoverse-n1", "cortex-a55")


class CostModelError(Exception):
    """A cost model file that cannot be used, with a one-line reason."""


DEFAULT_CORE_HZ = 2_000_000_000


@dataclass(frozen=True)
class CostModel:
    """Cycles per instruction class, per EL transition and per unit of EL2 work."""

    name: str
    instruction: dict[str, int]
    transition: dict[str, int]
    source: str
    core_hz: int = DEFAULT_CORE_HZ  # cycles per second, for the generic timer
    core: CoreTiming | None = None  # a pipeline to schedule blocks on; None: sum per-class cycles
    el2_work: dict[str, int] = field(default_factory=dict)  # EL2 cycles per unit of work; absent: free
    platform: str = ""  # where the EL3 figures were measured

    def copy_cost(self, nbytes: int) -> int:
        """Cycles the mediator spends copying ``nbytes`` between buffers."""
        return (nbytes + 63) // 64 * self.transition["el2_copy_per_64_bytes"]

    def work_cost(self, kind: str, units: int = 1) -> int:
        """Cycles EL2 spends on ``units`` of ``kind`` (one of ``EL2_WORK``); 0 in a model without the table."""
        if kind not in EL2_WORK:
            raise KeyError(f"unknown EL2 work kind {kind!r}")
        return self.el2_work.get(kind, 0) * units


DEFAULT_MODEL_NAME = "cost_model.toml"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"  # the package's files, as the firmware finds spmc.elf


def load_cpu_model(cpu: str) -> CostModel:
    """The packaged core model for ``--cpu`` (one of ``CPUS``)."""
    if cpu not in CPUS:
        raise CostModelError(f"unknown cpu {cpu!r} (one of {', '.join(CPUS)})")
    return _packaged(f"{cpu}.toml")


@cache
def _packaged(name: str) -> CostModel:
    return _model(tomlcache.load(DATA_DIR / name), f"<packaged {name}>")  # parsed once, not at every start


def load_cost_model(path: str | Path | None = None) -> CostModel:
    """Load a cost model file; ``None`` loads the packaged default."""
    if path is None:
        return _packaged(DEFAULT_MODEL_NAME)
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CostModelError(f"{path}: cannot read cost model: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CostModelError(f"{path}: not valid TOML: not UTF-8 text") from None
        source = str(path)
    return _parse(text, source)


def _parse(text: str, source: str) -> CostModel:
    import tomllib  # a cost model file of the user's: the packaged ones are read through tomlcache

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CostModelError(f"{source}: not valid TOML: {exc}") from None
    return _model(data, source)


def _model(data: dict, source: str) -> CostModel:
    meta = data.get("model", {})
    if not isinstance(meta, dict):
        raise CostModelError(f"{source}: model must be a [model] table")
    name = str(meta.get("name", source))
    core = None
    if "pipeline" in data:
        from emu.cpu.pipeline import PipelineError, parse_core  # a core model (--cpu) only

        if not isinstance(data["pipeline"], dict) or not isinstance(data.get("instruction"), dict):
            raise CostModelError(f"{source}: pipeline and instruction must be tables")
        try:
            core = parse_core(name, data["pipeline"], data["instruction"])
        except PipelineError as exc:
            raise CostModelError(f"{source}: {exc}") from None
        instruction = {cls: core.timing[cls].latency for cls in INSTRUCTION_CLASSES}
    else:
        instruction = _table(data, "instruction", INSTRUCTION_CLASSES, source)
    return CostModel(
        name=name,
        instruction=instruction,
        transition=_table(data, "transition", TRANSITIONS, source),
        source=source,
        core_hz=_core_hz(meta, source),
        core=core,
        el2_work=_table(data, "el2_work", EL2_WORK, source) if "el2_work" in data else {},
        platform=str(meta.get("platform", "")),
    )


def _core_hz(meta: dict, source: str) -> int:
    value = meta.get("core_hz", DEFAULT_CORE_HZ)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise CostModelError(f"{source}: model.core_hz must be a positive integer (Hz)")
    return value


def _table(data: dict, section: str, keys: tuple[str, ...], source: str) -> dict[str, int]:
    table = data.get(section)
    if not isinstance(table, dict):
        raise CostModelError(f"{source}: missing [{section}] table")
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise CostModelError(f"{source}: unknown key {section}.{unknown[0]}")
    out = {}
    for key in keys:
        entry = table.get(key)
        if entry is None:
            raise CostModelError(f"{source}: missing key {section}.{key}")
        cycles = entry.get("cycles") if isinstance(entry, dict) else entry
        if not isinstance(cycles, int) or isinstance(cycles, bool) or cycles < 0:
            raise CostModelError(f"{source}: {section}.{key} must be a non-negative integer cycle count")
        out[key] = cycles
    return out


_WORD_CACHE_LIMIT = 1 << 20  # distinct instruction words remembered (a few tens of MiB at most)


class BlockClassifier:
    """Turns a basic block's bytes into per-instruction cycle costs.

    With a core model (``model.core``) the block is scheduled on that core's
    pipeline (``emu.cpu.scheduler``) and costs are fractions of a cycle;
    otherwise each instruction costs its class's whole cycles.
    """

    def __init__(self, model: CostModel) -> None:
        self.model = model
        self._decoder = None
        if model.core is not None:
            from emu.cpu import scheduler  # capstone with operand detail: loaded for a core model only

            self._scheduler = scheduler
            self._decoder = scheduler.BlockDecoder()
        self._scheduled: dict[bytes, list[float]] = {}  # code -> costs: identical code schedules alike
        # instruction word -> its class's cost: a class depends on the word alone (mnemonic and registers,
        # never the address), so a word seen in one block costs nothing to classify in the next
        self._word_costs: dict[int, int] = {}

    @property
    def costs_per_word(self) -> bool:
        """Each instruction's cost depends on its word alone (no pipeline schedules a block as a whole)."""
        return self._decoder is None

    def instruction_costs(self, address: int, code: bytes) -> list[int] | list[float]:
        """One cost per 4-byte instruction slot; undecodable words count as ALU."""
        if self._decoder is not None:
            return self._schedule(address, code)
        size = len(code) // 4 * 4
        return self.word_costs(struct.unpack(f"<{size // 4}I", code[:size]))

    def word_costs(self, words: Sequence[int]) -> list[int]:
        """Each instruction word's class cost, by itself (``costs_per_word`` models only)."""
        known = self._word_costs
        costs = [known.get(word) for word in words]
        if None not in costs:
            return costs
        new = list(dict.fromkeys(word for word, cost in zip(words, costs) if cost is None))
        learned = dict(zip(new, self._class_costs(new)))
        if len(known) < _WORD_CACHE_LIMIT:
            known.update(learned)
        return [learned[word] if cost is None else cost for word, cost in zip(words, costs)]

    def _class_costs(self, words: list[int]) -> list[int]:
        """Each word's class cost, the words disassembled side by side (a class never depends on the address)."""
        table = self.model.instruction
        code = struct.pack(f"<{len(words)}I", *words)
        costs = [table["alu"]] * len(words)
        pos = 0
        while pos < len(code):  # capstone stops at an undecodable word: skip it and go on
            end = pos
            for insn_addr, insn_size, mnemonic, op_str in lite_disassembler().disasm_lite(code[pos:], pos):
                costs[insn_addr // 4] = table[classify(mnemonic, op_str)]
                end = insn_addr + insn_size
            pos = end + 4 if end < len(code) else end
        return costs

    def _schedule(self, address: int, code: bytes) -> list[float]:
        costs = self._scheduled.get(code)
        if costs is None:
            ops = self._decoder.decode(address, code)
            costs = self._scheduled[code] = self._scheduler.schedule(ops, self.model.core)
        return costs
