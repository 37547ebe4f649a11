"""The invariant checker itself: it stays quiet on good runs and catches each kind of planted bug."""

from __future__ import annotations

import pytest

from emu.platform.elf import load_elf
from emu.ffa import constants as ffa
from emu.ffa import descriptors as d
from emu.harness import TX_IPA, Harness, handle_of
from emu.machine import MachineConfig
from emu.platform.memory_map import GUEST_RAM_IPA, PAGE_SIZE
from emu.el2.smccc import decode_fid
from emu.vm import VmSpec

RAM = 16 << 20
PAGE = GUEST_RAM_IPA + 0x90_0000


@pytest.fixture(scope="module")
def images(guest_image, spmc_image):
    return load_elf(guest_image("hello")), load_elf(spmc_image)


def harness(images, profile: str = "spec", spmc: bool = True) -> Harness:
    guest, firmware = images
    specs = [VmSpec(guest, vm_id=i, endpoint_id=i, ram_size=RAM) for i in (1, 2)]
    return Harness(MachineConfig(vms=specs, profile=profile, spmc_image=firmware if spmc else None, check=True,
                                 keep_trace=False, symbolize=False))


def lend(h: Harness, vm: int = 0, kind: int = ffa.FFA_MEM_LEND) -> int:
    tx = d.Transaction(h.machine.checker._sender_id(h.vm(vm)), d.NORMAL_WB_INNER, 0, 0, 0, [d.Receiver(0x8001, d.DATA_RW)], [d.Range(PAGE, 2)])
    answer = h.send_memory(vm, kind, tx)
    assert answer[0] == ffa.FFA_SUCCESS, [hex(v) for v in answer[:4]]
    return handle_of(answer)


def rules(h: Harness) -> set[str]:
    h.machine.checker.check_state()
    return {v.rule for v in h.machine.checker.violations}


@pytest.mark.parametrize("profile", ["spec", "pkvm", "xen"])
def test_quiet_on_a_good_session(images, profile: str) -> None:
    h = harness(images, profile)
    h.setup_ffa(0)
    handle = lend(h, 0, ffa.FFA_MEM_SHARE)
    h.call(0, ffa.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0)
    h.call(0, ffa.FFA_MSG_SEND_DIRECT_REQ, 1 << 16 | 0x8001, 0, 1, 2, 3, 4, 5)
    h.call(0, 0x8000_0000, *range(1, 18), conduit="smc")
    h.call(0, 0x8400_1234, 0xAAAA_0000_0000_0001)
    h.call(0, ffa.FFA_MEM_RECLAIM, handle & 0xFFFF_FFFF, handle >> 32, 0)
    assert h.machine.checker.checked_calls >= 7
    assert rules(h) == set(), [v.text for v in h.machine.checker.violations]


def test_no_secure_world_answers_follow_the_rules(images) -> None:
    """Found by the checker: without an SPMC, FFA_ERROR kept the caller's w3-w7 and FFA_VERSION got FFA_ERROR."""
    h = harness(images, spmc=False)
    version = h.call(0, ffa.FFA_VERSION, ffa.VERSION_1_2, 5, 6, 7, 8, 9, 10, 11)
    assert version[:8] == [ffa.NOT_SUPPORTED & 0xFFFF_FFFF] + [0] * 7
    error = h.call(0, ffa.FFA_ID_GET, 5, 6, 7, 8, 9, 10, 11)
    assert error[:8] == [ffa.FFA_ERROR, 0, ffa.NOT_SUPPORTED & 0xFFFF_FFFF, 0, 0, 0, 0, 0]
    assert rules(h) == set()


def test_catches_a_dirty_reserved_register(images, monkeypatch) -> None:
    h = harness(images)
    mediator = h.machine.mediator
    error = mediator.error

    monkeypatch.setattr(mediator, "error", lambda code: error(code)[:5] + [0xBAD] + error(code)[6:])
    h.call(0, ffa.FFA_RX_RELEASE)
    assert rules(h) == {"registers"}
    assert "x5" in h.machine.checker.violations[0].text


def test_catches_an_smc32_upper_half(images, monkeypatch) -> None:
    h = harness(images)
    mediator = h.machine.mediator
    monkeypatch.setattr(mediator, "_id_get", lambda call: mediator.success(1 << 40 | 1))
    monkeypatch.setitem(mediator._handlers, "ID_GET", mediator._id_get)
    answer = h.call(0, ffa.FFA_ID_GET)
    assert answer[2] == 1  # the convention masks it...
    h.machine.checker.after_call(h.vm(0), decode_fid(ffa.FFA_ID_GET), [ffa.FFA_ID_GET] + [0] * 17,
                                 [ffa.FFA_SUCCESS, 0, 1 << 40 | 1] + [0] * 15, 99, "hvc")
    assert rules(h) == {"registers"}  # ...and a reply that did not would be caught


