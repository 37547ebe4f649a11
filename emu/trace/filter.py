"""Selecting calls from a trace (``ffa-emu trace --vm/--name/--owner/--errors``).

Filters apply to whole calls: a selected call keeps its ``el2->spmc`` and
``spmc->el2`` hops.  The mediator's boot-time hops are calls of VM ``el2``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from emu.el2.smccc import decode_fid
from emu.trace.records import TraceRecord, group_calls


@dataclass(frozen=True)
class CallFilter:
    vms: tuple[str, ...] = ()  # any of these VMs (empty: every VM)
    names: tuple[str, ...] = ()  # glob patterns on the function name, e.g. "FFA_*"
    owners: tuple[int, ...] = ()  # SMCCC owner numbers (bits 29:24 of the function ID)
    errors: bool = False  # only calls where some hop returned an error

    def matches(self, group: list[TraceRecord]) -> bool:
        head = group[0]
        return ((not self.vms or head.vm in self.vms)
                and (not self.names or any(fnmatchcase(head.name, pattern) for pattern in self.names))
                and (not self.owners or decode_fid(head.fid).owner in self.owners)
                and (not self.errors or any(rec.error for rec in group)))


def select(records: Iterable[TraceRecord], keep: CallFilter) -> list[TraceRecord]:
    """The records of every call ``keep`` matches, in trace order."""
    return [rec for group in group_calls(records) if keep.matches(group) for rec in group]
