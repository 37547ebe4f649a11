"""FFA_RXTX_MAP / UNMAP / RX_RELEASE: error cases and page limits per mediator profile."""

from __future__ import annotations

import pytest

from ffa_helpers import PROFILES, code, is_error, is_success, local_error, run_ok, spmc_hops

INVALID = "INVALID_PARAMETERS"


@pytest.mark.parametrize("profile", PROFILES)
def test_rxtx_map_cases(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_rxtx", profile=profile)
    maps = out.calls(name="FFA_FN64_RXTX_MAP")
    assert len(maps) == 8
    tx = maps[5].args[0]
    rx = maps[5].args[1]
    assert rx == tx + 0x1000
    assert [c.args for c in maps[:7]] == [[tx + 0x800, rx, 1], [tx, rx, 0], [tx, rx, 63], [0x2000_0000, rx, 1],
                                          [rx, rx, 1], [tx, rx, 1], [tx, rx, 1]]
    for c in maps[:5]:
        assert is_error(c, INVALID) and c.results[2] == local_error(profile, INVALID), c.args
    assert is_success(maps[5])
    assert is_error(maps[6], "DENIED") and maps[6].results[2] == local_error(profile, "DENIED")
    # Two-page buffers: only the spec profile accepts more than one page (Xen: 1..1, pKVM: exactly 1).
    assert maps[7].args[2] == 2
    if profile == "spec":
        assert is_success(maps[7])
    else:
        assert is_error(maps[7], INVALID)
    # The mediator keeps each VM's pair to itself: no map reaches the SPMC.
    assert not any(spmc_hops(out, c)[0] for c in maps)


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
    assert [c.args[0] for c in unmaps[:3]] == [1 << 16, 0, 0]
    assert is_error(unmaps[0], INVALID) and is_success(unmaps[1]) and is_error(unmaps[2], INVALID)
    assert unmaps[0].results[2] == local_error(profile, INVALID)


@pytest.mark.parametrize("profile", PROFILES)
def test_rxtx_map_32bit_form(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_rxtx", profile=profile)
    (map32,) = out.calls(name="FFA_RXTX_MAP")
    unmaps = out.calls(name="FFA_RXTX_UNMAP")
    if profile == "pkvm":
        assert is_error(map32, "NOT_SUPPORTED") and map32.results[2] == 2**64 - 1
        assert len(unmaps) == 3
    else:
        assert is_success(map32) and map32.results[2:8] == [0] * 6
        # One more unmap after each map that succeeded: the two-page one (spec only) and this one.
        assert len(unmaps) == {"spec": 5, "xen": 4}[profile] and all(is_success(c) for c in unmaps[3:])
