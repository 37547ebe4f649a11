"""Synchronous exceptions taken to the guest's EL1 vectors, with the syndrome QEMU computed.

Unicorn reports an exception through ``UC_HOOK_INTR`` and skips QEMU's
exception entry, so ESR_EL1, FAR_EL1, ELR_EL1 and SPSR_EL1 are never
written.  QEMU has computed the syndrome and the fault address by then
(``raise_exception``, ``arm_deliver_fault``), in ``env->exception``, which no
register ID exposes but ``uc_context_save`` copies out.  Its offset in the
context depends on the libunicorn build, so it is found once per process by
a probe: an exclusive load from an odd address, whose alignment fault has a
known syndrome and fault address.  Exception entry is then done here as the
Arm ARM's AArch64.TakeException does it (Arm DDI 0487, D1.10): the vector
offset by source EL and stack, SPSR/ELR/ESR/FAR, PSTATE to EL1h with DAIF
masked, and the stack pointer banked by hand (Unicorn does not switch SP
when PSTATE is written).
"""

from __future__ import annotations

import ctypes
import struct
from functools import cache
from typing import NamedTuple

from unicorn import UC_ARCH_ARM64, UC_HOOK_INTR, UC_MODE_ARM, UC_PROT_ALL, Uc
from unicorn.arm64_const import (
    UC_ARM64_REG_PSTATE, UC_ARM64_REG_SP, UC_ARM64_REG_SP_EL0, UC_ARM64_REG_SP_EL1, UC_ARM64_REG_X1,
)
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu import sysregs

EC_UNKNOWN = 0x00
EC_SVC64 = 0x15
EC_INSN_ABORT_LOWER, EC_INSN_ABORT, EC_PC_ALIGN = 0x20, 0x21, 0x22
EC_DATA_ABORT_LOWER, EC_DATA_ABORT = 0x24, 0x25
EC_BRK64 = 0x3C
ESR_IL = 1 << 25
EC_WITH_FAR = frozenset((EC_INSN_ABORT_LOWER, EC_INSN_ABORT, EC_PC_ALIGN, EC_DATA_ABORT_LOWER, EC_DATA_ABORT))

PSTATE_EL1H_DAIF_MASKED = 0x3C5
PSTATE_IL = 1 << 20
VECTOR_CURRENT_SP0, VECTOR_CURRENT_SPX, VECTOR_LOWER_A64 = 0x000, 0x200, 0x400
VECTOR_SYNC, VECTOR_IRQ, VECTOR_FIQ = 0x000, 0x080, 0x100  # offsets within each group of four
PSTATE_I = 1 << 7
VECTOR_TABLE_SIZE = 0x800

_EXCEPTION = struct.Struct("<IIQI")  # env->exception: syndrome, fsr, vaddress, target_el
_CONTEXT_DATA = 40  # offsetof(struct uc_context, data) on LP64
_PROBE_INSN = 0xC85F7C20  # ldxr x0, [x1]: always alignment-checked
_PROBE_BASE, _PROBE_ADDR = 0x10000, 0x10801
_PROBE_SYNDROME = (EC_DATA_ABORT << 26) | ESR_IL | 0x21  # alignment fault, same EL


class Syndrome(NamedTuple):
    esr: int
    far: int


class SyndromeReader:
    """Reads the pending exception's syndrome of one engine from a saved Unicorn context."""

    def __init__(self, uc: Uc) -> None:
        self._uc = uc
        self._size = uclib.uc_context_size(uc._uch)
        self._ctx = ctypes.c_void_p()
        if uclib.uc_context_alloc(uc._uch, ctypes.byref(self._ctx)):
            raise RuntimeError("uc_context_alloc failed")

    def __del__(self) -> None:
        if getattr(self, "_ctx", None):
            uclib.uc_context_free(self._ctx)
            self._ctx = None

    def read(self) -> Syndrome | None:
        """The syndrome of the exception being reported, or None if this libunicorn hides it.

        The probe that finds the syndrome in a context runs at the first exception of the process: most
        runs take none, and the probe's engine costs a run's start-up some 20 ms to create and close."""
        offset = exception_offset()
        if offset is None or uclib.uc_context_save(self._uc._uch, self._ctx):
            return None
        syndrome, _fsr, vaddress, _target = _EXCEPTION.unpack(
            ctypes.string_at(self._ctx.value + offset, _EXCEPTION.size))
        return Syndrome(syndrome, vaddress)


