"""Code rewritten behind a VM's back (by the service SP, by the mediator, by the guest itself) runs as
rewritten and is charged as what runs: guests/ffa_mem_code under every profile, with --check."""

from __future__ import annotations

import struct

import pytest
from ffa_helpers import PROFILES
from unicorn import UC_HOOK_CODE

from emu.cpu import blockcost
from emu.machine import Machine, MachineConfig
from emu.platform.elf import load_elf
from emu.platform.memory_map import GUEST_RAM_IPA
from emu.platform.physmem import PhysicalMemory
from emu.vm import VmSpec

RX_IPA = GUEST_RAM_IPA + 0x40_1000  # guests/ffa_mem_share/mem_guest.h MEM_RX_IPA
ECHO_ENTRY_WORD = 0x0004_8001  # the partition entry the guest executes: an undefined instruction


def run_recording(image, spmc, profile: str, native: bool | None = None):
    """Run the guest with a per-instruction hook recording each instruction word as it executes."""
    machine = Machine(MachineConfig(vms=[VmSpec(load_elf(image), 1, 1)], spmc_image=spmc, profile=profile,
                                    check=True, native=native))
    executed: list[tuple[int, int]] = []

    def record(uc, address, _size, _data) -> None:
        executed.append((address, struct.unpack("<I", uc.mem_read(address, 4))[0]))

    machine.vms[0].engine.uc.hook_add(UC_HOOK_CODE, record)
    return machine, machine.run(), executed


@pytest.mark.parametrize("profile", PROFILES)
def test_rewritten_code_runs_and_is_charged_as_it_runs(profile: str, guest_image, spmc_image) -> None:
    machine, result, executed = run_recording(guest_image("ffa_mem_code"), spmc_image, profile)
    vm = result.vms[0]
    assert vm.state == "off" and vm.tap.has_tap and not vm.tap.problems, vm.console
    assert result.violations == []
    # Every instruction charged at the cost of the word that ran, but the undefined one (taken, not run).
    ran = [(address, word) for address, word in executed if (address, word) != (RX_IPA, ECHO_ENTRY_WORD)]
    assert len(ran) == len(executed) - 1
    costs = machine.classifier.instruction_costs
    assert vm.instructions == len(ran)
    assert vm.cycles == sum(costs(address, struct.pack("<I", word))[0] for address, word in ran)


@pytest.mark.skipif(not blockcost.native_available(), reason="native helper not built")
def test_native_and_python_charge_rewritten_code_alike(guest_image, spmc_image) -> None:
    runs = [run_recording(guest_image("ffa_mem_code"), spmc_image, "spec", native)[1] for native in (True, False)]
    assert (runs[0].cycles, runs[0].instructions) == (runs[1].cycles, runs[1].instructions)


def test_a_write_reaches_only_the_engines_mapping_it(guest_image, spmc_image) -> None:
    """The SPMC's writes into one VM's RAM drop that VM's blocks, not the other VM's."""
    machine = Machine(MachineConfig(vms=[VmSpec(load_elf(guest_image("hello")), i, i) for i in (1, 2)],
                                    spmc_image=spmc_image))
    machine.run()
    vm1, vm2 = machine.vms
    entry = vm1.image.entry
    before = [dict(vm.engine.counter.block_costs) for vm in machine.vms]
    assert entry in before[0] and entry in before[1]
    pa = vm1.stage2.translate(entry)
    machine.physmem.written(pa, 4)
    assert entry not in vm1.engine.counter.block_costs
    assert vm2.engine.counter.block_costs == before[1]
    assert {a: c for a, c in before[0].items() if a != entry} == vm1.engine.counter.block_costs


def test_physical_memory_tells_every_listener() -> None:
    physmem = PhysicalMemory(1 << 21)
    heard: list[tuple[int, int]] = []
    physmem.add_write_listener(lambda pa, size: heard.append((pa, size)))
    physmem.write(physmem.base + 8, b"abcd")
    physmem.written(physmem.base + 4096, 4096)
    assert heard == [(physmem.base + 8, 4), (physmem.base + 4096, 4096)]


# -- one engine, without a guest image: what each kind of write drops -------------------------
CODE = 0x4000_0000
MOV_X0_1, MOV_X0_2, UDIV_X0, WFI = 0xD280_0020, 0xD280_0040, 0x9AC1_0800, 0xD503_207F


def engine_running(words: list[int], native: bool):
    from emu.cpu.blockcost import Clock
    from emu.cpu.costmodel import BlockClassifier, load_cost_model
    from emu.cpu.engine import Engine

    physmem = PhysicalMemory(2 << 20)
    engine = Engine("t", physmem, BlockClassifier(load_cost_model()), Clock(), native=native)
    engine.map_physical(CODE, physmem.base, 2 << 20)
    physmem.write(physmem.base, b"".join(w.to_bytes(4, "little") for w in words))
    return physmem, engine


