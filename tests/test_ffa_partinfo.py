"""Partition discovery: FFA_PARTITION_INFO_GET in both entry sizes and FFA_PARTITION_INFO_GET_REGS."""

from __future__ import annotations

import pytest

from emu.ffa import constants as ffa
from emu.ffa.stub_partitions import ECHO_SP, PARTITIONS
from ffa_helpers import PROFILES, V1_0, V1_2, diags, is_error, is_success, local_error, run_ok, spmc_hops

ECHO_UUID = list(ECHO_SP.uuid)


def _regs_words(p) -> list[int]:
    u = p.uuid
    return [p.endpoint_id | p.exec_contexts << 16 | p.properties << 32, u[0] | u[1] << 32, u[2] | u[3] << 32]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("guest, size", [("ffa_partinfo", 24), ("ffa_partinfo_v10", 8)])
def test_partition_info_get(guest_image, spmc_image, run_guests, profile: str, guest: str, size: int) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, guest, profile=profile)
    gets = out.calls(name="FFA_PARTITION_INFO_GET")
    first, again = gets[0], gets[1]
    assert first.args == [0, 0, 0, 0, 0] and is_success(first)
    # Xen lists a 1.2 caller itself, after the SPs (ffa_partinfo.c ffa_get_vm_partinfo), and leaves w3 = 0 for a
    # 1.0 caller (ffa_handle_partition_info_get: "Size should be 0 on count request and was not supported in 1.0").
    listed = 3 if profile == "xen" and size == 24 else 2
    assert first.results[2:4] == [listed, 0 if profile == "xen" and size == 8 else size]
    assert is_error(again, "BUSY") and again.results[2] == local_error(profile, "BUSY")
    count_only = next(c for c in gets if c.args[4] == ffa.PARTITION_INFO_FLAG_COUNT_ONLY)
    if profile == "xen" and size == 8:  # ffa_handle_partition_info_get: "FF-A v1.0 has w5 MBZ"
        assert is_error(count_only, "INVALID_PARAMETERS")
    else:
        assert is_success(count_only) and count_only.results[2:4] == [listed, 0]
    # Xen answers from the list it cached at boot, only taking the VM's RX buffer from the SPMC first
    # (ffa_rxtx.c ffa_rx_acquire); spec and pKVM ask the SPMC for the list each time.
    sent = [h.name for h in spmc_hops(out, first)[0]]
    assert sent == (["FFA_RX_ACQUIRE"] if profile == "xen" else ["FFA_PARTITION_INFO_GET"] + ["FFA_RX_RELEASE"] *
                    (profile == "spec"))
    entries = [d for d in diags(out) if d.startswith("entry ")]
    for i, p in enumerate(PARTITIONS):
        uuid = "-".join(f"{w:08x}" for w in (p.uuid if size == 24 else (0, 0, 0, 0)))
        assert entries[i] == (f"entry {i}: id {p.endpoint_id:#06x}, {p.exec_contexts} exec contexts, "
                              f"properties {p.properties:#x}, uuid {uuid}")


def _after_release(out):
    gets = out.calls(name="FFA_PARTITION_INFO_GET")
    by_uuid = next(c for c in gets if c.args[:4] == ECHO_UUID)
    unknown = next(c for c in gets if c.args[:4] not in (ECHO_UUID, [0, 0, 0, 0]))
    return out.calls(name="FFA_RX_RELEASE")[0], by_uuid, unknown


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("guest, size", [("ffa_partinfo", 24), ("ffa_partinfo_v10", 8)])
def test_release_then_get_by_uuid(guest_image, spmc_image, run_guests, profile: str, guest: str, size: int) -> None:
    """A specific UUID: the one SP, its UUID field zeroed (DEN0077A 13.8: implied by the request; Hafnium
    api_ffa_partition_info_get, Xen ffa_partinfo.c ffa_get_sp_partinfo); Xen's w3 is 0 for a 1.0 caller."""
    out = run_ok(run_guests, guest_image, spmc_image, guest, profile=profile)
    release, by_uuid, unknown = _after_release(out)
    assert is_success(release)
    assert is_success(by_uuid) and by_uuid.results[2:4] == [1, 0 if profile == "xen" and size == 8 else size]
    assert is_error(unknown, "INVALID_PARAMETERS")
    if size == 24:
        entry = next(d for d in diags(out) if d.startswith("GET(echo UUID) entry:"))
        assert entry == f"GET(echo UUID) entry: id {ECHO_SP.endpoint_id:#06x}, uuid 00000000-00000000-00000000-00000000"


