"""How each profile stands against the code it models: one record per behaviour.

A record names a case, what the real code answers there (with the
file:function that decides it, at the release the profile models), what we
answer where we knowingly differ, and a probe: the calls that make the case
on a fresh machine, returning a description of what our mediator answered.
tests/test_fidelity.py runs every probe under every profile a record names
and checks the description against the record; docs/fidelity.md is rendered
from the records (``ffa-emu fidelity``).  So neither the table nor the page
can drift from the code.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from emu.el2 import pkvm_hcall_abi as pkvm_hcall
from emu.el2.smccc import MASK32, MASK64, SMCCC_VERSION, STD_SVC_CALL_COUNT, SVE_HINT, to_signed
from emu.ffa import constants as ffa
from emu.ffa.stub_partitions import ECHO_SP, SERVICE_SP
from emu.harness import RX_IPA, TX_IPA, Harness
from emu.machine import MachineConfig
from emu.platform.image import GuestImage
from emu.vm import VmSpec

RAM = 16 << 20
VM_REGISTERS = 18


class Probe:
    """A fresh one-VM machine under a profile (invariants checked), and what each call sent to the SPMC."""

    def __init__(self, profile: str, guest: GuestImage, spmc: GuestImage, spmc_version: int = 0,
                 cpus: int = 1) -> None:
        self.harness = Harness(MachineConfig(vms=[VmSpec(guest, vm_id=1, endpoint_id=1, ram_size=RAM, cpus=cpus)],
                                             profile=profile, spmc_image=spmc, spmc_version=spmc_version,
                                             check=True, keep_trace=False, symbolize=False))
        self.sent: list[int] = []  # function IDs the last call sent to the SPMC
        mediator = self.harness.machine.mediator
        if mediator is not None:
            secure = mediator.secure
            relay = secure.call

            def spy(request: list[int]):
                self.sent.append(request[0] & MASK32)
                return relay(request)

            secure.call = spy

    def call(self, *regs: int, conduit: str | None = None) -> list[int]:
        self.sent = []
        return self.harness.call(0, *regs, conduit=conduit)

    def negotiate(self, version: int = ffa.VERSION_1_2) -> None:
        """FFA_VERSION, then FFA_ID_GET: the version is locked wherever a non-VERSION call locks it."""
        self.call(ffa.FFA_VERSION, version)
        self.call(ffa.FFA_ID_GET)

    def map_buffers(self) -> list[int]:
        return self.call(ffa.FFA_FN64_RXTX_MAP, TX_IPA, RX_IPA, 1)

    def violations(self) -> list[str]:
        checker = self.harness.machine.checker
        checker.check_state()
        return [v.text for v in checker.violations]

    def rx(self, size: int) -> bytes:
        """The first ``size`` bytes of the VM's RX buffer."""
        return bytes(self.harness.vm(0).read_ipa(RX_IPA, size))

    def describe(self, answer: list[int], version_call: bool = False) -> str:
        """Our answer in the words the records use: `ERROR(DENIED)`, `SUCCESS(w2=0x8)`, `1.2`, `-1 in x0`,
        after `forwarded FFA_X, ...: ` when the call made the mediator call the SPMC."""
        prefix = f"forwarded {', '.join(ffa.NAMES.get(fid, hex(fid)) for fid in self.sent)}: " if self.sent else ""
        return prefix + describe(answer, version_call)


def describe(answer: list[int], version_call: bool = False) -> str:
    w0 = answer[0] & MASK32
    if version_call and not w0 >> 31:
        return f"{w0 >> 16}.{w0 & 0xFFFF}"
    if answer[0] == MASK64 and not version_call:
        return "-1 in x0"
    if version_call:
        return ffa.ERROR_NAMES.get(to_signed(w0, 32), f"{w0:#x}")
    if w0 == ffa.FFA_ERROR:
        return f"ERROR({ffa.ERROR_NAMES.get(to_signed(answer[2], 32), hex(answer[2]))})"
    if w0 in (ffa.FFA_SUCCESS, ffa.FFA_FN64_SUCCESS):
        values = [f"w{i}={answer[i] & MASK32:#x}" for i in (2, 3) if answer[i] & MASK32]
        return "SUCCESS" + (f"({', '.join(values)})" if values else "")
    return ffa.NAMES.get(w0, f"{w0:#x}")


@dataclass(frozen=True)
class Real:
    """What the real code answers, and where it decides it."""

    answer: str
    source: str  # path:function in the profile's release


@dataclass(frozen=True)
class Behaviour:
    key: str
    case: str
    probe: Callable[[Probe], str]
    real: Mapping[str, Real]  # profile name -> the real code's answer
    ours: Mapping[str, str] = field(default_factory=dict)  # where we knowingly answer otherwise
    spmc_version: int = 0  # the SPMC's FF-A version for the case (0: its default, 1.2)
    cpus: int = 1  # the VM's vCPUs

    def expected(self, profile: str) -> str:
        """What our probe must describe under ``profile``."""
        return self.ours.get(profile, self.real[profile].answer)


# -- probes ----------------------------------------------------------------------------------------
def _version_over_hvc(p: Probe) -> str:
    frame = [ffa.FFA_VERSION, ffa.VERSION_1_2] + [0xA5A5_0000_0000_0000 | i for i in range(2, VM_REGISTERS)]
    answer = p.call(*frame, conduit="hvc")
    if answer[0] == MASK64:
        return "-1 in x0, x1-x17 kept" if answer[1:] == frame[1:] else "-1 in x0, x1-x17 changed"
    return p.describe(answer, version_call=True)


