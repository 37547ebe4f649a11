"""The platform end to end: real guest images at EL1, HVC/SMC into the EL2 handler,
consoles, TAP, the trace, faults, the cycle limit and several VMs at once."""

from __future__ import annotations

import io
import re

import pytest

from emu.cpu import blockcost
from emu.el2 import psci
from emu.el2 import smccc
from emu.cpu.blockcost import Clock
from emu.cpu.costmodel import BlockClassifier, load_cost_model
from emu.cpu.engine import Engine, StopKind
from emu.platform.physmem import PhysicalMemory
from emu.trace.records import HOP_CALL
from emu.trace.text import render_text

HELLO_CONSOLE = "Hello from an AArch64 guest at EL1\nSMCCC version 1.2\nPSCI version 1.1\n"
UNMAPPED_IPA = 0x2000_0000  # guests/fault/main.c


@pytest.fixture(scope="module")
def images(guest_image):
    return {name: guest_image(name) for name in ("hello", "smccc", "fault", "spin")}


def assert_monotonic(records) -> None:
    """Calls are stamped start < end, and each starts after the previous one ended."""
    calls = [r for r in records if r.hop == HOP_CALL]
    assert calls
    for rec in calls:
        assert rec.cycle_start < rec.cycle_end, render_text(rec)
    for before, after in zip(calls, calls[1:]):
        assert before.cycle_end <= after.cycle_start, (render_text(before), render_text(after))
    assert [r.seq for r in calls] == sorted({r.seq for r in calls})


# -- hello ------------------------------------------------------------------------

def test_hello(images, run_guests) -> None:
    out = run_guests(images["hello"])
    assert out.exit_code == 0
    vm = out.vm()
    assert vm.state == "off" and vm.exit_reason == "SYSTEM_OFF" and vm.fault is None
    assert out.console() == HELLO_CONSOLE
    assert not out.tap().has_tap
    names = [r.name for r in out.calls()]
    assert names == ["SMCCC_VERSION", "PSCI_VERSION", "PSCI_SYSTEM_OFF"]
    assert out.result.traps == 3
    assert out.errors() == []


def test_hello_trace(images, run_guests) -> None:
    out = run_guests(images["hello"])
    version, psci_version, off = out.calls()
    assert version.result_text == "1.2"
    assert version.results[0] == smccc.SMCCC_VERSION_1_2
    assert version.fid == smccc.SMCCC_VERSION and version.args == []
    assert psci_version.result_text == "1.1" and psci_version.fid == psci.PSCI_VERSION
    assert off.fid == psci.PSCI_SYSTEM_OFF and off.results == []
    for rec in out.calls():
        assert rec.conduit == "hvc" and rec.imm == 0 and rec.vm == "vm1"
        assert rec.error is None and rec.note is None
    assert "main+0x" in version.site and "main+0x" in psci_version.site
    assert off.site.startswith("guest_system_off+0x")  # made for start.S once main returns
    assert re.search(r"\(\w+\.[chS]:\d+\)$", version.site), version.site
    assert_monotonic(out.records)
    assert out.records[-1].cycle_end <= out.result.cycles
    assert render_text(version).startswith(f"[{version.cycle_start:>10}] vm1 hvc SMCCC_VERSION() = 1.2 <+")


def test_hello_counts(images, run_guests) -> None:
    out = run_guests(images["hello"])
    vm = out.vm()
    assert vm.instructions == out.result.instructions > 1000
    # the machine's cycles are the vCPU's own plus the EL2 handler's
    assert out.result.cycles == vm.cycles + out.machine.el2.account.cycles
    assert out.machine.el2.account.cycles == sum(r.cycle_end - r.cycle_start for r in out.calls())


def test_console_stream_is_tagged(images, run_guests) -> None:
    stream = io.StringIO()
    out = run_guests(images["hello"], console_stream=stream)
    assert stream.getvalue() == "".join(f"vm1| {line}\n" for line in HELLO_CONSOLE.splitlines())
    assert out.console() == HELLO_CONSOLE


def test_keep_trace_false(images, run_guests) -> None:
    kept = run_guests(images["hello"])
    dropped = run_guests(images["hello"], keep_trace=False)
    assert dropped.records == []
    assert dropped.exit_code == 0
    assert (dropped.result.instructions, dropped.result.cycles, dropped.result.traps) == \
           (kept.result.instructions, kept.result.cycles, kept.result.traps)


