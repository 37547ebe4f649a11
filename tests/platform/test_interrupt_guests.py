"""GICv3, generic timer interrupts, WFI and SMP as guests see them.  Each guest passed the same TAP
checks under qemu-system-aarch64 -M virt,gic-version=3 -cpu cortex-a72 (smp_sgi, smp_code with -smp 2) when it
was written: register values of the GICv3 architecture (IHI 0069) as QEMU implements them."""

from __future__ import annotations

import pytest

from emu.cpu.engine import Engine
from emu.machine import Machine, MachineConfig
from emu.platform.loaders import load_image
from emu.vm import VmSpec


@pytest.mark.parametrize("name, cpus", [("gic_regs", 1), ("timer_irq", 1), ("wfi_wakeup", 1), ("sgi_self", 1),
                                        ("irq_unmask", 1), ("smp_sgi", 2), ("smp_code", 2)])
@pytest.mark.parametrize("native", [None, False], ids=["native", "python"])
def test_interrupt_guest(name, cpus, native, guest_image) -> None:
    spec = VmSpec(load_image(guest_image(name)), vm_id=1, endpoint_id=1, cpus=cpus)
    result = Machine(MachineConfig(vms=[spec], native=native)).run()
    vm = result.vms[0]
    assert vm.state == "off", vm.exit_reason
    assert vm.tap.plan and len(vm.tap.passed) == vm.tap.plan and not vm.tap.problems, vm.console


def test_timer_interrupts_are_deterministic(guest_image, run_guests) -> None:
    runs = [run_guests(guest_image("timer_irq")).result for _ in range(2)]
    assert runs[0].vms[0].console == runs[1].vms[0].console
    assert runs[0].cycles == runs[1].cycles


def test_wfi_sleeps_without_instructions(guest_image, run_guests) -> None:
    """An idle guest costs no host work: the time it waited is not instructions."""
    result = run_guests(guest_image("wfi_wakeup")).result
    assert result.cycles > 10 * result.instructions


@pytest.mark.parametrize("native", [None, False], ids=["native", "python"])
def test_a_masked_irq_waits_inside_the_engine(native, guest_image, monkeypatch) -> None:
    """irq_unmask works through 20,000 masked blocks with SGI 6 pending: the block hook looks at PSTATE.I
    before each (Engine.run(until_unmasked=True)), so the engine does not come back to Python at every one."""
    runs = []
    run = Engine.run

    def counted(self, deadline, until_unmasked=False, **options):
        runs.append(until_unmasked)
        return run(self, deadline, until_unmasked, **options)

    monkeypatch.setattr(Engine, "run", counted)
    spec = VmSpec(load_image(guest_image("irq_unmask")), vm_id=1, endpoint_id=1)
    vm = Machine(MachineConfig(vms=[spec], native=native)).run().vms[0]
    assert not vm.tap.problems and len(vm.tap.passed) == vm.tap.plan, vm.console
    assert runs.count(True) <= 2 and len(runs) < 20
