"""Stage-2 translation: a VM's intermediate physical addresses (IPAs) to PAs.

A VM's RAM is backed by physical chunks that need not be contiguous or in
order, the way a real hypervisor's stage-2 tables look after some uptime.  A
mediator must translate every address a guest hands it through this table
and must not assume IPA-contiguous means PA-contiguous.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import NamedTuple

from emu.platform.memory_map import PAGE_SIZE


class TranslationFault(Exception):
    """An IPA range that is not (entirely) mapped to the VM's RAM."""


class Mapping(NamedTuple):
    ipa: int
    pa: int
    size: int

    @property
    def ipa_end(self) -> int:
        return self.ipa + self.size


class Stage2:
    """The IPA -> PA mapping of one VM, in page-aligned chunks."""

    def __init__(self, mappings: list[Mapping]) -> None:
        for m in mappings:
            if m.ipa % PAGE_SIZE or m.pa % PAGE_SIZE or m.size % PAGE_SIZE or m.size <= 0:
                raise ValueError("stage-2 mappings must be page aligned")
        self.mappings = sorted(mappings, key=lambda m: m.ipa)
        for a, b in zip(self.mappings, self.mappings[1:]):
            if a.ipa_end > b.ipa:
                raise ValueError("stage-2 mappings overlap")
        self._ipas = [m.ipa for m in self.mappings]
        self._extents: list[list[int]] = []  # IPA-contiguous runs of mappings: [start, end]
        for m in self.mappings:
            if self._extents and self._extents[-1][1] == m.ipa:
                self._extents[-1][1] = m.ipa_end
            else:
                self._extents.append([m.ipa, m.ipa_end])
        self._extent_starts = [start for start, _end in self._extents]
        self._by_pa = sorted(self.mappings, key=lambda m: m.pa)
        self._pas = [m.pa for m in self._by_pa]

    def _find(self, ipa: int) -> Mapping:
        index = bisect_right(self._ipas, ipa) - 1
        if index >= 0 and ipa < self.mappings[index].ipa_end:
            return self.mappings[index]
        raise TranslationFault(f"IPA {ipa:#x} is not mapped")

    def translate(self, ipa: int) -> int:
        """The PA of one IPA."""
        m = self._find(ipa)
        return m.pa + (ipa - m.ipa)

    def translate_range(self, ipa: int, size: int) -> list[tuple[int, int]]:
        """Physical (pa, size) runs backing ``[ipa, ipa + size)``, contiguous runs merged."""
        if size <= 0 or ipa < 0 or ipa + size > 1 << 64:
            raise TranslationFault(f"bad IPA range {ipa:#x}+{size:#x}")
        runs: list[tuple[int, int]] = []
        cursor, remaining = ipa, size
        while remaining:
            m = self._find(cursor)
            pa = m.pa + (cursor - m.ipa)
            length = min(remaining, m.ipa_end - cursor)
            if runs and runs[-1][0] + runs[-1][1] == pa:
                runs[-1] = (runs[-1][0], runs[-1][1] + length)
            else:
                runs.append((pa, length))
            cursor += length
            remaining -= length
        return runs

    def contains(self, ipa: int, size: int) -> bool:
        """Whether all of ``[ipa, ipa + size)`` is mapped (in time logarithmic in the mappings)."""
        if size <= 0 or ipa < 0:
            return False
        index = bisect_right(self._extent_starts, ipa) - 1
        return index >= 0 and ipa + size <= self._extents[index][1]

    def pa_to_ipa(self, pa: int) -> int | None:
        index = bisect_right(self._pas, pa) - 1
        if index >= 0 and pa < self._by_pa[index].pa + self._by_pa[index].size:
            m = self._by_pa[index]
            return m.ipa + (pa - m.pa)
        return None