def test_symbolize_false(images, run_guests) -> None:
    out = run_guests(images["hello"], symbolize=False)
    assert all(r.site is None for r in out.records)
    assert "@" not in render_text(out.calls()[0])


# -- smccc ------------------------------------------------------------------------

@pytest.fixture
def smccc_run(images, run_guests):
    return run_guests(images["smccc"])


def test_smccc_tap(smccc_run) -> None:
    out = smccc_run
    assert out.exit_code == 0
    tap = out.tap()
    assert tap.plan == 46
    assert len(tap.results) == tap.plan
    assert tap.failed == [] and tap.problems == []
    assert [r.number for r in tap.results] == list(range(1, tap.plan + 1))
    assert "# all 46 tests passed" in out.console()


def diag_counts(console: str, prefix: str) -> list[int]:
    return [int(n) for n in re.findall(rf"^# {prefix}-call-count (\d+)$", console, re.M)]


def test_smccc_call_counts_match_the_hypervisor(smccc_run) -> None:
    el2 = smccc_run.machine.el2
    svc = diag_counts(smccc_run.console(), "std-svc")
    hyp = diag_counts(smccc_run.console(), "std-hyp")
    assert svc == [el2.implemented_in_owner(smccc.Owner.STANDARD)] * 2  # via HVC and via SMC
    assert hyp == [el2.implemented_in_owner(smccc.Owner.STANDARD_HYP)]
    assert svc[0] > 0 and hyp[0] > 0
    count_recs = smccc_run.calls("STD_SVC_CALL_COUNT")
    assert [r.results[0] for r in count_recs] == svc


def test_smccc_conduits(smccc_run) -> None:
    calls = smccc_run.calls()
    conduits = {r.conduit for r in calls}
    assert conduits == {"hvc", "smc"}
    smc_names = {r.name for r in calls if r.conduit == "smc"}
    assert {"SMCCC_VERSION", "STD_SVC_CALL_COUNT", "STD_SVC_UID", "STD_SVC_REVISION"} <= smc_names
    assert [r.result_text for r in smccc_run.calls("SMCCC_VERSION") if r.conduit == "smc"] == ["1.2"]
    assert_monotonic(smccc_run.records)


def test_smccc_nonzero_immediates_inject_undef(smccc_run) -> None:
    undef = [r for r in smccc_run.calls() if r.imm != 0]
    assert [(r.conduit, r.imm) for r in undef] == [("hvc", 1), ("smc", 5)]
    for rec in undef:
        assert rec.note == "UNDEF injected"
        assert rec.results == []  # not a call: nothing written back
        assert rec.cycle_start < rec.cycle_end
        assert f"{rec.conduit}#{rec.imm}" in render_text(rec)
    assert "ok 41 - hvc imm 1 exception ELR is the trapping instruction" in smccc_run.console()


def test_smccc_unknown_function_returns_minus_one(smccc_run) -> None:
    unknown = [r for r in smccc_run.calls() if r.fid in (0xC200_1234, 0x8200_0042, 0x0100_0000)]
    assert len(unknown) == 7  # 3 per conduit plus the patterned call
    for rec in unknown:
        assert rec.results[0] == 2**64 - 1
        assert rec.error == "NOT_SUPPORTED"
        assert rec.name == f"{rec.fid:#010x}"


def test_smccc_upper_half_and_sve_hint(smccc_run) -> None:
    versions = smccc_run.calls("SMCCC_VERSION")
    fids = [r.fid for r in versions]
    assert fids.count(smccc.SMCCC_VERSION) >= 3  # garbage in x0[63:32] is not part of the recorded fid
    assert smccc.SMCCC_VERSION | smccc.SVE_HINT in fids
    assert all(r.results == [smccc.SMCCC_VERSION_1_2] for r in versions)


def test_smccc_arch_features_results(smccc_run) -> None:
    texts = {r.args_text: r.result_text for r in smccc_run.calls("SMCCC_ARCH_FEATURES")}
    assert texts["SMCCC_VERSION"] == "SUCCESS"
    assert texts["SMCCC_ARCH_WORKAROUND_1"] == "NOT_REQUIRED"
    assert texts["SMCCC_ARCH_SOC_ID"] == "NOT_SUPPORTED"
    soc = next(r for r in smccc_run.calls("SMCCC_ARCH_FEATURES") if r.args_text == "SMCCC_ARCH_SOC_ID")
    assert soc.results[0] == 0xFFFF_FFFF  # SMC32: -1 zero-extended, not 64-bit -1