def rerun(engine) -> tuple[int, int]:
    """Run from CODE to the WFI; (x0, cycles of this run)."""
    from unicorn.arm64_const import UC_ARM64_REG_X0

    before = engine.counter.cycles
    engine.reset(CODE)
    engine.run(1 << 40)
    return engine.uc.reg_read(UC_ARM64_REG_X0), engine.counter.cycles - before


@pytest.mark.parametrize("native", [pytest.param(True, marks=pytest.mark.skipif(
    not blockcost.native_available(), reason="native helper not built")), False])
@pytest.mark.parametrize("how", ["physical", "virtual"])
def test_each_kind_of_write_reaches_the_engine(native: bool, how: str) -> None:
    physmem, engine = engine_running([MOV_X0_1, WFI], native)
    assert rerun(engine) == (1, 2)  # mov + wfi: ALU + hint
    new = b"".join(w.to_bytes(4, "little") for w in (UDIV_X0, WFI))  # same block size, 12x the cost
    if how == "physical":
        physmem.write(physmem.base, new)  # as the mediator or a loader writes
    else:
        from emu.cpu.vmem import write_virtual

        assert write_virtual(engine.uc, CODE, new)  # as semihosting writes, through the guest's translation
        engine.code.virtual_written(CODE, len(new))
    assert rerun(engine)[1] == 12 + 1


@pytest.mark.parametrize("native", [pytest.param(True, marks=pytest.mark.skipif(
    not blockcost.native_available(), reason="native helper not built")), False])
def test_a_physical_write_under_the_guests_mmu_waits_for_its_cache_maintenance(monkeypatch, native: bool) -> None:
    physmem, engine = engine_running([MOV_X0_2, WFI], native)
    assert rerun(engine) == (2, 2)
    monkeypatch.setattr(engine.code, "_mmu_on", lambda: True)  # addresses are virtual: the page's are unknown
    physmem.write(physmem.base, UDIV_X0.to_bytes(4, "little"))  # over the code
    assert engine.counter.block_costs == {CODE: [1.0, 1.0]}
    engine.code._on_ic(1, 0)  # the guest's IC IALLU
    assert engine.counter.block_costs == {}


@pytest.mark.parametrize("native", [pytest.param(True, marks=pytest.mark.skipif(
    not blockcost.native_available(), reason="native helper not built")), False])
def test_ic_iallu_drops_every_rewritten_block_of_a_crowded_cache(monkeypatch, native: bool) -> None:
    """Hundreds of one-instruction blocks, all rewritten behind the engine's back: IC IALLU drops each of them,
    blocks sharing a probe path in the native table included, and keeps the one left as it was."""
    count = 600
    branch_next, link_next = 0x1400_0001, 0x9400_0001  # b .+4, bl .+4: each instruction a block of its own
    physmem, engine = engine_running([branch_next] * count + [WFI], native)
    assert rerun(engine)[1] == count + 1
    monkeypatch.setattr(engine.code, "_mmu_on", lambda: True)  # addresses are virtual: the page's are unknown
    physmem.write(physmem.base, link_next.to_bytes(4, "little") * count)
    engine.code._on_ic(1, 0)  # the guest's IC IALLU
    assert list(engine.counter.block_costs) == [CODE + 4 * count]


# -- code rewritten through another mapping of its memory --------------------------------------
ALIAS = 0x5000_0000
STR_W1_X4, STR_W1_X2, RET, DSB_ISH, ISB = 0xB900_0081, 0xB900_0041, 0xD65F_03C0, 0xD503_3B9F, 0xD503_3FDF
IC = {"ivau": 0xD50B_7523, "iallu": 0xD508_751F}  # IC IVAU, X3; IC IALLU


@pytest.mark.parametrize("native", [pytest.param(True, marks=pytest.mark.skipif(
    not blockcost.native_available(), reason="native helper not built")), False])
@pytest.mark.parametrize("ic", sorted(IC))
def test_code_rewritten_through_an_alias_runs_after_ic_maintenance(native: bool, ic: str) -> None:
    """A routine run once, rewritten through another mapping of its memory (a store Unicorn does not see), then
    the instruction cache maintenance the architecture asks for: the new routine runs."""
    from unicorn.arm64_const import UC_ARM64_REG_X0, UC_ARM64_REG_X1, UC_ARM64_REG_X2, UC_ARM64_REG_X3, UC_ARM64_REG_X4

    program = [STR_W1_X4, 0x9400_003F, STR_W1_X2, IC[ic], DSB_ISH, ISB, 0x9400_003A, WFI]  # BLs to CODE + 0x100
    physmem, engine = engine_running(program + [0] * (0x40 - len(program)) + [MOV_X0_1, RET], native)
    engine.map_physical(ALIAS, physmem.base, 2 << 20)
    engine.reset(CODE)
    for reg, value in ((UC_ARM64_REG_X1, MOV_X0_2), (UC_ARM64_REG_X2, ALIAS + 0x100), (UC_ARM64_REG_X3, CODE + 0x100),
                       (UC_ARM64_REG_X4, ALIAS + 0x800)):
        engine.uc.reg_write(reg, value)
    engine.run(1 << 40)
    assert engine.fault is None
    assert engine.uc.reg_read(UC_ARM64_REG_X0) == 2


