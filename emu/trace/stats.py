"""Per-function cycle statistics of a trace (``ffa-emu trace --stats``).

For each function ID the guests called: how many calls, how many returned
an error, and min/median/max cycles of three spans:

- guest: what the guest sees, ``cycle_end - cycle_start`` of the call;
- el2: guest-side minus the time spent in the SPMC;
- spmc: from each ``el2->spmc`` hop's end to its ``spmc->el2`` hop's start
  (0 for a call the mediator answered itself).

The median of an even count is the lower middle value, so every figure is
a cycle count that occurred.

Where the records carry a breakdown (``cycles_by``), a second table shows
where a call's cycles go on average: EL1<->EL2 entry and exit, each kind of
EL2 work, EL3 (SMC entry/exit, world switch) and the SPMC's instructions.  The mediator's boot traffic is not a guest
call and is not counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import median_low

from emu.el2.smccc import decode_fid
from emu.trace.records import HOP_CALL, HOP_FROM_SPMC, HOP_TO_SPMC, TraceRecord, group_calls


@dataclass
class FunctionStats:
    fid: int
    name: str
    count: int = 0
    errors: int = 0
    guest: list[int] = field(default_factory=list)
    el2: list[int] = field(default_factory=list)
    spmc: list[int] = field(default_factory=list)
    cycles_by: dict[str, int] = field(default_factory=dict)  # summed over the calls


def spmc_cycles(group: list[TraceRecord]) -> int:
    """Cycles the secure world ran for one call (every forwarded hop pair)."""
    to_spmc = [r for r in group if r.hop == HOP_TO_SPMC]
    from_spmc = [r for r in group if r.hop == HOP_FROM_SPMC]
    return sum(back.cycle_start - out.cycle_end for out, back in zip(to_spmc, from_spmc))


def function_stats(records: Iterable[TraceRecord]) -> list[FunctionStats]:
    """One entry per function ID (SVE hint masked), in function ID order."""
    table: dict[int, FunctionStats] = {}
    for group in group_calls(records):
        call = group[0]
        if call.hop != HOP_CALL:
            continue
        fid = decode_fid(call.fid).value
        stats = table.setdefault(fid, FunctionStats(fid, call.name))
        guest = call.cycle_end - call.cycle_start
        spmc = spmc_cycles(group)
        stats.count += 1
        stats.errors += call.error is not None
        stats.guest.append(guest)
        stats.el2.append(guest - spmc)
        stats.spmc.append(spmc)
        for key, cycles in (call.cycles_by or {}).items():
            stats.cycles_by[key] = stats.cycles_by.get(key, 0) + cycles
    return [table[fid] for fid in sorted(table)]


def _span(values: list[int]) -> str:
    return f"{min(values)}/{median_low(values)}/{max(values)}"


def render_stats(rows: list[FunctionStats]) -> str:
    """A fixed-width table; spans are min/median/max cycles.  Then the breakdown, if the trace has one."""
    header = ("function", "fid", "count", "errors", "guest min/med/max", "el2 min/med/max", "spmc min/med/max")
    text = _table([header] + [(r.name, f"{r.fid:#010x}", str(r.count), str(r.errors), _span(r.guest),
                               _span(r.el2), _span(r.spmc)) for r in rows])
    keys = sorted({key for r in rows for key in r.cycles_by}, key=_component_order)
    if not keys:
        return text
    lines = [("function", *keys)] + [(r.name, *(str(r.cycles_by.get(key, 0) // r.count) for key in keys))
                                     for r in rows]
    return text + "\nwhere the cycles go (mean cycles per call):\n" + _table(lines, left=1)


def _component_order(key: str) -> tuple[int, str]:
    """el2.* (entry/exit first), then el3.*, then the SPMC."""
    return ({"el2.entry_exit": 0}.get(key, 1 if key.startswith("el2.") else 2 if key.startswith("el3.") else 3),
            key)


def _table(lines: list[tuple[str, ...]], left: int = 2) -> str:
    """Columns padded to their widest cell: the first ``left`` flush left, the rest flush right."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line[:left], widths)]
        cells += [cell.rjust(width) for cell, width in zip(line[left:], widths[left:])]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out) + "\n"
