"""FFA_FEATURES per mediator profile (reference section 5): which ABIs each mediator offers."""

from __future__ import annotations

import pytest

from emu.ffa import constants as ffa
from ffa_helpers import MASK32, PROFILES, V1_0, code, diag, is_error, is_success, local_error, run_ok, spmc_hops

_COMMON = {
    "FFA_VERSION", "FFA_FEATURES", "FFA_RX_RELEASE", "FFA_RXTX_UNMAP", "FFA_PARTITION_INFO_GET", "FFA_ID_GET",
    "FFA_MSG_SEND_DIRECT_REQ", "FFA_FN64_RXTX_MAP", "FFA_FN64_MSG_SEND_DIRECT_REQ",
}
# The function IDs FEATURES reports as supported to a VM that negotiated 1.2; all others NOT_SUPPORTED.
# Memory management ABIs (FFA_MEM_*) are left to the memory sharing tests.
SUPPORTED = {
    # The notification calls of a VM, as the SPMC supports notifications; BITMAP_CREATE/DESTROY are the
    # hypervisor's and INFO_GET the scheduling primary VM's (Hafnium src/api.c api_ffa_features).
    "spec": _COMMON | {"FFA_RXTX_MAP", "FFA_RUN", "FFA_RX_ACQUIRE", "FFA_SPM_ID_GET", "FFA_CONSOLE_LOG",
                       "FFA_FN64_CONSOLE_LOG", "FFA_FN64_PARTITION_INFO_GET_REGS", "FFA_FN64_MSG_SEND_DIRECT_REQ2",
                       "FFA_NOTIFICATION_BIND", "FFA_NOTIFICATION_UNBIND", "FFA_NOTIFICATION_SET",
                       "FFA_NOTIFICATION_GET"},
    # pKVM refuses the 32-bit RXTX_MAP, DIRECT_REQ2, CONSOLE_LOG, PARTITION_INFO_GET_REGS and the notification
    # calls but the 64-bit INFO_GET, and asks the firmware about the rest (YIELD is a partition's ABI, not the
    # normal world's).
    "pkvm": _COMMON | {"FFA_RX_ACQUIRE", "FFA_SPM_ID_GET", "FFA_FN64_NOTIFICATION_INFO_GET", "FFA_MSG_SEND2",
                       "FFA_RUN"},
    # Xen answers from its own table (xen/arch/arm/tee/ffa.c handle_features): also ERROR, SUCCESS, INTERRUPT and
    # the notification ABIs; no SPM_ID_GET, RX_ACQUIRE or CONSOLE_LOG; RUN and MSG_SEND2 only if the SPMC reported
    # them at boot (ffa_fw_supports_fid), as the stub does.
    "xen": _COMMON | {"FFA_RXTX_MAP", "FFA_FN64_PARTITION_INFO_GET_REGS", "FFA_FN64_MSG_SEND_DIRECT_REQ2",
                      "FFA_ERROR", "FFA_SUCCESS", "FFA_FN64_SUCCESS", "FFA_INTERRUPT", "FFA_NOTIFICATION_BIND",
                      "FFA_NOTIFICATION_UNBIND", "FFA_NOTIFICATION_SET", "FFA_NOTIFICATION_GET",
                      "FFA_NOTIFICATION_INFO_GET", "FFA_FN64_NOTIFICATION_INFO_GET", "FFA_MSG_SEND2", "FFA_RUN"},
}
RXTX_MAP_MAX_PAGES = {"spec": 63, "pkvm": 63, "xen": 1}  # w2[31:16]; pKVM reports the firmware's value
FEATURE_IDS = [ffa.FEATURE_ID_NPI, ffa.FEATURE_ID_SRI, ffa.FEATURE_ID_MEI]
BOGUS = 0x840000FF


def _features(out) -> dict[int, object]:
    return {c.args[0] & MASK32: c for c in out.calls(name="FFA_FEATURES")}