def run_at(engine, start: int, regs: dict[int, int]) -> int:
    """Run from ``start`` to a WFI with ``regs`` set; x0."""
    from unicorn.arm64_const import UC_ARM64_REG_X0

    engine.reset(start)
    for reg, value in regs.items():
        engine.uc.reg_write(reg, value)
    engine.run(1 << 40)
    assert engine.fault is None
    return engine.uc.reg_read(UC_ARM64_REG_X0)


@pytest.mark.parametrize("native", [pytest.param(True, marks=pytest.mark.skipif(
    not blockcost.native_available(), reason="native helper not built")), False])
@pytest.mark.parametrize("forgotten", [False, True])
def test_ic_iallu_drops_code_rewritten_behind_a_translation_the_counter_forgot(native: bool, forgotten: bool) -> None:
    """IC IALLU drops only the blocks whose code changed (BlockCounter.revalidate), which it can tell only
    while it knows every translation: after a forget that left translations behind (a remap under the
    guest's MMU does that), every block goes.  The routine, rewritten through an alias after the forget,
    first runs as translated before (no maintenance yet), then as rewritten."""
    from unicorn.arm64_const import UC_ARM64_REG_X1, UC_ARM64_REG_X2, UC_ARM64_REG_X4

    program = [STR_W1_X4, 0x9400_003F, WFI,  # make the alias's TLB entry dirty, call the routine
               STR_W1_X2, 0x9400_003C, IC["iallu"], DSB_ISH, ISB, 0x9400_0038, WFI]  # rewrite, call, IC, call
    physmem, engine = engine_running(program + [0] * (0x40 - len(program)) + [MOV_X0_1, RET], native)
    engine.map_physical(ALIAS, physmem.base, 2 << 20)
    regs = {UC_ARM64_REG_X1: MOV_X0_2, UC_ARM64_REG_X2: ALIAS + 0x100, UC_ARM64_REG_X4: ALIAS + 0x800}
    assert run_at(engine, CODE, regs) == 1
    if forgotten:
        engine.counter.invalidate()
    assert run_at(engine, CODE + 12, regs) == 2


@pytest.mark.parametrize("native", [pytest.param(True, marks=pytest.mark.skipif(
    not blockcost.native_available(), reason="native helper not built")), False])
def test_ic_iallu_keeps_the_blocks_whose_code_did_not_change(native: bool) -> None:
    program = [0x9400_0040, IC["iallu"], DSB_ISH, ISB, WFI]  # call the routine, IC IALLU
    _physmem, engine = engine_running(program + [0] * (0x40 - len(program)) + [MOV_X0_1, RET], native)
    assert run_at(engine, CODE, {}) == 1
    assert CODE + 0x100 in engine.counter.block_costs


def test_a_guest_running_ever_new_blocks_keeps_the_cache_bounded(monkeypatch) -> None:
    """A chain of one-instruction blocks, more than the cache may hold: it starts again from empty (as
    native/blockcost.c does at its BC_MAX_SLOTS), and every block is charged all the same."""
    branch_next = 0x1400_0001  # b .+4: each instruction a block of its own
    _physmem, engine = engine_running([branch_next] * 12 + [WFI], native=False)
    assert rerun(engine)[1] == 12 + 1
    unbounded = dict(engine.counter.block_costs)
    assert len(unbounded) == 13
    monkeypatch.setattr(blockcost, "MAX_CACHED_BLOCKS", 5)
    engine.counter.invalidate(translations_dropped=False)
    assert rerun(engine)[1] == 12 + 1
    assert len(engine.counter.block_costs) <= 5


def test_a_page_unmapped_from_ram_faults_through_the_engines_hook() -> None:
    """The invalid-access hook stays off mapped RAM, but covers a page taken out of it (as a lend does)."""
    from unicorn.arm64_const import UC_ARM64_REG_X2

    hole = CODE + 0x1_0000
    _physmem, engine = engine_running([0xF940_0040, WFI], native=False)  # ldr x0, [x2]
    engine.unmap(hole, 0x1000)
    engine.reset(CODE)
    engine.uc.reg_write(UC_ARM64_REG_X2, hole + 8)
    engine.run(1 << 40)
    assert (engine.fault.kind, engine.fault.pc, engine.fault.address) == ("read of unmapped memory", CODE, hole + 8)
