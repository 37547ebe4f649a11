"""The emulated machine: physical memory, VMs, the EL2 handler, the scheduler.

VMs share one physical PE: they run round-robin, each for a quantum of
cycles of the machine clock, in a fixed order, so a run is deterministic
whatever the host.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from emu import limits
from emu.platform import memory_map
from emu.secure.rmm import RmmResponder
from emu.secure.rmm_abi import DEFAULT_RMM_REVISIONS
from emu.cpu.blockcost import Clock
from emu.ffa.mediator import Mediator, ffa_unavailable
from emu.ffa.profile_loader import load_profile
from emu.secure.spmd import SPMC_CALL_BUDGET, SecureWorld
from emu.platform.console import Console, ConsoleFlood
from emu.cpu.costmodel import BlockClassifier, CostModel, load_cost_model, load_cpu_model
from emu.el2 import pkvm_host, psci_power
from emu.el2.hypervisor import Hypervisor
from emu.platform.elf import load_elf
from emu.platform.image import GuestImage
from emu.cpu.engine import Fault, StopKind
from emu.platform.physmem import PhysicalMemory
from emu.platform.pl011 import InputSource
from emu.tap import TapReport, parse_tap
from emu.trace.records import Trace, TraceRecord
from emu.vm import VirtualMachine, VmSpec, create_vm

DEFAULT_QUANTUM = 200_000
DEFAULT_MAX_CYCLES = 2_000_000_000  # one emulated second at 2 GHz; a spinning guest stops in seconds


@dataclass
class MachineConfig:
    """What to build: the VMs, the cost model, the SPMC and the run's limits and outputs."""

    vms: list[VmSpec]
    cost_model: CostModel = field(default_factory=load_cost_model)
    cpu: str | None = None  # a core model by name (emu.cpu.costmodel.CPUS): replaces cost_model
    max_cycles: int = DEFAULT_MAX_CYCLES
    quantum: int = DEFAULT_QUANTUM
    native: bool | None = None  # None: the C block hook when built, else pure Python
    console_stream: IO[str] | None = None
    symbolize: bool = True
    keep_trace: bool = True
    rmm_revisions: tuple[int, ...] = DEFAULT_RMM_REVISIONS  # revision words the RMM supports
    profile: str = "spec"  # a profile's name or a .py file defining PROFILE (emu/ffa/profile_loader.py)
    spmc_image: Path | GuestImage | None = None  # None: no secure world, FF-A calls answer NOT_SUPPORTED
    # (an GuestImage already loaded saves parsing the firmware again for every machine, e.g. when fuzzing)
    spmc_version: int = 0  # FF-A version the SPMC implements; 0: the firmware's build default
    spmc_flavour: str = "stub"  # the partitions the stub SPMC hosts (emu.ffa.stub_partitions.SPMC_FLAVOURS)
    spmc_budget: int = SPMC_CALL_BUDGET  # cycles one call may run in the SPMC before it is aborted
    progress: Callable[[int, int], None] | None = None  # called (cycles, traps) between scheduler slices
    timeout: float | None = None  # wall-clock seconds a run may take (checked between slices); None: no bound
    check: bool = False  # run the invariant checker (emu.invariants) after every call; see RunResult.violations
    console_input: InputSource | None = None  # what vm1's UART (and semihosting) receives, as QEMU's serial0


@dataclass
class VmOutcome:
    """How a VM's run ended: its state, console, TAP report and counts."""

    name: str
    state: str  # off | fault | runaway | idle | timeout
    exit_reason: str
    fault: Fault | None
    console: str
    tap: TapReport
    instructions: int
    cycles: int
    image: GuestImage
    exit_status: int | None = None  # a semihosting SYS_EXIT's status
    pc: int = 0  # where the vCPU was when the VM stopped
    stop_site: str | None = None  # that PC named (function+0xoff (file:line)) when the VM did not power off
    last_call: TraceRecord | None = None  # the VM's most recent call (decoded by stops.describe_call)


