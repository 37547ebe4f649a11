"""The VMs that see and reach each other under Xen's CONFIG_FFA_VM_TO_VM.

A VM joins the list with its first FF-A call after FFA_VERSION, when Xen
publishes the version it negotiated (ffa.c ffa_negotiate_version), and leaves
it first thing at teardown (ffa_domain_teardown).  Each change moves the tag
FFA_PARTITION_INFO_GET_REGS reports (ffa_partinfo.c ffa_partinfo_inc_tag,
starting at 1), so a caller walking the list in several calls is told to
start again (RETRY).
"""

from __future__ import annotations

from emu.vm import VirtualMachine

TAG_MASK = 0xFFFF


class VmList:
    def __init__(self) -> None:
        self.vms: list[VirtualMachine] = []  # in the order they joined
        self._tag = 1

    @property
    def tag(self) -> int:
        return self._tag & TAG_MASK

    def publish(self, vm: VirtualMachine) -> None:
        self.vms.append(vm)
        self._tag += 1

    def withdraw(self, vm: VirtualMachine) -> None:
        if vm in self.vms:
            self.vms.remove(vm)
            self._tag += 1

    def find(self, endpoint_id: int) -> VirtualMachine | None:
        """The listed VM with that endpoint ID (Xen ffa_endpoint_domain_lookup: it exists, has FF-A and has
        negotiated a version)."""
        return next((vm for vm in self.vms if vm.endpoint_id == endpoint_id), None)
