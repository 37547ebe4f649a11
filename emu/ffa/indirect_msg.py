"""Indirect messaging (FFA_MSG_SEND2) at the mediator, and the VMs' buffer pairs it registers with the SPMC.

Xen 4.22 (xen/arch/arm/tee/ffa_msg.c ffa_handle_msg_send2) does not copy a
VM's message: the SPMC reads it from the VM's own TX buffer, which Xen
registered with the SPMC when the VM mapped its pair (ffa_rxtx.c
ffa_handle_rxtx_map: FFA_RXTX_MAP with x1-x3 zero and an endpoint RX/TX
descriptor in Xen's TX buffer, when the SPMC supports FFA_RX_ACQUIRE).  With
its pair registered, Xen takes the VM's RX buffer from the SPMC before it
writes it (FFA_RX_ACQUIRE naming the VM) and hands it back when the VM
releases it (FFA_RX_RELEASE naming the VM).  pKVM forwards FFA_MSG_SEND2
untouched; the SPMC then reads pKVM's own TX buffer, the one pKVM registered
(arch/arm64/kvm/hyp/nvhe/ffa.c ffa_call_supported, do_ffa_rxtx_map).

Between VMs (Xen's CONFIG_FFA_VM_TO_VM, off by default) Xen itself is the
postman (ffa_msg.c ffa_msg_send2_vm): it takes the receiver's RX buffer,
writes a 1.2 header and the payload there, and raises the receiver's "RX
buffer full" notification.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from emu.el2.hypervisor import Call
from emu.el2.smccc import MASK32
from emu.ffa import constants as ffa
from emu.ffa.errors import FfaError
from emu.vm import VirtualMachine

if TYPE_CHECKING:
    from emu.ffa.mediator import Mediator

# Endpoint RX/TX descriptor (FF-A 1.1): the endpoint, then the offsets of two composite memory region
# descriptors, each with one constituent; Xen places them at 16 and 48 (ffa_rxtx.c ffa_rxtx_map_endpoint).
_ENDPOINT_DESCRIPTOR = struct.Struct("<HHII4x")
_COMPOSITE = struct.Struct("<II8xQI4x")
RX_REGION_OFFSET = 16
TX_REGION_OFFSET = RX_REGION_OFFSET + _COMPOSITE.size
# The FFA_MSG_SEND2 header: flags, reserved, payload offset, receiver << 0 | sender << 16, size; FF-A 1.1's
# is 20 bytes, 1.2's 40 (a reserved word and a UUID follow).
_SEND2_HEADER = struct.Struct("<IIIII")
SEND2_HEADER_V1_1 = 20
SEND2_HEADER_V1_2 = 40
_UUID_AT = 24  # in a 1.2 header, after a reserved word


class IndirectMessaging:
    def __init__(self, mediator: Mediator) -> None:
        self.mediator = mediator
        self._registered: set[int] = set()  # endpoint IDs whose pair the SPMC knows

    @property
    def _firmware_rx_acquire(self) -> bool:
        """Xen ffa_probe_fw: FFA_RX_ACQUIRE, assumed where the SPMC has FFA_MSG_SEND2 but does not report it."""
        abis = self.mediator.firmware_abis
        return ffa.FFA_RX_ACQUIRE in abis or ffa.FFA_MSG_SEND2 in abis

    # -- the VMs' pairs at the SPMC -------------------------------------------------------------------
    def register(self, call: Call, tx_ipa: int, rx_ipa: int, pages: int) -> None:
        """Tell the SPMC where the VM's new pair is, where the profile does; its refusal fails the RXTX_MAP."""
        if not self.mediator.profile.registers_vm_buffers or not self._firmware_rx_acquire:
            return
        stage2 = call.vm.stage2
        descriptor = (_ENDPOINT_DESCRIPTOR.pack(call.vm.endpoint_id, 0, RX_REGION_OFFSET, TX_REGION_OFFSET)
                      + _COMPOSITE.pack(pages, 1, stage2.translate(rx_ipa), pages)
                      + _COMPOSITE.pack(pages, 1, stage2.translate(tx_ipa), pages))
        self.mediator.physmem.write(self.mediator.tx_pa, descriptor)
        self.mediator.spmc_call_ok(call, [ffa.FFA_FN64_RXTX_MAP, 0, 0, 0])
        self._registered.add(call.vm.endpoint_id)

    def unregister(self, call: Call | None, vm: VirtualMachine) -> None:
        if vm.endpoint_id in self._registered:
            self._registered.discard(vm.endpoint_id)
            self.mediator.spmc_call(call, [ffa.FFA_RXTX_UNMAP, vm.endpoint_id << 16])

    def acquire_rx(self, call: Call, vm: VirtualMachine) -> None:
        """Before the mediator writes ``vm``'s RX buffer: take it from the SPMC (Xen ffa_rx_acquire)."""
        if vm.endpoint_id in self._registered:
            self.mediator.spmc_call_ok(call, [ffa.FFA_RX_ACQUIRE, vm.endpoint_id])

    def release_rx(self, call: Call, vm: VirtualMachine) -> None:
        """``vm``'s RX buffer is free again: hand it back to the SPMC (Xen ffa_rx_release)."""
        if vm.endpoint_id in self._registered:
            self.mediator.spmc_call_ok(call, [ffa.FFA_RX_RELEASE, vm.endpoint_id])

    # -- FFA_MSG_SEND2 ------------------------------------------------------------------------------------
    def send2(self, call: Call) -> list[int]:
        """Xen's checks on the header in the VM's TX buffer (w1 and w2 are not read), then FFA_MSG_SEND2 naming
        the VM as the sender, for an SP receiver; a VM receiver only under CONFIG_FFA_VM_TO_VM."""
        vm = call.vm
        buffers = vm.ffa.buffers
        if buffers is None:
            raise FfaError(ffa.DENIED)
        header = vm.read_ipa(buffers.tx_ipa, SEND2_HEADER_V1_2)  # Xen copies a 1.2 header whatever the version
        _flags, _reserved, offset, endpoints, size = _SEND2_HEADER.unpack_from(header)
        sender, receiver = endpoints >> 16, endpoints & 0xFFFF
        if sender != vm.endpoint_id or receiver == vm.endpoint_id:
            raise FfaError(ffa.INVALID_PARAMETERS)
        v1_2 = self.mediator.vm_version(vm) >= ffa.VERSION_1_2
        if offset < (SEND2_HEADER_V1_2 if v1_2 else SEND2_HEADER_V1_1) or size == 0 or offset > buffers.size \
                or size > buffers.size - offset:
            raise FfaError(ffa.INVALID_PARAMETERS)
        if not receiver & ffa.SECURE_ID_BIT:
            if not self.mediator.profile.vm_to_vm:
                raise FfaError(ffa.INVALID_PARAMETERS)
            uuid = header[_UUID_AT:SEND2_HEADER_V1_2] if v1_2 else bytes(SEND2_HEADER_V1_2 - _UUID_AT)
            self._send2_vm(call, receiver, endpoints, uuid, vm.read_ipa(buffers.tx_ipa + offset, size))
            return self.mediator.success()
        if ffa.FFA_MSG_SEND2 not in self.mediator.firmware_abis or not self._firmware_rx_acquire:
            raise FfaError(ffa.NOT_SUPPORTED)
        self.mediator.spmc_call_ok(call, [ffa.FFA_MSG_SEND2, vm.endpoint_id << 16 & MASK32])
        return self.mediator.success()

    def _send2_vm(self, call: Call, receiver: int, endpoints: int, uuid: bytes, payload: bytes) -> None:
        """Xen ffa_msg_send2_vm: the receiver must be a listed VM with its pair mapped and its RX buffer free
        (INVALID_PARAMETERS, DENIED, BUSY) and room for a 1.2 header and the payload (NO_MEMORY); the header is
        written anew, the payload copied, and the receiver's "RX buffer full" notification raised."""
        target = self.mediator.vm_list.find(receiver)
        if target is None:
            raise FfaError(ffa.INVALID_PARAMETERS)
        rx = target.ffa.buffers
        if rx is None:
            raise FfaError(ffa.DENIED)
        if rx.rx_held_by_vm:
            raise FfaError(ffa.BUSY)
        self.acquire_rx(call, target)
        if rx.size - SEND2_HEADER_V1_2 < len(payload):
            self.release_rx(call, target)
            raise FfaError(ffa.NO_MEMORY)
        header = _SEND2_HEADER.pack(0, 0, SEND2_HEADER_V1_2, endpoints, len(payload)) + bytes(4) + uuid
        target.write_ipa(rx.rx_ipa, header + payload)
        self.mediator.account.charge(self.mediator.cost.copy_cost(len(header) + len(payload)), "copy")
        rx.rx_held_by_vm = True
        self.mediator.notifications.rx_buffer_full(target)