@dataclass
class RunResult:
    """What a run gives back: each VM's outcome, the trace and the totals."""

    vms: list[VmOutcome]
    trace: Trace
    cycles: int
    instructions: int
    traps: int
    wall_seconds: float
    violations: list = field(default_factory=list)  # emu.invariants.Violation, with check=True

    @property
    def faults(self) -> list[VmOutcome]:
        return [vm for vm in self.vms if vm.state not in ("off",)]


class Machine:
    def __init__(self, config: MachineConfig) -> None:
        if not config.vms:
            raise ValueError("a machine needs at least one VM")
        limits.check_vm_count(len(config.vms))
        limits.check_guest_ram([spec.ram_size for spec in config.vms])
        self.config = config
        self.clock = Clock()
        self.trace = Trace(keep=config.keep_trace)
        self.cost_model = load_cpu_model(config.cpu) if config.cpu else config.cost_model
        self.classifier = BlockClassifier(self.cost_model)
        total = memory_map.VM_RAM_PA - memory_map.PHYS_BASE + sum(
            _align(spec.ram_size) for spec in config.vms)
        self.physmem = PhysicalMemory(total)
        self.secure_ram = self.physmem.allocate("secure", memory_map.SECURE_RAM_SIZE, memory_map.SECURE_RAM_PA)
        self.hyp_ram = self.physmem.allocate("hyp", memory_map.HYP_RAM_SIZE, memory_map.HYP_RAM_PA)
        self.el2 = Hypervisor(self.clock, self.cost_model, self.trace, config.symbolize)
        for fid, handler in psci_power.HANDLERS.items():
            self.el2.register(fid, handler)
        self.rmm = RmmResponder(config.rmm_revisions)
        self.rmm.register(self.el2)
        self.profile = load_profile(config.profile)
        self.mediator: Mediator | None = None
        if config.spmc_image is not None:
            secure = SecureWorld(self.physmem, self.secure_ram, _spmc_elf(config.spmc_image), config.spmc_version,
                                 self.classifier, self.clock, self.cost_model, config.native,
                                 budget=config.spmc_budget, limit=config.max_cycles, flavour=config.spmc_flavour)
            self.mediator = Mediator(self.profile, secure, self.physmem, self.hyp_ram,
                                     self.cost_model, self.el2.account, self.trace)
            self.el2.register_range(self.profile.owns, self.mediator.handle, self.mediator.implemented,
                                    self.profile.ffa_conduits)
            self.el2.attribute(secure.account)
        else:
            self.el2.register_range(self.profile.owns, ffa_unavailable(self.profile), lambda: 0,
                                    self.profile.ffa_conduits)
        if self.profile.host_hypercalls:
            host_pages = pkvm_host.HostPages(self.mediator)
            self.el2.dedicate("hvc", pkvm_host.owns, host_pages.handle)
            if self.mediator is not None:
                self.mediator.hyp_shared = host_pages.shared_with_hyp
        self.vms: list[VirtualMachine] = []
        for spec in config.vms:
            region = self.physmem.allocate(f"vm{spec.vm_id}", spec.ram_size)
            console = Console(f"vm{spec.vm_id}", config.console_stream)
            vm = create_vm(spec, self.physmem, region, self.classifier, self.clock, console, config.native,
                           config.console_input if not self.vms else None, self.profile.psci_conduit)
            self.el2.attach(vm)
            if self.mediator is not None:
                self.mediator.attach(vm)
            self.vms.append(vm)
        self.checker = None
        if config.check:
            from emu.invariants import InvariantChecker  # imported when asked for: most runs never check

            self.checker = InvariantChecker(self)
            self.el2.checker = self.checker
        # the scheduler: VMs still running, whose turn it is, and where that turn stands (see _run_turn)
        self._booted = False
        self._runnable = list(self.vms)
        self._idle: set[int] = set()  # the runnable VMs (IDs) whose last turn found them waiting
        self._turn = 0
        self._budget: int | None = None  # cycles each vCPU gets in the current turn; None between turns
        self._vcpu = self._waiting = self._powered = 0
        self._slice_end: int | None = None  # where the running vCPU's slice ends
        self._pause = False
        self.wall_seconds = 0.0

    def boot(self) -> None:
        """Boot the secure world and the mediator (once; ``advance`` does it when needed)."""
        if not self._booted:
            self._booted = True
            if self.mediator is not None:
                self.mediator.boot()
                for vm, refusal in self.mediator.refused:
                    vm.state, vm.exit_reason = "not created", f"the hypervisor failed to create it: {refusal}"
                    self._retire(vm)

    def run(self) -> RunResult:
        """Run every VM to its end (or the cycle limit) and return the result."""
        self.advance()
        return self.result()

    @property
    def finished(self) -> bool:
        return not self._runnable

    def request_pause(self, vm: VirtualMachine) -> None:
        """From a trap of ``vm``: make ``advance`` return once the trap is handled (the run goes on later)."""
        self._pause = True
        vm.engines[vm.running].request_stop()

    def advance(self, until: int | None = None) -> bool:
        """Run the VMs until every one has stopped (True), the clock reaches ``until`` or a pause (False).

        A run split into several ``advance`` calls is the same run: a vCPU
        paused inside its slice gets the rest of it when the run goes on.
        """
        with _fewer_gc_passes():
            started = time.perf_counter()
            try:
                return self._advance(until, started)
            finally:
                self.wall_seconds += time.perf_counter() - started

    def _advance(self, until: int | None, started: float) -> bool:
        self.boot()
        mediator = self.mediator
        while self._runnable:
            if until is not None and self.clock.now >= until:
                return False
            if mediator is not None and self.clock.now >= mediator.teardown_due:
                mediator.tick()
            if self._turn >= len(self._runnable):
                self._turn = 0
            vm = self._runnable[self._turn]
            if self._budget is None and not self._begin_turn(started):
                break
            kind = self._run_turn(vm, until)
            paused, self._pause = self._pause, False
            if kind is not None:
                self._end_turn(vm, kind)
            if paused:
                return False
        return True

    def _begin_turn(self, started: float) -> bool:
        """Set the next turn's budget; False (every VM stopped) at the cycle limit or the wall-clock timeout."""
        limit, timeout = self.config.max_cycles, self.config.timeout
        remaining = limit - self.clock.now
        if remaining <= 0:
            _stop_all(self._runnable, "runaway", f"stopped at the cycle limit ({limit} cycles)")
            return False
        if timeout is not None and self.wall_seconds + time.perf_counter() - started >= timeout:
            _stop_all(self._runnable, "timeout", f"stopped after {timeout:g} s of wall-clock time (--timeout)")
            return False
        self._budget = min(self.config.quantum, remaining)
        self._vcpu = self._waiting = self._powered = 0
        return True

    def _run_turn(self, vm: VirtualMachine, until: int | None) -> StopKind | None:
        """Each powered vCPU of ``vm`` for the turn's budget in turn, in a fixed order, from where the turn stands.

        The turn's outcome once it is over: IDLE when every powered vCPU waits
        with nothing that can wake it (a VM whose vCPUs are all off is off).
        None while it is not: paused, or stopped at ``until``.
        """
        while self._vcpu < len(vm.vcpus):
            vcpu = vm.vcpus[self._vcpu]
            if not vcpu.powered:
                self._vcpu += 1
                continue
            if self._slice_end is None:
                self._slice_end = self.clock.now + self._budget
                self._powered += 1
            vm.running = self._vcpu
            engine = vcpu.engine
            try:
                kind = vcpu.run(self._slice_end if until is None else min(self._slice_end, until))
            except ConsoleFlood as exc:  # FFA_CONSOLE_LOG past the console limit (the UART path stops itself)
                engine.fault = Fault("console flood", engine.pc, detail=str(exc))
                kind = StopKind.FAULT
            if kind is StopKind.FAULT or vm.state != "running":
                return kind
            if self._pause or (kind is StopKind.BUDGET and self.clock.now < self._slice_end):
                return None
            self._waiting += kind is StopKind.IDLE
            self._slice_end = None
            self._vcpu += 1
        if not self._powered:
            vm.state, vm.exit_reason = "off", "every vCPU powered off (PSCI CPU_OFF)"
            return StopKind.TRAP_HANDLED
        return StopKind.IDLE if self._waiting == self._powered else StopKind.BUDGET

    def _end_turn(self, vm: VirtualMachine, kind: StopKind) -> None:
        """Close a turn.  A VM whose vCPUs all wait with nothing of their own to wake them is hung only once
        every VM left is in that state: until then another VM's call may yet interrupt it (an FF-A message
        from VM to VM, a notification an SP sets at another VM's request)."""
        self._budget = self._slice_end = None
        if kind is StopKind.FAULT:
            vm.state = "fault"
            vm.fault = vm.engines[vm.running].fault
            vm.exit_reason = vm.fault.kind if vm.fault else "fault"
        if kind is StopKind.IDLE:
            self._idle.add(vm.vm_id)
        else:
            self._idle.discard(vm.vm_id)
        self._idle.difference_update(w.vm_id for w in self._runnable if w is not vm and _woken(w))
        if vm.state != "running":
            self._retire(vm)
        elif self._idle.issuperset(w.vm_id for w in self._runnable):
            for waiting in list(self._runnable):
                waiting.state = "idle"
                waiting.exit_reason = "waiting for an interrupt that never comes (WFI)"
                self._retire(waiting)
        else:
            self._turn += 1
        if self.config.progress is not None:
            self.config.progress(self.clock.now, self.el2.traps)

    def _retire(self, vm: VirtualMachine) -> None:
        """A VM that stopped leaves the round and (with a mediator) is torn down."""
        self._runnable.remove(vm)
        self._idle.discard(vm.vm_id)
        if self.mediator is not None:
            self.mediator.detach(vm)
            if self.checker is not None:
                self.checker.check_state(0, f"{vm.name} (after its teardown)")

    def result(self) -> RunResult:
        """The run's result so far (consoles are closed once every VM has stopped)."""
        if self.finished:
            for vm in self.vms:
                vm.console.close()
        return RunResult(
            vms=[self._outcome(vm) for vm in self.vms],
            trace=self.trace,
            cycles=self.clock.now,
            instructions=sum(engine.counter.instructions for vm in self.vms for engine in vm.engines),
            traps=self.el2.traps,
            wall_seconds=self.wall_seconds,
            violations=list(self.checker.violations) if self.checker is not None else [],
        )

    def _outcome(self, vm: VirtualMachine) -> VmOutcome:
        text = vm.console.text
        pc = vm.engines[vm.running].pc
        last = self.el2.last_call(vm.name)
        site = self.el2.site_namer(vm).name(pc) if vm.state != "off" and self.config.symbolize else None
        return VmOutcome(vm.name, vm.state, vm.exit_reason, vm.fault, text, parse_tap(text),
                         sum(e.counter.instructions for e in vm.engines), sum(e.counter.cycles for e in vm.engines),
                         vm.image, vm.exit_status, pc, site, last)


def _woken(vm: VirtualMachine) -> bool:
    """Whether a VM found waiting has been given something to wake for since (or has a timer event ahead)."""
    return any(vcpu.powered and vcpu.waiting and vcpu.can_wake() for vcpu in vm.vcpus)


def _stop_all(runnable: list[VirtualMachine], state: str, reason: str) -> None:
    for vm in runnable:
        vm.state = state
        vm.exit_reason = reason
    runnable.clear()


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Run with the cyclic GC collecting less often.

    A run that keeps its trace holds hundreds of thousands of records, none in
    a reference cycle; with the default thresholds the collector rescans all
    of them every ~70,000 allocations, which costs a fifth of the trap rate.
    """
    old = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _spmc_elf(image: Path | GuestImage) -> GuestImage:
    return image if isinstance(image, GuestImage) else load_elf(image)


def _align(size: int) -> int:
    return (size + memory_map.REGION_ALIGN - 1) // memory_map.REGION_ALIGN * memory_map.REGION_ALIGN

