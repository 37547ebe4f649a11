"""FF-A notifications at the mediator: the VMs' calls, their bitmaps at the SPMC, and the SPMC's interrupt.

The SPMC keeps the bitmaps (firmware/notif.c); the mediator checks that a
VM speaks only for itself and forwards what involves an SP (Xen ffa_notif.c
ffa_handle_notification_bind/set/get; Hafnium as the hypervisor,
src/ffa/hypervisor/notifications.c).  A VM's notifications to another VM
are NOT_SUPPORTED, which is Xen 4.22's answer too; under CONFIG_FFA_VM_TO_VM
Xen raises one of its own, "RX buffer full", when another VM's FFA_MSG_SEND2
fills a VM's RX buffer (ffa_raise_rx_buffer_full), and reports it in the
hypervisor's bitmap.  What differs between mediators is who takes the
SPMC's schedule receiver interrupt (SRI), sent to the core that made the
call:

- a mediator with a notification pending interrupt (``Profile.notification_npi``:
  Xen, the spec's hypervisor) takes it, asks the SPMC which endpoints have
  notifications pending (FFA_NOTIFICATION_INFO_GET_64) and injects its NPI
  into each one's VM, on its first vCPU that is on, each time the SPMC
  names it (Xen ffa_notif.c notif_sri_action, notif_vm_pend_intr);
- otherwise (pKVM, which leaves the GIC to the host) the calling guest takes
  the SRI itself.

VMs' bitmaps are created at the SPMC when the mediator boots and destroyed
at teardown, where the profile does so (Xen ffa_notif_domain_init and
ffa_notif_domain_destroy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emu.el2.hypervisor import Call
from emu.el2.smccc import MASK32
from emu.ffa import constants as ffa
from emu.ffa.errors import FfaError
from emu.trace import decode
from emu.vcpu_run import InterruptingVcpu
from emu.vm import VirtualMachine

if TYPE_CHECKING:
    from emu.ffa.mediator import Mediator

# What the SPMC must report in FFA_FEATURES for the mediator to offer notifications (Xen ffa_notif_init).
FIRMWARE_ABIS = (ffa.FFA_NOTIFICATION_BITMAP_CREATE, ffa.FFA_NOTIFICATION_BITMAP_DESTROY,
                 ffa.FFA_NOTIFICATION_GET, ffa.FFA_FN64_NOTIFICATION_INFO_GET)
SET_DELAY_SRI = 1 << 1
GET_FROM_SP = 1 << 0
GET_FROM_SPM = 1 << 2
GET_FROM_HYP = 1 << 3
HYP_RX_BUFFER_FULL = 1 << 0  # the hypervisor's framework notification: another VM's message is in the RX buffer
INFO_MORE_PENDING = 1
INFO_LIST_COUNT_SHIFT = 7
INFO_LIST_SIZES_SHIFT = 12
INFO_IDS_PER_REGISTER = 4  # 16-bit IDs in each of x3-x7 (SMC64)


class Notifications:
    def __init__(self, mediator: Mediator) -> None:
        self.mediator = mediator
        self.profile = mediator.profile
        # endpoint IDs INFO_GET reports (Xen struct ffa_ctx_notif): named by the SPMC, or (VM to VM) given a
        # message, and those with the "RX buffer full" notification pending
        self._secure_pending: set[int] = set()
        self._vm_pending: set[int] = set()
        self._rx_full: set[int] = set()
        self.enabled = False  # the SPMC supports what the mediator needs (decided at boot)

    def boot(self) -> None:
        """Decide whether the SPMC supports notifications (a mediator that takes the SRI needs its interrupt
        ID too)."""
        abis = self.mediator.firmware_abis
        self.enabled = all(fid in abis for fid in FIRMWARE_ABIS)
        if self.enabled and self.profile.notification_npi is not None:
            answer = self.mediator.spmc_call(None, [ffa.FFA_FEATURES, ffa.FEATURE_ID_SRI])
            self.enabled = answer[0] == ffa.FFA_SUCCESS

    def create_bitmap(self, vm: VirtualMachine) -> str | None:
        """The VM's bitmap at the SPMC, where the profile creates one: the SPMC's refusal, or None."""
        if not self.profile.notification_bitmaps or not self.enabled:
            return None
        answer = self.mediator.spmc_call(None, [ffa.FFA_NOTIFICATION_BITMAP_CREATE, vm.endpoint_id, len(vm.vcpus)])
        if answer[0] == ffa.FFA_SUCCESS:
            return None
        return f"FFA_NOTIFICATION_BITMAP_CREATE answered {decode.error_of(answer) or hex(answer[0])}"

    def detach(self, vm: VirtualMachine) -> None:
        """The VM's bitmap goes at its teardown, whether or not its creation succeeded (Xen
        ffa_notif_domain_destroy: the SPMC's DENIED for a missing one is ignored)."""
        if self.profile.notification_bitmaps and self.enabled:
            self.mediator.spmc_call(None, [ffa.FFA_NOTIFICATION_BITMAP_DESTROY, vm.endpoint_id])

    # -- the VMs' calls --------------------------------------------------------------------
    def _require(self) -> None:
        if not self.enabled:
            raise FfaError(ffa.NOT_SUPPORTED)

    def _require_any(self) -> None:
        """GET and INFO_GET also serve the hypervisor's own notifications under CONFIG_FFA_VM_TO_VM."""
        if not self.enabled and not self.profile.vm_to_vm:
            raise FfaError(ffa.NOT_SUPPORTED)

    def bind(self, call: Call) -> list[int]:
        """BIND and UNBIND: the receiver (w1[15:0]) must be the caller, the sender an SP (the SPMC checks
        which); UNBIND goes with no flags."""
        self._require()
        w1, flags = call.args[1] & MASK32, call.args[2] & MASK32
        if w1 & 0xFFFF != call.vm.endpoint_id:
            raise FfaError(ffa.INVALID_PARAMETERS)
        fid = call.fid.value & MASK32
        if fid == ffa.FFA_NOTIFICATION_UNBIND:
            flags = 0
        elif flags and self.profile.notification_global_only:
            raise FfaError(ffa.DENIED)  # Xen ffa_handle_notification_bind: per-vCPU notifications unsupported
        if not w1 >> 16 & ffa.SECURE_ID_BIT:
            raise FfaError(ffa.NOT_SUPPORTED)
        self.mediator.spmc_call_ok(call, [fid, w1, flags, call.args[3] & MASK32, call.args[4] & MASK32])
        return self.mediator.success()

    def set(self, call: Call) -> list[int]:
        """SET: the sender (w1[31:16]) must be the caller, the receiver an SP (the SPMC checks which, and the
        bindings); Hafnium's hypervisor clears the delay flag, Xen passes it."""
        self._require()
        w1, flags = call.args[1] & MASK32, call.args[2] & MASK32
        if w1 >> 16 != call.vm.endpoint_id:
            raise FfaError(ffa.INVALID_PARAMETERS)
        if not w1 & ffa.SECURE_ID_BIT:
            raise FfaError(ffa.NOT_SUPPORTED)
        if self.profile.notification_delay_cleared:
            flags &= ~SET_DELAY_SRI
        self.mediator.spmc_call_ok(call, [ffa.FFA_NOTIFICATION_SET, w1, flags, call.args[3] & MASK32, call.args[4] & MASK32])
        return self.mediator.success()

    def get(self, call: Call) -> list[int]:
        """GET: the caller's own notifications; those from SPs and the SPM come from the SPMC, the hypervisor's
        "RX buffer full" from the mediator (CONFIG_FFA_VM_TO_VM); the VM bitmap is empty."""
        self._require_any()
        w1, flags = call.args[1] & MASK32, call.args[2] & MASK32
        endpoint = call.vm.endpoint_id
        if w1 & 0xFFFF != endpoint:
            raise FfaError(ffa.INVALID_PARAMETERS)
        out = self.mediator.success()
        secure = flags & (GET_FROM_SP | GET_FROM_SPM)
        if secure == GET_FROM_SP | GET_FROM_SPM:
            self._secure_pending.discard(endpoint)  # the secure side has nothing left to signal
        if secure and self.enabled:
            answer = self.mediator.spmc_call_ok(call, [ffa.FFA_NOTIFICATION_GET, w1, secure])
            if flags & GET_FROM_SP:
                out[2], out[3] = answer[2] & MASK32, answer[3] & MASK32
            if flags & GET_FROM_SPM:
                out[6] = answer[6] & MASK32
        if self.profile.vm_to_vm and flags & GET_FROM_HYP and endpoint in self._rx_full:
            self._rx_full.discard(endpoint)
            self._vm_pending.discard(endpoint)
            out[7] = HYP_RX_BUFFER_FULL
        return out

    def info_get(self, call: Call) -> list[int]:
        """INFO_GET from a VM (Xen ffa_handle_notification_info_get): its own ID if the SPMC named it or
        (VM to VM) a message reached it since the last INFO_GET, else NO_DATA; answered as FFA_SUCCESS_64
        whatever the call's width."""
        self._require_any()
        endpoint = call.vm.endpoint_id
        pending = endpoint in self._secure_pending or endpoint in self._vm_pending
        self._secure_pending.discard(endpoint)
        self._vm_pending.discard(endpoint)
        if not pending:
            raise FfaError(ffa.NO_DATA)
        return self.mediator.success(1 << INFO_LIST_COUNT_SHIFT, endpoint, wide=True)

    def rx_buffer_full(self, vm: VirtualMachine) -> None:
        """Another VM's message is in ``vm``'s RX buffer (Xen ffa_raise_rx_buffer_full): the notification is
        pending, and the NPI goes to the VM's first vCPU unless one is already owed for a VM's message."""
        endpoint = vm.endpoint_id
        self._rx_full.add(endpoint)
        if endpoint not in self._vm_pending:
            self._vm_pending.add(endpoint)
            self._inject(vm, vm.vcpus[0])

    # -- the SPMC's schedule receiver interrupt ---------------------------------------------------
    def schedule_receiver(self, call: Call | None, intids: tuple[int, ...]) -> None:
        """The SPMC sent SGIs to the core that made ``call``: deliver them as the profile's hypervisor does."""
        if call is None:
            return  # the mediator's own calls at boot or teardown: no guest runs on that core
        npi = self.profile.notification_npi
        if npi is None:
            vm = call.vm
            for intid in intids:
                vm.gic.send_sgi(intid, [vm.running])
            vm.vcpus[vm.running].recheck()
            return
        for endpoint in self._pending_endpoints(call):
            # an SP, or an endpoint that is no VM: nobody to signal
            vm = next((vm for vm in self.mediator.vms if vm.endpoint_id == endpoint), None)
            if vm is None:
                continue
            self._secure_pending.add(endpoint)
            vcpu = next((v for v in vm.vcpus if v.powered), None)
            if vcpu is not None:
                self._inject(vm, vcpu)

    def _inject(self, vm: VirtualMachine, vcpu: InterruptingVcpu) -> None:
        vm.gic.send_sgi(self.profile.notification_npi, [vcpu.cpu])
        vcpu.recheck()

    def _pending_endpoints(self, call: Call) -> list[int]:
        """FFA_NOTIFICATION_INFO_GET_64 until nothing more is pending: the first ID of every list."""
        endpoints: list[int] = []
        while True:
            answer = self.mediator.spmc_call(call, [ffa.FFA_FN64_NOTIFICATION_INFO_GET])
            if answer[0] != ffa.FFA_FN64_SUCCESS:
                return endpoints
            w2 = answer[2]
            ids = [answer[3 + n // INFO_IDS_PER_REGISTER] >> 16 * (n % INFO_IDS_PER_REGISTER) & 0xFFFF
                   for n in range(5 * INFO_IDS_PER_REGISTER)]
            position = 0
            for n in range((w2 >> INFO_LIST_COUNT_SHIFT) & 0x1F):
                endpoints.append(ids[position])
                position += (w2 >> (INFO_LIST_SIZES_SHIFT + 2 * n) & 3) + 1
                if position >= len(ids):
                    break
            if not w2 & INFO_MORE_PENDING:
                return endpoints
