"""The secure world: the SPMC stub firmware on its own engine, and the SPMD relay.

The SPMD stands for EL3's SPM dispatcher: it carries a call's x0-x17 from
the normal world into the SPMC (as the return of the SPMC's last SMC) and
takes the SPMC's next SMC back as the response.  The SPMC is trusted: its
engine maps all of physical memory at physical addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

from emu.cpu.blockcost import Account, Clock
from emu.cpu.costmodel import BlockClassifier, CostModel
from emu.platform.image import GuestImage
from emu.cpu.engine import Engine, StopKind
from emu.cpu.writetrack import WriteTracker
from emu.ffa import constants as ffa
from emu.platform import memory_map
from emu.platform.physmem import PhysicalMemory, Region

SPMC_CALL_BUDGET = 5_000_000  # cycles one SPMC call may take before it is declared hung


class SpmcError(Exception):
    """The secure world misbehaved (did not boot, faulted, or hung)."""


@dataclass
class SpmcExchange:
    """One forwarded call: what went in and what came out, with cycle stamps."""

    request: list[int]
    response: list[int]
    entered: int  # clock when the request reached the SPMC
    left: int  # clock when the response left the SPMC


class SecureWorld:
    def __init__(self, physmem: PhysicalMemory, region: Region, image: GuestImage, version: int,
                 classifier: BlockClassifier, clock: Clock, cost: CostModel, native: bool | None = None) -> None:
        image.check_fits(region.pa, region.size, "secure RAM")
        self.image = image
        self.clock = clock
        self.cost = cost
        self.account = Account("el3", clock)
        self.engine = Engine("spmc", physmem, classifier, clock, secure=True, native=native)
        self.engine.map_physical(physmem.base, physmem.base, physmem.size)
        # What the secure world writes into VM RAM (a partition filling a share) must reach the VMs' code.
        self._physmem = physmem
        self._writes = WriteTracker(self.engine.uc, memory_map.VM_RAM_PA, physmem.end, self.engine.counter.native)
        for seg in image.segments:
            physmem.write(seg.vaddr, seg.data + bytes(seg.memsz - len(seg.data)))
        self.engine.trap_handler = self._on_smc
        self.engine.reset(image.entry, x0=version)
        self._response: list[int] | None = None
        self.calls = 0

    def boot(self) -> None:
        """Run the SPMC's init until it signals readiness with FFA_MSG_WAIT."""
        message = self._run()
        if message[0] & 0xFFFF_FFFF != ffa.FFA_MSG_WAIT:
            raise SpmcError(f"SPMC did not signal readiness: first SMC had x0={message[0]:#x}")

    def call(self, request: list[int]) -> SpmcExchange:
        """Forward x0-x17 to the SPMC and return its response (EL2 -> EL3 -> S-EL1 and back)."""
        transitions = self.cost.transition
        self.account.charge(transitions["el2_to_el3"], "smc")
        self.account.charge(transitions["el3_world_switch"], "world_switch")
        entered = self.clock.now
        self.engine.frame.write(request)
        response = self._run()
        left = self.clock.now
        self.account.charge(transitions["el3_world_switch"], "world_switch")
        self.account.charge(transitions["el3_to_el2"], "smc")
        self.calls += 1
        return SpmcExchange(list(request), response, entered, left)

    def _run(self) -> list[int]:
        self._response = None
        try:
            kind = self.engine.run(self.clock.now + SPMC_CALL_BUDGET)
        finally:
            for pa, size in self._writes.take():
                self._physmem.written(pa, size)
        if kind is StopKind.FAULT:
            fault = self.engine.fault
            where = self.image.symbols.lookup(fault.pc) if fault else None
            raise SpmcError(f"SPMC fault: {fault.kind if fault else '?'} at pc {fault.pc if fault else 0:#x}"
                            + (f" <{where}>" if where else ""))
        if self._response is None:
            raise SpmcError(f"SPMC did not answer within {SPMC_CALL_BUDGET} cycles (stopped: {kind.value})")
        return self._response

    def _on_smc(self, engine: Engine, _intno: int) -> None:
        self._response = engine.frame.read()
        engine.request_stop()
