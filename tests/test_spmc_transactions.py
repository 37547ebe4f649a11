"""The secure world is transactional: a call that runs out of its budget, faults or takes an exception in the SPMC
is rolled back to the SPMC's exchange point (its registers and every secure RAM page it wrote), answered
FFA_ERROR(ABORTED), never resumed by a later call, and the SPMC keeps serving (emu/secure/spmd.py)."""

from __future__ import annotations

import pytest

from emu import cli
from emu.ffa import constants as ffa
from emu.harness import Harness
from emu.machine import MachineConfig
from emu.platform.elf import load_elf
from emu.platform.memory_map import GUEST_RAM_IPA, PAGE_SIZE, SECURE_RAM_PA, SECURE_RAM_SIZE
from emu.secure.spmd import SPMC_CALL_BUDGET
from emu.vm import VmSpec
from mem_harness import BASE, SERVICE, SHARE, MemHarness, handle_of, tx

ABORTED = ffa.ABORTED & 0xFFFF_FFFF
FILL = 4  # SERVICE_CMD_MEM_FILL
PAGES = 256  # a 1 MiB share: its FILL takes ~300,000 cycles in the SPMC
BUDGET = 100_000
MOVZ_X0_0, LDR_X1_X0, UDF_0 = 0xD280_0000, 0xF940_0001, 0x0000_0000


def secure_ram(h: MemHarness) -> bytes:
    return h.machine.physmem.read(SECURE_RAM_PA, SECURE_RAM_SIZE)


def setup(hello, spmc, native: bool | None = None, pages: int = PAGES, **options) -> tuple[MemHarness, int]:
    """Two VMs with RX/TX pairs; vm1 shares ``pages`` pages RW with the service SP. Returns the handle."""
    options.setdefault("spmc_budget", BUDGET)
    h = MemHarness(hello, spmc, "spec", vms=2, check=True, native=native, **options)
    h.setup_ffa(0)
    h.setup_ffa(1)
    answer = h.send_memory(0, SHARE, tx([(BASE, pages)]))
    assert answer[0] == ffa.FFA_SUCCESS
    return h, handle_of(answer)


def fill(h: MemHarness, vm: int, handle: int) -> list[int]:
    endpoint = h.vm(vm).endpoint_id
    return h.call(vm, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ, endpoint << 16 | SERVICE, 0, FILL, handle, 7)


@pytest.fixture
def hello(guest_image):
    return guest_image("hello")


@pytest.mark.parametrize("native", [None, False], ids=["native", "pure-python"])
def test_budget_abort_rolls_back_and_the_next_call_is_fresh(hello, spmc_image, native) -> None:
    h, handle = setup(hello, spmc_image, native)
    secure = h.machine.mediator.secure
    before = secure_ram(h)
    answer = fill(h, 0, handle)
    assert answer[:3] == [ffa.FFA_ERROR, 0, ABORTED]
    assert secure.aborted == 1 and secure.idle
    assert secure_ram(h) == before  # the SP's retrieve, its counters, the stack: all as before the call
    # vm2 writes a page of its own, then calls with every register aimed at it: had the SPMC resumed the
    # aborted fill loop, these would be its pointer, count and pattern.
    victim = h.vm(1).stage2.translate(BASE)
    h.machine.physmem.write(victim, b"\x5a" * PAGE_SIZE)
    answer = h.call(1, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ, 2 << 16 | SERVICE, 0, *[victim] * 15)
    assert answer[0] == ffa.FFA_FN64_MSG_SEND_DIRECT_RESP and answer[3] == 0xFFFF_FFFF  # UNKNOWN_CMD, served fresh
    assert h.machine.physmem.read(victim, PAGE_SIZE) == b"\x5a" * PAGE_SIZE
    assert h.reclaim(0, handle)[0] == ffa.FFA_SUCCESS  # the aborted retrieve left no hold on the share
    assert h.machine.checker.violations == []


def test_the_abort_is_traced(hello, spmc_image) -> None:
    h, handle = setup(hello, spmc_image, keep_trace=True)
    fill(h, 0, handle)
    (hop,) = [r for r in h.machine.trace.records if r.hop == "spmc->el2" and r.note]
    assert hop.note == f"aborted and rolled back: no answer within {BUDGET} cycles"
    assert hop.error == "ABORTED"


def test_default_budget_aborts_a_huge_fill(hello, spmc_image) -> None:
    """With the default 5,000,000-cycle budget a 20 MiB share is enough (spec allows any size)."""
    h = Harness(MachineConfig(vms=[VmSpec(load_elf(hello), 1, 1, 64 << 20)], spmc_image=spmc_image, check=True,
                              keep_trace=False))
    assert h.machine.mediator.secure.budget == SPMC_CALL_BUDGET
    h.setup_ffa(0)
    answer = h.send_memory(0, SHARE, tx([(GUEST_RAM_IPA + (16 << 20), 5120)], sender=1))
    assert answer[0] == ffa.FFA_SUCCESS
    handle = handle_of(answer)
    assert fill(h, 0, handle)[:3] == [ffa.FFA_ERROR, 0, ABORTED]
    assert h.call(0, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ, 1 << 16 | SERVICE, 0, 1)[3] == 0x5049_4E47  # PING
    assert h.call(0, ffa.FFA_MEM_RECLAIM, handle & 0xFFFF_FFFF, handle >> 32, 0)[0] == ffa.FFA_SUCCESS
    assert h.machine.checker.violations == []


def patch(h: MemHarness, symbol: str, *words: int) -> None:
    """Overwrite the first instructions of an SPMC function (before its code is ever translated)."""
    address = h.machine.mediator.secure.image.symbols.address_of(symbol)
    h.machine.physmem.write(address, b"".join(w.to_bytes(4, "little") for w in words))


