"""One emulated AArch64 PE running at EL1: a guest vCPU or the SPMC.

An ``Engine`` owns a Unicorn instance, its memory view (slices of physical
memory mapped with ``mem_map_ptr``), its call frame and its cycle counter.
HVC and SMC leave the engine through ``UC_HOOK_INTR`` (``trapentry.py``) into a Python handler
(the EL2 mediator for a VM, the SPMD for the SPMC); Unicorn intercepts the
exception, so the handler emulates the higher exception level itself.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterable
from enum import Enum
from typing import NamedTuple

from unicorn import (
    UC_ARCH_ARM64, UC_ERR_FETCH_UNMAPPED, UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED,
    UC_MEM_FETCH_PROT, UC_MEM_FETCH_UNMAPPED, UC_MEM_READ_PROT, UC_MEM_READ_UNMAPPED, UC_MEM_WRITE_PROT,
    UC_MEM_WRITE_UNMAPPED, UC_MODE_ARM, UC_PROT_ALL, Uc, UcError,
)
from unicorn.arm64_const import (
    UC_ARM64_REG_PC, UC_ARM64_REG_PSTATE, UC_ARM64_REG_SP, UC_ARM64_REG_X0, UC_ARM64_REG_X29, UC_ARM64_REG_X30,
)
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu import sysregs
from emu.cpu.blockcost import BlockCounter, Clock
from emu.cpu.codecache import CodeCache
from emu.cpu.costmodel import BlockClassifier
from emu.cpu.counters import CounterHook
from emu.cpu.emustart import EmuStart
from emu.cpu.exceptions import (
    EC_WITH_FAR, PSTATE_EL1H_DAIF_MASKED, SyndromeReader, in_vector_table, take_exception,
)
from emu.cpu.invalidhook import InvalidAccessHook
from emu.cpu.regs import CallFrame
from emu.cpu.trapentry import trap_entry
from emu.cpu.vmem import CodeWords
from emu.platform.physmem import PhysicalMemory
from emu.platform.stage2 import Mapping

# QEMU exception numbers seen by UC_HOOK_INTR
EXCP_UDEF = 1
EXCP_SWI = 2
EXCP_PREFETCH_ABORT = 3
EXCP_DATA_ABORT = 4
EXCP_BKPT = 7
EXCP_HVC = 11
EXCP_HYP_TRAP = 12
EXCP_SMC = 13

# emu_start's "until" address.  Unicorn stops silently when the PC gets there, so
# it must be one no PE can execute from: 0 (a NULL function pointer) must fault.
NO_UNTIL = 0xFFFF_FFFF_FFFF_FFFF
HLT_SEMIHOSTING = 0xD45E0000  # hlt #0xf000: Arm semihosting's AArch64 trap
_EXCEPTION_NAMES = {EXCP_UDEF: "undefined instruction", EXCP_SWI: "SVC", EXCP_BKPT: "BRK",
                    EXCP_PREFETCH_ABORT: "prefetch abort", EXCP_DATA_ABORT: "data abort"}


class DeviceAction(Enum):
    MAP = "map"  # the handler mapped memory at the address: retry the access
    IGNORE = "ignore"  # a write the device drops: the store does nothing


class StopKind(Enum):
    TRAP_HANDLED = "trap"  # a handler asked the engine to stop (e.g. power off), or a trap did (stop_at_traps)
    BUDGET = "budget"  # the cycle budget ran out (quantum or --max-cycles)
    FAULT = "fault"
    IDLE = "idle"  # WFI with nothing to wake it


class Fault(NamedTuple):
    """Why and where a vCPU stopped on an error."""

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

TrapHandler = Callable[["Engine", int], None]


class Engine:
    """A Unicorn AArch64 PE at EL1 with HVC/SMC delivered to ``trap_handler``."""

    def __init__(self, name: str, physmem: PhysicalMemory, classifier: BlockClassifier, clock: Clock,
                 secure: bool = False, native: bool | None = None) -> None:
        self.name = name
        self.physmem = physmem
        self.uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        sysregs.reset_higher_els(self.uc, secure)
        self.frame = CallFrame(self.uc)
        self._code_words = CodeWords(self.uc)
        self._pc_cell = ctypes.c_uint64()  # PC read straight from the C API: 3x faster than uc.reg_read
        self._pc_ref = ctypes.byref(self._pc_cell)
        self._uch = self.uc._uch
        self.counter = BlockCounter(self.uc, classifier, clock, native)
        self.code = CodeCache(self.uc, self.counter)
        physmem.add_write_listener(self.code.physical_written)
        self.timer = CounterHook(self.uc, clock, classifier.model.core_hz, self.counter.native)
        self.syndromes = SyndromeReader(self.uc)
        self.clock = clock
        # Called for ``hlt #0xf000`` (semihosting); it services the call and the PC moves past the HLT.
        self.semihosting: Callable[[Engine], None] | None = None
        # System registers this CPU lacks but the platform provides (the GIC's ICC_*): (encoding, value or
        # None for a read) -> the value read, or None when the register is not the platform's either.
        self.platform_sysreg: Callable[[tuple[int, int, int, int, int], int | None], int | None] | None = None
        self.trap_handler: TrapHandler | None = None
        self.fault: Fault | None = None
        self.exceptions_taken = 0  # synchronous exceptions taken to the PE's own vectors
        self.stop_requested = False
        self.mem_fault_classifier: Callable[[int, int], str | None] | None = None
        # Called on an access to unmapped or protected guest-physical memory before it is a fault:
        # MAP (memory was mapped there: retry), IGNORE (a write the device drops) or None (a fault).
        self.device_memory: Callable[[int, int], DeviceAction | None] | None = None
        self._ignored_store: int | None = None
        # Sees emu_start's error status first: the status to act on, or None when the error only switched how
        # memory is watched (tlbfill.py) and the access at the PC must run again.
        self.start_error: Callable[[int], int | None] | None = None
        self._pending_error: BaseException | None = None
        self.trap_entry = trap_entry(self.uc, self._on_intr, (EXCP_HVC, EXCP_SMC), native)
        self.emu_start = EmuStart(self.uc, NO_UNTIL, native)  # uc_emu_start(uc, pc, NO_UNTIL, 0, 0)
        # How run() starts the engine from its PC (emu_start's status); the SPMC's goes through its call entry.
        self.start: Callable[[], int] = self.emu_start.start
        self._invalid_hook = InvalidAccessHook(self.uc, self._on_mem_invalid)

    # -- memory ------------------------------------------------------------
    def map_physical(self, ipa: int, pa: int, size: int, perms: int = UC_PROT_ALL) -> None:
        """Map ``size`` bytes of physical memory at ``pa`` into this PE's physical space at ``ipa``."""
        self.uc.mem_map_ptr(ipa, size, perms, self.physmem.host_pointer(pa))
        self.code.mapped(ipa, pa, size)
        if perms == UC_PROT_ALL:
            self._invalid_hook.ram_mapped(ipa, size)

    def map_ram(self, mappings: Iterable[Mapping]) -> None:
        """``map_physical`` with every permission for each of a stage 2's ``mappings``, at once."""
        with self._invalid_hook.batch():
            for m in mappings:
                self.map_physical(m.ipa, m.pa, m.size)

    def unmap(self, ipa: int, size: int) -> None:
        self.uc.mem_unmap(ipa, size)
        self.code.unmapped(ipa, size)
        self._invalid_hook.unmapped(ipa, size)

    # -- registers -----------------------------------------------------------
    @property
    def pc(self) -> int:
        status = uclib.uc_reg_read(self._uch, UC_ARM64_REG_PC, self._pc_ref)
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
        self.uc.cpr_write(*sysregs.VBAR_EL1, 0)  # also rebuilds QEMU's cached PSTATE flags
        self.pc = entry

    # -- running -----------------------------------------------------------
    def run(self, deadline: int, until_unmasked: bool = False, first: Callable[[], int] | None = None) -> StopKind:
        """Run from the current PC until stopped, faulted or the machine clock reaches ``deadline``;
        ``until_unmasked``: or until a block would run with IRQs unmasked (PSTATE.I clear), as BUDGET.

        ``first``: how to start the engine the first time, instead of ``start`` (which starts it again).
        """
        if until_unmasked:  # set only for such a run: the SPMC's run for each forwarded call never is
            self.counter.stop_when_unmasked = True
        try:  # the loop inline, not a function of its own: the SPMC runs once per forwarded call
            self.counter.stop_at = deadline
            self.stop_requested = False
            self.trap_entry.trapped = False
            uc, start = self.uc, first or self.start
            while True:
                try:
                    # As uc.emu_start(self.pc, NO_UNTIL), without its Python layer: once per run, twice per
                    # forwarded call (the VM's run and the SPMC's).
                    uc._hook_exception = None
                    status = start()
                    start = self.start
                    if status and self.start_error is not None:
                        status = self.start_error(status)
                        if status is None:
                            self.code.finish_ic_stop()
                            self.counter.cut_short(self.pc)  # what the block did not run before the access runs
                            continue
                    if status:
                        raise UcError(status)
                    if uc._hook_exception is not None:
                        raise uc._hook_exception
                except UcError as exc:
                    self.code.finish_ic_stop()
                    if self._ignored_store is not None:  # a write the device drops: go on after the store
                        pc, self._ignored_store = self._ignored_store, None
                        self.counter.cut_short(pc + 4)
                        self.pc = pc + 4
                        continue
                    if self._pending_error is None:
                        return self._fault_from_error(exc)
                    break
                if self.code.finish_ic_stop() and not (self.stop_requested or self.fault or self._pending_error):
                    continue  # stopped only for the IC maintenance
                break
            if self._pending_error is not None:
                error, self._pending_error = self._pending_error, None
                raise error
            if self.fault is not None:
                return StopKind.FAULT
            if self.stop_requested or self.trap_entry.trapped:
                return StopKind.TRAP_HANDLED
            if self.counter.budget_exhausted:
                return StopKind.BUDGET
            if self.pc == NO_UNTIL:  # a branch to the one address Unicorn stops at silently
                self.fault = Fault("instruction fetch from unmapped memory", NO_UNTIL, NO_UNTIL)
                return StopKind.FAULT
            return StopKind.IDLE
        finally:
            if until_unmasked:
                self.counter.stop_when_unmasked = False
            self.trap_entry.flush_log()  # the calls the trap hook answered by itself, before Python goes on

    def request_stop(self) -> None:
        self.stop_requested = True
        status = uclib.uc_emu_stop(self._uch)  # as uc.emu_stop(), without its Python layer
        if status:
            raise UcError(status)

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
        action = self.device_memory(address, access) if self.device_memory is not None else None
        if action is DeviceAction.MAP:
            return True
        if action is DeviceAction.IGNORE:
            self._ignored_store = pc
            return False
        kind = _MEM_FAULT_NAMES.get(access, "invalid memory access")
        if self.mem_fault_classifier is not None:
            kind = self.mem_fault_classifier(address, access) or kind
        if access in (UC_MEM_FETCH_UNMAPPED, UC_MEM_FETCH_PROT):
            pc = address
        self.fault = Fault(kind, pc, address)
        return False

    def _on_intr(self, intno: int) -> None:
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
            insn = self.instruction_at(pc)
            semihosting = insn == HLT_SEMIHOSTING and self.semihosting is not None
            if semihosting:
                self.semihosting(self)
            if semihosting or self._platform_sysreg(insn):
                self.counter.cut_short(pc + 4)  # the block's instructions after this one did not run
                self.pc = pc + 4
                return
        what = _EXCEPTION_NAMES.get(intno)
        if what is None:
            self.stop_with_fault(Fault(f"unexpected exception {intno}", pc))
            return
        syndrome = self.syndromes.read()
        if syndrome is None:
            self.stop_with_fault(Fault(what, pc, detail="this libunicorn build hides the exception's syndrome"))
            return
        far = syndrome.far if syndrome.esr >> 26 in EC_WITH_FAR else None
        self.counter.cut_short(pc)
        self.inject_sync(syndrome.esr, pc, what, far)

    def _platform_sysreg(self, insn: int) -> bool:
        """Emulate an MRS/MSR of a register the platform provides (it is UNDEFINED on Unicorn's CPU)."""
        if self.platform_sysreg is None or insn >> 22 != 0x354 or not insn >> 20 & 1:
            return False
        rt, read = insn & 0x1F, bool(insn >> 21 & 1)
        encoding = (2 | insn >> 19 & 1, insn >> 16 & 7, insn >> 12 & 0xF, insn >> 8 & 0xF, insn >> 5 & 7)
        xt = UC_ARM64_REG_X0 + rt if rt < 29 else (UC_ARM64_REG_X29, UC_ARM64_REG_X30, None)[rt - 29]
        value = self.platform_sysreg(encoding, None if read else (self.uc.reg_read(xt) if xt else 0))
        if value is None:
            return False
        if read and xt is not None:
            self.uc.reg_write(xt, value)
        return True

    def inject_sync(self, esr: int, elr: int, what: str, far: int | None = None) -> None:
        """Take a synchronous exception to the guest's own EL1 vector, as hardware would.

        The guest cannot take it when it has no vector table (VBAR_EL1 = 0), or
        when the exception comes from its vector table itself (a handler that
        faults on entry would loop forever): the run stops with a fault.
        """
        vbar = self.uc.cpr_read(*sysregs.VBAR_EL1)
        if vbar == 0:
            self.stop_with_fault(Fault(f"{what} with no exception vector", elr, far))
            return
        if in_vector_table(self.uc, elr):
            self.stop_with_fault(Fault(f"{what} in the exception vectors (VBAR_EL1 {vbar:#x})", elr, far))
            return
        self.exceptions_taken += 1
        self.pc = take_exception(self.uc, esr, elr, far)

    def instruction_at(self, addr: int) -> int:
        """The 32-bit instruction word at virtual address ``addr``, fetched through the guest's translation.

        Read fresh every time, so rewritten code is seen; 0 (an UNDEF) when nothing is mapped there.
        """
        return self._code_words.at(addr)
