"""The secure world: the SPMC stub firmware on its own engine, and the SPMD relay.

The SPMD stands for EL3's SPM dispatcher: it carries a call's x0-x17 from
the normal world into the SPMC (as the return of the SPMC's last SMC) and
takes the SPMC's next SMC back as the response.  The SPMC is trusted: its
engine maps all of physical memory at physical addresses.

Every call is a transaction.  Between calls the SPMC waits at its exchange
point (the SMC it answers from, where it booted into FFA_MSG_WAIT); the SPMD
keeps the engine's context there and journals every page of the secure RAM
the call writes.  A call that faults, takes an exception, stops anywhere
else or runs out of its cycle budget is rolled back to that point (context
and secure RAM as they were) and answered FFA_ERROR(ABORTED) (-8 in
DEN0077A's error codes), as Hafnium answers a direct request to a partition
that aborted (src/api.c, api_ffa_msg_send_direct_req: a receiver vCPU in
VCPU_STATE_ABORTED gets ffa_error(FFA_ABORTED)); no later call resumes it,
and the next call runs normally.  Writes the
aborted call made to normal-world memory (pages shared with an SP) stand, as
they would on hardware; each exchange lists the VM RAM pages the SPMC wrote.
"""

from __future__ import annotations

from collections.abc import Callable

from unicorn import UcError
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu import nativelib
from emu.cpu.blockcost import UNLIMITED, Account, Clock
from emu.cpu.callentry import CallEntry
from emu.cpu.costmodel import BlockClassifier, CostModel
from emu.cpu.engine import NO_UNTIL, Engine, StopKind
from emu.cpu.journal import PageJournal
from emu.cpu.tlbfill import TlbStoreWatch
from emu.cpu.writetrack import WriteTracker
from emu.el2.smccc import MASK32
from emu.ffa import constants as ffa
from emu.ffa.stub_partitions import SPMC_FLAVOURS
from emu.platform import memory_map
from emu.platform.gicv3 import ICC_REGISTERS, sgi_intid
from emu.platform.image import GuestImage
from emu.platform.physmem import PhysicalMemory, Region

ISR_F = 1 << 6
SPMC_CALL_BUDGET = 5_000_000  # default cycles one call may run in the SPMC before it is aborted
FRAME = 18
# uc_context_save as a function object of its own, without argtypes: its arguments are ctypes objects already,
# passed without a Python-level conversion each (once per forwarded call).
_context_save = uclib["uc_context_save"]


class SpmcError(Exception):
    """The secure world did not boot (no readiness message, a fault or a hang during its init)."""


class SpmcExchange:
    """One forwarded call: what went in and what came out, with cycle stamps."""

    __slots__ = ("request", "response", "entered", "left", "aborted", "vm_pages_written", "sgis")

    def __init__(self, request: list[int], response: list[int], entered: int, left: int,
                 aborted: str | None = None, vm_pages_written: tuple[int, ...] = (), sgis: tuple[int, ...] = ()
                 ) -> None:
        self.request = request
        self.response = response
        self.entered = entered  # clock when the request reached the SPMC
        self.left = left  # clock when the response left the SPMC
        self.aborted = aborted  # why the call was rolled back (the response is then FFA_ERROR(ABORTED))
        self.vm_pages_written = vm_pages_written  # VM RAM pages the SPMC stored to in the call, first-write order
        self.sgis = sgis  # SGIs the SPMC sent to the normal world during the call (INTIDs, in order)


def aborted_response() -> list[int]:
    """FFA_ERROR(ABORTED): w1 and every other register zero."""
    out = [0] * FRAME
    out[0] = ffa.FFA_ERROR
    out[2] = ffa.ABORTED & MASK32
    return out


def _set_flavour(physmem: PhysicalMemory, image: GuestImage, flavour: str) -> None:
    """Tell the stub firmware which partitions to host: its ``spmc_flavour`` word, written before it boots."""
    if flavour not in SPMC_FLAVOURS:
        raise SpmcError(f"unknown SPMC flavour {flavour!r} (one of {', '.join(SPMC_FLAVOURS)})")
    address = image.symbols.address_of("spmc_flavour")
    if address is None:
        if flavour != "stub":
            raise SpmcError(f"{image.path}: --spmc-flavour {flavour} needs the stub SPMC firmware "
                            "(this one has no spmc_flavour)")
        return
    physmem.write(address, SPMC_FLAVOURS[flavour].to_bytes(4, "little"))


