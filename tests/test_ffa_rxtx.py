"""FFA_RXTX_MAP / UNMAP / RX_RELEASE: error cases and page limits per mediator profile."""

from __future__ import annotations

import pytest

from ffa_helpers import PROFILES, code, is_error, is_success, local_error, run_ok, spmc_hops

INVALID = "INVALID_PARAMETERS"
OUTSIDE_RAM = 0x2000_0000

# The guest's FFA_FN64_RXTX_MAP calls in order, as (TX, RX, pages) with TX/RX standing for its buffers,
# "tx2"/"rx2" for its two-page buffers, and each answer: "SUCCESS" or the error the mediator builds.
_COMMON_START = [(("tx+0x800", "rx", 1), INVALID), (("tx", "rx", 0), INVALID), (("tx", "rx", 63), INVALID),
                 ((OUTSIDE_RAM, "rx", 1), INVALID)]
MAPS = {
    # TX == RX overlaps: INVALID_PARAMETERS (Hafnium api_ffa_rxtx_map); two pages are within its limit.
    "spec": _COMMON_START + [(("rx", "rx", 1), INVALID), (("tx", "rx", 1), "SUCCESS"), (("tx", "rx", 1), "DENIED"),
                             (("tx2", "rx2", 2), "SUCCESS")],
    # arch/arm64/kvm/hyp/nvhe/ffa.c do_ffa_rxtx_map: the whole w3 must be 1 (KVM_FFA_MBOX_NR_PAGES); sharing the
    # RX page a second time with the hypervisor fails (__pkvm_host_share_hyp): INVALID_PARAMETERS.
    "pkvm": _COMMON_START + [(("rx", "rx", 1), INVALID), (("tx", "rx", 1), "SUCCESS"), (("tx", "rx", 1), "DENIED"),
                             (("tx2", "rx2", 2), INVALID)],
    # xen/arch/arm/tee/ffa_rxtx.c ffa_handle_rxtx_map: count (exactly 1), alignment, then DENIED if mapped, then
    # RW RAM; no overlap check of its own, but it registers the pair with the SPMC, which refuses TX == RX (as
    # Hafnium's api_vm_configure_pages) and Xen passes that on.  ffa_handle_rxtx_unmap ignores w1, so the guest's
    # UNMAP(ID 1) unmaps and it maps again.
    "xen": _COMMON_START + [(("rx", "rx", 1), INVALID), (("tx", "rx", 1), "SUCCESS"), (("tx", "rx", 1), "DENIED"),
                            (("tx", "rx", 1), "SUCCESS"), (("tx2", "rx2", 2), INVALID)],
}
# The guest's FFA_RXTX_UNMAP calls in order: (w1, answer).  The last SUCCESS of spec and Xen follows the 32-bit map.
UNMAPS = {
    "spec": [(1 << 16, INVALID), (0, "SUCCESS"), (0, INVALID), (0, "SUCCESS"), (0, "SUCCESS")],
    "pkvm": [(1 << 16, INVALID), (0, "SUCCESS"), (0, INVALID)],
    "xen": [(1 << 16, "SUCCESS"), (0, "SUCCESS"), (0, INVALID), (0, "SUCCESS")],
}


def _answered(record, profile: str, expected: str) -> bool:
    if expected == "SUCCESS":
        return is_success(record)
    return is_error(record, expected) and record.results[2] == local_error(profile, expected)


@pytest.mark.parametrize("profile", PROFILES)
def test_rxtx_map_cases(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_rxtx", profile=profile)
    maps = out.calls(name="FFA_FN64_RXTX_MAP")
    valid = next(c for c in maps if is_success(c) and c.args[0] != c.args[1])
    tx, rx = valid.args[0], valid.args[1]
    assert rx == tx + 0x1000
    two_pages = maps[-1].args
    names = {"tx": tx, "rx": rx, "tx+0x800": tx + 0x800, "tx2": two_pages[0], "rx2": two_pages[1]}
    expected = MAPS[profile]
    assert [c.args for c in maps] == [[names.get(t, t), names.get(r, r), n] for (t, r, n), _ in expected]
    for c, (_, answer) in zip(maps, expected):
        assert _answered(c, profile, answer), (c.args, c.result_text)
    # The mediator keeps each VM's pair to itself (no map reaches the SPMC), but Xen registers every pair it maps
    # with the SPMC (ffa_rxtx.c, the SPMC supporting FFA_RX_ACQUIRE): an endpoint descriptor, x1-x3 zero.
    registered = [c for c in maps if spmc_hops(out, c)[0]]
    if profile == "xen":
        assert registered == [c for c in maps if c.args[0] == c.args[1] or is_success(c)]
        assert all(h.args[:3] == [0, 0, 0] for c in registered for h in spmc_hops(out, c)[0])
    else:
        assert not registered


@pytest.mark.parametrize("profile", PROFILES)
def test_rx_release_and_unmap(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_rxtx", profile=profile)
    (release,) = out.calls(name="FFA_RX_RELEASE")
    assert is_error(release, "DENIED")
    if profile == "pkvm":
        # Forwarded: the SPMC refuses (its 32-bit encoding passes through unchanged).
        to_spmc, _ = spmc_hops(out, release)
        assert [h.name for h in to_spmc] == ["FFA_RX_RELEASE"]
        assert release.results[2] == code("DENIED", 32)
    else:
        assert not spmc_hops(out, release)[0] and release.results[2] == code("DENIED", 32)
    unmaps = out.calls(name="FFA_RXTX_UNMAP")
    assert [c.args[0] for c in unmaps] == [w1 for w1, _ in UNMAPS[profile]]
    for c, (_, answer) in zip(unmaps, UNMAPS[profile]):
        assert _answered(c, profile, answer), (c.args, c.result_text)


@pytest.mark.parametrize("profile", PROFILES)
def test_rxtx_map_32bit_form(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_rxtx", profile=profile)
    (map32,) = out.calls(name="FFA_RXTX_MAP")
    if profile == "pkvm":  # ffa.c ffa_call_supported: the 32-bit RXTX_MAP is on the denylist
        assert is_error(map32, "NOT_SUPPORTED") and map32.results[2] == 2**64 - 1
    else:
        assert is_success(map32) and map32.results[2:8] == [0] * 6
