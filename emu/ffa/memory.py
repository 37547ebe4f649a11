"""Ownership of VM memory in transactions: which physical pages each handle holds.

A VM owns the pages of its RAM.  A successful MEM_SHARE/LEND/DONATE puts
pages in a transaction under a handle; a page can be in one transaction at
a time, and only the VM that sent it can reclaim it.  The ledger is the
mediator's record of that, and what the tests and ``--check`` compare
against the SPMC's view.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emu.ffa.descriptors import PAGE, Transaction


class OwnershipError(Exception):
    """Pages that are already in a transaction."""


@dataclass
class Share:
    handle: int
    vm_name: str
    kind: str  # "share" | "lend" | "donate"
    ipa_ranges: list[tuple[int, int]]  # (ipa, size) as the VM named them
    pa_pages: list[int]  # physical page addresses, in descriptor order
    receivers: list[int]
    transaction: Transaction

    @property
    def removes_access(self) -> bool:
        """LEND and DONATE take the pages out of the lender's stage 2."""
        return self.kind in ("lend", "donate")


@dataclass
class PendingTransaction:
    """A fragmented MEM_SHARE/LEND/DONATE still being sent by a VM."""

    kind: str
    smc64: bool
    total: int
    data: bytearray = field(default_factory=bytearray)


class Ledger:
    def __init__(self) -> None:
        self._page_handle: dict[int, int] = {}
        self.shares: dict[int, Share] = {}

    def check_free(self, pa_pages: list[int]) -> None:
        if len(set(pa_pages)) != len(pa_pages):
            raise OwnershipError("a page is named twice")
        for pa in pa_pages:
            if pa in self._page_handle:
                raise OwnershipError(f"page {pa:#x} is already in transaction {self._page_handle[pa]:#x}")

    def add(self, share: Share) -> None:
        self.check_free(share.pa_pages)
        if share.handle in self.shares:
            raise OwnershipError(f"handle {share.handle:#x} is already in use")
        for pa in share.pa_pages:
            self._page_handle[pa] = share.handle
        self.shares[share.handle] = share

    def remove(self, handle: int) -> Share:
        share = self.shares.pop(handle)
        for pa in share.pa_pages:
            del self._page_handle[pa]
        return share

    def of_vm(self, vm_name: str) -> list[Share]:
        return [s for s in self.shares.values() if s.vm_name == vm_name]

    def handle_of_page(self, pa: int) -> int | None:
        return self._page_handle.get(pa & ~(PAGE - 1))

    def snapshot(self) -> dict[int, tuple[str, int]]:
        """page -> (owner VM, handle) for every page in a transaction."""
        return {pa: (self.shares[h].vm_name, h) for pa, h in self._page_handle.items()}
