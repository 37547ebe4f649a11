"""FFA_VERSION negotiation per mediator profile (reference section 4), with one and two VMs."""

from __future__ import annotations

import pytest

from emu.ffa import constants as ffa
from ffa_helpers import MASK32, MASK64, PROFILES, V1_0, V1_1, V1_2, diag, is_error, is_success, run_ok, spmc_hops

BIT31 = 1 << 31
REQUESTS = [0x2_0000, BIT31 | V1_0, 0x1_0003, V1_1, V1_0, V1_2]  # the order of guests/ffa_version
NS32, NS64 = ffa.NOT_SUPPORTED & MASK32, ffa.NOT_SUPPORTED & MASK64

# FFA_VERSION answers (x0) in request order; what FFA_ID_GET does before any VERSION and after.
EXPECTED = {
    # Locked at 1.2 by the early ID_GET (Hafnium: accepted, locks): bad words refused, 1.3 -> 1.2,
    # any other minor after the lock refused.
    "spec": ([NS32, NS32, V1_2, NS32, NS32, V1_2], None, 1),
    # The first successful VERSION (1.3 -> 1.2) locks the host; lower minors refused afterwards.  Bit 31 is not
    # checked (ffa.c do_ffa_version: FFA_MAJOR_VERSION is bits 30:16), so 1.0 with bit 31 is a downgrade asked of
    # the SPMC, which refuses it.
    "pkvm": ([NS64, NS64, V1_2, NS64, NS64, V1_2], "INVALID_PARAMETERS", 0),
    # Always its own version.
    "xen": ([V1_2] * 6, "NOT_SUPPORTED", 1),
}


@pytest.mark.parametrize("profile", PROFILES)
def test_version_sequence(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_version", profile=profile)
    answers, early_error, own_id = EXPECTED[profile]
    versions = out.calls(name="FFA_VERSION")
    assert [c.args[0] for c in versions] == REQUESTS
    assert [c.results[0] for c in versions] == answers
    asked = [BIT31 | V1_0] if profile == "pkvm" else []
    for c in versions:
        assert c.results[1:8] == [0] * 7, "x1-x7 must be zero on return"
        assert [h.args[0] for h in spmc_hops(out, c)[0]] == ([c.args[0]] if c.args[0] in asked else [])
    first, second = out.calls(name="FFA_ID_GET")
    assert first.seq < versions[0].seq < second.seq < versions[4].seq
    if early_error is None:
        assert is_success(first) and first.results[2] == own_id
    else:
        assert is_error(first, early_error)
    assert is_success(second) and second.results[2] == own_id
    # pKVM forwards ID_GET (the SPMC answers 0, the hypervisor's ID); spec and Xen answer locally.
    assert bool(spmc_hops(out, second)[0]) == (profile == "pkvm")


@pytest.mark.parametrize("profile", PROFILES)
def test_version_text_in_trace(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_version", profile=profile)
    texts = [c.result_text for c in out.calls(name="FFA_VERSION")]
    expected = [("1.2" if answer in (V1_2,) else "NOT_SUPPORTED") for answer in EXPECTED[profile][0]]
    assert texts == expected
    assert diag(out, "FFA_VERSION(1.3)") == "FFA_VERSION(1.3) -> 1.2 (x0=0x10002)"


def _entry_size(out, vm: str) -> int:
    (get,) = out.calls(name="FFA_PARTITION_INFO_GET", vm=vm)
    # Xen lists a caller that negotiated 1.2 itself, after the two SPs.
    mediator = out.machine.mediator
    vm_state = next(v for v in out.machine.vms if v.name == vm)
    caller_listed = mediator.profile.lists_caller and mediator.vm_version(vm_state) >= V1_2
    assert is_success(get) and get.results[2] == 2 + caller_listed
    return get.results[3]


def _version_answer(out, vm: str) -> int:
    (call,) = out.calls(name="FFA_VERSION", vm=vm)
    return call.results[0]


@pytest.mark.parametrize("profile", ["spec", "xen"])
@pytest.mark.parametrize("order", [("ffa_version_v10", "ffa_version_v12"), ("ffa_version_v12", "ffa_version_v10")],
                         ids=["v10-first", "v12-first"])
def test_two_vms_keep_their_own_version(guest_image, spmc_image, run_guests, profile: str, order) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, *order, profile=profile)
    for vm, guest in zip(("vm1", "vm2"), order):
        v10 = guest.endswith("v10")
        # Both answer their own 1.2 and record the caller's version: entries follow the caller.  Xen leaves w3 = 0
        # for a 1.0 caller (ffa_partinfo.c ffa_handle_partition_info_get), which then implies 8-byte entries.
        assert _version_answer(out, vm) == V1_2
        assert _entry_size(out, vm) == ((0 if profile == "xen" else 8) if v10 else 24)
        (id_get,) = out.calls(name="FFA_ID_GET", vm=vm)
        assert id_get.results[2] == int(vm[-1])
    # The SPMC never hears the VMs' versions: the mediator translates 24-byte entries for the 1.0 VM.
    assert not any(h.name == "FFA_VERSION" and h.vm != "el2" for h in out.records if h.hop != "call")


def test_two_vms_pkvm_lower_first(guest_image, spmc_image, run_guests) -> None:
    """pKVM: one host-wide version.  1.0 first: asked of the firmware and adopted; a later 1.2 gets 1.0."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_version_v10", "ffa_version_v12", profile="pkvm")
    (first,) = out.calls(name="FFA_VERSION", vm="vm1")
    to_spmc, from_spmc = spmc_hops(out, first)
    assert [h.args[0] for h in to_spmc] == [V1_0]
    assert from_spmc[0].results[0] == V1_2  # the SPMC answers its own version; pKVM adopts 1.0
    assert first.results[0] == V1_0
    assert _version_answer(out, "vm2") == V1_0
    assert _entry_size(out, "vm1") == _entry_size(out, "vm2") == 8
    assert out.machine.mediator.version == V1_0


def test_two_vms_pkvm_higher_first(guest_image, spmc_image, run_guests) -> None:
    """pKVM: 1.2 first locks the host at 1.2; a later request for 1.0 is NOT_SUPPORTED (64-bit -1)."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_version_v12", "ffa_version_v10", profile="pkvm")
    assert _version_answer(out, "vm1") == V1_2
    (second,) = out.calls(name="FFA_VERSION", vm="vm2")
    assert second.results[0] == MASK64 and second.result_text == "NOT_SUPPORTED"
    assert not spmc_hops(out, second)[0]
    assert _entry_size(out, "vm1") == _entry_size(out, "vm2") == 24
    assert "FFA_VERSION(1.0) -> NOT_SUPPORTED" in diag(out, "FFA_VERSION", vm="vm2")


