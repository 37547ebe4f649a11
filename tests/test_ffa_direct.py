"""Direct messaging (DIRECT_REQ 32/64, DIRECT_REQ2) to the stub SPs per mediator profile."""

from __future__ import annotations

import pytest

from emu.ffa import constants as ffa
from emu.ffa.stub_partitions import ECHO_DELTA
from ffa_helpers import (ECHO_SP_ID, MASK32, PROFILES, SERVICE_SP_ID, V1_0, V1_1, V1_2, code, diag, is_error,
                         local_error, run_ok, spmc_hops)

UPPER_GARBAGE = 0xA5A5A5A5_00000000
OWN_ID = {"spec": 1, "xen": 1, "pkvm": 0}  # pKVM forwards FFA_ID_GET: the SPMC answers the hypervisor's 0


def _direct(out, name: str) -> list:
    return out.calls(name=name)


def _endpoints(sender: int, receiver: int) -> int:
    return sender << 16 | receiver


@pytest.mark.parametrize("profile", PROFILES)
def test_direct_req_32(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_direct", profile=profile)
    me = OWN_ID[profile]
    (id_get,) = out.calls(name="FFA_ID_GET")
    assert id_get.results[2] == me
    echo = _direct(out, "FFA_MSG_SEND_DIRECT_REQ")[0]
    assert echo.conduit == ("smc" if profile == "pkvm" else "hvc")  # the device tree's PSCI conduit
    assert echo.args[0] & MASK32 == _endpoints(me, ECHO_SP_ID)
    sent = [a & MASK32 for a in echo.args[2:7]]
    assert sent == [0x11111111, 0x22222222, 0x33333333, 0x44444444, 0xFFFFFFFF]
    assert echo.results[0] == ffa.FFA_MSG_SEND_DIRECT_RESP
    assert echo.results[1] == _endpoints(ECHO_SP_ID, me)
    assert echo.results[3:8] == [(w + ECHO_DELTA) & MASK32 for w in sent]
    # What reaches the SPMC: spec and Xen pass the SMC32 view (w registers), pKVM the raw x0-x17.
    (to_spmc,), _ = spmc_hops(out, echo)
    if profile == "pkvm":
        assert to_spmc.args[2:7] == [UPPER_GARBAGE | w for w in sent]
    else:
        assert to_spmc.args[2:7] == sent
    assert diag(out, "DIRECT_REQ (SMC32): upper") == "DIRECT_REQ (SMC32): upper halves of x0-x7 zero: yes"


@pytest.mark.parametrize("profile, x8_x17", [("spec", "preserved"), ("xen", "zeroed"), ("pkvm", "zeroed")])
def test_smc32_x8_x17(guest_image, spmc_image, run_guests, profile: str, x8_x17: str) -> None:
    """SMCCC: an SMC32 call preserves x8-x17 (spec); Xen zeroes them for a 1.2 guest, pKVM writes x0-x17."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_direct", profile=profile)
    assert diag(out, "DIRECT_REQ (SMC32): x8-x17") == f"DIRECT_REQ (SMC32): x8-x17 {x8_x17}"


@pytest.mark.parametrize("profile", PROFILES)
def test_direct_req_64(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_direct", profile=profile)
    (c,) = _direct(out, "FFA_FN64_MSG_SEND_DIRECT_REQ")
    sent = c.args[2:7]
    assert sent[2] == 0xFFFFFFFF_FFFFFFFE and sent[3] == 0xFFFFFFFF  # carries into bit 32 / to all ones
    assert c.results[0] == ffa.FFA_FN64_MSG_SEND_DIRECT_RESP
    assert c.results[1] == _endpoints(ECHO_SP_ID, OWN_ID[profile])
    assert c.results[3:8] == [v + ECHO_DELTA for v in sent]


@pytest.mark.parametrize("profile", PROFILES)
def test_direct_req2(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_direct", profile=profile)
    (c,) = _direct(out, "FFA_FN64_MSG_SEND_DIRECT_REQ2")
    assert c.conduit == "smc"
    payload = c.args[3:17]  # x4-x17
    assert len(payload) == 14 and len(set(payload)) == 14 and all(v >> 32 for v in payload)
    if profile == "pkvm":
        assert is_error(c, "NOT_SUPPORTED") and c.results[2] == 2**64 - 1 and c.results[3:] == [0] * 15
        assert not spmc_hops(out, c)[0]
        return
    assert len(c.results) == 18
    assert c.results[0] == ffa.FFA_FN64_MSG_SEND_DIRECT_RESP2
    assert c.results[1] == _endpoints(ECHO_SP_ID, OWN_ID[profile])
    assert c.results[2:4] == [0, 0]
    assert c.results[4:18] == [v + ECHO_DELTA for v in payload]
    (to_spmc,), (from_spmc,) = spmc_hops(out, c)
    assert to_spmc.args[3:17] == payload and from_spmc.results[4:18] == c.results[4:18]


@pytest.mark.parametrize("profile", PROFILES)
def test_service_sp(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_direct", profile=profile)
    to_service = [c for c in _direct(out, "FFA_MSG_SEND_DIRECT_REQ") if c.args[0] & 0xFFFF == SERVICE_SP_ID]
    ping, total = to_service
    assert ping.args[2] == 1 and ping.results[3:5] == [0x5049_4E47, 1]
    assert total.args[2:7] == [2, 1000, 200, 30, 4] and total.results[3] == 1234
    assert ping.results[1] == total.results[1] == _endpoints(SERVICE_SP_ID, OWN_ID[profile])


@pytest.mark.parametrize("profile", PROFILES)
def test_sender_spoofing(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_direct", profile=profile)
    me = OWN_ID[profile]
    spoof = next(c for c in _direct(out, "FFA_MSG_SEND_DIRECT_REQ") if c.args[0] >> 16 == me + 1)
    to_spmc, _ = spmc_hops(out, spoof)
    if profile == "pkvm":
        # pKVM does not check the sender: the request reaches the SPMC, which answers the spoofed endpoint.
        assert [h.args[0] & MASK32 for h in to_spmc] == [_endpoints(me + 1, ECHO_SP_ID)]
        assert spoof.results[0] == ffa.FFA_MSG_SEND_DIRECT_RESP
        assert spoof.results[1] == _endpoints(ECHO_SP_ID, me + 1)
    else:
        assert is_error(spoof, "INVALID_PARAMETERS") and spoof.results[2] == code("INVALID_PARAMETERS", 32)
        assert not to_spmc


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("receiver", [0x0002, 0x8009])
def test_bad_receiver(guest_image, spmc_image, run_guests, profile: str, receiver: int) -> None:
    """A VM (0x0002) or an unknown SP (0x8009) as receiver.  Xen 4.22 (ffa_msg.c
    ffa_handle_msg_send_direct_req) answers NOT_SUPPORTED for a non-secure receiver and forwards an
    unknown secure ID for the SPMC to refuse; the spec profile refuses both itself."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_direct", profile=profile)
    (c,) = [c for c in _direct(out, "FFA_MSG_SEND_DIRECT_REQ") if c.args[0] & 0xFFFF == receiver]
    to_spmc, _ = spmc_hops(out, c)
    if profile == "xen":
        assert is_error(c, "NOT_SUPPORTED" if receiver == 0x0002 else "INVALID_PARAMETERS")
        assert len(to_spmc) == (receiver == 0x8009)
        return
    assert is_error(c, "INVALID_PARAMETERS")
    if profile == "pkvm":
        # Forwarded; the SPMC refuses, with its own (32-bit) encoding.
        assert len(to_spmc) == 1 and c.results[2] == code("INVALID_PARAMETERS", 32)
    else:
        assert not to_spmc and c.results[2] == local_error(profile, "INVALID_PARAMETERS")


