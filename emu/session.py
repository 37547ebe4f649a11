"""The Python API: build a machine, run it a step at a time, look inside, call the mediator, branch runs.

    from emu.session import Session

    s = Session.build("ping.elf", profile="pkvm")     # the bundled SPMC unless spmc= says otherwise
    call = s.run_until_call(name="FFA_VERSION")       # the call record, once the mediator has answered
    s.reg("x0")                                       # what the guest got back
    point = s.snapshot()
    s.set_reg("x0", 0x10000)                          # ... change the answer, run on, compare
    s.run()
    s.restore(point)                                  # and branch again from the same point

A run split into steps is the same run as one ``Machine.run()``: the same
trace, the same cycle counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unicorn import arm64_const

from emu.cpu.engine import Engine
from emu.el2.smccc import FRAME_REGS, MASK64
from emu.machine import Machine, MachineConfig
from emu.outcome import Outcome
from emu.platform.loaders import load_image
from emu.secure.firmware import default_spmc
from emu.snapshot import Snapshot, restore, take
from emu.trace.decode import fill_text
from emu.trace.records import HOP_CALL, TraceRecord
from emu.vm import VirtualMachine, VmSpec

DEFAULT_SPMC = "default"  # Session.build(spmc=...): $FFA_EMU_SPMC, else the bundled stub


class Session:
    """Drives one ``Machine``: steps, registers, memory, direct calls, snapshots."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self._watch: tuple[str | None, str | None] | None = None  # (vm, name) run_until_call waits for
        self._seen: TraceRecord | None = None
        machine.trace.add_annotator(lambda rec: self._on_record(rec))  # a function: snapshots share it

    @classmethod
    def build(cls, *images: str | Path, spmc: str | Path | None = DEFAULT_SPMC, cpus: int = 1,
              **options: Any) -> Session:
        """A machine with one VM of ``cpus`` vCPUs per image (ELF, arm64 Image or raw, as ``ffa-emu run`` loads them).

        ``spmc``: a firmware path, ``None`` for no secure world, or by default
        ``$FFA_EMU_SPMC`` else the bundled stub.  ``options`` are
        ``MachineConfig`` fields (``profile``, ``max_cycles``, ...).
        """
        specs = [VmSpec(load_image(Path(path)), vm_id=i, endpoint_id=i, cpus=cpus)
                 for i, path in enumerate(images, start=1)]
        firmware = default_spmc() if spmc == DEFAULT_SPMC else spmc
        return cls(Machine(MachineConfig(vms=specs, spmc_image=Path(firmware) if firmware else None, **options)))

    # -- running -----------------------------------------------------------------
    @property
    def cycles(self) -> int:
        """The machine clock."""
        return self.machine.clock.now

    @property
    def finished(self) -> bool:
        return self.machine.finished

    def run(self, cycles: int | None = None) -> bool:
        """Run ``cycles`` more cycles of the machine clock (None: to the end); True once every VM has stopped."""
        return self.machine.advance(None if cycles is None else self.cycles + cycles)

    def run_until_call(self, vm: str | None = None, name: str | None = None) -> TraceRecord | None:
        """Run until a call (of ``vm``, named ``name``) has been answered; its record, or None if the run ended."""
        self._watch, self._seen = (vm, name), None
        try:
            while self._seen is None and not self.machine.advance():
                pass
        finally:
            self._watch = None
        if self._seen is not None:
            fill_text(self._seen)
        return self._seen

    def _on_record(self, rec: TraceRecord) -> None:
        if self._watch is None or rec.hop != HOP_CALL or self._seen is not None:
            return
        vm, name = self._watch
        if (vm is None or rec.vm == vm) and (name is None or rec.name == name):
            self._seen = rec
            self.machine.request_pause(self.vm(rec.vm))

    def outcome(self) -> Outcome:
        """The run so far as an ``Outcome`` (exit code, trace, consoles, ``explain()``)."""
        return Outcome(self.machine.result(), self.machine)

    # -- looking inside ----------------------------------------------------------------
    def vm(self, vm: str | int | VirtualMachine = "vm1") -> VirtualMachine:
        """A VM by name (``vm1``), index (0) or itself."""
        if isinstance(vm, VirtualMachine):
            return vm
        if isinstance(vm, int):
            return self.machine.vms[vm]
        found = next((v for v in self.machine.vms if v.name == vm), None)
        if found is None:
            raise KeyError(f"no VM {vm!r} (this machine has {', '.join(v.name for v in self.machine.vms)})")
        return found

    def reg(self, name: str, vm: str | int | VirtualMachine = "vm1", vcpu: int = 0) -> int:
        """A register of one of the VM's vCPUs (the boot one by default): ``x0``-``x30``, ``sp``, ``pc``,
        ``pstate``, ``vbar_el1``, ..."""
        return self._engine(vm, vcpu).uc.reg_read(_reg_id(name))

    def set_reg(self, name: str, value: int, vm: str | int | VirtualMachine = "vm1", vcpu: int = 0) -> None:
        self._engine(vm, vcpu).uc.reg_write(_reg_id(name), value & MASK64)

    def _engine(self, vm: str | int | VirtualMachine, vcpu: int) -> Engine:
        engines = self.vm(vm).engines
        if not 0 <= vcpu < len(engines):
            raise KeyError(f"no vCPU {vcpu} (the VM has {len(engines)})")
        return engines[vcpu]

    def read(self, ipa: int, size: int, vm: str | int | VirtualMachine = "vm1") -> bytes:
        """Guest memory, by intermediate physical address (through stage 2)."""
        return self.vm(vm).read_ipa(ipa, size)

    def write(self, ipa: int, data: bytes, vm: str | int | VirtualMachine = "vm1") -> None:
        self.vm(vm).write_ipa(ipa, data)

    # -- the mediator, directly ------------------------------------------------------------
    def call(self, *regs: int, vm: str | int | VirtualMachine = "vm1", conduit: str | None = None) -> list[int]:
        """One SMCCC call from ``vm`` with x0.. = ``regs`` (the rest 0), as if it trapped; returns x0-x17.

        It goes through the same EL2 path as a guest's ``hvc`` or ``smc`` (and
        into the trace), without running guest code.  The conduit is by
        default the one the VM's device tree names for PSCI, the one a guest
        finding its FF-A conduit as Linux does uses (``smc`` under pkvm).
        """
        if len(regs) > FRAME_REGS:
            raise ValueError(f"a call frame has {FRAME_REGS} registers, not {len(regs)}")
        self.machine.boot()
        frame = [r & MASK64 for r in regs] + [0] * (FRAME_REGS - len(regs))
        return self.machine.el2.handle_frame(self.vm(vm), conduit or self.machine.profile.psci_conduit, frame)

    # -- branching ------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The whole machine state now (memory, every engine, the mediator, the trace)."""
        return take(self.machine)

    def restore(self, snap: Snapshot) -> None:
        """Back to ``snap``; a snapshot can be restored any number of times."""
        restore(self.machine, snap)


def _reg_id(name: str) -> int:
    reg = getattr(arm64_const, f"UC_ARM64_REG_{name.upper()}", None)
    if reg is None:
        raise KeyError(f"no AArch64 register {name!r}")
    return reg