def _version_bit31(p: Probe) -> str:
    return p.describe(p.call(ffa.FFA_VERSION, ffa.VERSION_MBZ | ffa.VERSION_1_2), version_call=True)


def _version_downgrade_after_lock(p: Probe) -> str:
    p.negotiate()
    return p.describe(p.call(ffa.FFA_VERSION, ffa.VERSION_1_1), version_call=True)


def _negotiated_call(*regs: int) -> Callable[[Probe], str]:
    def probe(p: Probe) -> str:
        p.negotiate()
        return p.describe(p.call(*regs))
    return probe


def _before_version(*regs: int) -> Callable[[Probe], str]:
    return lambda p: p.describe(p.call(*regs))


def _rxtx_map_count(count: int) -> Callable[[Probe], str]:
    def probe(p: Probe) -> str:
        p.negotiate()
        return p.describe(p.call(ffa.FFA_FN64_RXTX_MAP, TX_IPA, RX_IPA, count))
    return probe


def _rxtx_map_again_bad_count(p: Probe) -> str:
    p.negotiate()
    p.map_buffers()
    return p.describe(p.call(ffa.FFA_FN64_RXTX_MAP, TX_IPA, RX_IPA, 0))


def _rxtx_map_same_page(p: Probe) -> str:
    p.negotiate()
    return p.describe(p.call(ffa.FFA_FN64_RXTX_MAP, TX_IPA, TX_IPA, 1))


def _rxtx_unmap_w1(w1: int) -> Callable[[Probe], str]:
    def probe(p: Probe) -> str:
        p.negotiate()
        p.map_buffers()
        return p.describe(p.call(ffa.FFA_RXTX_UNMAP, w1))
    return probe


def _mem_share_without_tx(p: Probe) -> str:
    p.negotiate()
    return p.describe(p.call(ffa.FFA_FN64_MEM_SHARE, 0x70, 0x70))


def _features(fid: int) -> Callable[[Probe], str]:
    return _negotiated_call(ffa.FFA_FEATURES, fid)


_MARKS = [0xA5A5_0000_0000_0000 | i for i in range(8, VM_REGISTERS)]


def _x8_x17(after_id_get: bool) -> Callable[[Probe], str]:
    """x8-x17 in the answer to a first FFA_VERSION made with them set, or to the FFA_ID_GET after it."""
    def probe(p: Probe) -> str:
        answer = p.call(ffa.FFA_VERSION, ffa.VERSION_1_2, 0, 0, 0, 0, 0, 0, *_MARKS)
        if after_id_get:
            answer = p.call(ffa.FFA_ID_GET, 0, 0, 0, 0, 0, 0, 0, *_MARKS)
        rest = answer[8:]
        return "x8-x17 kept" if rest == _MARKS else "x8-x17 zeroed" if not any(rest) else "x8-x17 changed"
    return probe


def _own_id(p: Probe) -> int:
    return p.call(ffa.FFA_ID_GET)[2] & 0xFFFF


def _direct_req_to(receiver: int) -> Callable[[Probe], str]:
    def probe(p: Probe) -> str:
        p.negotiate()
        return p.describe(p.call(ffa.FFA_MSG_SEND_DIRECT_REQ, _own_id(p) << 16 | receiver))
    return probe


def _run_echo_sp(p: Probe) -> str:
    p.negotiate()
    return p.describe(p.call(ffa.FFA_RUN, ECHO_SP.endpoint_id << 16))


def _unmap_holding_rx(p: Probe) -> str:
    p.negotiate()
    p.map_buffers()
    p.call(ffa.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0)
    return p.describe(p.call(ffa.FFA_RXTX_UNMAP, 0))


def _partition_info(flags: int, version: int = ffa.VERSION_1_2, mapped: bool = True) -> Callable[[Probe], str]:
    def probe(p: Probe) -> str:
        p.negotiate(version)
        if mapped:
            p.map_buffers()
        return p.describe(p.call(ffa.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, flags))
    return probe


def _partition_info_unknown_uuid(p: Probe) -> str:
    p.negotiate()
    p.map_buffers()
    return p.describe(p.call(ffa.FFA_PARTITION_INFO_GET, 1, 2, 3, 4, 0))


def _entry_uuid_for_its_uuid(p: Probe) -> str:
    p.negotiate()
    p.map_buffers()
    answer = p.call(ffa.FFA_PARTITION_INFO_GET, *ECHO_SP.uuid, 0)
    if (answer[0] & MASK32) != ffa.FFA_SUCCESS:
        return p.describe(answer)
    return "UUID zero" if not any(p.rx(ffa.PARTITION_INFO_SIZE_V1_1)[8:]) else "UUID set"


def _own_entry(p: Probe) -> str:
    p.negotiate()
    p.map_buffers()
    count = p.call(ffa.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0)[2] & MASK32
    size = ffa.PARTITION_INFO_SIZE_V1_1
    ident, contexts, properties = struct.unpack_from("<HHI", p.rx(count * size), (count - 1) * size)
    return f"last entry: id {ident:#x}, {contexts} contexts, properties {properties:#x}"