def test_catches_an_unpreserved_smccc_register(images, monkeypatch) -> None:
    h = harness(images)
    checker = h.machine.checker
    frame = [0x8000_0000] + list(range(1, 18))
    checker.after_call(h.vm(0), decode_fid(0x8000_0000), frame, [0x1_0002, 1, 2, 0xBAD] + frame[4:], 1, "hvc")
    assert rules(h) == {"registers"}


def test_catches_a_page_in_two_transactions(images) -> None:
    h = harness(images)
    h.setup_ffa(0)
    handle = lend(h)
    ledger = h.machine.mediator.memory.ledger
    share = ledger.shares[handle]
    twin = type(share)(handle + 100, share.vm_name, "share", [], list(share.pa_ranges), share.receivers,
                       share.transaction)
    ledger.shares[twin.handle] = twin
    assert "ledger" in rules(h)


def test_catches_a_page_of_another_vm(images) -> None:
    h = harness(images)
    h.setup_ffa(0)
    share = h.machine.mediator.memory.ledger.shares[lend(h)]
    share.vm_name = "vm2"  # vm1's pages recorded as vm2's
    assert "ledger" in rules(h)


def test_catches_a_handle_the_spmc_does_not_know(images) -> None:
    h = harness(images)
    h.setup_ffa(0)
    ledger = h.machine.mediator.memory.ledger
    ledger.remove(lend(h, kind=ffa.FFA_MEM_SHARE))  # forgotten by the mediator, still at the SPMC
    assert "spmc" in rules(h)
    assert any("at the SPMC, not in the ledger" in v.text for v in h.machine.checker.violations)


def test_catches_a_lent_page_still_mapped(images) -> None:
    h = harness(images)
    h.setup_ffa(0)
    lend(h)
    vm = h.vm(0)
    vm.engine.map_physical(PAGE, vm.stage2.translate(PAGE), PAGE_SIZE)
    assert rules(h) == {"stage2"}


def test_catches_buffers_outside_ram(images) -> None:
    h = harness(images)
    h.setup_ffa(0)
    h.vm(0).ffa.buffers.rx_ipa = GUEST_RAM_IPA + RAM
    assert rules(h) == {"buffers"}


def test_catches_buffers_in_a_transaction(images) -> None:
    h = harness(images)
    h.setup_ffa(0)
    lend(h, kind=ffa.FFA_MEM_SHARE)
    h.vm(0).ffa.buffers.tx_ipa = PAGE
    assert "buffers" in rules(h)


def test_reads_the_spmc_table(images) -> None:
    h = harness(images)
    h.setup_ffa(0)
    handle = lend(h, kind=ffa.FFA_MEM_SHARE)
    committed, fragmenting = h.machine.checker.spmc_transactions()
    txn = committed[handle]
    assert (txn.sender, txn.receivers, fragmenting) == (h.machine.checker._sender_id(h.vm(0)), (0x8001,), [])
    assert txn.pages == set(h.machine.mediator.memory.ledger.shares[handle].pa_pages)
    assert (txn.held, txn.retrievals) == ((), 0)
    assert TX_IPA  # the descriptor went through the VM's TX buffer


# -- the secure world across calls (emu/invariants_secure.py) -------------------------------------------------
SERVICE = 0x8002
CHECKSUM, FILL, RETRIEVE = 3, 4, 5  # SERVICE_CMD_MEM_*


def service(h: Harness, vm: int, command: int, handle: int, *args: int) -> list[int]:
    endpoint = h.machine.mediator.caller_id(h.vm(vm))
    return h.call(vm, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ, endpoint << 16 | SERVICE, 0, command, handle, *args)


def share_with_service(h: Harness, access: int = d.DATA_RW, pages: int = 1) -> int:
    tx = d.Transaction(h.machine.mediator.caller_id(h.vm(0)), d.NORMAL_WB_INNER, 0, 0, 0,
                       [d.Receiver(SERVICE, access)], [d.Range(PAGE, pages)])
    answer = h.send_memory(0, ffa.FFA_MEM_SHARE, tx)
    assert answer[0] == ffa.FFA_SUCCESS
    return handle_of(answer)


def spmc_record(h: Harness, handle: int) -> tuple[int, int]:
    """Where the SPMC keeps ``handle``: its ``struct mem_txn`` (info.sender at 32) and its descriptor (the
    canonical layout: the first EMAD's permissions at 50)."""
    table = h.machine.checker._spmc_table  # noqa: SLF001 - the test plants a corruption where the checker reads
    for slot in range(32):
        address = table.base + slot * table.stride
        entry = h.machine.physmem.read(address, 16)
        if int.from_bytes(entry[:8], "little") == handle:
            return address, int.from_bytes(entry[8:], "little")
    raise AssertionError(f"handle {handle:#x} not at the SPMC")


def test_catches_an_spmc_away_from_its_exchange_point(images) -> None:
    h = harness(images)
    secure = h.machine.mediator.secure
    secure.engine.pc = secure.exchange_pc + 4
    assert rules(h) == {"idle"}


