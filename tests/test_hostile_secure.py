"""Hostile guests against the secure world, under every profile with --check: a call that exhausts its SPMC budget
followed by a call aimed at another VM's page (ffa_mem_stall + ffa_mem_bystander), and a confused deputy asking the
service SP to work on another VM's handle (ffa_mem_owner + ffa_mem_deputy).  Refused with the spec's errors,
nothing leaked, no crash, no invariant violation."""

from __future__ import annotations

import pytest
from ffa_helpers import PROFILES, is_error, is_success, run_ok, spmc_hops

from emu.ffa import constants as ffa
from emu.ffa.stub_partitions import SERVICE_PROTOCOL as SP
from emu.machine import Machine, MachineConfig
from emu.platform.elf import load_elf
from emu.platform.memory_map import GUEST_RAM_IPA, PAGE_SIZE
from emu.pytest_plugin import Outcome
from emu.trace.records import HOP_FROM_SPMC, HOP_TO_SPMC
from emu.vm import VmSpec

MASK32 = (1 << 32) - 1
BUDGET = 100_000  # cycles: ffa_mem_stall's 1 MiB FILL takes ~300,000 in the SPMC
VICTIM_IPA = GUEST_RAM_IPA + 0x130_0000  # ffa_mem_bystander's PRIVATE_IPA
VICTIM_PATTERN = [0x5EC2_E700_0000_0000 + 3 * i for i in range(PAGE_SIZE // 8)]
OWNER_HANDLE = 0x5350_4D43_0000_0001  # ffa_mem_owner's share: the SPMC's first handle
DENIED = ffa.DENIED & MASK32


def run_stall(guest_image, spmc_image, profile: str) -> tuple[Outcome, int]:
    """ffa_mem_stall as vm1 aimed at ffa_mem_bystander's private page (vm2); returns the run and that page's PA."""
    stall, victim = load_elf(guest_image("ffa_mem_stall")), load_elf(guest_image("ffa_mem_bystander"))
    machine = Machine(MachineConfig(vms=[VmSpec(stall, 1, 1), VmSpec(victim, 2, 2)], spmc_image=spmc_image,
                                    profile=profile, spmc_budget=BUDGET, check=True))
    victim_pa = machine.vms[1].stage2.translate(VICTIM_IPA)
    machine.vms[0].write_ipa(stall.symbols.address_of("victim_pa"), victim_pa.to_bytes(8, "little"))
    return Outcome(machine.run(), machine), victim_pa


def command(record) -> int:
    return record.args[2]  # x3: the service SP's command


@pytest.mark.parametrize("profile", PROFILES)
def test_a_stalled_call_is_never_resumed(guest_image, spmc_image, profile: str) -> None:
    out, victim_pa = run_stall(guest_image, spmc_image, profile)
    for vm in out.result.vms:
        assert vm.state == "off" and vm.tap.plan == len(vm.tap.passed) and not vm.tap.problems, vm.console
    assert out.exit_code == 0 and out.result.violations == []
    (share,) = out.calls(name="FFA_FN64_MEM_SHARE", vm="vm1")
    fill, stale, ping = out.calls(name="FFA_FN64_MSG_SEND_DIRECT_REQ", vm="vm1")
    (victim_ready,) = out.calls(name="FFA_FN64_RXTX_MAP", vm="vm2")
    (victim_share,) = out.calls(name="FFA_FN64_MEM_SHARE", vm="vm2")
    # vm2 had its page written and was waiting when vm1 attacked; it checked the page afterwards.
    assert victim_ready.seq < fill.seq < stale.seq < victim_share.seq
    # The FILL ran out of its budget in the SPMC: rolled back, FFA_ERROR(ABORTED).
    assert command(fill) == SP["SERVICE_CMD_MEM_FILL"] and is_error(fill, "ABORTED")
    _, (back,) = spmc_hops(out, fill)
    assert back.note == f"aborted and rolled back: no answer within {BUDGET} cycles"
    # The next call reached the SPMC with x3-x17 aimed at vm2's page, and was served as a new request.
    (to_spmc,), _ = spmc_hops(out, stale)
    assert to_spmc.args[2:7] == [victim_pa] * 5
    assert stale.results[0] == ffa.FFA_FN64_MSG_SEND_DIRECT_RESP and stale.results[3] == SP["SERVICE_ERR_UNKNOWN_CMD"]
    assert ping.results[3] == SP["SERVICE_PING_MAGIC"]
    # vm2's page holds what vm2 wrote.
    data = out.machine.physmem.read(victim_pa, PAGE_SIZE)
    assert [int.from_bytes(data[i:i + 8], "little") for i in range(0, PAGE_SIZE, 8)] == VICTIM_PATTERN
    # vm1 powered off holding its share: the teardown RECLAIM (an EL2 call) succeeded, the SPMC agrees.
    handle = (share.results[2] & MASK32) | (share.results[3] & MASK32) << 32
    teardown = [r for r in out.records if r.vm == "el2" and r.name == "FFA_MEM_RECLAIM"]
    assert [r.args[0] | r.args[1] << 32 for r in teardown if r.hop == HOP_TO_SPMC] == [handle]
    assert [r.results[0] for r in teardown if r.hop == HOP_FROM_SPMC] == [ffa.FFA_SUCCESS]
    secure = out.machine.mediator.secure
    assert secure.aborted == 1 and secure.idle
    assert out.machine.mediator.memory.ledger.shares == {}
    assert out.machine.checker.spmc_transactions() == ({}, [])


def deputy_attempts(out) -> dict[int, list]:
    """vm2's service requests on vm1's handle, by the sender they name."""
    attempts: dict[int, list] = {}
    for record in out.calls(name="FFA_FN64_MSG_SEND_DIRECT_REQ", vm="vm2"):
        if record.args[3] == OWNER_HANDLE:
            attempts.setdefault(record.args[0] >> 16, []).append(record)
    return attempts


@pytest.mark.parametrize("profile", PROFILES)
def test_a_confused_deputy_is_refused(guest_image, spmc_image, run_guests, profile: str) -> None:
    """The service SP retrieves naming the requester as the lender; the SPMC refuses a retrieve naming another
    sender than the share's with DENIED (as Hafnium, src/ffa_memory.c ffa_memory_retrieve_validate), so vm2 gets
    SERVICE_ERR_NO_HANDLE with DENIED, a relinquish SERVICE_ERR_NOT_HELD.  Naming vm1 is refused by a mediator
    that checks the sender (INVALID_PARAMETERS, the SPMC not asked); pKVM forwards it, and the SPMC refuses it as
    above since vm1's descriptor names the host, 0.  vm1's share is intact (ffa_mem_owner's checksum) and its
    RECLAIM succeeds."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_mem_owner", "ffa_mem_deputy", profile=profile,
                 check=True)
    assert out.result.violations == []
    attempts = deputy_attempts(out)
    assert sorted(attempts) == [1, 2] and [len(a) for a in attempts.values()] == [4, 4]
    (share,) = out.calls(name="FFA_FN64_MEM_SHARE", vm="vm1")
    (checksum,) = out.calls(name="FFA_FN64_MSG_SEND_DIRECT_REQ", vm="vm1")
    reclaim = out.calls(name="FFA_MEM_RECLAIM", vm="vm1")[0]
    assert share.seq < min(r.seq for a in attempts.values() for r in a)
    assert max(r.seq for a in attempts.values() for r in a) < checksum.seq < reclaim.seq
    spoofed = attempts[1] if profile == "pkvm" else []
    for record in attempts[2] + spoofed:
        expected = (SP["SERVICE_ERR_NOT_HELD"], 0) if command(record) == SP["SERVICE_CMD_MEM_RELINQUISH"] \
            else (SP["SERVICE_ERR_NO_HANDLE"], DENIED)
        assert record.results[0] == ffa.FFA_FN64_MSG_SEND_DIRECT_RESP
        assert (record.results[3], record.results[4]) == expected, record.result_text
    if profile != "pkvm":
        for record in attempts[1]:
            assert is_error(record, "INVALID_PARAMETERS") and spmc_hops(out, record) == ([], [])
    assert is_success(reclaim)
    assert out.machine.mediator.memory.ledger.shares == {}


def test_stall_guest_names_its_target(guest_image) -> None:
    """The test writes ``victim_pa`` before the run: it must not be in .bss, which the guest zeroes."""
    image = load_elf(guest_image("ffa_mem_stall"))
    address = image.symbols.address_of("victim_pa")
    assert any(seg.vaddr <= address < seg.vaddr + len(seg.data) for seg in image.segments)
