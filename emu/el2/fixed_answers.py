"""Calls with a fixed answer, answered by the native trap hook and traced as the Python path traces them.

SMCCC_VERSION, PSCI_VERSION, the CPU workaround queries...: a guest may
make them in a loop, and their answer, their cost and their trace record
depend on nothing but the calling site and the frame.  Once the Python trap
path has answered one from a site (VM engine, conduit, x0, PC, instruction
word), the site is taught to the engine's native trap hook
(``NativeTrapEntry.answer_here``), which from then on writes the answer,
moves the clock and logs the call without calling Python.  The log comes
back (``FixedAnswerLog``) before Python sees that engine's next exception
and at the end of each run: the calls then get their sequence numbers, the
EL2 account its cycles, and a kept trace the records, made only when it is
read (``Trace.keep_later``), from the sites' descriptions here.

Only while no one must see each call as it happens: no trace sink or
annotator, no invariant checker (the hypervisor forgets every site when
that changes).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NamedTuple

from emu.cpu.trapentry import LOG_ENTRY, FixedAnswerLog, NativeTrapEntry


_ENTRY_SIZE = struct.calcsize(LOG_ENTRY)


class Site(NamedTuple):
    """A calling site taught to a trap hook: what its calls' records hold besides the frame and the clock."""

    vm_name: str
    conduit: str
    route: object  # the hypervisor's route of the function ID
    name: Callable[[], str | None] | None  # names the calling site (see SiteNamer)
    note: str | None
    breakdown: dict[str, int]  # the call's cycles by kind
    cycles: int


# What a call's record is made of (the hypervisor's), from: (site, frame as the guest left it, sequence number,
# clock at entry)
Describe = Callable[[Site, list[int], int, int], tuple]


class FixedAnswers:
    """The sites taught to the trap hooks of every engine, and the calls they answered."""

    def __init__(self, clock_address: int, describe: Describe) -> None:
        self._clock = clock_address
        self._describe = describe
        self._sites: list[Site] = []
        self._taught: set[tuple] = set()  # (entry id, intno, x0, pc, insn) of every site taught
        self._entries: dict[int, NativeTrapEntry] = {}  # id -> every entry taught a site
        # The entries whose hook holds no more sites: not asked again, so that a guest calling from ever new
        # sites (x0's ignored upper half, for one) makes nothing here grow.
        self._full: set[int] = set()

    def teach(self, entry: NativeTrapEntry, intno: int, x0: int, pc: int, insn: int, answer: list[int],
              site: Site) -> None:
        """Let ``entry`` answer this site from now on (a hook that refused a site is not asked again)."""
        key = (id(entry), intno, x0, pc, insn)
        if key in self._taught or id(entry) in self._full:
            return
        if not entry.answer_here(self._clock, intno, x0, pc, insn, len(self._sites), answer, site.cycles):
            self._full.add(id(entry))
            return
        self._taught.add(key)
        self._sites.append(site)
        self._entries[id(entry)] = entry

    def forget(self) -> None:
        """Every call goes to Python again (the hooks' logs are handed over first)."""
        for entry in self._entries.values():
            entry.forget_answers()
        self._entries.clear()
        self._taught.clear()
        self._full.clear()
        self._sites = []  # a log taken before still reads the list it was numbered against (see calls_later)

    def calls_later(self, log: FixedAnswerLog, first_seq: int) -> Callable[[], list[tuple]]:
        """What makes the record's arguments (``Describe``) for each call of ``log``, numbered from ``first_seq``."""
        sites, describe = self._sites, self._describe
        return lambda: [describe(sites[index], frame, seq, start) for seq, (start, index, *frame)
                        in enumerate(struct.iter_unpack(LOG_ENTRY, log.entries), first_seq)]

    def last_call(self, log: FixedAnswerLog, first_seq: int) -> tuple:
        """The record's arguments (``Describe``) for the last call of ``log``."""
        start, index, *frame = struct.unpack_from(LOG_ENTRY, log.entries, (log.count - 1) * _ENTRY_SIZE)
        return self._describe(self._sites[index], frame, first_seq + log.count - 1, start)
