"""FF-A notifications between a VM and the service SP, under each mediator, and the SPMC's own checks.

The guest (guests/ffa_notif) prints one ``notif: key=value`` line per step;
what each mediator's code answers there is below, with where it is decided.
The SPMC is the stub, which serves notifications as Hafnium v2.15's SPMC does
(firmware/notif.c); its checks are probed through pKVM before v6.18, which
forwards every notification call unchanged (arch/arm64/kvm/hyp/nvhe/ffa.c
ffa_call_supported).
"""

from __future__ import annotations

import pytest

from emu.ffa import constants as ffa
from emu.ffa.stub_partitions import SERVICE_SP, SPMC_SRI_INTID
from emu.harness import Harness
from emu.machine import MachineConfig
from emu.platform.elf import load_elf
from emu.vm import VmSpec
from ffa_helpers import guest_steps

BOUND = "0x10000000008"  # bits 3 and 40, bound and set by the service SP
_HAFNIUM = {  # the stub SPMC's answers (Hafnium src/api.c api_ffa_notification_*), the same under every mediator
    "sp_set_unbound": "DENIED", "sp_bind": "OK",
}
EXPECTED = {
    # Hafnium as the hypervisor: the NPI is its virtual interrupt 5 (HF_NOTIFICATION_PENDING_INTID), the SRI and
    # INFO_GET are for the primary VM that schedules (api_ffa_features, api_ffa_notification_info_get), BITMAP_CREATE
    # is its own; a VM names only itself (api_ffa_notification_update_bindings, api_ffa_notification_set).
    "spec": {
        "npi": "5", "sri": "ERROR(NOT_SUPPORTED)", "bitmap_create": "skipped", "bind": "OK",
        "bind_other": "ERROR(INVALID_PARAMETERS)", "sp_set": "OK", "irq": "5", "info_get": "ERROR(NOT_SUPPORTED)",
        "get": BOUND, "get_again": "0x0", "set_to_sp": "OK", "set_spoofed": "ERROR(INVALID_PARAMETERS)",
        "sp_get": "0x20", "unbind": "OK",
    },
    # Xen 4.22 ffa.c handle_features (NPI 8, SRI 9, no BITMAP_CREATE for VMs); ffa_notif.c: the SRI handler
    # injects SGI 8 (notif_sri_action, notif_vm_pend_intr), INFO_GET answers the VM's own ID
    # (ffa_handle_notification_info_get), the ID checks of ffa_handle_notification_bind/set.
    "xen": {
        "npi": "8", "sri": "9", "bitmap_create": "skipped", "bind": "OK", "bind_other": "ERROR(INVALID_PARAMETERS)",
        "sp_set": "OK", "irq": "8", "info_get": "lists:1 first:0x1", "get": BOUND, "get_again": "0x0",
        "set_to_sp": "OK", "set_spoofed": "ERROR(INVALID_PARAMETERS)", "sp_get": "0x20", "unbind": "OK",
    },
    # pKVM v6.18 ffa_call_supported refuses every notification call but the 64-bit INFO_GET, and forwards the
    # FEATURES questions it does not refuse: the host maps the SPMC's SRI and nobody created its bitmap, so
    # the SP's SET is DENIED (Hafnium: VM 0 not enabled).
    "pkvm": {
        "npi": "ERROR(NOT_SUPPORTED)", "sri": str(SPMC_SRI_INTID), "bitmap_create": "skipped",
        "bind": "ERROR(NOT_SUPPORTED)", "bind_other": "ERROR(NOT_SUPPORTED)", "sp_set": "DENIED", "irq": "none",
        "info_get": "ERROR(NO_DATA)", "get": "ERROR(NOT_SUPPORTED)", "get_again": "ERROR(NOT_SUPPORTED)",
        "set_to_sp": "ERROR(NOT_SUPPORTED)", "set_spoofed": "ERROR(NOT_SUPPORTED)", "sp_get": "0x0",
        "unbind": "ERROR(NOT_SUPPORTED)",
    },
    # pKVM before v6.18 forwards them all: the host creates its own bitmap, as Linux's driver does, and takes
    # the SPMC's SRI itself.
    "pkvm@v6.17": {
        "npi": "ERROR(NOT_SUPPORTED)", "sri": str(SPMC_SRI_INTID), "bitmap_create": "OK", "bind": "OK",
        "bind_other": "ERROR(INVALID_PARAMETERS)", "sp_set": "OK", "irq": str(SPMC_SRI_INTID),
        "info_get": "lists:1 first:0x0", "get": BOUND, "get_again": "0x0", "set_to_sp": "OK",
        "set_spoofed": "ERROR(DENIED)", "sp_get": "0x20", "unbind": "OK",
    },
}