def test_pkvm_rx_buffer_is_the_spmcs(guest_image, spmc_image, run_guests) -> None:
    """pKVM keeps no RX ownership of its own: the SPMC says BUSY, and the host's RX_RELEASE frees it there."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_partinfo", profile="pkvm")
    first, again = out.calls(name="FFA_PARTITION_INFO_GET")[:2]
    assert [h.name for h in spmc_hops(out, first)[0]] == ["FFA_PARTITION_INFO_GET"]  # no release after the copy
    assert is_error(again, "BUSY") and spmc_hops(out, again)[1][0].error == "BUSY"
    release = out.calls(name="FFA_RX_RELEASE")[0]
    assert is_success(release) and [h.name for h in spmc_hops(out, release)[0]] == ["FFA_RX_RELEASE"]


@pytest.mark.parametrize("profile", PROFILES)
def test_partition_info_get_regs(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_partinfo", profile=profile)
    first, start5, tagged = out.calls(name="FFA_FN64_PARTITION_INFO_GET_REGS")
    assert [first.args[2], start5.args[2], tagged.args[2]] == [0, 5, 1 << 16]
    if profile == "pkvm":
        for c in (first, start5, tagged):
            assert is_error(c, "NOT_SUPPORTED") and c.results[2] == 2**64 - 1
        return
    assert first.results[0] == ffa.FFA_FN64_SUCCESS
    if profile == "xen":
        # ffa_partinfo.c ffa_handle_partition_info_get_regs: the tag is 1 without CONFIG_FFA_VM_TO_VM
        # (ffa_partinfo_get_tag); the caller's own entry follows the SPs (ffa_get_vm_partinfo): ID domid + 1,
        # one context per vCPU, FFA_PART_VM_PROP | AARCH64 (0x10e), no UUID.
        assert first.results[2] == 24 << 48 | 1 << 32 | 2 << 16 | 2
        assert first.results[9:12] == [1 | 1 << 16 | 0x10E << 32, 0, 0]
    else:
        assert first.results[2] == 24 << 48 | 0 << 32 | 1 << 16 | 1
        assert first.results[9:12] == [0] * 3
    assert first.results[3:9] == _regs_words(PARTITIONS[0]) + _regs_words(PARTITIONS[1])
    assert first.results[12:18] == [0] * 6
    if profile == "xen":
        # ffa_handle_partition_info_get_regs checks the tag before the index: a later call (start 5) must carry
        # the current tag (1), else RETRY; a first call (start 0) must carry none, else INVALID_PARAMETERS.
        assert is_error(start5, "RETRY") and is_error(tagged, "INVALID_PARAMETERS")
    else:  # Hafnium api_ffa_partition_info_get_regs: any tag is RETRY, an index past the end INVALID_PARAMETERS
        assert is_error(start5, "INVALID_PARAMETERS") and is_error(tagged, "RETRY")
    assert not spmc_hops(out, first)[0]  # answered from the mediator's boot-time list


@pytest.mark.parametrize("profile", PROFILES)
def test_partition_info_get_regs_needs_1_2(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_partinfo_v10", profile=profile)
    (version,) = out.calls(name="FFA_VERSION")
    assert version.results[0] == (V1_0 if profile == "pkvm" else V1_2)
    for c in out.calls(name="FFA_FN64_PARTITION_INFO_GET_REGS"):
        assert is_error(c, "NOT_SUPPORTED")
