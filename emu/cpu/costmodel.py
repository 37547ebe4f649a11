"""The deterministic cycle cost model: instruction classes and transition costs.

Instructions are classified by mnemonic with capstone, once per basic block
(see ``blockcost``); the figures come from one TOML data file that notes the
source of each number.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs

INSTRUCTION_CLASSES = (
    "alu", "multiply", "divide", "load", "store", "load_pair", "store_pair", "branch",
    "fp_simd", "system", "barrier", "exception", "hint",
)
TRANSITIONS = (
    "el1_to_el2", "el2_to_el1", "el2_handler", "el2_copy_per_64_bytes",
    "el2_to_el3", "el3_world_switch", "el3_to_el2",
)


class CostModelError(Exception):
    """A cost model file that cannot be used, with a one-line reason."""


DEFAULT_CORE_HZ = 2_000_000_000


@dataclass(frozen=True)
class CostModel:
    name: str
    instruction: dict[str, int]
    transition: dict[str, int]
    source: str
    core_hz: int = DEFAULT_CORE_HZ  # cycles per second, for the generic timer

    def copy_cost(self, nbytes: int) -> int:
        """Cycles the mediator spends copying ``nbytes`` between buffers."""
        return (nbytes + 63) // 64 * self.transition["el2_copy_per_64_bytes"]


DEFAULT_MODEL_NAME = "cost_model.toml"


def load_cost_model(path: str | Path | None = None) -> CostModel:
    """Load a cost model file; ``None`` loads the packaged default."""
    if path is None:
        text = resources.files("emu.data").joinpath(DEFAULT_MODEL_NAME).read_text()
        source = f"<default {DEFAULT_MODEL_NAME}>"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CostModelError(f"{path}: cannot read cost model: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CostModelError(f"{path}: not valid TOML: not UTF-8 text") from None
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CostModelError(f"{source}: not valid TOML: {exc}") from None
    meta = data.get("model", {})
    if not isinstance(meta, dict):
        raise CostModelError(f"{source}: model must be a [model] table")
    return CostModel(
        name=str(meta.get("name", source)),
        instruction=_table(data, "instruction", INSTRUCTION_CLASSES, source),
        transition=_table(data, "transition", TRANSITIONS, source),
        source=source,
        core_hz=_core_hz(meta, source),
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


_LOAD_PAIR = ("ldp", "ldnp", "ldpsw", "ldxp", "ldaxp")
_STORE_PAIR = ("stp", "stnp", "stxp", "stlxp")
_BRANCHES = frozenset(("b", "bl", "br", "blr", "ret", "cbz", "cbnz", "tbz", "tbnz", "braa", "brab", "braaz",
                       "brabz", "blraa", "blrab", "blraaz", "blrabz", "retaa", "retab"))
_MULTIPLY = frozenset(("mul", "madd", "msub", "mneg", "smull", "umull", "smulh", "umulh", "smaddl",
                       "umaddl", "smsubl", "umsubl", "smnegl", "umnegl"))
_DIVIDE = frozenset(("sdiv", "udiv"))
_SYSTEM = frozenset(("mrs", "msr", "sys", "sysl", "at", "tlbi", "ic", "dc"))
_BARRIER = frozenset(("dmb", "dsb", "isb", "sb", "ssbb", "pssbb"))
_EXCEPTION = frozenset(("hvc", "smc", "svc", "brk", "hlt", "eret", "eretaa", "eretab", "udf"))
_HINT = frozenset(("nop", "yield", "wfi", "wfe", "sev", "sevl", "hint", "pacia", "autia", "bti",
                   "paciasp", "autiasp", "pacibsp", "autibsp", "paciaz", "autiaz", "pacibz", "autibz",
                   "xpaclri", "csdb"))
_SIMD_OPERAND = re.compile(r"[vqdshb]\d")


@cache
def classify(mnemonic: str, op_str: str = "") -> str:
    """The cost class of one instruction, from its capstone mnemonic."""
    m = mnemonic.lower()
    if m.startswith("b.") or m in _BRANCHES:
        return "branch"
    if m in _MULTIPLY:
        return "multiply"
    if m in _DIVIDE:
        return "divide"
    if m in _EXCEPTION:
        return "exception"
    if m in _SYSTEM:
        return "system"
    if m in _BARRIER:
        return "barrier"
    if m in _HINT:
        return "hint"
    if m.startswith(_LOAD_PAIR):
        return "load_pair"
    if m.startswith(_STORE_PAIR):
        return "store_pair"
    if m.startswith(("ld", "cas", "swp", "prf")):
        return "load"
    if m.startswith("st"):
        return "store"
    if m.startswith(("f", "scvtf", "ucvtf")) or _SIMD_OPERAND.match(op_str):
        return "fp_simd"
    return "alu"


class BlockClassifier:
    """Turns a basic block's bytes into per-instruction cycle costs."""

    def __init__(self, model: CostModel) -> None:
        self.model = model
        self._cs = Cs(CS_ARCH_ARM64, CS_MODE_ARM)

    def instruction_costs(self, address: int, code: bytes) -> list[int]:
        """One cost per 4-byte instruction slot; undecodable words count as ALU."""
        table = self.model.instruction
        size = len(code) // 4 * 4
        costs = [table["alu"]] * (size // 4)
        pos = 0
        while pos < size:  # capstone stops at an undecodable word: skip it and go on
            end = pos
            for insn_addr, insn_size, mnemonic, op_str in self._cs.disasm_lite(code[pos:size], address + pos):
                costs[(insn_addr - address) // 4] = table[classify(mnemonic, op_str)]
                end = insn_addr - address + insn_size
            pos = end + 4 if end < size else end
        return costs