def _boot_hops(out) -> list:
    return [r.name for r in out.records if r.vm == "el2" and r.hop == "el2->spmc"]


@pytest.mark.parametrize("profile", ["spec", "pkvm"])
@pytest.mark.parametrize("spmc_version", [V1_0, V1_1], ids=["spmc-1.0", "spmc-1.1"])
def test_older_spmc_caps_the_version(guest_image, spmc_image, run_guests, profile: str, spmc_version: int) -> None:
    """An SPMC implementing 1.0 (1.1) makes the mediator run at 1.0 (1.1): a VM asking 1.2 gets that."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_version_v12", profile=profile, spmc_version=spmc_version)
    boot = [r for r in out.records if r.vm == "el2" and r.name == "FFA_VERSION" and r.hop == "spmc->el2"]
    assert [r.results[0] for r in boot] == [spmc_version]
    assert out.machine.mediator.version == spmc_version
    assert _version_answer(out, "vm1") == spmc_version
    assert _entry_size(out, "vm1") == (8 if spmc_version == V1_0 else 24)


def test_xen_offers_1_2_over_a_1_1_spmc(guest_image, spmc_image, run_guests) -> None:
    """Xen runs at 1.1 with a 1.1 SPMC but answers VMs FFA_MY_VERSION, 1.2, and records what they ask against
    that (ffa.c ffa_negotiate_version): a 1.2 VM gets 24-byte entries and its own entry (ffa_partinfo.c)."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_version_v12", profile="xen", spmc_version=V1_1)
    assert out.machine.mediator.version == V1_1
    assert _version_answer(out, "vm1") == V1_2
    assert _entry_size(out, "vm1") == 24


def test_xen_needs_a_1_1_spmc(guest_image, spmc_image, run_guests) -> None:
    """ffa.c ffa_probe_fw: an SPMC below FFA_MIN_SPMC_VERSION (1.1) leaves Xen without an FF-A mediator, so every
    FF-A call is an unknown function (vsmc.c vsmccc_handle_call: x0 = -1, the other registers untouched)."""
    out = run_guests(guest_image("ffa_version_v12"), spmc_image=spmc_image, profile="xen", spmc_version=V1_0)
    assert _boot_hops(out) == ["FFA_VERSION"]
    calls = [c for c in out.calls(vm="vm1") if c.name.startswith("FFA_")]
    assert [c.name for c in calls][:2] == ["FFA_VERSION", "FFA_ID_GET"]
    for c in calls:
        assert c.results[0] == MASK64 and not spmc_hops(out, c)[0], (c.name, c.result_text)