def _steps(console: str) -> dict[str, str]:
    """The guest's ``notif:`` lines, a value a key."""
    return {key: values[-1] for key, values in guest_steps(console, "notif").items()}


@pytest.fixture(params=sorted(EXPECTED))
def notif_run(request, guest_image, spmc_image, run_guests):
    out = run_guests(guest_image("ffa_notif"), spmc_image=spmc_image, profile=request.param, check=True)
    return request.param, out


def test_notifications_keep_the_invariants(notif_run) -> None:
    """GET's bitmaps (w2-w7) and INFO_GET's lists (x2-x7) are results, not reserved registers."""
    _profile, out = notif_run
    assert [v.text for v in out.result.violations] == []


def test_each_mediator_answers_as_its_source(notif_run) -> None:
    profile, out = notif_run
    vm = out.result.vms[0]
    assert vm.state == "off", vm.console
    assert _steps(vm.console) == {**_HAFNIUM, **EXPECTED[profile]}


def test_the_sri_is_taken_where_the_profile_says(notif_run) -> None:
    """Xen and the spec's hypervisor take the SPMC's SRI: right after the SP's SET the mediator asks the SPMC
    what is pending (INFO_GET_64) within the same call; pKVM leaves it to the host, which asks itself."""
    profile, out = notif_run
    direct = [c for c in out.calls(name="FFA_MSG_SEND_DIRECT_REQ") if c.args[2] == 8]  # NOTIF_SET
    hops = [h.name for h in out.hops(direct[0].seq) if h.hop == "el2->spmc"]
    mediator_asks = profile in ("spec", "xen")
    assert hops == ["FFA_MSG_SEND_DIRECT_REQ"] + (["FFA_FN64_NOTIFICATION_INFO_GET"] if mediator_asks else [])
    guest_asks = out.calls(name="FFA_FN64_NOTIFICATION_INFO_GET")
    assert len(guest_asks) == 1  # the guest's own, answered locally by Xen, refused by the spec, forwarded by pKVM


def test_vm_bitmaps_follow_the_vm(notif_run) -> None:
    """Xen (ffa_notif_domain_init/destroy) and the spec's hypervisor create each VM's bitmap at boot and destroy
    it at teardown; pKVM leaves that to the host."""
    profile, out = notif_run
    names = [r.name for r in out.machine.trace.records if r.vm == "el2" and r.hop == "el2->spmc"]
    made_by_mediator = profile in ("spec", "xen")
    assert ("FFA_NOTIFICATION_BITMAP_CREATE" in names) == made_by_mediator
    assert ("FFA_NOTIFICATION_BITMAP_DESTROY" in names) == made_by_mediator


# -- the SPMC's checks, through pKVM v6.17's pass-through ------------------------------------------------------
@pytest.fixture
def spmc(guest_image, spmc_image) -> Harness:
    h = Harness(MachineConfig(vms=[VmSpec(load_elf(guest_image("hello")), vm_id=1, endpoint_id=1)],
                              profile="pkvm@v6.17", spmc_image=load_elf(spmc_image), keep_trace=False))
    h.call(0, ffa.FFA_VERSION, ffa.VERSION_1_2)
    return h


