"""A software walk of the guest's stage-1 tables: why an access faulted, and at which level.

Unicorn walks the guest's tables itself (that is how guests run with their
MMU on), but an abort reaches the emulator without its syndrome: QEMU's
exception entry, which writes ESR_EL1 and FAR_EL1, is what Unicorn
intercepts.  To deliver the abort to the guest as hardware would, the
emulator walks the same tables again (VMSAv8-64 translation, Arm ARM
D8.2-D8.4) for the faulting address and builds the fault status code:
translation, access flag or permission fault at the level it happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Fault status codes (ESR_ELx.ISS.xFSC), the level added to the first three.
FSC_TRANSLATION = 0x04
FSC_ACCESS_FLAG = 0x08
FSC_PERMISSION = 0x0C
FSC_ADDRESS_SIZE = 0x00
FSC_ALIGNMENT = 0x21

_TG0 = {0b00: 12, 0b01: 16, 0b10: 14}  # TCR_EL1.TG0 -> granule bits
_TG1 = {0b10: 12, 0b11: 16, 0b01: 14}  # TCR_EL1.TG1 -> granule bits
OA_MASK = (1 << 48) - 1


@dataclass(frozen=True)
class Walk:
    """The outcome of a walk: ``fsc`` is None when the access is allowed."""

    fsc: int | None
    ipa: int | None = None


@dataclass(frozen=True)
class TranslationRegime:
    sctlr: int
    tcr: int
    ttbr0: int
    ttbr1: int

    @property
    def mmu_on(self) -> bool:
        return bool(self.sctlr & 1)


def walk(regime: TranslationRegime, va: int, read64: Callable[[int], int | None], *, write: bool = False,
         execute: bool = False, el0: bool = False) -> Walk:
    """Translate ``va`` for one access; ``read64(ipa)`` reads a descriptor (None: not memory)."""
    if not regime.mmu_on:
        return Walk(None, va)
    tcr = regime.tcr
    upper = va >> 55 & 1
    if upper:
        tsz, granule, epd, ttbr = tcr >> 16 & 0x3F, _TG1.get(tcr >> 30 & 3, 12), tcr >> 23 & 1, regime.ttbr1
    else:
        tsz, granule, epd, ttbr = tcr & 0x3F, _TG0.get(tcr >> 14 & 3, 12), tcr >> 7 & 1, regime.ttbr0
    va_bits = 64 - tsz
    top = va >> va_bits
    if epd or top != ((1 << tsz) - 1 if upper else 0):
        return Walk(FSC_TRANSLATION)  # level 0: outside both halves, or this half's walks disabled
    stride = granule - 3
    level = 4 - -(-(va_bits - granule) // stride)  # ceil division
    table = ttbr & OA_MASK & ~((1 << granule) - 1) if level >= 0 else 0
    while True:
        shift = granule + (3 - level) * stride
        index = va >> shift & ((1 << min(stride, va_bits - shift)) - 1)
        descriptor = read64(table + 8 * index)
        if descriptor is None:
            return Walk(FSC_ADDRESS_SIZE | max(level, 0))
        if not descriptor & 1:
            return Walk(FSC_TRANSLATION | level)
        is_table = level < 3 and descriptor & 2
        if level == 3 and not descriptor & 2:
            return Walk(FSC_TRANSLATION | level)  # reserved encoding at level 3
        if is_table:
            table = descriptor & OA_MASK & ~((1 << granule) - 1)
            level += 1
            continue
        return _leaf(descriptor, level, shift, va, write, execute, el0)


def _leaf(descriptor: int, level: int, shift: int, va: int, write: bool, execute: bool, el0: bool) -> Walk:
    if not descriptor >> 10 & 1:
        return Walk(FSC_ACCESS_FLAG | level)
    ap = descriptor >> 6 & 3
    user_ok, read_only = bool(ap & 1), bool(ap & 2)
    uxn, pxn = bool(descriptor >> 54 & 1), bool(descriptor >> 53 & 1)
    if el0 and not user_ok:
        return Walk(FSC_PERMISSION | level)
    if write and read_only:
        return Walk(FSC_PERMISSION | level)
    if execute and ((el0 and uxn) or (not el0 and (pxn or (user_ok and not read_only)))):
        return Walk(FSC_PERMISSION | level)  # EL1 cannot execute EL0-writable memory (PAN-free rule)
    base = descriptor & OA_MASK & ~((1 << shift) - 1)
    return Walk(None, base | va & ((1 << shift) - 1))