class SecureWorld:
    def __init__(self, physmem: PhysicalMemory, region: Region, image: GuestImage, version: int,
                 classifier: BlockClassifier, clock: Clock, cost: CostModel, native: bool | None = None,
                 budget: int = SPMC_CALL_BUDGET, limit: int = UNLIMITED, flavour: str = "stub") -> None:
        image.check_fits(region.pa, region.size, "secure RAM")
        self.image = image
        self.clock = clock
        self.cost = cost
        self.budget = budget  # cycles one call may take
        self.limit = limit  # the machine clock no call may run past (the run's cycle limit)
        self.account = Account("el3", clock)
        transitions = cost.transition
        # Into the SPMC (EL2 -> EL3, then the world switch) and back out, in the order they happen: fixed groups,
        # built once, so a forwarded call's EL3 breakdown is looked up (see Account).
        switch = (transitions["el3_world_switch"], "world_switch")
        self._entry_charges = self.account.group((transitions["el2_to_el3"], "smc"), switch)
        self._exit_charges = self.account.group(switch, (transitions["el3_to_el2"], "smc"))
        self.engine = Engine("spmc", physmem, classifier, clock, secure=True, native=native)
        self.engine.map_physical(physmem.base, physmem.base, physmem.size)
        # What the secure world writes into VM RAM (a partition filling a share) must reach the VMs' code.
        self._physmem = physmem
        native = self.engine.counter.native
        lib = nativelib.load() if native else None
        hooked = lib is None  # else the TLB fill hook watches the stores (tlbfill.py)
        self._writes = WriteTracker(self.engine.uc, memory_map.VM_RAM_PA, physmem.end, native, hooked)
        for seg in image.segments:
            physmem.write(seg.vaddr, seg.data + bytes(seg.memsz - len(seg.data)))
        _set_flavour(physmem, image, flavour)
        self.journal = PageJournal(self.engine.uc, physmem, region.pa, region.size, keep=True, native=native,
                                   hooked=hooked)
        self._vm_writes = PageJournal(self.engine.uc, physmem, memory_map.VM_RAM_PA,
                                      physmem.end - memory_map.VM_RAM_PA, keep=False, native=native, hooked=hooked)
        self._stores: TlbStoreWatch | None = None
        if lib is not None:
            self._stores = TlbStoreWatch(self.engine.uc, lib, self.journal, self._vm_writes, self._writes, NO_UNTIL)
            self.engine.start_error = self._stores.start_error
        self._entry = CallEntry(self.engine, self.journal, self._stores)
        self.engine.start = self._entry.resume
        self.engine.trap_entry.stop_at_traps()  # the SPMC's SMC (its answer) ends its run: see _take_response
        self.engine.platform_sysreg = self._icc
        self._sgis: list[int] = []
        # Whether the calling core has a normal-world interrupt pending (set by whoever makes the calls): the
        # SPMC at S-EL1 sees the normal world's Group 1 interrupts as FIQ, in ISR_EL1.F.
        self.normal_world_irq: Callable[[], bool] = lambda: False
        self.engine.timer.isr = lambda: ISR_F if self.normal_world_irq() else 0
        self.engine.reset(image.entry, x0=version)
        self._response: list[int] | None = None
        self._saved = self.engine.uc.context_save()
        self._response_pc = 0  # where the SPMC's last SMC returns to (the PC past it)
        self.exchange_pc: int | None = None  # where the SPMC waits for the next request, once booted
        self.observer: Callable[[SpmcExchange], None] | None = None  # sees every exchange (the checker)
        self.calls = 0
        self.aborted = 0

    def boot(self) -> None:
        """Run the SPMC's init until it signals readiness with FFA_MSG_WAIT: its exchange point."""
        kind = self._run()
        if self._response is None:
            raise SpmcError(f"SPMC did not boot: {self._stop_reason(kind)}")
        if self._response[0] & MASK32 != ffa.FFA_MSG_WAIT:
            raise SpmcError(f"SPMC did not signal readiness: first SMC had x0={self._response[0]:#x}")
        self.exchange_pc = self.engine.pc
        self._vm_writes.commit()
        self._commit()

    def call(self, request: list[int]) -> SpmcExchange:
        """Forward x0-x17 to the SPMC and return its response (EL2 -> EL3 -> S-EL1 and back).

        The exchange keeps ``request`` itself, not a copy: the caller hands over a frame it no longer changes.
        """
        self.account.charge_all(self._entry_charges)
        clock = self.clock.cell  # the count itself: Clock.now's property call costs as much again
        entered = clock.value
        self._entry.load(request)
        exceptions = self.engine.exceptions_taken
        kind = self._run(self._entry.enter)  # x0-x17 written, the journal begun, the SPMC started
        aborted = self._abort_reason(kind, exceptions)
        written = tuple(self._vm_writes.written())
        if written:  # usually none: a (non-keeping) journal with nothing written has nothing to commit
            self._vm_writes.commit()
        sgis = ()
        if self._sgis:  # rarely: a notification's schedule receiver interrupt
            sgis = tuple(self._sgis)
            self._sgis.clear()
        if aborted is None:
            response = self._response
            self._commit()
        else:
            response = aborted_response()
            self._roll_back()
        left = clock.value
        self.account.charge_all(self._exit_charges)
        self.calls += 1
        exchange = SpmcExchange(request, response, entered, left, aborted, written, sgis)
        if self.observer is not None:
            self.observer(exchange)
        return exchange

    @property
    def idle(self) -> bool:
        """At the exchange point with nothing uncommitted: how the SPMC must be between calls."""
        return self.exchange_pc is not None and self.engine.pc == self.exchange_pc and \
            self.engine.fault is None and not self.journal.written()

    def _run(self, enter: Callable[[], int] | None = None) -> StopKind:
        self._response = None
        try:
            deadline = self.clock.cell.value + self.budget
            kind = self.engine.run(deadline if deadline < self.limit else self.limit, first=enter)
        finally:
            for pa, size in self._writes.take():  # what reached VM RAM must reach the VMs' code caches
                self._physmem.written(pa, size)
        if self.engine.trap_entry.trapped:
            self._take_response()
        return kind

    def _abort_reason(self, kind: StopKind, exceptions: int) -> str | None:
        """Why the call cannot stand, or None when the SPMC answered from its exchange point."""
        if self._response is None:
            return self._stop_reason(kind)
        if self.engine.exceptions_taken != exceptions:
            return "the SPMC took an exception"
        if self._response_pc != self.exchange_pc:
            return f"the SPMC answered from {self._response_pc:#x}, not from its exchange point"
        return None

    def _stop_reason(self, kind: StopKind) -> str:
        if kind is StopKind.FAULT:
            fault = self.engine.fault
            where = self.image.symbols.lookup(fault.pc) if fault else None
            return (f"SPMC fault: {fault.kind if fault else '?'} at pc {fault.pc if fault else 0:#x}"
                    + (f" <{where}>" if where else ""))
        if kind is StopKind.BUDGET:
            if self.clock.now >= self.limit:
                return "the run's cycle limit was reached in the SPMC"
            return f"no answer within {self.budget} cycles"
        return f"the SPMC stopped without answering ({kind.value})"

    def _commit(self) -> None:
        self.journal.commit()
        if self._stores is not None:
            self._stores.settle()
        # As uc.context_update(self._saved), without its Python layer: once per forwarded call.
        status = _context_save(self.engine.uc._uch, self._saved.context)
        if status:
            raise UcError(status)

    def _roll_back(self) -> None:
        self.journal.rollback()
        if self._stores is not None:
            self._stores.settle()
        self.engine.uc.context_restore(self._saved)
        self.engine.fault = None
        self.aborted += 1

    def _icc(self, encoding: tuple[int, int, int, int, int], value: int | None) -> int | None:
        """ICC_ASGI1R_EL1 writes: an SGI to the normal world (group 1 non-secure), which the SPMD hands on with
        the exchange; the SPMC runs on the core that made the call, so that core takes it (TargetList aside)."""
        if value is None or ICC_REGISTERS.get(encoding) != "ASGI1R":
            return None
        self._sgis.append(sgi_intid(value))
        return 0

    def _take_response(self) -> None:
        """The SMC (or HVC) that stopped the SPMC: its x0-x17 are the response, its PC where the SPMC goes on."""
        self._response, self._response_pc, _insn = self.engine.trap_entry.trap()