def _error(answer: list[int]) -> str:
    if answer[0] in (ffa.FFA_SUCCESS, ffa.FFA_FN64_SUCCESS):
        return "OK"
    return ffa.ERROR_NAMES[(answer[2] & 0xFFFF_FFFF) - (1 << 32)]


SP = SERVICE_SP.endpoint_id


@pytest.mark.parametrize("regs, expected", [
    # api_ffa_notification_bitmap_create: a secure ID; VM 0 twice
    ((ffa.FFA_NOTIFICATION_BITMAP_CREATE, SP, 1), "INVALID_PARAMETERS"),
    # api_ffa_notification_update_bindings: VM 0 before BITMAP_CREATE is not enabled
    ((ffa.FFA_NOTIFICATION_BIND, SP << 16, 0, 1), "NOT_SUPPORTED"),
    # ... an unknown normal-world receiver
    ((ffa.FFA_NOTIFICATION_BIND, SP << 16 | 7, 0, 1), "INVALID_PARAMETERS"),
    # api_ffa_notification_set: VM 0 not enabled is DENIED; a receiver that is no SP is INVALID_PARAMETERS
    ((ffa.FFA_NOTIFICATION_SET, SP, 0, 1), "DENIED"),
    ((ffa.FFA_NOTIFICATION_SET, 1, 0, 1), "INVALID_PARAMETERS"),
    # src/api.c dispatch: only the SMC64 INFO_GET
    ((ffa.FFA_NOTIFICATION_INFO_GET,), "NOT_SUPPORTED"),
    ((ffa.FFA_FN64_NOTIFICATION_INFO_GET,), "NO_DATA"),
])
def test_spmc_checks_before_a_bitmap(spmc, regs, expected) -> None:
    assert _error(spmc.call(0, *regs)) == expected


def test_spmc_checks_with_a_bitmap(spmc) -> None:
    """With VM 0's bitmap: Hafnium v2.15's refusals (per-vCPU is gone since v2.14), and get-and-clear."""
    call = lambda *regs: _error(spmc.call(0, *regs))  # noqa: E731
    assert call(ffa.FFA_NOTIFICATION_BITMAP_CREATE, 0, 4) == "OK"
    assert call(ffa.FFA_NOTIFICATION_BITMAP_CREATE, 0, 4) == "DENIED"
    assert call(ffa.FFA_NOTIFICATION_BIND, SP << 16, 1, 1) == "INVALID_PARAMETERS"  # per-vCPU
    assert call(ffa.FFA_NOTIFICATION_BIND, SP << 16, 0, 0) == "INVALID_PARAMETERS"  # no bits
    assert call(ffa.FFA_NOTIFICATION_BIND, 0, 0, 1) == "INVALID_PARAMETERS"  # sender = receiver
    assert call(ffa.FFA_NOTIFICATION_BIND, SP << 16, 0, 0b11) == "OK"
    assert call(ffa.FFA_NOTIFICATION_BIND, SP << 16, 0, 0b10) == "DENIED"  # bound already
    assert call(ffa.FFA_NOTIFICATION_UNBIND, 0x8001 << 16, 0, 0b01) == "DENIED"  # bound to another sender
    assert call(ffa.FFA_NOTIFICATION_GET, 0, 0b10) == "INVALID_PARAMETERS"  # the VM bitmap of a VM
    assert call(ffa.FFA_NOTIFICATION_GET, 0, 0b1000) == "INVALID_PARAMETERS"  # the hypervisor's
    assert call(ffa.FFA_NOTIFICATION_SET, SP, 0b10, 1) == "INVALID_PARAMETERS"  # delay flag from the normal world
    assert call(ffa.FFA_NOTIFICATION_BITMAP_DESTROY, 0) == "OK"
    assert call(ffa.FFA_NOTIFICATION_BITMAP_DESTROY, 0) == "DENIED"
