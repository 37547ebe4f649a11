"""Per-function cycle statistics of a trace (``ffa-emu trace --stats``).

For each function ID the guests called: how many calls, how many returned
an error, and min/median/max cycles of three spans:

- guest: what the guest sees, ``cycle_end - cycle_start`` of the call;
- el2: guest-side minus the time spent in the SPMC;
- spmc: from each ``el2->spmc`` hop's end to its ``spmc->el2`` hop's start
  (0 for a call the mediator answered itself).

The median of an even count is the lower middle value, so every figure is
a cycle count that occurred.  The mediator's boot traffic is not a guest
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
    return [table[fid] for fid in sorted(table)]


def _span(values: list[int]) -> str:
    return f"{min(values)}/{median_low(values)}/{max(values)}"


def render_stats(rows: list[FunctionStats]) -> str:
    """A fixed-width table; spans are min/median/max cycles."""
    header = ("function", "fid", "count", "errors", "guest min/med/max", "el2 min/med/max", "spmc min/med/max")
    lines = [header] + [(r.name, f"{r.fid:#010x}", str(r.count), str(r.errors), _span(r.guest), _span(r.el2),
                         _span(r.spmc)) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for line in lines:
        cells = [line[0].ljust(widths[0]), line[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(line[2:], widths[2:])]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out) + "\n"
