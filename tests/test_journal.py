"""PageJournal: the pages an engine writes in a range, in first-write order, with their old contents for undo;
the native hook and the pure-Python one agree."""

from __future__ import annotations

import pytest
from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, UC_PROT_ALL, Uc
from unicorn.arm64_const import UC_ARM64_REG_X0, UC_ARM64_REG_X1, UC_ARM64_REG_X2

from emu.cpu.blockcost import native_available
from emu.cpu.journal import PageJournal
from emu.platform.memory_map import PAGE_SIZE, PHYS_BASE
from emu.platform.physmem import PhysicalMemory

CODE = PHYS_BASE
DATA = PHYS_BASE + 4 * PAGE_SIZE  # four pages watched from here
STR_X1_X0 = 0xF900_0001  # str x1, [x0]
STP_X1_X2_X0 = 0xA900_0801  # stp x1, x2, [x0]
MODES = [pytest.param(True, marks=pytest.mark.skipif(not native_available(), reason="native library not built")),
         False]


def machine() -> tuple[PhysicalMemory, Uc]:
    physmem = PhysicalMemory(16 * PAGE_SIZE)
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    uc.mem_map_ptr(PHYS_BASE, physmem.size, UC_PROT_ALL, physmem.host_pointer(PHYS_BASE))
    return physmem, uc


def store(physmem: PhysicalMemory, uc: Uc, insn: int, address: int, x1: int = 0x1111, x2: int = 0x2222) -> None:
    physmem.write(CODE, insn.to_bytes(4, "little"))
    uc.ctl_remove_cache(CODE, CODE + 4)
    uc.reg_write(UC_ARM64_REG_X0, address)
    uc.reg_write(UC_ARM64_REG_X1, x1)
    uc.reg_write(UC_ARM64_REG_X2, x2)
    uc.emu_start(CODE, CODE + 4)


@pytest.mark.parametrize("native", MODES, ids=["native", "pure-python"])
def test_lists_written_pages_and_rolls_them_back(native: bool) -> None:
    physmem, uc = machine()
    physmem.write(DATA, b"\xaa" * (4 * PAGE_SIZE))
    journal = PageJournal(uc, physmem, DATA, 4 * PAGE_SIZE, keep=True, native=native)
    store(physmem, uc, STR_X1_X0, DATA + 2 * PAGE_SIZE + 8)
    store(physmem, uc, STP_X1_X2_X0, DATA + PAGE_SIZE - 8)  # straddles pages 0 and 1
    store(physmem, uc, STR_X1_X0, DATA + 2 * PAGE_SIZE)  # page 2 again: listed once
    store(physmem, uc, STR_X1_X0, CODE + 2 * PAGE_SIZE)  # outside the range
    assert journal.written() == [DATA + 2 * PAGE_SIZE, DATA, DATA + PAGE_SIZE]
    assert physmem.read(DATA + PAGE_SIZE - 8, 16) != b"\xaa" * 16
    journal.rollback()
    assert physmem.read(DATA, 4 * PAGE_SIZE) == b"\xaa" * (4 * PAGE_SIZE)
    assert journal.written() == []


@pytest.mark.parametrize("native", MODES, ids=["native", "pure-python"])
def test_commit_keeps_the_writes(native: bool) -> None:
    physmem, uc = machine()
    journal = PageJournal(uc, physmem, DATA, 4 * PAGE_SIZE, keep=True, native=native)
    store(physmem, uc, STR_X1_X0, DATA + 16, x1=0x1234)
    journal.commit()
    assert journal.written() == []
    store(physmem, uc, STR_X1_X0, DATA + 3 * PAGE_SIZE, x1=0x5678)
    journal.rollback()  # undoes only what came after the commit
    assert physmem.read(DATA + 16, 8) == (0x1234).to_bytes(8, "little")
    assert physmem.read(DATA + 3 * PAGE_SIZE, 8) == bytes(8)


@pytest.mark.parametrize("native", MODES, ids=["native", "pure-python"])
def test_a_page_written_in_two_calls_in_a_row_is_saved_whole_and_still_rolled_back(native: bool) -> None:
    physmem, uc = machine()
    journal = PageJournal(uc, physmem, DATA, 4 * PAGE_SIZE, keep=True, native=native)
    for value in (1, 2):  # two calls writing page 1: it becomes eager
        journal.begin()
        store(physmem, uc, STR_X1_X0, DATA + PAGE_SIZE + 8, x1=value)
        journal.commit()
    physmem.write(DATA + PAGE_SIZE + 64, b"\x55")  # between calls: stands
    journal.begin()
    store(physmem, uc, STR_X1_X0, DATA + PAGE_SIZE + 8, x1=3)
    store(physmem, uc, STP_X1_X2_X0, DATA + PAGE_SIZE - 8)  # from a watched page into the eager one
    store(physmem, uc, STP_X1_X2_X0, DATA + 2 * PAGE_SIZE - 8)  # from the eager page into a watched one
    assert journal.written() == [DATA, DATA + 2 * PAGE_SIZE]  # the eager page is no longer listed (nor hooked)
    journal.rollback()
    assert physmem.read(DATA + PAGE_SIZE + 8, 8) == (2).to_bytes(8, "little")
    assert physmem.read(DATA + PAGE_SIZE - 8, 16) == bytes(16)
    assert physmem.read(DATA + 2 * PAGE_SIZE - 8, 16) == bytes(16)
    assert physmem.read(DATA + PAGE_SIZE + 64, 1) == b"\x55"
    assert journal.written() == []


@pytest.mark.parametrize("native", MODES, ids=["native", "pure-python"])
def test_a_listing_journal_keeps_nothing(native: bool) -> None:
    physmem, uc = machine()
    journal = PageJournal(uc, physmem, DATA, 4 * PAGE_SIZE, keep=False, native=native)
    store(physmem, uc, STR_X1_X0, DATA + PAGE_SIZE)
    assert journal.written() == [DATA + PAGE_SIZE]
    with pytest.raises(RuntimeError, match="does not keep"):
        journal.rollback()
    journal.commit()
    assert journal.written() == []