@cache
def exception_offset() -> int | None:
    """Where ``env->exception`` lies in a saved context of this libunicorn, found by a probe."""
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    sysregs.reset_higher_els(uc, secure=False)  # the state guests run in: the syndrome's format depends on it
    uc.mem_map(_PROBE_BASE, 0x1000, UC_PROT_ALL)
    uc.mem_write(_PROBE_BASE, _PROBE_INSN.to_bytes(4, "little"))
    uc.reg_write(UC_ARM64_REG_X1, _PROBE_ADDR)
    seen: list[int] = []

    def on_intr(engine: Uc, intno: int, _data: object) -> None:
        seen.append(intno)
        engine.emu_stop()

    uc.hook_add(UC_HOOK_INTR, on_intr)
    uc.emu_start(_PROBE_BASE, _PROBE_BASE + 4, count=1)
    if not seen:
        return None
    ctx = ctypes.c_void_p()
    if uclib.uc_context_alloc(uc._uch, ctypes.byref(ctx)):
        return None
    try:
        uclib.uc_context_save(uc._uch, ctx)
        data = ctypes.string_at(ctx.value, _CONTEXT_DATA + uclib.uc_context_size(uc._uch))
    finally:
        uclib.uc_context_free(ctx)
    syndrome, address = struct.pack("<I", _PROBE_SYNDROME), struct.pack("<Q", _PROBE_ADDR)
    start = 0
    while (found := data.find(address, start)) >= 0:
        start = found + 1
        if found >= 8 and data[found - 8:found - 4] == syndrome:
            return found - 8
    return None


def take_exception(uc: Uc, esr: int | None, elr: int, far: int | None = None, kind: int = VECTOR_SYNC) -> int:
    """Enter the guest's EL1 vector for ``kind`` (synchronous, IRQ, FIQ); returns the new PC (the caller
    writes it).  ESR and FAR are written for a synchronous exception only."""
    pstate = uc.reg_read(UC_ARM64_REG_PSTATE) & ~PSTATE_IL  # IL can be left over from Unicorn's SMC handling
    from_el0 = (pstate >> 2 & 3) == 0
    on_sp_el0 = from_el0 or not pstate & 1
    offset = VECTOR_LOWER_A64 if from_el0 else VECTOR_CURRENT_SPX if pstate & 1 else VECTOR_CURRENT_SP0
    if on_sp_el0:  # bank the stack pointer: EL1h runs on SP_EL1
        uc.reg_write(UC_ARM64_REG_SP_EL0, uc.reg_read(UC_ARM64_REG_SP))
        uc.reg_write(UC_ARM64_REG_SP, uc.reg_read(UC_ARM64_REG_SP_EL1))
    uc.reg_write(UC_ARM64_REG_PSTATE, PSTATE_EL1H_DAIF_MASKED)
    uc.cpr_write(*sysregs.SPSR_EL1, pstate)  # a CP write also rebuilds QEMU's cached PSTATE flags
    uc.cpr_write(*sysregs.ELR_EL1, elr)
    if esr is not None:
        uc.cpr_write(*sysregs.ESR_EL1, esr)
    if far is not None:
        uc.cpr_write(*sysregs.FAR_EL1, far)
    return uc.cpr_read(*sysregs.VBAR_EL1) + offset + kind


def irqs_masked(uc: Uc) -> bool:
    return bool(uc.reg_read(UC_ARM64_REG_PSTATE) & PSTATE_I)


def in_vector_table(uc: Uc, pc: int) -> bool:
    vbar = uc.cpr_read(*sysregs.VBAR_EL1)
    return vbar <= pc < vbar + VECTOR_TABLE_SIZE