@pytest.mark.parametrize("profile, spmc_version", [("spec", V1_0), ("spec", V1_1), ("pkvm", V1_0), ("pkvm", V1_1),
                                                   ("xen", V1_1)])
def test_direct_with_older_spmc(guest_image, spmc_image, run_guests, profile: str, spmc_version: int) -> None:
    """A mediator running below 1.2 refuses DIRECT_REQ2; DIRECT_REQ still works.  Xen (which needs a 1.1 SPMC)
    answers VMs 1.2 whatever the SPMC's version, and refuses DIRECT_REQ2 because the SPMC did not report it in
    FFA_FEATURES at boot (ffa.c ffa_negotiate_version, ffa_msg.c ffa_handle_msg_send_direct_req)."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_direct", profile=profile, spmc_version=spmc_version)
    (version,) = out.calls(name="FFA_VERSION")
    assert version.results[0] == (V1_2 if profile == "xen" else spmc_version)
    (req2,) = _direct(out, "FFA_FN64_MSG_SEND_DIRECT_REQ2")
    assert is_error(req2, "NOT_SUPPORTED") and not spmc_hops(out, req2)[0]
    echo = _direct(out, "FFA_MSG_SEND_DIRECT_REQ")[0]
    assert echo.results[0] == ffa.FFA_MSG_SEND_DIRECT_RESP
