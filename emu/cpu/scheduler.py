"""Block scheduling for a core model: what a basic block costs in steady state.

A block is decoded once (capstone, with operand detail) into operations:
their cost class and the registers and NZCV flags they read and write.  A
list scheduler then runs the block repeatedly, as a loop body would run,
through the core's front end (``issue_width`` instructions a cycle, in
order), its reorder window (out of order) or in-order issue, and its
execution pipelines (a reservation table: each pipeline takes ``count``
instructions a cycle, an instruction holds one for ``occupancy`` cycles).
An instruction issues once its source registers are ready, and its result
is ready ``latency`` cycles later (``alu_latency`` for an ALU consumer, where
the core forwards ALU results to ALU instructions sooner).  Loads and stores go through the
load/store pipelines; like llvm-mca by default, a load is not held back by
an older store (no aliasing).  Instructions retire in order.

The block's cost is how far retirement advances per repetition once the
schedule is steady: a dependency chain carried from one repetition to the
next costs its latency, independent work costs its issue or pipeline
bound.  Each instruction is charged its share of that (the advance of
retirement up to it), so a block cut short by a fault is charged its prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs
from capstone.arm64 import ARM64_OP_MEM, ARM64_OP_REG

from emu.cpu.iclass import classify, refine
from emu.cpu.pipeline import CoreTiming

MIN_REPETITIONS = 4
_ALU = frozenset(("alu", "alu_shift"))
FLAGS = "nzcv"
_COMPARES = frozenset(("cmp", "cmn", "tst"))  # capstone reports their first source as a destination
_FLAGLESS_BRANCHES = frozenset(("cbz", "cbnz", "tbz", "tbnz"))  # capstone reports them reading NZCV
_ZERO = frozenset(("xzr", "wzr"))
_GPR = re.compile(r"[wx](\d+)$")
_VREG = re.compile(r"[bhsdqvz](\d+)$")
_ALIASES = {"fp": "x29", "lr": "x30", "wsp": "sp"}


@dataclass(frozen=True, slots=True)
class Op:
    """One instruction as the scheduler sees it."""

    cls: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]  # ready ``latency`` cycles after issue
    updates: tuple[str, ...] = ()  # base registers written back: ready one cycle after issue


UNDECODABLE = Op("alu", (), ())


@cache
def _canonical(name: str) -> str | None:
    """One name per architectural register (w3 and x3 are x3; s1, d1, q1 and v1 are v1); None for XZR."""
    if name in _ZERO:
        return None
    name = _ALIASES.get(name, name)
    gpr = _GPR.match(name)
    if gpr:
        return f"x{gpr.group(1)}"
    vreg = _VREG.match(name)
    if vreg:
        return f"v{vreg.group(1)}"
    return name


class BlockDecoder:
    """Bytes of a basic block to ``Op``s (one per 4-byte slot)."""

    def __init__(self) -> None:
        self._cs = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
        self._cs.detail = True

    def decode(self, address: int, code: bytes) -> list[Op]:
        size = len(code) // 4 * 4
        ops = [UNDECODABLE] * (size // 4)
        pos = 0
        while pos < size:  # capstone stops at an undecodable word: skip it and go on
            end = pos
            for insn in self._cs.disasm(code[pos:size], address + pos):
                ops[(insn.address - address) // 4] = self._op(insn)
                end = insn.address - address + insn.size
            pos = end + 4 if end < size else end
        return ops

    def _op(self, insn) -> Op:
        name = self._cs.reg_name
        mnemonic = insn.mnemonic
        read_ids, write_ids = insn.regs_access()
        reads = {_canonical(name(r)) for r in read_ids}
        writes = {_canonical(name(r)) for r in write_ids}
        operands = insn.operands
        if mnemonic in _COMPARES:
            reads |= writes - {FLAGS}
            writes &= {FLAGS}
        if mnemonic in _FLAGLESS_BRANCHES:
            reads.discard(FLAGS)
        updates: set[str | None] = set()
        if insn.writeback:
            updates = {_canonical(name(o.mem.base)) for o in operands if o.type == ARM64_OP_MEM and o.mem.base}
            writes -= updates
        shifted = any(o.type == ARM64_OP_REG and (o.shift.value or o.ext) for o in operands)
        wide = bool(operands) and operands[0].type == ARM64_OP_REG and name(operands[0].reg).startswith("x")
        cls = refine(classify(mnemonic, insn.op_str), mnemonic, shifted, wide)
        return Op(cls, _names(reads), _names(writes), _names(updates))


def _names(regs: set[str | None]) -> tuple[str, ...]:
    return tuple(sorted(r for r in regs if r is not None))


class _Pipelines:
    """Reservation table: how many instructions each pipeline has taken in each cycle.

    A saturated pipeline fills its cycles from the start, so each unit also keeps the first cycle that is not
    yet full (``_open``): a search starts there at the earliest instead of walking every full cycle again
    (a block repeated on a busy load pipeline made that walk quadratic).
    """

    def __init__(self, core: CoreTiming) -> None:
        self._count = core.units
        self._busy: dict[str, dict[int, int]] = {unit: {} for unit in core.units}
        self._open = dict.fromkeys(core.units, 0)  # every cycle before it is full

    def earliest(self, unit: str, start: int, occupancy: int) -> int:
        """The first cycle >= start at which ``unit`` is free for ``occupancy`` cycles."""
        busy, cap = self._busy[unit], self._count[unit]
        t = max(start, self._open[unit])
        while True:
            for k in range(occupancy):
                if busy.get(t + k, 0) >= cap:
                    t = t + k + 1
                    break
            else:
                return t

    def take(self, unit: str, at: int, occupancy: int) -> None:
        busy, cap = self._busy[unit], self._count[unit]
        for k in range(occupancy):
            busy[at + k] = busy.get(at + k, 0) + 1
        first = self._open[unit]
        while busy.get(first, 0) >= cap:
            first += 1
        self._open[unit] = first


def schedule(ops: list[Op], core: CoreTiming) -> list[float]:
    """Steady-state cycles of each instruction of a block (they sum to the block's cost)."""
    n = len(ops)
    if n == 0:
        return []
    reps = max(MIN_REPETITIONS, -(-2 * core.window // n))
    retired = _simulate(ops * reps, core)
    ends = [retired[k * n - 1] if k else 0 for k in range(reps + 1)]
    last = reps // 2
    span = range(reps - last, reps)  # the steady second half of the repetitions
    cumulative = [sum(retired[k * n + i] - ends[k] for k in span) / last for i in range(n)]
    return [cumulative[0]] + [cumulative[i] - cumulative[i - 1] for i in range(1, n)]


def _simulate(stream: list[Op], core: CoreTiming) -> list[int]:
    """Retire cycle of each instruction of ``stream``, scheduled on ``core``."""
    timing, width, window, in_order = core.timing, core.issue_width, core.window, core.in_order
    pipes = _Pipelines(core)
    ready: dict[str, int] = {}  # register -> cycle its value is ready
    ready_alu: dict[str, int] = {}  # the same, as an ALU instruction sees it
    retired: list[int] = []
    front = 0  # cycle the front end is in, and how many it has sent this cycle
    sent = 0
    last_issue = 0  # in order: no instruction issues before an older one
    fence = 0  # a serializing instruction holds back everything younger until it completes
    last_retire = 0
    retiring = 0  # how many retired in last_retire's cycle
    for k, op in enumerate(stream):
        t_class = timing[op.cls]
        if not in_order and k >= window and retired[k - window] > front:
            front, sent = retired[k - window], 0  # the reorder buffer is full
        if sent == width:
            front, sent = front + 1, 0
        t = max(front, fence)
        seen = ready_alu if op.cls in _ALU else ready
        for reg in op.reads:
            t = max(t, seen.get(reg, 0))
        if t_class.serialize:
            t = max(t, last_retire)
        if in_order:
            t = max(t, last_issue)
        t = pipes.earliest(t_class.unit, t, t_class.occupancy)
        pipes.take(t_class.unit, t, t_class.occupancy)
        sent += 1
        if in_order:
            last_issue = t
            if t > front:
                front, sent = t, 1
        done = t + t_class.latency
        forwarded = done if t_class.alu_latency is None else t + t_class.alu_latency
        for reg in op.writes:
            ready[reg] = done
            ready_alu[reg] = forwarded
        for reg in op.updates:
            ready[reg] = ready_alu[reg] = t + 1
        if t_class.serialize:
            fence = done
        retire = max(done, last_retire)
        if retire == last_retire and retiring == width:
            retire += 1
        retiring = retiring + 1 if retire == last_retire else 1
        last_retire = retire
        retired.append(retire)
    return retired