def _host_hcall(number: int, *args: int, buffers: bool = True) -> Callable[[Probe], str]:
    """A pKVM host hypercall over HVC (x0 = 0xC6000000 | number), the host's RX/TX pair mapped first: x1, its
    result, as -errno, or '-1 in x0' where the hypercall was not taken."""
    def probe(p: Probe) -> str:
        p.negotiate()
        if buffers:
            p.map_buffers()
        answer = p.call(pkvm_hcall.HCALL_BASE | number, *args, conduit="hvc")
        if answer[0]:
            return p.describe(answer)
        return f"x1 = {pkvm_hcall.result_text(answer[1])}"
    return probe


def _smccc_version_over_hvc(p: Probe) -> str:
    answer = p.call(SMCCC_VERSION, conduit="hvc")
    return "-1 in x0" if answer[0] == MASK64 else p.describe(answer, version_call=True)


def _msg_send2_to_vm_2(p: Probe) -> str:
    """A 1.2 header from VM 1 to VM 2 (which the one-VM probe machine does not have) and 4 payload bytes."""
    p.negotiate()
    p.map_buffers()
    p.harness.vm(0).write_ipa(TX_IPA, struct.pack("<IIIII20xI", 0, 0, 40, 1 << 16 | 2, 4, 0xC0FFEE))
    return p.describe(p.call(ffa.FFA_MSG_SEND2))


def _info_regs(start: int, tag: int) -> Callable[[Probe], str]:
    def probe(p: Probe) -> str:
        p.negotiate()
        answer = p.call(ffa.FFA_FN64_PARTITION_INFO_GET_REGS, 0, 0, tag << 16 | start)
        if answer[0] != ffa.FFA_FN64_SUCCESS:
            return p.describe(answer)
        x2 = answer[2]
        return f"SUCCESS: tag {x2 >> 32 & 0xFFFF}, entries {start}-{x2 >> 16 & 0xFFFF} of {(x2 & 0xFFFF) + 1}"
    return probe


def _id_get_after_version(p: Probe) -> str:
    p.call(ffa.FFA_VERSION, ffa.VERSION_1_2)
    return p.describe(p.call(ffa.FFA_ID_GET))


def _version_1_2(p: Probe) -> str:
    return p.describe(p.call(ffa.FFA_VERSION, ffa.VERSION_1_2), version_call=True)


def _msg_send2_without_buffers(p: Probe) -> str:
    p.negotiate()
    return p.describe(p.call(ffa.FFA_MSG_SEND2))


def _mem_share_x3(p: Probe) -> str:
    p.negotiate()
    p.map_buffers()
    return p.describe(p.call(ffa.FFA_FN64_MEM_SHARE, 0x70, 0x70, 1))


def _renegotiate_to_1_0(p: Probe) -> str:
    """FFA_VERSION(1.0) after a first negotiation at the mediator's own version; then the partition list."""
    p.negotiate(p.harness.machine.profile.own_version)
    p.call(ffa.FFA_VERSION, ffa.VERSION_1_0)
    p.map_buffers()
    return p.describe(p.call(ffa.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0))


def _call_count(p: Probe) -> str:
    return str(p.call(STD_SVC_CALL_COUNT)[0])


_PKVM_FFA = "arch/arm64/kvm/hyp/nvhe/ffa.c"
_PKVM_MEM = "arch/arm64/kvm/hyp/nvhe/mem_protect.c"
_PKVM_HYP_MAIN = "arch/arm64/kvm/hyp/nvhe/hyp-main.c"
_XEN_FFA = "xen/arch/arm/tee/ffa.c"
_XEN_PARTINFO = "xen/arch/arm/tee/ffa_partinfo.c"
_XEN_NOTIF = "xen/arch/arm/tee/ffa_notif.c"
_XEN = "xen/arch/arm"
_HAFNIUM = "hafnium src/api.c"