# -- fault and runaway ----------------------------------------------------------------

def test_fault(images, run_guests) -> None:
    out = run_guests(images["fault"])
    assert out.exit_code == 3
    vm = out.vm()
    assert vm.state == "fault"
    assert vm.fault is not None
    assert vm.fault.address == UNMAPPED_IPA
    assert "unmapped" in vm.fault.kind and vm.exit_reason == vm.fault.kind
    assert vm.image.symbols.lookup(vm.fault.pc).startswith("main+0x")
    assert out.console() == f"fault: reading {UNMAPPED_IPA:#x}\n"
    assert out.calls() == [] and out.result.traps == 0


@pytest.mark.parametrize("limit", [50_000, 2_000_000])
def test_spin_runaway(limit, images, run_guests) -> None:
    out = run_guests(images["spin"], max_cycles=limit)
    assert out.exit_code == 3
    vm = out.vm()
    assert vm.state == "runaway"
    assert "cycle limit" in vm.exit_reason
    assert vm.fault is None
    assert out.console() == "spinning\n"
    assert out.result.cycles >= limit
    assert out.records == []


# -- several VMs --------------------------------------------------------------------

def test_two_hello_vms(images, run_guests) -> None:
    out = run_guests(images["hello"], images["hello"])
    assert out.exit_code == 0
    assert [vm.name for vm in out.result.vms] == ["vm1", "vm2"]
    assert out.console("vm1") == out.console("vm2") == HELLO_CONSOLE
    assert {r.vm for r in out.records} == {"vm1", "vm2"}
    for name in ("vm1", "vm2"):
        assert [r.name for r in out.calls(vm=name)] == ["SMCCC_VERSION", "PSCI_VERSION", "PSCI_SYSTEM_OFF"]
        assert out.vm(name).state == "off"
    assert_monotonic(out.records)
    assert out.result.traps == 6
    single = run_guests(images["hello"])
    assert out.vm("vm1").instructions == out.vm("vm2").instructions == single.result.instructions
    assert out.result.instructions == 2 * single.result.instructions


def test_two_vms_interleave_with_a_small_quantum(images, run_guests) -> None:
    out = run_guests(images["smccc"], images["smccc"], quantum=2_000)
    assert out.exit_code == 0
    order = [r.vm for r in out.calls()]
    switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
    assert switches > 4  # round-robin: neither VM runs to its end first
    for name in ("vm1", "vm2"):
        assert out.tap(name).problems == [] and len(out.tap(name).passed) == 46
    assert_monotonic(out.records)


def test_one_vm_faults_the_other_finishes(images, run_guests) -> None:
    out = run_guests(images["fault"], images["hello"])
    assert out.exit_code == 3
    assert out.vm("vm1").state == "fault"
    assert out.vm("vm2").state == "off" and out.console("vm2") == HELLO_CONSOLE
    assert {r.vm for r in out.calls()} == {"vm2"}


def test_runaway_vm_does_not_stop_the_other(images, run_guests) -> None:
    out = run_guests(images["spin"], images["hello"], max_cycles=400_000, quantum=1_000)
    assert out.exit_code == 3
    assert out.vm("vm1").state == "runaway"
    assert out.vm("vm2").state == "off" and out.console("vm2") == HELLO_CONSOLE


# -- the engine on hand-assembled code ----------------------------------------------------

CODE_BASE = 0x4000_0000
MOV_X0_0, MOV_X0_MINUS_1, BR_X0 = 0xD280_0000, 0x9280_0000, 0xD61F_0000
WFI, NOP, UDF, SVC_0, BRK_0, B_SELF = 0xD503_207F, 0xD503_201F, 0x0000_0000, 0xD400_0001, 0xD420_0000, 0x1400_0000
MOVZ_X1_0x2000_0000 = 0xD2A4_0001  # movz x1, #0x2000, lsl #16
LDR_X2_X1 = 0xF940_0022  # ldr x2, [x1]


NATIVE = [pytest.param(True, marks=pytest.mark.skipif(not blockcost.native_available(),
                                                     reason="native block-cost helper not built")), False]


def engine_with(words: list[int], native: bool = False) -> Engine:
    physmem = PhysicalMemory(2 << 20)
    engine = Engine("t", physmem, BlockClassifier(load_cost_model()), Clock(), native=native)
    engine.map_physical(CODE_BASE, physmem.base, 2 << 20)
    engine.uc.mem_write(CODE_BASE, b"".join(w.to_bytes(4, "little") for w in words))
    engine.reset(CODE_BASE)
    return engine


