"""Hostile sizes from real guests, under every profile with --check: claims of gigabytes
(guests/ffa_mem_huge) and one VM taking every SPMC transaction slot (guests/ffa_mem_hog next to
guests/ffa_mem_victim) are refused with the profile's error, leave nothing behind and stop nothing."""

from __future__ import annotations

import time

import pytest
from ffa_helpers import PROFILES, is_error, is_success, run_ok, spmc_hops

from emu.ffa import constants as ffa
from emu.ffa.stub_partitions import SPMC_TXN_SLOTS

SHARE = "FFA_FN64_MEM_SHARE"

# Each attack of ffa_mem_huge, in order: the error the profile's mediator answers itself.
HUGE = {
    "8192 constituents, each the whole RAM": {"spec": "DENIED", "pkvm": "NO_MEMORY", "xen": "NOT_SUPPORTED"},
    "250 constituents in one page": {"spec": "DENIED", "pkvm": "DENIED", "xen": "NO_MEMORY"},
    "the whole RAM, RX/TX included": {"spec": "DENIED", "pkvm": "DENIED", "xen": "NO_MEMORY"},
    "0xffffffff pages": {"spec": "INVALID_PARAMETERS", "pkvm": "INVALID_PARAMETERS", "xen": "NO_MEMORY"},
    "a total length of 4 GiB": {"spec": "NO_MEMORY", "pkvm": "NO_MEMORY", "xen": "NOT_SUPPORTED"},
}


@pytest.mark.parametrize("profile", PROFILES)
def test_huge_claims_are_refused_at_the_cost_of_their_bytes(profile: str, guest_image, spmc_image,
                                                            run_guests) -> None:
    started = time.perf_counter()
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_mem_huge", profile=profile, check=True)
    assert time.perf_counter() - started < 30  # 268M pages claimed: a page list of gigabytes before
    assert out.result.violations == []
    attacks = out.calls(name=SHARE)[:len(HUGE)]
    for (what, errors), call in zip(HUGE.items(), attacks, strict=True):
        assert is_error(call, errors[profile]), (what, call.result_text)
        assert spmc_hops(out, call) == ([], []), what  # refused by the mediator itself
    frag_tx = out.calls(name="FFA_MEM_FRAG_TX")
    fragmented = frag_tx[1:] if profile != "xen" else []
    if profile == "spec":  # the 40 ranges in 16-byte fragments: the 21st fragment is refused
        assert is_error(frag_tx[0], "INVALID_PARAMETERS") and len(fragmented) == 20
        assert all(c.results[0] == ffa.FFA_MEM_FRAG_RX for c in fragmented[:-1])
        assert is_error(fragmented[-1], "NO_MEMORY")
    elif profile == "pkvm":  # no fragment count: the length bounds it
        assert is_success(fragmented[-1]) and len(fragmented) == 720 // 16 - 1
    else:
        assert all(is_error(c, "NOT_SUPPORTED") for c in frag_tx)
    assert out.machine.mediator.memory.ledger.shares == {}
    assert all(not vm.ffa.pending for vm in out.machine.vms)


@pytest.mark.parametrize("profile", PROFILES)
def test_one_vm_cannot_starve_another_of_spmc_slots(profile: str, guest_image, spmc_image, run_guests) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_mem_hog", "ffa_mem_victim", profile=profile,
                 check=True)
    assert out.result.violations == []
    hog = out.calls(name=SHARE, vm="vm1")
    refused = next(i for i, c in enumerate(hog) if not is_success(c))
    assert refused == SPMC_TXN_SLOTS // 2  # its quota: half the SPMC's slots, with two VMs
    assert is_error(hog[refused], "NO_MEMORY") and spmc_hops(out, hog[refused]) == ([], [])
    (victim,) = out.calls(name=SHARE, vm="vm2")
    first_reclaim = out.calls(name="FFA_MEM_RECLAIM", vm="vm1")[0]
    assert is_success(victim)
    assert hog[refused].seq < victim.seq < first_reclaim.seq  # while the hog held all it could
