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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from emu.el2.smccc import MASK32, MASK64, to_signed
from emu.ffa import constants as ffa
from emu.harness import RX_IPA, TX_IPA, Harness
from emu.machine import MachineConfig
from emu.platform.image import GuestImage
from emu.vm import VmSpec

RAM = 16 << 20
VM_REGISTERS = 18


class Probe:
    """A fresh one-VM machine under a profile (invariants checked), and what each call sent to the SPMC."""

    def __init__(self, profile: str, guest: GuestImage, spmc: GuestImage, spmc_version: int = 0) -> None:
        self.harness = Harness(MachineConfig(vms=[VmSpec(guest, vm_id=1, endpoint_id=1, ram_size=RAM)],
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

    def describe(self, answer: list[int], version_call: bool = False) -> str:
        """Our answer in the words the records use: `ERROR(DENIED)`, `SUCCESS(w2=0x8)`, `1.2`, `-1 in x0`,
        prefixed with `forwarded: ` when the call went on to the SPMC."""
        prefix = "forwarded: " if self.sent else ""
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
    p.call(ffa.FFA_VERSION, ffa.VERSION_1_2)
    p.call(ffa.FFA_ID_GET)
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


_PKVM_FFA = "arch/arm64/kvm/hyp/nvhe/ffa.c"
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
         "xen": Real("1.2", f"{_XEN}/tee/ffa.c:ffa_handle_call")}),
    Behaviour(
        "unknown-before-version", "FFA_MEM_OP_PAUSE (0x84000078, not in our ABI table) before any FFA_VERSION",
        _before_version(0x8400_0078),
        {"pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:kvm_host_ffa_handler"),
         "xen": Real("ERROR(NOT_SUPPORTED)", f"{_XEN}/tee/ffa.c:ffa_negotiate_version")}),
    Behaviour(
        "high-function-number", "function number 0xA0 (0x840000A0) after negotiation",
        _negotiated_call(0x8400_00A0),
        {"pkvm": Real("forwarded: ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:kvm_host_ffa_handler"),
         "xen": Real("-1 in x0", f"{_XEN}/vsmc.c:handle_sssc")}),
    Behaviour(
        "msg-send2", "FFA_MSG_SEND2 after negotiation", _negotiated_call(ffa.FFA_MSG_SEND2),
        {"pkvm": Real("forwarded: ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:ffa_call_supported")}),
    Behaviour(
        "notification-info-get-64", "FFA_NOTIFICATION_INFO_GET (SMC64)",
        _negotiated_call(ffa.FFA_FN64_NOTIFICATION_INFO_GET),
        {"pkvm": Real("forwarded: ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:ffa_call_supported")}),
    Behaviour(
        "notification-bind-32", "FFA_NOTIFICATION_BIND (SMC32, not forwarded)",
        _negotiated_call(ffa.FFA_NOTIFICATION_BIND),
        {"pkvm": Real("ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:ffa_call_supported")}),
    Behaviour(
        "direct-resp-64", "FFA_MSG_SEND_DIRECT_RESP (SMC64) from the host",
        _negotiated_call(ffa.FFA_FN64_MSG_SEND_DIRECT_RESP),
        {"pkvm": Real("forwarded: ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:ffa_call_supported")}),
    Behaviour(
        "mem-op-pause", "FFA_MEM_OP_PAUSE (0x84000078)", _negotiated_call(0x8400_0078),
        {"pkvm": Real("ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:ffa_call_supported")}),
    Behaviour(
        "features-feature-id", "FFA_FEATURES(1: the notification pending interrupt)",
        _features(ffa.FEATURE_ID_NPI),
        {"pkvm": Real("forwarded: ERROR(NOT_SUPPORTED)", f"{_PKVM_FFA}:do_ffa_features")}),
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
         "xen": Real("SUCCESS", f"{_XEN}/tee/ffa_rxtx.c:ffa_handle_rxtx_map")}),
    Behaviour(
        "rxtx-unmap-w1-low", "FFA_RXTX_UNMAP with w1 = 5", _rxtx_unmap_w1(5),
        {"pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:do_ffa_rxtx_unmap"),
         "xen": Real("SUCCESS", f"{_XEN}/tee/ffa_rxtx.c:ffa_handle_rxtx_unmap")}),
    Behaviour(
        "mem-share-without-tx", "FFA_MEM_SHARE with no RX/TX pair mapped", _mem_share_without_tx,
        {"spec": Real("ERROR(INVALID_PARAMETERS)", f"{_HAFNIUM}:api_ffa_mem_send"),
         "pkvm": Real("ERROR(INVALID_PARAMETERS)", f"{_PKVM_FFA}:__do_ffa_mem_xfer"),
         "xen": Real("ERROR(DENIED)", f"{_XEN}/tee/ffa_shm.c:ffa_handle_mem_share")}),
)