def test_catches_a_resumed_half_done_call(images, monkeypatch) -> None:
    """The bug of issue 11, planted back: an aborted call left mid-loop.  The checker sees the SPMC away from its
    exchange point, then the next VM's call (every register aimed at its own page) resuming the fill loop and
    writing that private page."""
    from emu.secure.spmd import SecureWorld

    monkeypatch.setattr(SecureWorld, "_roll_back", lambda self: setattr(self.engine, "fault", None))
    h = harness(images)
    h.machine.mediator.secure.budget = 100_000
    h.setup_ffa(0)
    h.setup_ffa(1)
    handle = share_with_service(h, pages=256)
    assert service(h, 0, FILL, handle, 7)[2] == ffa.ABORTED & 0xFFFF_FFFF
    assert {v.rule for v in h.machine.checker.violations} == {"idle"}
    victim = h.vm(1).stage2.translate(PAGE)
    before = h.machine.physmem.read(victim - PAGE_SIZE, 2 * PAGE_SIZE)
    h.call(1, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ, 2 << 16 | SERVICE, 0, *[victim] * 15)
    assert h.machine.physmem.read(victim - PAGE_SIZE, 2 * PAGE_SIZE) != before  # the stale loop wrote there
    assert "private" in {v.rule for v in h.machine.checker.violations}
    assert any("private page" in v.text and "during a call of vm2" in v.text for v in h.machine.checker.violations)


def test_catches_an_answer_to_another_request(images) -> None:
    h = harness(images)
    secure = h.machine.mediator.secure
    take = secure._take_response  # noqa: SLF001 - where the SPMC's answer is read

    def swapped_endpoints():
        take()
        if secure._response[0] == ffa.FFA_MSG_SEND_DIRECT_RESP:  # noqa: SLF001 - the SPMC "answers" wrongly
            secure._response[1] = 1 << 16 | 0x8001  # noqa: SLF001 - the request's endpoints, not swapped

    secure._take_response = swapped_endpoints  # noqa: SLF001
    h.call(0, ffa.FFA_MSG_SEND_DIRECT_REQ, 1 << 16 | 0x8001, 0, 1, 2, 3, 4, 5)
    assert rules(h) == {"exchange"}
    assert "answered for endpoints 0x18001" in h.machine.checker.violations[0].text


def test_catches_a_direct_response_to_a_reclaim(images) -> None:
    h = harness(images)
    h.setup_ffa(0)
    handle = share_with_service(h)
    secure = h.machine.mediator.secure
    take = secure._take_response  # noqa: SLF001 - where the SPMC's answer is read

    def stale():
        take()
        secure._response[0] = ffa.FFA_MSG_SEND_DIRECT_RESP  # noqa: SLF001 - what a resumed direct request sends

    secure._take_response = stale  # noqa: SLF001
    h.call(0, ffa.FFA_MEM_RECLAIM, handle & 0xFFFF_FFFF, handle >> 32, 0)
    assert rules(h) == {"exchange", "spmc"}  # and the mediator, refused, kept a handle the SPMC dropped
    assert any("FFA_MEM_RECLAIM answered FFA_MSG_SEND_DIRECT_RESP" in v.text for v in h.machine.checker.violations)


@pytest.mark.parametrize("command, rule_text", [
    (CHECKSUM, "was retrieved by [32770] during a call of vm2"),
    (FILL, "of vm1's handle"),
    (RETRIEVE, "was retrieved by [32770] during a call of vm2"),
])
def test_catches_a_retrieve_for_another_endpoint(images, command: int, rule_text: str) -> None:
    """The SPMC's record of vm1's share corrupted to name vm2 as its sender: the SPMC then lets the SP work on it
    for vm2, and the checker, which knows whose share it is from the mediator's ledger, sees it."""
    h = harness(images)
    h.setup_ffa(0)
    h.setup_ffa(1)
    handle = share_with_service(h)
    h.machine.physmem.write(spmc_record(h, handle)[0] + 32, (2).to_bytes(2, "little"))
    answer = service(h, 1, command, handle, 7)
    assert answer[0] == ffa.FFA_FN64_MSG_SEND_DIRECT_RESP and answer[3] in (0, 1)  # the SP did it
    assert "handles" in rules(h)
    assert any(rule_text in v.text for v in h.machine.checker.violations)


def test_catches_a_write_to_a_read_only_share(images) -> None:
    h = harness(images)
    h.setup_ffa(0)
    handle = share_with_service(h, access=d.DATA_RO)
    h.machine.physmem.write(spmc_record(h, handle)[1] + 50, bytes([d.DATA_RW]))  # the SPMC's EMAD says RW
    assert service(h, 0, FILL, handle, 7)[3] == 1
    assert rules(h) == {"handles"}
    assert "shared read-only" in h.machine.checker.violations[0].text