@pytest.mark.parametrize("target_insn, target", [(MOV_X0_0, 0), (MOV_X0_MINUS_1, 2**64 - 1)])
def test_branch_to_nowhere_is_a_fetch_fault(target_insn, target) -> None:
    """A NULL function pointer faults; it must not look like an idle (WFI) guest."""
    engine = engine_with([target_insn, BR_X0])
    assert engine.run(1 << 40) is StopKind.FAULT
    assert engine.fault.pc == target
    assert "fetch" in engine.fault.kind
    assert engine.counter.instructions == 2


def test_wfi_is_idle() -> None:
    engine = engine_with([NOP, WFI, B_SELF])
    assert engine.run(1 << 40) is StopKind.IDLE
    assert engine.fault is None
    assert engine.pc == CODE_BASE + 8


@pytest.mark.parametrize("insn, what", [(UDF, "undefined instruction"), (SVC_0, "SVC"), (BRK_0, "BRK")])
def test_exception_without_vectors_is_a_fault(insn, what) -> None:
    engine = engine_with([NOP, insn, NOP])
    assert engine.run(1 << 40) is StopKind.FAULT
    assert engine.fault.kind == f"{what} with no exception vector"


@pytest.mark.parametrize("native", NATIVE)
def test_data_abort_mid_block_refunds_the_rest_of_the_block(native) -> None:
    engine = engine_with([NOP, MOVZ_X1_0x2000_0000, LDR_X2_X1, NOP, NOP, NOP, B_SELF], native)
    assert engine.run(1 << 40) is StopKind.FAULT
    assert engine.fault.address == 0x2000_0000 and engine.fault.pc == CODE_BASE + 8
    assert engine.counter.instructions == 2  # nop, movz: the load and what follows never ran
    assert engine.counter.cycles == 2
    assert engine.clock.now == 2


@pytest.mark.parametrize("native", NATIVE)
def test_budget_stop_and_resume(native) -> None:
    engine = engine_with([NOP] * 5 + [B_SELF], native)  # one 6-instruction block, then 1-instruction loops
    assert engine.run(3) is StopKind.BUDGET
    assert engine.counter.cycles == 6  # a block is charged whole, then the next one waits
    assert engine.pc == CODE_BASE + 20
    assert engine.run(engine.counter.cycles + 10) is StopKind.BUDGET
    assert engine.counter.cycles == 16 and engine.counter.instructions == 16
    assert engine.pc == CODE_BASE + 20


# -- stage 2 -------------------------------------------------------------------------

@pytest.mark.parametrize("size, chunk", [(16 << 20, 2 << 20), (512 << 20, 2 << 20), (1 << 30, 4 << 20),
                                         (16 << 30, 64 << 20), ((16 << 30) + (6 << 20), 64 << 20)])
def test_ram_is_mapped_in_few_swapped_chunks(size: int, chunk: int) -> None:
    """At most MAX_STAGE2_CHUNKS (+ a short tail): Unicorn took minutes to map 16 GiB in 2 MiB chunks."""
    from emu.platform.physmem import Region
    from emu.platform.stage2 import Stage2
    from emu.vm import MAX_STAGE2_CHUNKS, scattered_mappings

    region = Region("vm1", 0x1_0120_0000, size)
    mappings = scattered_mappings(region, 0x4000_0000)
    assert len(mappings) <= MAX_STAGE2_CHUNKS + 1
    assert [m.size for m in mappings[:2]] == [chunk, chunk]
    assert sum(m.size for m in mappings) == size
    by_pa = sorted(mappings, key=lambda m: m.pa)
    assert [m.pa for m in by_pa] == [region.pa] + [m.pa + m.size for m in by_pa[:-1]]  # the region, once
    stage2 = Stage2(mappings)
    assert stage2.translate(0x4000_0000) == region.pa + chunk  # neighbours swapped
    assert stage2.translate_range(0x4000_0000 + chunk - 4096, 8192) == [(region.pa + 2 * chunk - 4096, 4096),
                                                                        (region.pa, 4096)]
    last = mappings[-1]
    assert stage2.pa_to_ipa(last.pa + 4096) == last.ipa + 4096
    assert stage2.pa_to_ipa(region.end) is None
