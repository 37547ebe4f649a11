"""FF-A calls before negotiation, FFA_CONSOLE_LOG, error encoding, the demo and the DIRECT_REQ2 benchmark."""

from __future__ import annotations

import re

import pytest

from emu.ffa import constants as ffa
from ffa_helpers import PROFILES, V1_2, diag, is_error, is_success, run_ok, spmc_hops


@pytest.mark.parametrize("profile, early", [("spec", None), ("pkvm", "INVALID_PARAMETERS"), ("xen", "NOT_SUPPORTED")])
def test_calls_before_version(guest_image, spmc_image, run_guests, profile: str, early: str | None) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_before_version", profile=profile)
    id_before, id_after = out.calls(name="FFA_ID_GET")
    features_before, features_after = out.calls(name="FFA_FEATURES")
    (version,) = out.calls(name="FFA_VERSION")
    assert id_before.seq < features_before.seq < version.seq < id_after.seq
    assert features_before.args[0] == ffa.FFA_VERSION
    if early is None:
        assert is_success(id_before) and id_before.results[2] == 1
        assert is_success(features_before)
    else:
        assert is_error(id_before, early) and is_error(features_before, early)
        assert not spmc_hops(out, id_before)[0]
    assert version.results[0] == V1_2
    assert is_success(id_after) and is_success(features_after)
    assert id_after.results[2] == (0 if profile == "pkvm" else 1)


@pytest.mark.parametrize("profile, error, x2, x2_64", [
    ("spec", "INVALID_PARAMETERS", 0xFFFF_FFFE, 0xFFFF_FFFE),  # offered, but a count of 0 is invalid
    ("xen", "NOT_SUPPORTED", 0xFFFF_FFFF, 0xFFFF_FFFF),
    # pKVM refuses the SMC32 CONSOLE_LOG itself (ffa.c ffa_call_supported) and forwards the SMC64 one, which
    # its denylist does not name: the SPMC's own (32-bit) NOT_SUPPORTED comes back.
    ("pkvm", "NOT_SUPPORTED", 2**64 - 1, 0xFFFF_FFFF),
])
def test_error_code_encoding(guest_image, spmc_image, run_guests, profile: str, error: str, x2: int,
                             x2_64: int) -> None:
    """The code in x2 of FFA_ERROR: zero-extended (spec, Xen) or a 64-bit negative number (pKVM)."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_console", profile=profile)
    zero_count = [c for c in out.calls() if c.name in ("FFA_CONSOLE_LOG", "FFA_FN64_CONSOLE_LOG") and c.args[0] == 0]
    assert [c.name for c in zero_count] == ["FFA_CONSOLE_LOG", "FFA_FN64_CONSOLE_LOG"]
    for c, want in zip(zero_count, (x2, x2_64)):
        assert is_error(c, error) and c.results[2] == want
    assert "x2=0x%x" % x2 in diag(out, "FFA_CONSOLE_LOG (SMC32) count 0")


@pytest.mark.parametrize("profile", PROFILES)
def test_console_log(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_console", profile=profile)
    (log32,) = [c for c in out.calls(name="FFA_CONSOLE_LOG") if c.args[0]]
    (log64,) = [c for c in out.calls(name="FFA_FN64_CONSOLE_LOG") if c.args[0]]
    assert log32.args[0] == len("console: hello (w2-w7)\n") <= ffa.CONSOLE_LOG_MAX_CHARS_32
    assert ffa.CONSOLE_LOG_MAX_CHARS_32 < log64.args[0] <= ffa.CONSOLE_LOG_MAX_CHARS_64
    lines = out.console().splitlines()
    if profile == "spec":
        assert is_success(log32) and is_success(log64)
        assert "console: hello (w2-w7)" in lines
        assert "console: a longer line through x2-x17 of FFA_CONSOLE_LOG64" in lines
    else:
        # Neither pKVM nor Xen offer FFA_CONSOLE_LOG to a VM.
        assert is_error(log32, "NOT_SUPPORTED") and is_error(log64, "NOT_SUPPORTED")
        assert not any(line.startswith("console:") for line in lines)


@pytest.mark.parametrize("profile", PROFILES)
def test_demo(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_demo", profile=profile)
    text = out.console()
    listed = 3 if profile == "xen" else 2  # Xen lists the calling VM too
    assert f"4. FFA_PARTITION_INFO_GET: {listed} partitions (24-byte entries)" in text
    assert "6. PING the service SP: it answers \"PING\"" in text
    req2 = "got 101, 201 ... 1401 back" in text
    assert req2 == (profile != "pkvm")
    assert [c.name for c in out.calls() if c.name.startswith("FFA_")][-1] == "FFA_RXTX_UNMAP"


@pytest.mark.parametrize("profile, errors", [("spec", 0), ("pkvm", 20000)])
def test_bench_direct_req2(guest_image, spmc_image, run_guests, profile: str, errors: int) -> None:
    out = run_guests(guest_image("bench_direct_req2"), spmc_image=spmc_image, profile=profile, keep_trace=False)
    assert out.exit_code == 0, out.console()
    match = re.search(r"bench_direct_req2 calls=(\d+) errors=(\d+)", out.console())
    assert match and (int(match[1]), int(match[2])) == (20000, errors)
    assert out.result.traps == 20000 + 3  # VERSION, ID_GET, SYSTEM_OFF
