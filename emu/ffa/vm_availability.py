"""VM availability messages: telling subscribed SPs that a VM was created or destroyed (Xen).

Xen sends each SP whose partition properties ask for it (bits 6 and 7) a
framework direct request when a domain is created and when it is destroyed
(xen/arch/arm/tee/ffa_partinfo.c ffa_partinfo_domain_init,
ffa_partinfo_domain_destroy, ffa_direct_req_send_vm): FFA_MSG_SEND_DIRECT_REQ
(SMC32) from the hypervisor (sender 0), w2 = the framework flag and the
message type, a zero handle in w3/w4, the VM's ID in w5.  Anything but a
DIRECT_RESP carrying the type's ACK is INVALID_PARAMETERS; the status is w3,
and INTERRUPTED or RETRY is asked again, eleven calls at most.  An SP that
refused VM_CREATED is not told of the VM's destruction.

An SP that answers VM_DESTROYED with INTERRUPTED or RETRY stays to be told
again: the mediator's teardown retries it later (Mediator.tick); any other
answer is final.

A refusal of VM_CREATED fails the domain's creation (Mediator.boot): the VM
never runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emu.el2.smccc import MASK32, to_signed
from emu.ffa import constants as ffa
from emu.vm import VirtualMachine

if TYPE_CHECKING:
    from emu.ffa.mediator import Mediator

MAX_CALLS = 11  # ffa_direct_req_send_vm: the first call and ten retries
_AGAIN = (ffa.INTERRUPTED, ffa.RETRY)


class VmAvailability:
    def __init__(self, mediator: Mediator) -> None:
        self.mediator = mediator
        self._told: dict[int, list[int]] = {}  # endpoint ID -> SPs that accepted its VM_CREATED
        self._to_tell: dict[int, list[int]] = {}  # endpoint ID of a VM torn down -> SPs still to hear of it

    @property
    def _enabled(self) -> bool:
        mediator = self.mediator
        return mediator.profile.vm_availability_messages and \
            ffa.FFA_MSG_SEND_DIRECT_REQ in mediator.firmware_abis and bool(mediator.partitions)

    def created(self, vm: VirtualMachine) -> str | None:
        """VM_CREATED to every SP subscribed, in partition order, until one refuses: what it answered, or None
        when none refused."""
        if not self._enabled:
            return None
        told = self._told[vm.endpoint_id] = []
        for sp in self.mediator.partitions:
            if sp.properties & ffa.PARTITION_PROP_VM_CREATED:
                status = self._send(sp.endpoint_id, vm.endpoint_id, ffa.DIRECT_MSG_VM_CREATED)
                if status:
                    return f"SP {sp.endpoint_id:#x} answered VM_CREATED with {ffa.ERROR_NAMES.get(status, status)}"
                told.append(sp.endpoint_id)
        return None

    def destroyed(self, vm: VirtualMachine) -> bool:
        """VM_DESTROYED to every SP subscribed that did not refuse the VM's VM_CREATED (on a later teardown pass,
        to those that asked to be told again); True when no SP is left to tell."""
        told = self._told.pop(vm.endpoint_id, None)
        if told is not None:
            self._to_tell[vm.endpoint_id] = [
                sp.endpoint_id for sp in self.mediator.partitions
                if sp.properties & ffa.PARTITION_PROP_VM_DESTROYED
                and (sp.endpoint_id in told or not sp.properties & ffa.PARTITION_PROP_VM_CREATED)]
        pending = [sp_id for sp_id in self._to_tell.pop(vm.endpoint_id, [])
                   if self._send(sp_id, vm.endpoint_id, ffa.DIRECT_MSG_VM_DESTROYED) in _AGAIN]
        if pending:
            self._to_tell[vm.endpoint_id] = pending
        return not pending

    def _send(self, sp_id: int, vm_id: int, message: int) -> int:
        """The SP's status for one message (0 for accepted), asking again while it says INTERRUPTED or RETRY."""
        ack = ffa.DIRECT_MSG_FRAMEWORK_FLAG | (message + 1)
        status = 0
        for _ in range(MAX_CALLS):
            answer = self.mediator.spmc_call(None, [ffa.FFA_MSG_SEND_DIRECT_REQ, sp_id,
                                                    ffa.DIRECT_MSG_FRAMEWORK_FLAG | message, 0, 0, vm_id])
            if answer[0] != ffa.FFA_MSG_SEND_DIRECT_RESP or answer[2] & MASK32 != ack:
                return ffa.INVALID_PARAMETERS
            status = to_signed(answer[3], 32)
            if status not in _AGAIN:
                return status
        return status