@pytest.mark.parametrize("words, reason", [
    ((MOVZ_X0_0, LDR_X1_X0), "SPMC fault: read of unmapped memory at pc"),  # PA 0: stops the engine
    ((UDF_0,), "the SPMC took an exception"),  # taken to the SPMC's own vectors, which answer ABORTED
], ids=["unmapped-read", "undefined-instruction"])
def test_a_fault_is_rolled_back_and_not_sticky(hello, spmc_image, words, reason) -> None:
    h, handle = setup(hello, spmc_image, pages=1, keep_trace=True)
    patch(h, "sp_echo_handle", *words)
    secure = h.machine.mediator.secure
    before = secure_ram(h)
    answer = h.call(0, ffa.FFA_MSG_SEND_DIRECT_REQ, 1 << 16 | 0x8001, 0, 1, 2, 3, 4, 5)
    assert answer[:3] == [ffa.FFA_ERROR, 0, ABORTED]
    assert secure_ram(h) == before and secure.idle
    (hop,) = [r for r in h.machine.trace.records if r.hop == "spmc->el2" and r.note]
    assert reason in hop.note
    # The next calls work: another SP, then memory sharing.
    assert h.service(1, "SERVICE_CMD_PING", 0) == 0x5049_4E47
    assert h.service(0, "SERVICE_CMD_MEM_CHECKSUM", handle) == 0
    assert h.reclaim(0, handle)[0] == ffa.FFA_SUCCESS
    assert h.machine.checker.violations == []


def test_the_run_cycle_limit_bounds_spmc_time(hello, spmc_image) -> None:
    """--max-cycles is the clock no SPMC call runs past, whatever its budget."""
    h, handle = setup(hello, spmc_image, spmc_budget=10_000_000, max_cycles=123_456_789, keep_trace=True)
    secure = h.machine.mediator.secure
    assert secure.limit == 123_456_789
    secure.limit = h.machine.clock.now + 50_000
    assert fill(h, 0, handle)[:3] == [ffa.FFA_ERROR, 0, ABORTED]
    assert secure.aborted == 1 and secure.idle and h.machine.clock.now < secure.limit + 10_000
    (hop,) = [r for r in h.machine.trace.records if r.hop == "spmc->el2" and r.note]
    assert hop.note == "aborted and rolled back: the run's cycle limit was reached in the SPMC"


def test_an_aborted_fragment_drops_the_transaction_at_the_spmc(hello, spmc_image) -> None:
    """A FRAG_TX rolled back leaves the SPMC waiting for that fragment: the mediator drops the transaction there
    (an empty fragment), answers ABORTED, and both sides agree nothing was shared."""
    h = MemHarness(hello, spmc_image, "spec", check=True)
    h.setup_ffa(0)
    secure = h.machine.mediator.secure
    spied = secure.call

    def starve_fragments(request: list[int]):
        if request[0] == ffa.FFA_MEM_FRAG_TX and request[3]:
            secure.budget, budget = 1, secure.budget
            try:
                return spied(request)
            finally:
                secure.budget = budget
        return spied(request)

    secure.call = starve_fragments
    scattered = [(BASE + 2 * i * PAGE_SIZE, 1) for i in range(300)]  # 300 ranges: two fragments to the SPMC
    answer = h.send_memory(0, SHARE, tx(scattered))
    assert answer[:3] == [ffa.FFA_ERROR, 0, ABORTED]
    assert h.forwarded() == ["FFA_FN64_MEM_SHARE", "FFA_MEM_FRAG_TX", "FFA_MEM_FRAG_TX"]
    committed, fragmenting = h.machine.checker.spmc_transactions()
    assert (committed, fragmenting, h.ledger.shares) == ({}, [], {})
    secure.call = spied
    assert h.send_memory(0, SHARE, tx(scattered))[0] == ffa.FFA_SUCCESS
    assert h.machine.checker.violations == []


def test_an_spmc_that_cannot_boot_is_a_one_line_error(guest_image, spmc_image, capsys) -> None:
    code = cli.main(["run", "--quiet", "--spmc", str(spmc_image), "--spmc-budget", "10",
                     str(guest_image("hello"))])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert err.strip() == "ffa-emu: SPMC did not boot: no answer within 10 cycles"


def test_spmc_budget_must_be_positive(guest_image, spmc_image, capsys) -> None:
    code = cli.main(["run", "--quiet", "--spmc", str(spmc_image), "--spmc-budget", "0", str(guest_image("hello"))])
    assert code == cli.EXIT_USAGE and "--spmc-budget must be positive" in capsys.readouterr().err


def test_teardown_survives_an_aborted_reclaim(hello, spmc_image) -> None:
    """A VM going away while the SPMC aborts its RECLAIM: the share stays where both sides record it, nothing
    raises (the issue's internal error, exit 4), and the SPMC answers the next call."""
    h, handle = setup(hello, spmc_image, pages=1)
    secure = h.machine.mediator.secure
    secure.budget = 1
    h.forwarded()
    h.machine.mediator.detach(h.vm(0))
    # the VM's notification bitmap going and the RECLAIM are both aborted
    assert h.forwarded() == ["FFA_NOTIFICATION_BITMAP_DESTROY", "FFA_MEM_RECLAIM"] and secure.aborted == 2
    assert set(h.ledger.shares) == {handle}
    committed, _ = h.machine.checker.spmc_transactions()
    assert set(committed) == {handle}
    h.machine.checker.check_state()
    assert h.machine.checker.violations == []
    secure.budget = BUDGET
    assert h.service(1, "SERVICE_CMD_PING", 0) == 0x5049_4E47
