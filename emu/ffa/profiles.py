"""Mediator profiles: every way the FF-A spec, Linux pKVM and Xen differ, in one place.

A profile is data (which ABIs are handled, forwarded or refused; error
encoding; register rules; limits) plus one small hook, its version
negotiation policy.  The mediator itself is written once.  pKVM follows
arch/arm64/kvm/hyp/nvhe/ffa.c, Xen xen/arch/arm/tee/ffa*.c; `spec` follows
DEN0077 1.2 (with Hafnium's choices where the spec leaves room).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import NamedTuple

from emu.ffa import constants as ffa
from emu.el2.smccc import SMC64


class Disposition(Enum):
    HANDLE = "handled"  # the mediator answers (possibly talking to the SPMC itself)
    FORWARD = "forwarded"  # passed to the SPMC unchanged, the answer passed back
    REFUSE = "refused"  # FFA_ERROR(NOT_SUPPORTED)


H, F, R = Disposition.HANDLE, Disposition.FORWARD, Disposition.REFUSE

# Hafnium's fragment bound (build/toolchain/platform.gni plat_max_fragments): the 21st fragment of a
# transaction frees it and answers NO_MEMORY (src/ffa_memory.c ffa_memory_send_continue_validate).
HAFNIUM_MAX_FRAGMENTS = 20
# pKVM copies a whole descriptor into ffa_desc_buf, whose pages hyp_ffa_proxy_pages() sizes for a region
# header, one EMAD, a composite and SG_MAX_SEGMENTS (2048) ranges: 48 + 16 + 16 + 2048 * 16 bytes, rounded up
# to 9 pages (arch/arm64/include/asm/kvm_pkvm.h); a longer one is NO_MEMORY (nvhe/ffa.c __do_ffa_mem_xfer).
PKVM_DESCRIPTOR_BUFFER = -(-(48 + 16 + 16 + 2048 * 16) // 4096) * 4096


class VersionState:
    """Where one endpoint (or, for pKVM, the whole host) stands in negotiation."""

    def __init__(self, requested: int | None = None, locked: bool = False) -> None:
        self.requested = requested  # version recorded from the caller, None before any FFA_VERSION
        self.locked = locked

    @property
    def negotiated(self) -> bool:
        return self.requested is not None


class VersionAnswer(NamedTuple):
    """What FFA_VERSION returns, and what it records."""

    w0: int  # the returned version, or NOT_SUPPORTED (negative)
    record: int | None = None  # version to record for the caller (None: keep)
    lock: bool = False
    ask_firmware: bool = False  # pKVM: renegotiate the firmware down to ``record`` first


def _split(word: int) -> tuple[int, int, bool]:
    return ffa.version_major(word), ffa.version_minor(word), bool(word & ffa.VERSION_MBZ)


def negotiate_spec(state: VersionState, requested: int, own: int) -> VersionAnswer:
    """DEN0077 13.2.1: same major interoperates (a higher minor gets the callee's version);
    like Hafnium, a different major and renegotiation to another version after the lock are refused."""
    major, minor, mbz = _split(requested)
    if mbz or major != ffa.version_major(own):
        return VersionAnswer(ffa.NOT_SUPPORTED)
    if state.locked:
        locked = state.requested if state.requested is not None else own
        return VersionAnswer(own if min(requested, own) == locked else ffa.NOT_SUPPORTED)
    return VersionAnswer(own, record=min(requested, own))


def negotiate_pkvm(state: VersionState, requested: int, own: int) -> VersionAnswer:
    """pKVM (ffa.c do_ffa_version): one host-wide version, locked by the first successful FFA_VERSION.  Only
    the major (bits 30:16, FFA_MAJOR_VERSION) is checked: bit 31 set is no reason to refuse."""
    major, minor, _mbz = _split(requested)
    if major != 1:
        return VersionAnswer(ffa.NOT_SUPPORTED)
    current = state.requested if state.requested is not None else own
    if state.locked:
        return VersionAnswer(ffa.NOT_SUPPORTED if minor < ffa.version_minor(current) else current)
    if minor < ffa.version_minor(current):
        return VersionAnswer(requested, record=requested, lock=True, ask_firmware=True)
    return VersionAnswer(current, record=current, lock=True)


def negotiate_pkvm_before_6_18(state: VersionState, requested: int, own: int) -> VersionAnswer:
    """pKVM before "Correct return value on host version downgrade attempt" (v6.18): once negotiated,
    FFA_VERSION answers the hypervisor's version whatever minor is asked (ffa.c do_ffa_version)."""
    if state.locked and ffa.version_major(requested) == 1:
        return VersionAnswer(state.requested if state.requested is not None else own)
    return negotiate_pkvm(state, requested, own)


def negotiate_xen_before_4_22(state: VersionState, requested: int, own: int) -> VersionAnswer:
    """Xen before per-VM negotiation (4.21 ffa.c handle_version): every FFA_VERSION of our major records the
    caller's version (ours for a higher minor), a different major changes nothing; the answer is ours."""
    if ffa.version_major(requested) != ffa.version_major(own):
        return VersionAnswer(own)
    return VersionAnswer(own, record=own if ffa.version_minor(requested) > ffa.version_minor(own) else requested)


def negotiate_xen(state: VersionState, requested: int, own: int) -> VersionAnswer:
    """Xen: always answers its own version; records the caller's until its first other call."""
    major, minor, mbz = _split(requested)
    if state.locked:
        return VersionAnswer(own)
    if mbz or major != ffa.version_major(own) or requested > own:
        return VersionAnswer(own, record=own)
    return VersionAnswer(own, record=requested)


# Which ABIs each profile handles, forwards or refuses (section 5).  Names are
# ABI names without the FFA_ / FFA_FN64_ prefix; the 64-bit form of an ABI
# follows its 32-bit form unless listed under its own key with "64".
_SPEC = {
    "VERSION": H, "FEATURES": H, "ID_GET": H, "SPM_ID_GET": H, "RXTX_MAP": H, "RXTX_MAP64": H,
    "RXTX_UNMAP": H, "RX_RELEASE": H, "RX_ACQUIRE": H, "PARTITION_INFO_GET": H,
    "PARTITION_INFO_GET_REGS": H, "MSG_SEND_DIRECT_REQ": H, "MSG_SEND_DIRECT_REQ2": H,
    "CONSOLE_LOG": H, "RUN": F, "MSG_WAIT": R, "YIELD": R,
    "MEM_SHARE": H, "MEM_LEND": H, "MEM_DONATE": H, "MEM_FRAG_TX": H, "MEM_RECLAIM": H,
    # Hafnium as the hypervisor: BITMAP_CREATE/DESTROY are its own calls to the SPMC, INFO_GET is for the
    # primary VM that schedules the others (api_ffa_notification_info_get); here the mediator schedules.
    "NOTIFICATION_BIND": H, "NOTIFICATION_UNBIND": H, "NOTIFICATION_SET": H, "NOTIFICATION_GET": H,
}
# pKVM (arch/arm64/kvm/hyp/nvhe/ffa.c kvm_host_ffa_handler): what it handles, and the denylist of
# ffa_call_supported; everything else in the FF-A range is forwarded (Profile.unlisted).
_PKVM = {
    "VERSION": H, "FEATURES": H, "RXTX_MAP64": H, "RXTX_UNMAP": H, "PARTITION_INFO_GET": H,
    "MEM_SHARE": H, "MEM_LEND": H, "MEM_FRAG_TX": H, "MEM_RECLAIM": H,
    "MEM_RETRIEVE_REQ": R, "MEM_RETRIEVE_RESP": R, "MEM_RELINQUISH": R, "MEM_FRAG_RX": R, "MEM_DONATE": R,
    "MSG_SEND": R, "MSG_POLL": R, "MSG_WAIT": R, "MSG_SEND_DIRECT_RESP": R, "MSG_SEND_DIRECT_RESP64": F,
    "RXTX_MAP": R, "NOTIFICATION_BITMAP_CREATE": R, "NOTIFICATION_BITMAP_DESTROY": R, "NOTIFICATION_BIND": R,
    "NOTIFICATION_UNBIND": R, "NOTIFICATION_SET": R, "NOTIFICATION_GET": R, "NOTIFICATION_INFO_GET": R,
    "NOTIFICATION_INFO_GET64": F, "MSG_SEND_DIRECT_REQ2": R, "MSG_SEND_DIRECT_RESP2": R, "CONSOLE_LOG": R,
    "CONSOLE_LOG64": F, "PARTITION_INFO_GET_REGS": R,
}
# The optional FF-A 1.2 ABIs pKVM refuses since v6.18 ("Mark optional FF-A 1.2 interfaces as unsupported").
_PKVM_1_2_OPTIONAL = frozenset(("MSG_SEND_DIRECT_REQ2", "MSG_SEND_DIRECT_RESP2", "CONSOLE_LOG", "CONSOLE_LOG64",
                                "PARTITION_INFO_GET_REGS"))
# FFA_MEM_OP_PAUSE and FFA_MEM_OP_RESUME (include/linux/arm_ffa.h): on pKVM's denylist, not in our ABI table.
_PKVM_REFUSED_IDS = frozenset((0x8400_0078, 0x8400_0079))
_XEN = {
    "VERSION": H, "FEATURES": H, "ID_GET": H, "SPM_ID_GET": R, "RXTX_MAP": H, "RXTX_MAP64": H,
    "RXTX_UNMAP": H, "RX_RELEASE": H, "RX_ACQUIRE": R, "PARTITION_INFO_GET": H,
    "PARTITION_INFO_GET_REGS": H, "MSG_SEND_DIRECT_REQ": H, "MSG_SEND_DIRECT_REQ2": H,
    "CONSOLE_LOG": R, "RUN": F, "MSG_WAIT": R, "YIELD": R,
    "MEM_SHARE": H, "MEM_LEND": R, "MEM_DONATE": R, "MEM_FRAG_TX": R, "MEM_RECLAIM": H, "MSG_SEND2": H,
    "NOTIFICATION_BIND": H, "NOTIFICATION_UNBIND": H, "NOTIFICATION_SET": H, "NOTIFICATION_GET": H,
    "NOTIFICATION_INFO_GET": H,
}
# The notification ABIs a spec mediator answers only when the SPMC supports notifications.
_SPEC_NOTIFICATION_GATES = tuple(
    (fid, ffa.FFA_NOTIFICATION_BITMAP_CREATE)
    for fid in (ffa.FFA_NOTIFICATION_BIND, ffa.FFA_NOTIFICATION_UNBIND, ffa.FFA_NOTIFICATION_SET,
                ffa.FFA_NOTIFICATION_GET, ffa.FEATURE_ID_NPI))
# Hafnium's notification pending interrupt, a virtual SGI (HF_NOTIFICATION_PENDING_INTID, inc/vmapi/hf/types.h);
# Xen's is SGI 8 (GUEST_FFA_NOTIF_PEND_INTR_ID, xen/include/public/arch-arm.h).
HAFNIUM_NPI = 5
XEN_NPI = 8


# Xen's FEATURES answers for the notification ABIs (the call itself decides) and the notification pending and
# schedule receiver interrupts, SGIs 8 and 9 (public/arch-arm.h), since 4.19.
_XEN_NOTIFICATION_FEATURES = (
    (ffa.FFA_NOTIFICATION_BIND, 0), (ffa.FFA_NOTIFICATION_UNBIND, 0), (ffa.FFA_NOTIFICATION_SET, 0),
    (ffa.FFA_NOTIFICATION_GET, 0), (ffa.FFA_NOTIFICATION_INFO_GET, 0), (ffa.FFA_FN64_NOTIFICATION_INFO_GET, 0),
    (ffa.FEATURE_ID_NPI, XEN_NPI), (ffa.FEATURE_ID_SRI, 9),
)


@dataclass(frozen=True, eq=False)  # compared by identity: its tables and hook are not values to compare
class Profile:
    """How one mediator (the spec's reading, pKVM, Xen, at a release) answers FF-A calls."""

    name: str
    description: str
    abis: dict[str, Disposition]
    negotiate: object  # Callable[[VersionState, int, int], VersionAnswer]
    version_per_vm: bool
    before_version_error: int | None  # error for a non-VERSION call before FFA_VERSION; None: accepted
    lock_on_first_other_call: bool
    error_sign_extended: bool  # FFA_ERROR code in x2 as a 64-bit value (pKVM) or zero-extended w2
    write_all_registers: bool  # pKVM: every return writes x0-x17, SMC32 or not
    zero_x8_x17_from_1_2: bool  # Xen: x8-x17 zeroed on return once the VM negotiated 1.2
    check_direct_sender: bool  # refuse a direct request whose sender is not the caller
    rxtx_max_pages: int
    rxtx_exact_pages: bool  # pKVM: the one supported size only
    partition_info_cached: bool  # Xen: answered from the list cached at boot, no SPMC round trip
    features_forwarded: bool  # pKVM: FEATURES goes to the firmware unless refused or MEM_SHARE/LEND
    fragments_allowed: bool  # a VM may send a descriptor in several fragments
    max_fragments: int | None  # fragments one transaction may take (NO_MEMORY beyond; None: no bound of its own)
    max_descriptor_length: int | None  # longest descriptor a VM may announce (NO_MEMORY beyond; None: no bound
    # of its own)
    single_borrower_error: int | None  # the error for more than one receiver (None: any number allowed)
    require_rw_normal: bool  # Xen: RW, normal write-back inner-shareable memory only
    max_pages_per_share: int | None
    max_shares_per_vm: int | None
    mem_forward_fn64: bool  # pKVM: the 64-bit IDs towards the SPMC whatever the VM used
    rx_release_forwarded: bool  # pKVM: the host's RX_RELEASE frees the mediator's RX buffer at the SPMC;
    # the mediator itself does not track who owns the host's RX buffer
    lists_caller: bool  # Xen: a 1.2 caller finds its own entry in the partition list
    host_endpoint: int | None  # pKVM: every caller is the host, endpoint 0 (None: the VM's own ID)
    # The conduit the guest's device tree gives for PSCI (and so for a Linux guest's FF-A driver): a pKVM host
    # reaches EL2 services by SMC, trapped by the hypervisor (arch/arm64/kvm/hyp/nvhe/hyp-main.c handle_host_smc).
    psci_conduit: str = "hvc"
    # The conduits that reach the FF-A mediator; through another an FF-A ID is an unknown function (x0 = -1 only).
    ffa_conduits: tuple[str, ...] = ("hvc", "smc")
    release: str = ""  # the code this profile models, e.g. "Xen 4.22.0"
    sve_hint_masked: bool = True  # SMCCC 1.3: bit 16 of w0 is a hint the callee ignores (Xen does not mask it)
    extra_features: tuple[tuple[int, int], ...] = ()  # (function or feature ID, w2) FEATURES also answers SUCCESS
    rxtx_refuses_overlap: bool = True  # RXTX_MAP: TX/RX overlapping, or pages in a share, are refused
    rxtx_mapped_checked_first: bool = False  # RXTX_MAP: DENIED for a second pair before any argument check
    # RXTX_UNMAP: bits of w1 that must be zero (the spec: the ID in w1[31:16]; pKVM: all of w1; Xen: none)
    rxtx_unmap_w1_mask: int = 0xFFFF_0000
    # MEM_SHARE/LEND/DONATE with no RX/TX pair mapped: Hafnium (api_ffa_mem_send) and pKVM (ffa.c
    # __do_ffa_mem_xfer) say INVALID_PARAMETERS, Xen (ffa_shm.c ffa_handle_mem_share, ffa_tx_acquire) DENIED
    mem_no_tx_error: int = ffa.INVALID_PARAMETERS
    rxtx_unmap_denied_while_rx_held: bool = False  # Xen 4.22: DENIED while the VM owns its RX buffer
    partition_info_no_buffer_error: int = ffa.BUSY  # PARTITION_INFO_GET with no RX/TX pair mapped
    info_regs_tag: int | None = None  # PARTITION_INFO_GET_REGS: the tag the mediator reports (Xen: 1)
    direct_vm_receiver_error: int = ffa.INVALID_PARAMETERS  # a direct request to a non-secure endpoint
    direct_unknown_sp_forwarded: bool = False  # a secure ID that is no known SP goes to the SPMC to decide
    own_entry_properties: int = ffa.PARTITION_PROP_DIRECT_REQ_SEND | ffa.PARTITION_PROP_IS_AARCH64
    partition_info_v1_0_no_flags: bool = False  # Xen: a 1.0 caller must pass flags 0 (w5 is MBZ at 1.0)
    partition_info_v1_0_no_size: bool = False  # Xen 4.22: a 1.0 caller gets w3 = 0 (MBZ at 1.0)
    partition_info_uuid_zeroed: bool = True  # a specific UUID's entries have a zero UUID field (not Xen 4.21)
    own_version: int = ffa.VERSION_1_2  # the FF-A version the mediator implements
    # PARTITION_INFO_GET: reserved flag bits refused (Hafnium api_ffa_partition_info_get, Xen); pKVM
    # (ffa.c do_ffa_part_get) passes w5 to the SPMC as it is
    partition_info_flags_checked: bool = True
    min_firmware_version: int = ffa.VERSION_1_0  # an older SPMC leaves the mediator out (Xen: 1.1)
    # Xen: with no usable SPMC there is no mediator, and an FF-A call is an unknown SMCCC function (x0 = -1 only)
    unknown_without_firmware: bool = False
    vm_version_capped_by_firmware: bool = True  # VMs get at most the SPMC's version (Xen: its own 1.2 regardless)
    firmware_probe: tuple[int, ...] = ()  # function IDs asked of the SPMC with FFA_FEATURES at boot
    # (function ID, probed ID): the call and FEATURES of it are NOT_SUPPORTED unless the SPMC supports the probed ID
    firmware_gates: tuple[tuple[int, int], ...] = ()
    unlisted: Disposition = Disposition.REFUSE  # an FF-A ID the abis table does not name (pKVM: forwarded)
    refused_fids: frozenset[int] = frozenset()  # IDs outside our ABI table refused all the same
    ffa_fnum_max: int = ffa.FFA_FNUM_MAX  # the last function number routed to the mediator (pKVM: 0xFF)
    # Notifications: the NPI a mediator that takes the SPMC's schedule receiver interrupt itself injects into a
    # VM with notifications pending (None: the SRI reaches the guest on the calling CPU, as under pKVM)
    notification_npi: int | None = None
    notification_bitmaps: bool = False  # the mediator creates each VM's bitmap at the SPMC (and destroys it)
    notification_global_only: bool = False  # Xen: BIND with per-vCPU flags is DENIED
    notification_delay_cleared: bool = False  # Hafnium's hypervisor: SET reaches the SPMC without the delay flag
    vm_availability_messages: bool = False  # Xen: VM_CREATED / VM_DESTROYED to the SPs that subscribe
    registers_vm_buffers: bool = False  # Xen: a VM's RX/TX pair is registered with the SPMC (for FFA_MSG_SEND2)
    # Seconds after which a VM's teardown is tried again while SPs still hold its memory or ask to be told again of
    # its destruction (Xen: FFA_CTX_TEARDOWN_DELAY, one second; 0: never)
    teardown_retry_seconds: float = 0
    # Xen: an SP refusing VM_CREATED or the SPMC refusing the VM's bitmap fails the domain's creation
    # (ffa.c ffa_domain_init: -EIO, -ENOMEM); otherwise the VM runs without what was refused
    creation_fails_on_refusal: bool = False
    # Xen's CONFIG_FFA_VM_TO_VM: VMs list each other in partition info, send each other FFA_MSG_SEND2 and get the
    # "RX buffer full" notification from the hypervisor (ffa.c, ffa_msg.c ffa_msg_send2_vm, ffa_notif.c)
    vm_to_vm: bool = False
    # pKVM: an HVC reaches the host's KVM hypercalls alone (hyp-main.c handle_host_hcall; SMCCC, PSCI and FF-A go
    # by SMC), among them those that share its pages (emu/el2/pkvm_host.py), on the page states FF-A shares and
    # the RX/TX pair use (mem_protect.c)
    host_hypercalls: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.fragments_allowed and self.max_fragments is None and self.max_descriptor_length is None:
            raise ValueError(f"profile {self.name}: fragmented descriptors need a bound")

    def descriptor_limit(self, tx_size: int) -> int:
        """The longest descriptor a VM whose TX buffer holds ``tx_size`` bytes may send in fragments."""
        bounds = [self.max_descriptor_length] if self.max_descriptor_length is not None else []
        if self.max_fragments is not None:
            bounds.append(self.max_fragments * tx_size)
        return min(bounds)

    def disposition(self, abi_name: str, smc64: bool) -> Disposition:
        short = ffa.abi_short(abi_name)
        if smc64 and short + "64" in self.abis:
            return self.abis[short + "64"]
        return self.abis.get(short, self.unlisted)

    def fid_disposition(self, fid: int) -> Disposition:
        """What becomes of a function ID, known to our ABI table or not."""
        name = ffa.NAMES.get(fid)
        if name is None:
            return Disposition.REFUSE if fid in self.refused_fids else self.unlisted
        return self.disposition(name, bool(fid & SMC64))

    def owns(self, fid_value: int) -> bool:
        """Whether a function ID is an FF-A call for this mediator."""
        return ffa.is_ffa_fid(fid_value, self.ffa_fnum_max)


SPEC = Profile(
    name="spec", description="Arm DEN0077 FF-A 1.2 (Hafnium's reading where the spec leaves a choice)",
    abis=_SPEC, negotiate=negotiate_spec, version_per_vm=True, before_version_error=None,
    lock_on_first_other_call=True, error_sign_extended=False, write_all_registers=False,
    zero_x8_x17_from_1_2=False, check_direct_sender=True, rxtx_max_pages=63, rxtx_exact_pages=False,
    partition_info_cached=False, features_forwarded=False, fragments_allowed=True,
    max_fragments=HAFNIUM_MAX_FRAGMENTS, max_descriptor_length=None, single_borrower_error=None,
    require_rw_normal=False, max_pages_per_share=None, max_shares_per_vm=None, mem_forward_fn64=False,
    rx_release_forwarded=False, lists_caller=False, host_endpoint=None,
    release="Arm DEN0077A FF-A 1.2, Hafnium v2.15's choices",
    rxtx_mapped_checked_first=True,  # Hafnium api_vm_configure_pages
    extra_features=((ffa.FEATURE_ID_NPI, HAFNIUM_NPI),),
    firmware_probe=(ffa.FFA_NOTIFICATION_BITMAP_CREATE, ffa.FFA_NOTIFICATION_BITMAP_DESTROY,
                    ffa.FFA_NOTIFICATION_GET, ffa.FFA_FN64_NOTIFICATION_INFO_GET),
    firmware_gates=_SPEC_NOTIFICATION_GATES,
    notification_npi=HAFNIUM_NPI, notification_bitmaps=True, notification_delay_cleared=True,
)
PKVM = Profile(
    name="pkvm", description="Linux pKVM (arch/arm64/kvm/hyp/nvhe/ffa.c): one host, mostly pass-through",
    abis=_PKVM, negotiate=negotiate_pkvm, version_per_vm=False,
    before_version_error=ffa.INVALID_PARAMETERS, lock_on_first_other_call=False, error_sign_extended=True,
    write_all_registers=True, zero_x8_x17_from_1_2=False, check_direct_sender=False, rxtx_max_pages=1,
    rxtx_exact_pages=True, partition_info_cached=False, features_forwarded=True, fragments_allowed=True,
    max_fragments=None, max_descriptor_length=PKVM_DESCRIPTOR_BUFFER, single_borrower_error=ffa.INVALID_PARAMETERS, require_rw_normal=False, max_pages_per_share=None,
    max_shares_per_vm=None, mem_forward_fn64=True, rx_release_forwarded=True, lists_caller=False,
    host_endpoint=ffa.HYP_ID, psci_conduit="smc", release="Linux v6.18",
    # hyp-main.c: only handle_host_smc reaches kvm_host_ffa_handler; an HVC goes to handle_host_hcall, where an
    # FF-A ID is no KVM hypercall: SMCCC_RET_NOT_SUPPORTED in x0, x1-x17 untouched.
    ffa_conduits=("smc",),
    # ffa.c ffa_call_supported is a denylist; is_ffa_call takes function numbers up to FFA_MAX_FUNC_NUM, 0xFF
    # (arch/arm64/kvm/hyp/include/nvhe/ffa.h, since v6.11).
    unlisted=Disposition.FORWARD, refused_fids=_PKVM_REFUSED_IDS, ffa_fnum_max=0xFF,
    rxtx_unmap_w1_mask=0xFFFF_FFFF,  # ffa.c do_ffa_rxtx_unmap: the whole w1 must be HOST_FFA_ID (0)
    partition_info_flags_checked=False, host_hypercalls=True,
)
XEN = Profile(
    name="xen", description="Xen (xen/arch/arm/tee/ffa*.c): per-VM state, validates and translates",
    abis=_XEN, negotiate=negotiate_xen, version_per_vm=True, before_version_error=ffa.NOT_SUPPORTED,
    lock_on_first_other_call=True, error_sign_extended=False, write_all_registers=False,
    zero_x8_x17_from_1_2=True, check_direct_sender=True, rxtx_max_pages=1, rxtx_exact_pages=False,
    partition_info_cached=True, features_forwarded=False, fragments_allowed=False, max_fragments=None,
    max_descriptor_length=None, single_borrower_error=ffa.NOT_SUPPORTED,
    require_rw_normal=True, max_pages_per_share=256, max_shares_per_vm=32, mem_forward_fn64=False,
    rx_release_forwarded=False, lists_caller=True, host_endpoint=None,
    # master at c447b7308b; its xen/arch/arm/tee is RELEASE-4.22.0's but for a compiler barrier in FFA_MSG_SEND2
    release="Xen 4.23-unstable (master c447b7308b)", sve_hint_masked=False,
    # ffa.c handle_features: ERROR, SUCCESS, INTERRUPT and the notification ABIs are answered by Xen itself;
    # the notification-pending and schedule-receiver interrupts are SGIs 8 and 9 (public/arch-arm.h).
    extra_features=((ffa.FFA_ERROR, 0), (ffa.FFA_SUCCESS, 0), (ffa.FFA_FN64_SUCCESS, 0), (ffa.FFA_INTERRUPT, 0),
                    *_XEN_NOTIFICATION_FEATURES),
    rxtx_refuses_overlap=False, rxtx_unmap_w1_mask=0, rxtx_unmap_denied_while_rx_held=True,
    mem_no_tx_error=ffa.DENIED, vm_availability_messages=True, registers_vm_buffers=True,
    teardown_retry_seconds=1.0, creation_fails_on_refusal=True, notification_npi=XEN_NPI, notification_bitmaps=True, notification_global_only=True,
    partition_info_no_buffer_error=ffa.DENIED, info_regs_tag=1, direct_vm_receiver_error=ffa.NOT_SUPPORTED,
    direct_unknown_sp_forwarded=True, partition_info_v1_0_no_flags=True, partition_info_v1_0_no_size=True,
    own_entry_properties=ffa.PARTITION_PROP_DIRECT_REQ_SEND | ffa.PARTITION_PROP_INDIRECT_MSG
    | ffa.PARTITION_PROP_NOTIFICATIONS | ffa.PARTITION_PROP_IS_AARCH64,
    # ffa.c ffa_probe_fw: FFA_MIN_SPMC_VERSION is 1.1, else no mediator (vsmc.c: an unknown function); VMs get
    # FFA_MY_VERSION (1.2) whatever the SPMC's; ffa_fw_abi_needed is asked with FFA_FEATURES at boot, and
    # handle_features, ffa_msg.c, ffa_handle_run and ffa_shm.c refuse what the SPMC does not support.
    min_firmware_version=ffa.VERSION_1_1, unknown_without_firmware=True, vm_version_capped_by_firmware=False,
    firmware_probe=(ffa.FFA_VERSION, ffa.FFA_FEATURES, ffa.FFA_NOTIFICATION_BITMAP_CREATE,
                    ffa.FFA_NOTIFICATION_BITMAP_DESTROY, ffa.FFA_PARTITION_INFO_GET,
                    ffa.FFA_FN64_NOTIFICATION_INFO_GET, ffa.FFA_NOTIFICATION_GET, ffa.FFA_RX_ACQUIRE,
                    ffa.FFA_RX_RELEASE, ffa.FFA_FN64_RXTX_MAP, ffa.FFA_RXTX_UNMAP, ffa.FFA_FN64_MEM_SHARE,
                    ffa.FFA_MEM_RECLAIM, ffa.FFA_MSG_SEND_DIRECT_REQ, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ,
                    ffa.FFA_MSG_SEND2, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ2, ffa.FFA_RUN),
    firmware_gates=((ffa.FFA_MSG_SEND_DIRECT_REQ, ffa.FFA_MSG_SEND_DIRECT_REQ),
                    (ffa.FFA_FN64_MSG_SEND_DIRECT_REQ, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ),
                    (ffa.FFA_FN64_MSG_SEND_DIRECT_REQ2, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ2),
                    (ffa.FFA_RUN, ffa.FFA_RUN), (ffa.FFA_MEM_SHARE, ffa.FFA_FN64_MEM_SHARE),
                    (ffa.FFA_FN64_MEM_SHARE, ffa.FFA_FN64_MEM_SHARE), (ffa.FFA_MSG_SEND2, ffa.FFA_MSG_SEND2)),
)

# -- older releases: each the newer profile with what the named patches changed undone -----------------------
PKVM_6_17 = replace(
    PKVM, name="pkvm@v6.17", release="Linux v6.17",
    description="Linux pKVM before the FF-A 1.2 series of v6.18: FF-A 1.1, host version renegotiation allowed",
    # hyp_ffa_init asked for FF-A 1.1 until "Bump the supported version of FF-A to 1.2"; do_ffa_version answered
    # the hypervisor's version after negotiation until "Correct return value on host version downgrade attempt"
    # (called "Restrict FF-A host version renegotiation" in v1-v5); ffa_call_supported refused neither the 32-bit
    # NOTIFICATION_* calls nor the optional 1.2 ABIs ("Mark FFA_NOTIFICATION_* calls as unsupported", "Mark
    # optional FF-A 1.2 interfaces as unsupported").
    own_version=ffa.VERSION_1_1, negotiate=negotiate_pkvm_before_6_18,
    abis={key: disposition for key, disposition in _PKVM.items()
          if not key.startswith("NOTIFICATION_") and key not in _PKVM_1_2_OPTIONAL},
    notes=("ffa_set_retval wrote x0-x3 only (struct arm_smccc_res) before v6.18's \"Use SMCCC 1.2 for FF-A "
           "initialization and in host handler\": not modelled, handled calls write x0-x17",
           "the host's KVM hypercalls (__pkvm_host_share_hyp, ...) are v6.18's, not checked against v6.17's "
           "kvm_asm.h",),
)
XEN_4_21 = replace(
    XEN, name="xen@4.21", release="Xen 4.21.0",
    description="Xen 4.21 (xen/arch/arm/tee/ffa*.c): FF-A 1.1, no per-VM version lock",
    # 4.22 brought per-VM negotiation with its lock (ad2d3a7daf), FF-A 1.2 and the x8-x17 rule (f42bacb20e),
    # DIRECT_REQ2 (3ca6aca20d), RUN (7a90dad8de), GET_REGS and UUID zeroing (500ee5fe0f), the FEATURES table
    # (4992308e97) and RXTX_UNMAP's DENIED while the VM holds its RX buffer (309e8edfe3).
    own_version=ffa.VERSION_1_1, negotiate=negotiate_xen_before_4_22, before_version_error=None,
    lock_on_first_other_call=False, zero_x8_x17_from_1_2=False,
    abis={**_XEN, "RUN": R, "MSG_SEND_DIRECT_REQ2": R, "PARTITION_INFO_GET_REGS": R, "MSG_SEND2": R},
    registers_vm_buffers=False,
    # 4.21 handle_features: no FFA_INTERRUPT, MSG_SEND2 offered
    extra_features=((ffa.FFA_ERROR, 0), (ffa.FFA_SUCCESS, 0), (ffa.FFA_FN64_SUCCESS, 0), (ffa.FFA_MSG_SEND2, 0),
                    *_XEN_NOTIFICATION_FEATURES),
    firmware_probe=(ffa.FFA_VERSION, ffa.FFA_FEATURES, ffa.FFA_NOTIFICATION_BITMAP_CREATE,
                    ffa.FFA_NOTIFICATION_BITMAP_DESTROY, ffa.FFA_PARTITION_INFO_GET,
                    ffa.FFA_FN64_NOTIFICATION_INFO_GET, ffa.FFA_NOTIFICATION_GET, ffa.FFA_RX_RELEASE,
                    ffa.FFA_FN64_RXTX_MAP, ffa.FFA_RXTX_UNMAP, ffa.FFA_MEM_SHARE, ffa.FFA_FN64_MEM_SHARE,
                    ffa.FFA_MEM_RECLAIM, ffa.FFA_MSG_SEND_DIRECT_REQ, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ,
                    ffa.FFA_MSG_SEND2),
    firmware_gates=((ffa.FFA_MSG_SEND_DIRECT_REQ, ffa.FFA_MSG_SEND_DIRECT_REQ),
                    (ffa.FFA_FN64_MSG_SEND_DIRECT_REQ, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ)),
    rxtx_unmap_denied_while_rx_held=False, partition_info_v1_0_no_size=False, partition_info_uuid_zeroed=False,
    lists_caller=False,  # 4.21 lists VMs only with CONFIG_FFA_VM_TO_VM (ffa_partinfo.c)
    notes=("4.21 ffa_handle_rxtx_map checks neither alignment nor a zero page count, and handle_features "
           "refuses non-zero w2-w7: not modelled (4.22's checks apply)",
           "4.21's FFA_MSG_SEND2 and its registering of VM buffers with the SPMC are not modelled: refused",),
)
# -- build options --------------------------------------------------------------------------------------
XEN_VM_TO_VM = replace(
    XEN, name="xen+vm-to-vm", release=f"{XEN.release} with CONFIG_FFA_VM_TO_VM=y",
    description="Xen built with FF-A between VMs (UNSUPPORTED in Kconfig, off by default)",
    vm_to_vm=True,
    # ffa.c handle_features: FFA_MSG_SEND2 is offered whatever the SPMC supports (a VM may be the receiver)
    extra_features=(*XEN.extra_features, (ffa.FFA_MSG_SEND2, 0)),
    firmware_gates=tuple(gate for gate in XEN.firmware_gates if gate[0] != ffa.FFA_MSG_SEND2),
    notes=("ffa_domain_init also gives a VM an FF-A context when there is no SPMC; without one the mediator "
           "is left out here, as without the option",),
)
PROFILES = {p.name: p for p in (SPEC, PKVM, XEN, PKVM_6_17, XEN_4_21, XEN_VM_TO_VM)}
