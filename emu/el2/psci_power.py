"""PSCI CPU power management for a VM's vCPUs: CPU_ON, CPU_OFF, AFFINITY_INFO, CPU_SUSPEND (Arm DEN0022).

The vCPUs of a VM run one at a time on the machine's scheduler, so "the
calling CPU" is the VM's running vCPU.  CPU_SUSPEND is taken as a standby
(a power-down request may be granted as one, DEN0022 5.4): the vCPU waits
for an interrupt as with WFI and the call returns SUCCESS.
"""

from __future__ import annotations

from emu.el2 import psci
from emu.el2.hypervisor import Call, CallResult, ret
from emu.vm import VirtualMachine

AFFINITY_MASK = 0xFF_00FF_FFFF  # Aff3 (39:32), Aff2, Aff1, Aff0


def _target(vm: VirtualMachine, mpidr: int):  # noqa: ANN202 - an InterruptingVcpu or None
    return next((v for v in vm.vcpus if vm.gic.cpus[v.cpu].affinity == mpidr & AFFINITY_MASK), None)


def cpu_on(call: Call) -> CallResult:
    vm = call.vm
    target, entry, context = call.args[1], call.args[2], call.args[3]
    vcpu = _target(vm, target)
    if vcpu is None:
        return ret(psci.PSCI_INVALID_PARAMETERS)
    if vcpu.powered:
        return ret(psci.PSCI_ALREADY_ON)
    if not vm.stage2.contains(entry, 4):
        return ret(psci.PSCI_INVALID_ADDRESS)
    vcpu.power_on(entry, context)
    return ret(psci.PSCI_SUCCESS)


def cpu_off(call: Call) -> CallResult:
    call.vm.vcpus[call.vm.running].power_off()
    return CallResult({})


def affinity_info(call: Call) -> CallResult:
    if call.args[2]:  # lowest affinity level: only level 0 (a single vCPU) here
        return ret(psci.PSCI_INVALID_PARAMETERS)
    vcpu = _target(call.vm, call.args[1])
    if vcpu is None:
        return ret(psci.PSCI_INVALID_PARAMETERS)
    return ret(psci.AFFINITY_ON if vcpu.powered else psci.AFFINITY_OFF)


def cpu_suspend(call: Call) -> CallResult:
    vcpu = call.vm.vcpus[call.vm.running]
    vcpu.waiting = True
    vcpu.engine.request_stop()  # back to the scheduler, which sleeps the vCPU until it can wake
    return ret(psci.PSCI_SUCCESS)


HANDLERS = {
    psci.PSCI_CPU_ON: cpu_on, psci.PSCI_CPU_ON64: cpu_on,
    psci.PSCI_CPU_OFF: cpu_off,
    psci.PSCI_AFFINITY_INFO: affinity_info, psci.PSCI_AFFINITY_INFO64: affinity_info,
    psci.PSCI_CPU_SUSPEND: cpu_suspend, psci.PSCI_CPU_SUSPEND64: cpu_suspend,
}
