"""One emulated AArch64 PE running at EL1: a guest vCPU or the SPMC.

An ``Engine`` owns a Unicorn instance, its memory view (slices of physical
memory mapped with ``mem_map_ptr``), its call frame and its cycle counter.
HVC and SMC leave the engine through ``UC_HOOK_INTR`` into a Python handler
(the EL2 mediator for a VM, the SPMD for the SPMC); Unicorn intercepts the
exception, so the handler emulates the higher exception level itself.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from unicorn import (
    UC_ARCH_ARM64, UC_ERR_FETCH_UNMAPPED, UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED, UC_HOOK_INTR,
    UC_HOOK_MEM_INVALID, UC_MEM_FETCH_PROT, UC_MEM_FETCH_UNMAPPED, UC_MEM_READ_PROT, UC_MEM_READ_UNMAPPED, UC_MEM_WRITE_PROT,
    UC_MEM_WRITE_UNMAPPED, UC_MODE_ARM, UC_PROT_ALL, Uc, UcError,
)
from unicorn.arm64_const import UC_ARM64_REG_PC, UC_ARM64_REG_PSTATE, UC_ARM64_REG_SP
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu.blockcost import BlockCounter, Clock
from emu.cpu.costmodel import BlockClassifier
from emu.platform.physmem import PhysicalMemory
from emu.cpu.regs import CallFrame

# QEMU exception numbers seen by UC_HOOK_INTR
EXCP_UDEF = 1
EXCP_SWI = 2
EXCP_PREFETCH_ABORT = 3
EXCP_DATA_ABORT = 4
EXCP_BKPT = 7
EXCP_HVC = 11
EXCP_HYP_TRAP = 12
EXCP_SMC = 13

# SCR_EL3 values: RW (AArch64 below EL3) | HCE (HVC enabled) | NS
SCR_NONSECURE = 0x501
SCR_SECURE = 0x400

# ESR exception classes used for injected exceptions
EC_UNKNOWN = 0x00
EC_SVC64 = 0x15
EC_BRK64 = 0x3C
ESR_IL = 1 << 25

PSTATE_EL1H_DAIF_MASKED = 0x3C5
PSTATE_IL = 1 << 20
VECTOR_CURRENT_EL_SP0_SYNC = 0x000
VECTOR_CURRENT_EL_SPX_SYNC = 0x200
# emu_start's "until" address.  Unicorn stops silently when the PC gets there, so
# it must be one no PE can execute from: 0 (a NULL function pointer) must fault.
NO_UNTIL = 0xFFFF_FFFF_FFFF_FFFF


def _sysreg(op0: int, op1: int, crn: int, crm: int, op2: int) -> tuple[int, int, int, int, int]:
    return op0, op1, crn, crm, op2


SCR_EL3 = _sysreg(3, 6, 1, 1, 0)
VBAR_EL1 = _sysreg(3, 0, 12, 0, 0)
ESR_EL1 = _sysreg(3, 0, 5, 2, 0)
ELR_EL1 = _sysreg(3, 0, 4, 0, 1)
SPSR_EL1 = _sysreg(3, 0, 4, 0, 0)
FAR_EL1 = _sysreg(3, 0, 6, 0, 0)


class StopKind(Enum):
    TRAP_HANDLED = "trap"  # a handler asked the engine to stop (e.g. power off)
    BUDGET = "budget"  # the cycle budget ran out (quantum or --max-cycles)
    FAULT = "fault"
    IDLE = "idle"  # WFI with nothing to wake it


@dataclass
class Fault:
    kind: str  # "read unmapped", "undefined instruction", "stage-2 fault", ...
    pc: int
    address: int | None = None
    detail: str = ""


_MEM_FAULT_NAMES = {
    UC_MEM_READ_UNMAPPED: "read of unmapped memory",
    UC_MEM_WRITE_UNMAPPED: "write to unmapped memory",
    UC_MEM_FETCH_UNMAPPED: "instruction fetch from unmapped memory",
    UC_MEM_READ_PROT: "read of protected memory",
    UC_MEM_WRITE_PROT: "write to protected memory",
    UC_MEM_FETCH_PROT: "instruction fetch from protected memory",
}
_UNMAPPED_ERRORS = (UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED, UC_ERR_FETCH_UNMAPPED)
_INTR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)

TrapHandler = Callable[["Engine", int], None]


class Engine:
    """A Unicorn AArch64 PE at EL1 with HVC/SMC delivered to ``trap_handler``."""

    def __init__(self, name: str, physmem: PhysicalMemory, classifier: BlockClassifier, clock: Clock,
                 secure: bool = False, native: bool | None = None) -> None:
        self.name = name
        self.physmem = physmem
        self.uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        self.uc.cpr_write(*SCR_EL3, SCR_SECURE if secure else SCR_NONSECURE)
        self.frame = CallFrame(self.uc)
        self._pc_cell = ctypes.c_uint64()  # PC read straight from the C API: 3x faster than uc.reg_read
        self._pc_ref = ctypes.byref(self._pc_cell)
        self.counter = BlockCounter(self.uc, classifier, clock, native)
        self.clock = clock
        self.trap_handler: TrapHandler | None = None
        self.fault: Fault | None = None
        self.stop_requested = False
        self.mem_fault_classifier: Callable[[int, int], str | None] | None = None
        self._pending_error: BaseException | None = None
        self._mappings: list[tuple[int, int, int]] = []  # (va, pa, size) of physical memory mapped here
        self._pa_cache: dict[int, int] = {}  # trap site -> its physical address (-1: not RAM)
        self._intr_cb = _INTR_CB(self._on_intr)  # C keeps a pointer: keep the object alive
        handle = ctypes.c_size_t()
        status = uclib.uc_hook_add(self.uc._uch, ctypes.byref(handle), UC_HOOK_INTR,
                                   ctypes.cast(self._intr_cb, ctypes.c_void_p), None, 1, 0)
        if status:
            raise RuntimeError(f"uc_hook_add(UC_HOOK_INTR) failed with status {status}")
        self.uc.hook_add(UC_HOOK_MEM_INVALID, self._on_mem_invalid)

    # -- memory ------------------------------------------------------------
    def map_physical(self, va: int, pa: int, size: int, perms: int = UC_PROT_ALL) -> None:
        """Map ``size`` bytes of physical memory at ``pa`` into this PE at ``va``."""
        self.uc.mem_map_ptr(va, size, perms, self.physmem.host_pointer(pa))
        self._mappings.append((va, pa, size))

    def unmap(self, va: int, size: int) -> None:
        self.uc.mem_unmap(va, size)
        self.counter.invalidate()
        self._mappings = [m for m in self._mappings if m[0] + m[2] <= va or va + size <= m[0]]
        self._pa_cache.clear()

    # -- registers -----------------------------------------------------------
    @property
    def pc(self) -> int:
        status = uclib.uc_reg_read(self.uc._uch, UC_ARM64_REG_PC, self._pc_ref)
        if status:
            raise UcError(status)
        return self._pc_cell.value

    @pc.setter
    def pc(self, value: int) -> None:
        self.uc.reg_write(UC_ARM64_REG_PC, value)

    def reset(self, entry: int, x0: int = 0, sp: int = 0) -> None:
        """Registers zeroed, EL1h with DAIF masked, PC at ``entry``."""
        self.frame.write([x0] + [0] * 17)  # a fresh engine's other registers are already zero
        self.uc.reg_write(UC_ARM64_REG_SP, sp)
        self.uc.reg_write(UC_ARM64_REG_PSTATE, PSTATE_EL1H_DAIF_MASKED)
        self.uc.cpr_write(*VBAR_EL1, 0)  # also rebuilds QEMU's cached PSTATE flags
        self.pc = entry

    # -- running -----------------------------------------------------------
    def run(self, deadline: int) -> StopKind:
        """Run from the current PC until stopped, faulted or the machine clock reaches ``deadline``."""
        self.counter.stop_at = deadline
        self.stop_requested = False
        try:
            self.uc.emu_start(self.pc, NO_UNTIL)
        except UcError as exc:
            if self._pending_error is None:
                return self._fault_from_error(exc)
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise error
        if self.fault is not None:
            return StopKind.FAULT
        if self.stop_requested:
            return StopKind.TRAP_HANDLED
        if self.counter.budget_exhausted:
            return StopKind.BUDGET
        if self.pc == NO_UNTIL:  # a branch to the one address Unicorn stops at silently
            self.fault = Fault("instruction fetch from unmapped memory", NO_UNTIL, NO_UNTIL)
            return StopKind.FAULT
        return StopKind.IDLE

    def request_stop(self) -> None:
        self.stop_requested = True
        self.uc.emu_stop()

    def stop_with_fault(self, fault: Fault) -> None:
        self.fault = fault
        self.uc.emu_stop()

    def _fault_from_error(self, exc: UcError) -> StopKind:
        pc = self.pc
        if self.fault is None:
            kind = "unmapped access" if exc.errno in _UNMAPPED_ERRORS else f"emulation error ({exc})"
            self.fault = Fault(kind, pc)
        self.counter.cut_short(self.fault.pc)
        return StopKind.FAULT

    # -- hooks -------------------------------------------------------------
    def _on_mem_invalid(self, _uc: Uc, access: int, address: int, _size: int, _value: int, _data: object) -> bool:
        pc = self.pc
        kind = _MEM_FAULT_NAMES.get(access, "invalid memory access")
        if self.mem_fault_classifier is not None:
            kind = self.mem_fault_classifier(address, access) or kind
        if access in (UC_MEM_FETCH_UNMAPPED, UC_MEM_FETCH_PROT):
            pc = address
        self.fault = Fault(kind, pc, address)
        return False

    def _on_intr(self, _uch: int, intno: int, _data: int) -> None:
        # Called from C: an exception escaping here would be printed and lost,
        # so every error is parked and re-raised by run().
        try:
            if intno in (EXCP_HVC, EXCP_SMC) and self.trap_handler is not None:
                self.trap_handler(self, intno)
            else:
                self._on_exception(intno)
        except BaseException as exc:  # noqa: BLE001 - re-raised from run()
            self._pending_error = exc
            self.uc.emu_stop()

    def _on_exception(self, intno: int) -> None:
        pc = self.pc
        if intno == EXCP_UDEF:
            self.inject_sync(EC_UNKNOWN << 26 | ESR_IL, pc, "undefined instruction")
        elif intno == EXCP_SWI:
            imm = self._instruction(pc - 4) >> 5 & 0xFFFF
            self.inject_sync(EC_SVC64 << 26 | ESR_IL | imm, pc, "SVC")
        elif intno == EXCP_BKPT:
            imm = self._instruction(pc) >> 5 & 0xFFFF
            self.inject_sync(EC_BRK64 << 26 | ESR_IL | imm, pc, "BRK")
        else:
            what = {EXCP_PREFETCH_ABORT: "prefetch abort", EXCP_DATA_ABORT: "data abort"}.get(intno)
            self.stop_with_fault(Fault(what or f"unexpected exception {intno}", pc))

    def _instruction(self, addr: int) -> int:
        try:
            return int.from_bytes(self.uc.mem_read(addr, 4), "little")
        except UcError:
            return 0

    def inject_sync(self, esr: int, elr: int, what: str) -> None:
        """Take a synchronous exception to the guest's own EL1 vector, as hardware would.

        With no vector table installed (VBAR_EL1 = 0) the guest cannot handle
        it: the run stops with a fault instead of looping on address 0.
        """
        vbar = self.uc.cpr_read(*VBAR_EL1)
        if vbar == 0:
            self.stop_with_fault(Fault(f"{what} with no exception vector", elr))
            return
        # Unicorn can report PSTATE.IL (bit 20) left over from its own SMC
        # handling; a real PE taking this exception has IL clear.
        pstate = self.uc.reg_read(UC_ARM64_REG_PSTATE) & ~PSTATE_IL
        offset = VECTOR_CURRENT_EL_SPX_SYNC if pstate & 1 else VECTOR_CURRENT_EL_SP0_SYNC
        self.uc.reg_write(UC_ARM64_REG_PSTATE, PSTATE_EL1H_DAIF_MASKED)
        self.uc.cpr_write(*SPSR_EL1, pstate)
        self.uc.cpr_write(*ELR_EL1, elr)
        self.uc.cpr_write(*ESR_EL1, esr)
        self.pc = vbar + offset

    def instruction_at(self, addr: int) -> int:
        """The 32-bit instruction word at ``addr``, read from physical memory.

        The address translation is cached per trap site (remapping clears it);
        the word itself is always read fresh, so rewritten code is seen.
        """
        pa = self._pa_cache.get(addr)
        if pa is None:
            pa = self._pa_cache[addr] = self._to_physical(addr)
        if pa < 0:
            return self._instruction(addr)
        return int.from_bytes(self.physmem.read(pa, 4), "little")

    def _to_physical(self, va: int) -> int:
        for base, pa, size in self._mappings:
            if base <= va <= base + size - 4:
                return pa + (va - base)
        return -1
