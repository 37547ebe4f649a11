"""The engine's hook on invalid memory accesses, kept off the RAM it maps.

An access to unmapped or protected memory reaches the engine through
``UC_HOOK_MEM_INVALID``.  It must cover every address that may fault, and
only those: Unicorn never lets a page's TLB entry go dirty where any memory
hook is installed (``notdirty_write`` in its ``cputlb.c``), so every store
to such a page, and every ``DC ZVA``, takes QEMU's slow path.  So the hook
covers the gaps between the RAM mapped with every permission, and is laid
again whenever that RAM is mapped or unmapped (a page lent away must fault).

The code translated from a page Unicorn then notices a store through the
address it runs at, but not through an alias once that alias's TLB entry is
dirty; ``codecache.py`` drops translations on the guest's instruction cache
maintenance, as the architecture asks of code that rewrites code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from unicorn import UC_HOOK_MEM_INVALID, Uc

LAST_ADDRESS = (1 << 64) - 1


class InvalidAccessHook:
    """``callback`` as a ``UC_HOOK_MEM_INVALID`` of ``uc`` everywhere but its fully permitted RAM."""

    def __init__(self, uc: Uc, callback: Callable[..., bool]) -> None:
        self._uc = uc
        self._callback = callback
        self._ram: list[tuple[int, int]] = []  # [start, end) runs, sorted and merged
        self._handles: list[int] = []
        self._batched = False  # inside batch(): changes are laid once, at its end
        self._lay()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Many changes of the RAM at once (a VM's RAM is tens of chunks): the hook is laid again once, after."""
        self._batched = True
        try:
            yield
        finally:
            self._batched = False
            self._lay()

    def ram_mapped(self, address: int, size: int) -> None:
        """``[address, +size)`` is now RAM every access may use."""
        runs = sorted(self._ram + [(address, address + size)])
        merged: list[tuple[int, int]] = []
        for start, end in runs:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        self._ram = merged
        self._lay()

    def unmapped(self, address: int, size: int) -> None:
        """``[address, +size)`` is mapped no more: accesses there fault again."""
        end = address + size
        kept: list[tuple[int, int]] = []
        for start, stop in self._ram:
            if start < address:
                kept.append((start, min(stop, address)))
            if stop > end:
                kept.append((max(start, end), stop))
        self._ram = kept
        self._lay()

    def _lay(self) -> None:
        """Install the hook over the gaps between the RAM runs (hook bounds are inclusive)."""
        if self._batched:
            return
        for handle in self._handles:
            self._uc.hook_del(handle)
        gaps: list[tuple[int, int]] = []
        next_start = 0
        for start, end in self._ram:
            if start > next_start:
                gaps.append((next_start, start - 1))
            next_start = end
        if next_start <= LAST_ADDRESS:
            gaps.append((next_start, LAST_ADDRESS))
        self._handles = [self._uc.hook_add(UC_HOOK_MEM_INVALID, self._callback, None, lo, hi) for lo, hi in gaps]