@pytest.mark.parametrize("profile", PROFILES)
def test_features_table(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_features", profile=profile)
    answers = _features(out)
    assert set(answers) == set(ffa.NAMES) | set(FEATURE_IDS) | {BOGUS}
    answers = {fid: c for fid, c in answers.items() if "_MEM_" not in ffa.NAMES.get(fid, "")}
    supported = {ffa.NAMES[fid] for fid, c in answers.items() if fid in ffa.NAMES and is_success(c)}
    assert supported == SUPPORTED[profile]
    # The notification interrupts: the spec's hypervisor gives VMs its NPI, pKVM forwards the question of the
    # SRI to the SPMC, Xen offers both (test_xen_feature_ids; test_ffa_notifications.py has their IDs).
    offered_ids = {"spec": {ffa.FEATURE_ID_NPI}, "pkvm": {ffa.FEATURE_ID_SRI},
                   "xen": {ffa.FEATURE_ID_NPI, ffa.FEATURE_ID_SRI}}[profile]
    for fid, c in answers.items():
        if fid not in offered_ids and (fid not in ffa.NAMES or ffa.NAMES[fid] not in SUPPORTED[profile]):
            assert is_error(c, "NOT_SUPPORTED"), (hex(fid), c.result_text)


@pytest.mark.parametrize("profile", PROFILES)
def test_pkvm_and_xen_refusals(guest_image, spmc_image, run_guests, profile: str) -> None:
    answers = _features(run_ok(run_guests, guest_image, spmc_image, "ffa_features", profile=profile))
    refused = {name for name in ("FFA_FN64_MSG_SEND_DIRECT_REQ2", "FFA_CONSOLE_LOG", "FFA_FN64_CONSOLE_LOG",
                                 "FFA_FN64_PARTITION_INFO_GET_REGS", "FFA_SPM_ID_GET", "FFA_RXTX_MAP")
               if is_error(answers[ffa.FUNCTION_IDS[name]], "NOT_SUPPORTED")}
    assert refused == {
        "spec": set(),
        "pkvm": {"FFA_FN64_MSG_SEND_DIRECT_REQ2", "FFA_CONSOLE_LOG", "FFA_FN64_CONSOLE_LOG",
                 "FFA_FN64_PARTITION_INFO_GET_REGS", "FFA_RXTX_MAP"},
        "xen": {"FFA_CONSOLE_LOG", "FFA_FN64_CONSOLE_LOG", "FFA_SPM_ID_GET"},
    }[profile]


@pytest.mark.parametrize("profile", PROFILES)
def test_rxtx_map_properties(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_features", profile=profile)
    c = _features(out)[ffa.FFA_FN64_RXTX_MAP]
    assert c.results[2] == RXTX_MAP_MAX_PAGES[profile] << 16 | ffa.RXTX_MAP_MIN_BUF_4K
    # pKVM forwards FEATURES to the firmware; spec and Xen answer from their own tables.
    assert bool(spmc_hops(out, c)[0]) == (profile == "pkvm")
    assert diag(out, "RXTX_MAP64:") == f"RXTX_MAP64: min buffer field 0, max pages {RXTX_MAP_MAX_PAGES[profile]}"


def test_xen_feature_ids(guest_image, spmc_image, run_guests) -> None:
    """Xen's FEATURES gives the notification interrupts' SGIs: NPI 8 and SRI 9 (ffa.c handle_features,
    GUEST_FFA_NOTIF_PEND_INTR_ID and GUEST_FFA_SCHEDULE_RECV_INTR_ID in public/arch-arm.h); MEI is NOT_SUPPORTED."""
    answers = _features(run_ok(run_guests, guest_image, spmc_image, "ffa_features", profile="xen"))
    npi, sri, mei = (answers[fid] for fid in FEATURE_IDS)
    assert is_success(npi) and npi.results[2:4] == [8, 0]
    assert is_success(sri) and sri.results[2:4] == [9, 0]
    assert is_error(mei, "NOT_SUPPORTED")


# What each mediator refuses itself among MSG_SEND2, the bogus ID and the feature IDs.
LOCALLY_REFUSED = {
    "spec": (ffa.FFA_MSG_SEND2, BOGUS, ffa.FEATURE_ID_SRI, ffa.FEATURE_ID_MEI),
    "pkvm": (ffa.FFA_NOTIFICATION_BIND,),
    "xen": (BOGUS, ffa.FEATURE_ID_MEI),
}
# pKVM's do_ffa_features refuses only what ffa_call_supported denies (the 32-bit NOTIFICATION_* since v6.18) and
# forwards the rest, feature IDs and IDs it does not know (0x840000FF is in its range, up to 0xFF) included; the
# stub SPMC offers the SRI only (the NPI and the managed exit interrupt are for partitions).
PKVM_FORWARDED = (BOGUS, ffa.FEATURE_ID_NPI, ffa.FEATURE_ID_MEI, ffa.FFA_YIELD)


@pytest.mark.parametrize("profile", PROFILES)
def test_features_error_encoding(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_features", profile=profile)
    answers = _features(out)
    # Refused by the mediator itself: pKVM writes a 64-bit -1, Xen and the spec 0xFFFFFFFF.
    for fid in LOCALLY_REFUSED[profile]:
        assert answers[fid].results[2] == local_error(profile, "NOT_SUPPORTED")
        assert not spmc_hops(out, answers[fid])[0]
    if profile == "pkvm":
        # ... but an error pKVM passes through from the firmware keeps the firmware's 32-bit encoding.
        for fid in PKVM_FORWARDED:
            assert answers[fid].results[2] == code("NOT_SUPPORTED", 32) and spmc_hops(out, answers[fid])[0]


@pytest.mark.parametrize("profile", PROFILES)
def test_calls_agree_with_features(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_features", profile=profile)
    (spm_id,) = out.calls(name="FFA_SPM_ID_GET")
    (regs,) = out.calls(name="FFA_FN64_PARTITION_INFO_GET_REGS")
    (log,) = out.calls(name="FFA_CONSOLE_LOG")
    (req2,) = out.calls(name="FFA_FN64_MSG_SEND_DIRECT_REQ2")
    (acquire,) = out.calls(name="FFA_RX_ACQUIRE")
    if profile == "xen":
        assert is_error(spm_id, "NOT_SUPPORTED") and is_error(acquire, "NOT_SUPPORTED")
    else:
        assert is_success(spm_id) and spm_id.results[2] == ffa.SPMC_ID
    if profile == "pkvm":
        for c in (regs, log, req2):
            assert is_error(c, "NOT_SUPPORTED") and c.results[2] == local_error("pkvm", "NOT_SUPPORTED")
        # Forwarded: the SPMC hands the RX buffer (pKVM's own) to the normal world; the guest gives it back.
        assert is_success(acquire) and spmc_hops(out, acquire)[0]
        (release,) = out.calls(name="FFA_RX_RELEASE")
        assert is_success(release)
    else:
        assert is_success(regs) and req2.results[0] == ffa.FFA_FN64_MSG_SEND_DIRECT_RESP2
    if profile == "spec":
        assert is_success(log) and "features\n" in out.console()
        assert is_error(acquire, "DENIED")  # offered, but the guest has no RX buffer mapped


@pytest.mark.parametrize("spmc_version", [V1_0])
def test_features_consistent_with_older_spmc_spec(guest_image, spmc_image, run_guests, spmc_version: int) -> None:
    run_ok(run_guests, guest_image, spmc_image, "ffa_features", profile="spec", spmc_version=spmc_version)


@pytest.mark.parametrize("profile, spmc_version", [("pkvm", V1_0), ("pkvm", ffa.VERSION_1_1),
                                                   ("xen", ffa.VERSION_1_1)],
                         ids=["pkvm-spmc-1.0", "pkvm-spmc-1.1", "xen-spmc-1.1"])
def test_features_with_older_spmc(guest_image, spmc_image, run_guests, profile: str, spmc_version: int) -> None:
    """DIRECT_REQ2 needs a 1.2 SPMC everywhere (Xen: the SPMC's FEATURES at boot, ffa_fw_supports_fid).  Xen
    offers its 1.2 VM PARTITION_INFO_GET_REGS from its own list whatever the SPMC (handle_features checks only
    the VM's version); pKVM refuses it; 1.1 ABIs only with a 1.1 SPMC (Xen never offers SPM_ID_GET)."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_features", profile=profile, spmc_version=spmc_version)
    answers = _features(out)
    assert is_error(answers[ffa.FFA_FN64_MSG_SEND_DIRECT_REQ2], "NOT_SUPPORTED")
    assert is_success(answers[ffa.FFA_FN64_PARTITION_INFO_GET_REGS]) == (profile == "xen")
    assert is_success(answers[ffa.FFA_SPM_ID_GET]) == (profile == "pkvm" and spmc_version == ffa.VERSION_1_1)
    assert is_success(answers[ffa.FFA_VERSION])