FIDELITY: tuple[Behaviour, ...] = (
    Behaviour(
        "conduit-hvc", "FFA_VERSION(1.2) through HVC", _version_over_hvc,
        {"pkvm": Real("-1 in x0, x1-x17 kept", "arch/arm64/kvm/hyp/nvhe/hyp-main.c:handle_host_hcall"),
         "xen": Real("1.2", f"{_XEN}/vsmc.c:vsmccc_handle_call")}),
    Behaviour(
        "version-bit31", "FFA_VERSION(1.2 with bit 31 set), the first call", _version_bit31,
        {"pkvm": Real("1.2", f"{_PKVM_FFA}:do_ffa_version"),
         "xen": Real("1.2", f"{_XEN}/tee/ffa.c:ffa_negotiate_version")}),
    Behaviour(
        "version-downgrade-after-lock", "FFA_VERSION(1.1) once the version is locked at 1.2",
        _version_downgrade_after_lock,
        {"pkvm": Real("NOT_SUPPORTED", f"{_PKVM_FFA}:do_ffa_version"),
         "xen": Real("1.2", f"{_XEN}/tee/ffa.c:ffa_handle_call"),
         "pkvm@v6.17": Real("1.1", f"{_PKVM_FFA}:do_ffa_version"),
         "xen@4.21": Real("1.1", f"{_XEN_FFA}:handle_version")}),
    Behaviour(
        "id-get-before-version", "FFA_ID_GET before any FFA_VERSION", _before_version(ffa.FFA_ID_GET),
        {"pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:kvm_host_ffa_handler"),
         "xen": Real("ERROR(NOT_SUPPORTED)", f"{_XEN_FFA}:ffa_negotiate_version"),
         "xen@4.21": Real("SUCCESS(w2=0x1)", f"{_XEN_FFA}:ffa_handle_call")}),
    Behaviour(
        "renegotiate", "FFA_VERSION(1.0) after negotiating the mediator's own version and FFA_ID_GET, then "
        "FFA_PARTITION_INFO_GET(nil)", _renegotiate_to_1_0,
        {"pkvm": Real("forwarded FFA_PARTITION_INFO_GET: SUCCESS(w2=0x2, w3=0x18)", f"{_PKVM_FFA}:do_ffa_version"),
         # the VM's RX buffer taken from the SPMC first (ffa_rxtx.c ffa_rx_acquire)
         "xen": Real("forwarded FFA_RX_ACQUIRE: SUCCESS(w2=0x3, w3=0x18)", f"{_XEN_FFA}:ffa_negotiate_version"),
         "pkvm@v6.17": Real("forwarded FFA_PARTITION_INFO_GET: SUCCESS(w2=0x2, w3=0x18)",
                            f"{_PKVM_FFA}:do_ffa_version"),
         "xen@4.21": Real("SUCCESS(w2=0x2, w3=0x8)", f"{_XEN_FFA}:handle_version")}),
    Behaviour(
        "unknown-before-version", "FFA_MEM_OP_PAUSE (0x84000078, not in our ABI table) before any FFA_VERSION",
        _before_version(0x8400_0078),
        {"pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:kvm_host_ffa_handler"),
         "xen": Real("ERROR(NOT_SUPPORTED)", f"{_XEN}/tee/ffa.c:ffa_negotiate_version")}),
    Behaviour(
        "high-function-number", "function number 0xA0 (0x840000A0) after negotiation",
        _negotiated_call(0x8400_00A0),
        {"pkvm": Real("forwarded 0x840000a0: ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:kvm_host_ffa_handler"),
         "xen": Real("-1 in x0", f"{_XEN}/vsmc.c:handle_sssc")}),
    Behaviour(
        "msg-send2", "FFA_MSG_SEND2 after negotiation", _negotiated_call(ffa.FFA_MSG_SEND2),
        # forwarded as it is: the SPMC reads pKVM's own TX buffer (the pair do_ffa_rxtx_map registered), whose
        # header names no receiver (Hafnium src/api.c api_ffa_msg_send2: receiver = sender)
        {"pkvm": Real("forwarded FFA_MSG_SEND2: ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:ffa_call_supported")}),
    Behaviour(
        "msg-send2-to-absent-vm", "FFA_MSG_SEND2 to VM 2, which does not exist", _msg_send2_to_vm_2,
        {"xen": Real("ERROR(INVALID_PARAMETERS)", "xen/arch/arm/tee/ffa_msg.c:ffa_handle_msg_send2"),
         "xen+vm-to-vm": Real("ERROR(INVALID_PARAMETERS)", f"{_XEN_FFA}:ffa_endpoint_domain_lookup")}),
    Behaviour(
        "pkvm-share-hyp-tx", "__pkvm_host_share_hyp (HVC) of the host's TX buffer page",
        _host_hcall(pkvm_hcall.SHARE_HYP, TX_IPA >> 12),
        {"pkvm": Real("x1 = -EPERM", f"{_PKVM_MEM}:__pkvm_host_share_hyp")}),
    Behaviour(
        "pkvm-unshare-hyp-tx", "__pkvm_host_unshare_hyp (HVC) of the host's TX buffer page (pinned)",
        _host_hcall(pkvm_hcall.UNSHARE_HYP, TX_IPA >> 12),
        {"pkvm": Real("x1 = -EBUSY", f"{_PKVM_MEM}:__pkvm_host_unshare_hyp")}),
    Behaviour(
        "pkvm-share-guest", "__pkvm_host_share_guest (HVC) with no guest vCPU loaded",
        _host_hcall(pkvm_hcall.SHARE_GUEST, RX_IPA >> 12, 0x100, 1, 6, buffers=False),
        {"pkvm": Real("x1 = -EINVAL", f"{_PKVM_HYP_MAIN}:handle___pkvm_host_share_guest")}),
    Behaviour(
        "smccc-version-over-hvc", "SMCCC_VERSION through HVC", _smccc_version_over_hvc,
        {"pkvm": Real("-1 in x0", f"{_PKVM_HYP_MAIN}:handle_host_hcall"),
         "xen": Real("1.2", f"{_XEN}/vsmc.c:vsmccc_handle_call")}),
    Behaviour(
        "pkvm-setup-hcall", "__pkvm_init (HVC) once pKVM is initialised", _host_hcall(1, buffers=False),
        {"pkvm": Real("-1 in x0", f"{_PKVM_HYP_MAIN}:handle_host_hcall")}),
    Behaviour(
        "notification-info-get-64", "FFA_NOTIFICATION_INFO_GET (SMC64)",
        _negotiated_call(ffa.FFA_FN64_NOTIFICATION_INFO_GET),
        {"pkvm": Real("forwarded FFA_FN64_NOTIFICATION_INFO_GET: ERROR(NO_DATA)",
                      f"{_PKVM_FFA}:ffa_call_supported")}),
    Behaviour(
        "notification-bind-32", "FFA_NOTIFICATION_BIND (SMC32, not forwarded)",
        _negotiated_call(ffa.FFA_NOTIFICATION_BIND),
        {"pkvm": Real("ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:ffa_call_supported"),
         # w1 = 0 names the host as both sender and receiver: the SPMC refuses it (Hafnium src/api.c
         # api_ffa_notification_update_bindings)
         "pkvm@v6.17": Real("forwarded FFA_NOTIFICATION_BIND: ERROR(INVALID_PARAMETERS)",
                            f"{_PKVM_FFA}:ffa_call_supported")}),
    Behaviour(
        "direct-resp-64", "FFA_MSG_SEND_DIRECT_RESP (SMC64) from the host",
        _negotiated_call(ffa.FFA_FN64_MSG_SEND_DIRECT_RESP),
        {"pkvm": Real("forwarded FFA_FN64_MSG_SEND_DIRECT_RESP: ERROR(NOT_SUPPORTED)",
                      f"{_PKVM_FFA}:ffa_call_supported")}),
    Behaviour(
        "mem-op-pause", "FFA_MEM_OP_PAUSE (0x84000078)", _negotiated_call(0x8400_0078),
        {"pkvm": Real("ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:ffa_call_supported")}),
    Behaviour(
        "rxtx-map-whole-w3", "FFA_RXTX_MAP with w3 = 0x41 (1 in bits 5:0)", _rxtx_map_count(0x41),
        {"spec": Real("ERROR(INVALID_PARAMETERS)", f"{_HAFNIUM}:api_vm_configure_pages"),
         "pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:do_ffa_rxtx_map"),
         "xen": Real("ERROR(INVALID_PARAMETERS)", f"{_XEN}/tee/ffa_rxtx.c:ffa_handle_rxtx_map")}),
    Behaviour(
        "rxtx-map-again-bad-count", "FFA_RXTX_MAP with w3 = 0 while a pair is mapped", _rxtx_map_again_bad_count,
        {"spec": Real("ERROR(DENIED)", f"{_HAFNIUM}:api_vm_configure_pages"),
         "pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:do_ffa_rxtx_map"),
         "xen": Real("ERROR(INVALID_PARAMETERS)", f"{_XEN}/tee/ffa_rxtx.c:ffa_handle_rxtx_map")}),
    Behaviour(
        "rxtx-map-same-page", "FFA_RXTX_MAP with TX = RX", _rxtx_map_same_page,
        {"spec": Real("ERROR(INVALID_PARAMETERS)", f"{_HAFNIUM}:api_vm_configure_pages"),
         "pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:do_ffa_rxtx_map"),
         # Xen maps any pair itself, then registers it with the SPMC and passes on its refusal (Hafnium
         # api_vm_configure_pages: TX = RX is INVALID_PARAMETERS)
         "xen": Real("forwarded FFA_FN64_RXTX_MAP: ERROR(INVALID_PARAMETERS)",
                     f"{_XEN}/tee/ffa_rxtx.c:ffa_handle_rxtx_map")}),
    Behaviour(
        "rxtx-unmap-w1-low", "FFA_RXTX_UNMAP with w1 = 5", _rxtx_unmap_w1(5),
        {"pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:do_ffa_rxtx_unmap"),
         "xen": Real("forwarded FFA_RXTX_UNMAP: SUCCESS", f"{_XEN}/tee/ffa_rxtx.c:ffa_handle_rxtx_unmap")}),
    Behaviour(
        "mem-share-without-tx", "FFA_MEM_SHARE with no RX/TX pair mapped", _mem_share_without_tx,
        {"spec": Real("ERROR(INVALID_PARAMETERS)", f"{_HAFNIUM}:api_ffa_mem_send"),
         "pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:__do_ffa_mem_xfer"),
         "xen": Real("ERROR(DENIED)", f"{_XEN}/tee/ffa_shm.c:ffa_handle_mem_share")}),
    # -- Xen 4.22 ----------------------------------------------------------------------------------
    Behaviour(
        "x8-x17-before-lock", "x8-x17 in the answer to a first FFA_VERSION(1.2)", _x8_x17(after_id_get=False),
        {"xen": Real("x8-x17 kept", f"{_XEN}/tee/ffa_private.h:ffa_set_regs")}),
    Behaviour(
        "x8-x17-at-lock", "x8-x17 in the answer to the FFA_ID_GET after it (which locks the version)",
        _x8_x17(after_id_get=True),
        {"xen": Real("x8-x17 zeroed", f"{_XEN_FFA}:ffa_negotiate_version"),
         "xen@4.21": Real("x8-x17 kept", f"{_XEN}/tee/ffa_private.h:ffa_set_regs")}),
    Behaviour(
        "sve-hint", "FFA_ID_GET with the SVE hint (bit 16) set, after negotiation",
        _negotiated_call(ffa.FFA_ID_GET | SVE_HINT),
        {"xen": Real("ERROR(NOT_SUPPORTED)", f"{_XEN_FFA}:ffa_handle_call")}),
    Behaviour(
        "features-error", "FFA_FEATURES(FFA_ERROR)", _features(ffa.FFA_ERROR),
        {"pkvm": Real("forwarded FFA_FEATURES: ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:do_ffa_features"),
         "xen": Real("SUCCESS", f"{_XEN_FFA}:handle_features")}),
    Behaviour(
        "features-npi", "FFA_FEATURES(1: the notification pending interrupt)", _features(ffa.FEATURE_ID_NPI),
        {"spec": Real("SUCCESS(w2=0x5)", f"{_HAFNIUM}:api_ffa_features"),
         "pkvm": Real("forwarded FFA_FEATURES: ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:do_ffa_features"),
         "xen": Real("SUCCESS(w2=0x8)", f"{_XEN_FFA}:handle_features")}),
    Behaviour(
        "features-sri", "FFA_FEATURES(2: the schedule receiver interrupt)", _features(ffa.FEATURE_ID_SRI),
        {"spec": Real("ERROR(NOT_SUPPORTED)", f"{_HAFNIUM}:api_ffa_features"),
         # the SPMC's answer: Hafnium's SRI, HF_SCHEDULE_RECEIVER_INTID
         "pkvm": Real("forwarded FFA_FEATURES: SUCCESS(w2=0x8)", f"{_PKVM_FFA}:do_ffa_features"),
         "xen": Real("SUCCESS(w2=0x9)", f"{_XEN_FFA}:handle_features")}),
    Behaviour(
        "features-notification-bind", "FFA_FEATURES(FFA_NOTIFICATION_BIND)", _features(ffa.FFA_NOTIFICATION_BIND),
        {"pkvm": Real("ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:do_ffa_features"),
         "xen": Real("SUCCESS", f"{_XEN_FFA}:handle_features")}),
    Behaviour(
        "features-interrupt", "FFA_FEATURES(FFA_INTERRUPT)", _features(ffa.FFA_INTERRUPT),
        {"xen": Real("SUCCESS", f"{_XEN_FFA}:handle_features"),
         "xen@4.21": Real("ERROR(NOT_SUPPORTED)", f"{_XEN_FFA}:handle_features")}),
    Behaviour(
        "features-msg-send2", "FFA_FEATURES(FFA_MSG_SEND2), the SPMC offering FFA_MSG_SEND2",
        _features(ffa.FFA_MSG_SEND2),
        {"xen": Real("SUCCESS", f"{_XEN_FFA}:handle_features"),
         "xen@4.21": Real("SUCCESS", f"{_XEN_FFA}:handle_features"),
         "xen+vm-to-vm": Real("SUCCESS", f"{_XEN_FFA}:handle_features")}),
    Behaviour(
        "features-direct-req2", "FFA_FEATURES(FFA_MSG_SEND_DIRECT_REQ2)",
        _features(ffa.FFA_FN64_MSG_SEND_DIRECT_REQ2),
        {"pkvm": Real("ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:do_ffa_features"),
         "xen": Real("SUCCESS", f"{_XEN_FFA}:handle_features"),
         "pkvm@v6.17": Real("forwarded FFA_FEATURES: ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:do_ffa_features"),
         "xen@4.21": Real("ERROR(NOT_SUPPORTED)", f"{_XEN_FFA}:handle_features")}),
    Behaviour(
        "features-run", "FFA_FEATURES(FFA_RUN), the SPMC offering FFA_RUN", _features(ffa.FFA_RUN),
        {"xen": Real("SUCCESS", f"{_XEN_FFA}:handle_features")}),
    Behaviour(
        # the SPMC's answer for an SP with nothing to resume (tests/test_ffa_run.py)
        "run", "FFA_RUN of the echo SP, which has nothing to resume", _run_echo_sp,
        {"pkvm": Real("forwarded FFA_RUN: ERROR(DENIED)", f"{_PKVM_FFA}:kvm_host_ffa_handler"),
         "xen": Real("forwarded FFA_RUN: ERROR(DENIED)", "xen/arch/arm/tee/ffa_msg.c:ffa_handle_run")}),
    Behaviour(
        "rxtx-unmap-rx-held", "FFA_RXTX_UNMAP while the VM owns its RX buffer (after PARTITION_INFO_GET)",
        _unmap_holding_rx,
        {"spec": Real("SUCCESS", f"{_HAFNIUM}:api_ffa_rxtx_unmap"),
         "xen": Real("ERROR(DENIED)", f"{_XEN}/tee/ffa_rxtx.c:rxtx_unmap"),
         "xen@4.21": Real("SUCCESS", f"{_XEN}/tee/ffa_rxtx.c:rxtx_unmap")}),
    Behaviour(
        "rxtx-unmap-id", "FFA_RXTX_UNMAP with ID 1 in w1[31:16]", _rxtx_unmap_w1(1 << 16),
        {"spec": Real("ERROR(INVALID_PARAMETERS)", f"{_HAFNIUM}:api_ffa_rxtx_unmap"),
         "pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:do_ffa_rxtx_unmap"),
         "xen": Real("forwarded FFA_RXTX_UNMAP: SUCCESS", f"{_XEN}/tee/ffa_rxtx.c:ffa_handle_rxtx_unmap")}),
    Behaviour(
        "partinfo-no-buffers", "FFA_PARTITION_INFO_GET(nil) with no RX/TX pair", _partition_info(0, mapped=False),
        {"pkvm": Real("ERROR(BUSY)", f"{_PKVM_FFA}:do_ffa_part_get"),
         "xen": Real("ERROR(DENIED)", f"{_XEN}/tee/ffa_rxtx.c:ffa_rx_acquire")}),
    Behaviour(
        "partinfo-unknown-uuid", "FFA_PARTITION_INFO_GET of a UUID no SP has", _partition_info_unknown_uuid,
        {"spec": Real("forwarded FFA_PARTITION_INFO_GET: ERROR(INVALID_PARAMETERS)",
                      f"{_HAFNIUM}:api_ffa_partition_info_get"),
         "pkvm": Real("forwarded FFA_PARTITION_INFO_GET: ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:do_ffa_part_get"),
         # the VM's RX buffer is taken from the SPMC first and handed back on the error (out_rx_release)
         "xen": Real("forwarded FFA_RX_ACQUIRE, FFA_RX_RELEASE: ERROR(INVALID_PARAMETERS)",
                     f"{_XEN_PARTINFO}:ffa_handle_partition_info_get")}),
    Behaviour(
        "partinfo-flags-3", "FFA_PARTITION_INFO_GET(nil) with flags 3", _partition_info(3),
        {"spec": Real("ERROR(INVALID_PARAMETERS)", f"{_HAFNIUM}:api_ffa_partition_info_get"),
         "pkvm": Real("forwarded FFA_PARTITION_INFO_GET: SUCCESS(w2=0x2)", f"{_PKVM_FFA}:do_ffa_part_get"),
         "xen": Real("ERROR(INVALID_PARAMETERS)", f"{_XEN_PARTINFO}:ffa_handle_partition_info_get")}),
    Behaviour(
        "partinfo-count-1-0", "FFA_PARTITION_INFO_GET(nil, count only) from a 1.0 caller",
        _partition_info(ffa.PARTITION_INFO_FLAG_COUNT_ONLY, ffa.VERSION_1_0),
        {"xen": Real("ERROR(INVALID_PARAMETERS)", f"{_XEN_PARTINFO}:ffa_handle_partition_info_get")}),
    Behaviour(
        "partinfo-size-1-0", "FFA_PARTITION_INFO_GET(nil) from a 1.0 caller: w2 and w3",
        _partition_info(0, ffa.VERSION_1_0),
        {"pkvm": Real("forwarded FFA_PARTITION_INFO_GET: SUCCESS(w2=0x2, w3=0x8)", f"{_PKVM_FFA}:do_ffa_part_get"),
         "xen": Real("forwarded FFA_RX_ACQUIRE: SUCCESS(w2=0x2)", f"{_XEN_PARTINFO}:ffa_handle_partition_info_get"),
         "xen@4.21": Real("SUCCESS(w2=0x2, w3=0x8)", f"{_XEN_PARTINFO}:ffa_handle_partition_info_get")}),
    Behaviour(
        "partinfo-uuid-zeroed", "the entry FFA_PARTITION_INFO_GET gives for the echo SP's own UUID",
        _entry_uuid_for_its_uuid,
        {"spec": Real("UUID zero", f"{_HAFNIUM}:api_ffa_fill_partitions_info_array"),
         "xen": Real("UUID zero", f"{_XEN_PARTINFO}:ffa_get_sp_partinfo"),
         "xen@4.21": Real("UUID set", f"{_XEN_PARTINFO}:ffa_get_sp_partinfo")}),
    Behaviour(
        "partinfo-own-entry", "FFA_PARTITION_INFO_GET(nil) from a 1.2 VM with 2 vCPUs: its own entry", _own_entry,
        {"xen": Real("last entry: id 0x1, 2 contexts, properties 0x10e", f"{_XEN_PARTINFO}:ffa_get_vm_partinfo"),
         "xen@4.21": Real(f"last entry: id 0x8002, 1 contexts, properties {SERVICE_SP.properties:#x}",
                          f"{_XEN_PARTINFO}:ffa_handle_partition_info_get")},
        cpus=2),
    Behaviour(
        "info-regs-first-tagged", "FFA_PARTITION_INFO_GET_REGS(start 0, tag 1)", _info_regs(0, 1),
        {"spec": Real("ERROR(RETRY)", f"{_HAFNIUM}:api_ffa_partition_info_get_regs"),
         "xen": Real("ERROR(INVALID_PARAMETERS)", f"{_XEN_PARTINFO}:ffa_handle_partition_info_get_regs")}),
    Behaviour(
        "info-regs-later-untagged", "FFA_PARTITION_INFO_GET_REGS(start 1, tag 0)", _info_regs(1, 0),
        {"spec": Real("SUCCESS: tag 0, entries 1-1 of 2", f"{_HAFNIUM}:api_ffa_partition_info_get_regs"),
         "xen": Real("ERROR(RETRY)", f"{_XEN_PARTINFO}:ffa_handle_partition_info_get_regs")}),
    Behaviour(
        "info-regs-tag", "FFA_PARTITION_INFO_GET_REGS(start 0, tag 0)", _info_regs(0, 0),
        {"spec": Real("SUCCESS: tag 0, entries 0-1 of 2", f"{_HAFNIUM}:api_ffa_partition_info_get_regs"),
         "xen": Real("SUCCESS: tag 1, entries 0-2 of 3", f"{_XEN_PARTINFO}:ffa_handle_partition_info_get_regs"),
         # the VM joined the list at its FFA_ID_GET, which moved the tag from 1 (ffa.c ffa_negotiate_version)
         "xen+vm-to-vm": Real("SUCCESS: tag 2, entries 0-2 of 3", f"{_XEN_PARTINFO}:ffa_partinfo_get_tag")}),
    Behaviour(
        "direct-req-to-vm", "FFA_MSG_SEND_DIRECT_REQ to endpoint 2 (a VM)", _direct_req_to(0x0002),
        {"pkvm": Real("forwarded FFA_MSG_SEND_DIRECT_REQ: ERROR(INVALID_PARAMETERS)",
                      f"{_PKVM_FFA}:kvm_host_ffa_handler"),
         "xen": Real("ERROR(NOT_SUPPORTED)", "xen/arch/arm/tee/ffa_msg.c:ffa_handle_msg_send_direct_req")}),
    Behaviour(
        "direct-req-to-unknown-sp", "FFA_MSG_SEND_DIRECT_REQ to 0x8009 (no such SP)", _direct_req_to(0x8009),
        {"pkvm": Real("forwarded FFA_MSG_SEND_DIRECT_REQ: ERROR(INVALID_PARAMETERS)",
                      f"{_PKVM_FFA}:kvm_host_ffa_handler"),
         "xen": Real("forwarded FFA_MSG_SEND_DIRECT_REQ: ERROR(INVALID_PARAMETERS)",
                     "xen/arch/arm/tee/ffa_msg.c:ffa_handle_msg_send_direct_req")}),
    Behaviour(
        "version-spmc-1-1", "FFA_VERSION(1.2) with a 1.1 SPMC", _version_1_2,
        {"pkvm": Real("1.1", f"{_PKVM_FFA}:do_ffa_version"),
         "xen": Real("1.2", f"{_XEN_FFA}:ffa_negotiate_version")},
        spmc_version=ffa.VERSION_1_1),
    Behaviour(
        "spmc-1-0", "FFA_ID_GET after FFA_VERSION, with a 1.0 SPMC", _id_get_after_version,
        {"pkvm": Real("forwarded FFA_ID_GET: SUCCESS", f"{_PKVM_FFA}:hyp_ffa_init"),
         "xen": Real("-1 in x0", f"{_XEN_FFA}:ffa_probe_fw")},
        spmc_version=ffa.VERSION_1_0),
    # -- where we answer otherwise ---------------------------------------------------------------------
    Behaviour(
        "msg-send2-no-buffers", "FFA_MSG_SEND2 with no RX/TX pair", _msg_send2_without_buffers,
        {"xen": Real("ERROR(DENIED)", "xen/arch/arm/tee/ffa_msg.c:ffa_handle_msg_send2")}),
    Behaviour(
        "notification-bind-receiver", "FFA_NOTIFICATION_BIND naming receiver 0 (not the caller)",
        _negotiated_call(ffa.FFA_NOTIFICATION_BIND, 0),
        {"xen": Real("ERROR(INVALID_PARAMETERS)", f"{_XEN_NOTIF}:ffa_handle_notification_bind")}),
    Behaviour(
        "notification-bind-per-vcpu", "FFA_NOTIFICATION_BIND of the service SP's notification 0, per vCPU",
        _negotiated_call(ffa.FFA_NOTIFICATION_BIND, SERVICE_SP.endpoint_id << 16 | 1, 1, 1),
        {"spec": Real("forwarded FFA_NOTIFICATION_BIND: ERROR(INVALID_PARAMETERS)",
                      f"{_HAFNIUM}:api_ffa_notification_update_bindings"),
         "xen": Real("ERROR(DENIED)", f"{_XEN_NOTIF}:ffa_handle_notification_bind")}),
    Behaviour(
        "notification-bind-vm-sender", "FFA_NOTIFICATION_BIND of notification 0 from VM 2 (not an SP)",
        _negotiated_call(ffa.FFA_NOTIFICATION_BIND, 2 << 16 | 1, 0, 1),
        {"xen": Real("ERROR(NOT_SUPPORTED)", f"{_XEN_NOTIF}:ffa_handle_notification_bind")}),
    Behaviour(
        "notification-info-get-idle", "FFA_NOTIFICATION_INFO_GET (SMC64) from a VM, nothing pending",
        _negotiated_call(ffa.FFA_FN64_NOTIFICATION_INFO_GET),
        {"spec": Real("ERROR(NOT_SUPPORTED)", f"{_HAFNIUM}:api_ffa_notification_info_get"),
         "xen": Real("ERROR(NO_DATA)", f"{_XEN_NOTIF}:ffa_handle_notification_info_get")}),
    Behaviour(
        "mem-share-x3", "FFA_MEM_SHARE with x3 (a buffer address) = 1", _mem_share_x3,
        {"spec": Real("ERROR(INVALID_PARAMETERS)", f"{_HAFNIUM}:api_ffa_mem_send"),
         "pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:__do_ffa_mem_xfer"),
         "xen": Real("ERROR(NOT_SUPPORTED)", f"{_XEN}/tee/ffa_shm.c:ffa_handle_mem_share")},
        ours={"xen": "ERROR(INVALID_PARAMETERS)"}),
    Behaviour(
        "rxtx-map-at-spmc", "FFA_RXTX_MAP of a valid pair", _rxtx_map_count(1),
        {"pkvm": Real("forwarded FFA_FN64_RXTX_MAP: SUCCESS (its own pair, mapped at the SPMC with the host's)",
                      f"{_PKVM_FFA}:do_ffa_rxtx_map"),
         "xen": Real("forwarded FFA_FN64_RXTX_MAP: SUCCESS", f"{_XEN}/tee/ffa_rxtx.c:ffa_handle_rxtx_map")},
        ours={"pkvm": "SUCCESS"}),
    Behaviour(
        "call-count", "STD_SVC_CALL_COUNT", _call_count,
        {"xen": Real("29", f"{_XEN}/vsmc.c:handle_sssc")},
        ours={"xen": "39"}),
)
