"""Ownership of VM memory in transactions: which physical pages each handle holds.

A VM owns the pages of its RAM.  A successful MEM_SHARE/LEND/DONATE puts
pages in a transaction under a handle; a page can be in one transaction at
a time, and only the VM that sent it can reclaim it.  The ledger is the
mediator's record of that, and what the tests and ``--check`` compare
against the SPMC's view.  It holds physical ranges, not pages, in a sorted
index: every operation costs the number of ranges (times a logarithm),
whatever the pages they span.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable

from emu.ffa.descriptors import PAGE, Transaction


class OwnershipError(Exception):
    """Pages that are already in a transaction."""


class Share:
    """A memory transaction the mediator tracks by handle, from send to reclaim."""

    def __init__(self, handle: int, vm_name: str, kind: str, ipa_ranges: list[tuple[int, int]],
                 pa_ranges: list[tuple[int, int]], receivers: list[int], transaction: Transaction) -> None:
        self.handle = handle
        self.vm_name = vm_name
        self.kind = kind  # "share" | "lend" | "donate"
        self.ipa_ranges = ipa_ranges  # (ipa, size) as the VM named them
        self.pa_ranges = pa_ranges  # (pa, size) backing them, in descriptor order
        self.receivers = receivers
        self.transaction = transaction

    @property
    def pa_pages(self) -> list[int]:
        """Every physical page, in descriptor order (for checks and tests: it costs the pages)."""
        return [pa + offset for pa, size in self.pa_ranges for offset in range(0, size, PAGE)]

    @property
    def removes_access(self) -> bool:
        """LEND and DONATE take the pages out of the lender's stage 2."""
        return self.kind in ("lend", "donate")


class PendingTransaction:
    """A fragmented MEM_SHARE/LEND/DONATE still being sent by a VM."""

    def __init__(self, kind: str, smc64: bool, total: int, data: bytearray) -> None:
        self.kind = kind
        self.smc64 = smc64
        self.total = total
        self.data = data
        self.fragments = 1  # received so far


class Ledger:
    def __init__(self) -> None:
        self.shares: dict[int, Share] = {}
        # Every range in a transaction, sorted and disjoint: (start, end, handle), with the starts alone
        # for bisect.
        self._spans: list[tuple[int, int, int]] = []
        self._starts: list[int] = []

    def holder(self, start: int, end: int) -> int | None:
        """The handle of a transaction holding a page of ``[start, end)``, if any."""
        index = bisect_right(self._starts, start) - 1  # the last span starting at or below start
        for span in self._spans[max(index, 0):index + 2]:
            if span[0] < end and start < span[1]:
                return span[2]
        return None

    def check_free(self, pa_ranges: Iterable[tuple[int, int]]) -> None:
        """Raise OwnershipError if the ranges overlap one another or a transaction."""
        ordered = sorted(pa_ranges)
        for (first, size), (second, _) in zip(ordered, ordered[1:]):
            if first + size > second:
                raise OwnershipError(f"page {second:#x} is named twice")
        for start, size in ordered:
            handle = self.holder(start, start + size)
            if handle is not None:
                raise OwnershipError(f"a page of {start:#x}+{size:#x} is already in transaction {handle:#x}")

    def add(self, share: Share) -> None:
        self.check_free(share.pa_ranges)
        if share.handle in self.shares:
            raise OwnershipError(f"handle {share.handle:#x} is already in use")
        for start, size in share.pa_ranges:
            insort(self._spans, (start, start + size, share.handle))
            insort(self._starts, start)
        self.shares[share.handle] = share

    def remove(self, handle: int) -> Share:
        share = self.shares.pop(handle)
        for start, _size in share.pa_ranges:
            index = bisect_right(self._starts, start) - 1
            del self._spans[index], self._starts[index]
        return share

    def of_vm(self, vm_name: str) -> list[Share]:
        return [s for s in self.shares.values() if s.vm_name == vm_name]

    def handle_of_page(self, pa: int) -> int | None:
        page = pa & ~(PAGE - 1)
        return self.holder(page, page + PAGE)

    def indexed_pages(self) -> dict[int, int]:
        """page -> handle, from the index alone (what ``--check`` compares with the shares)."""
        return {page: handle for start, end, handle in self._spans for page in range(start, end, PAGE)}

    def snapshot(self) -> dict[int, tuple[str, int]]:
        """page -> (owner VM, handle) for every page in a transaction."""
        return {pa: (self.shares[h].vm_name, h) for pa, h in self.indexed_pages().items()}
