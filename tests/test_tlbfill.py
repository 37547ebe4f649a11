"""TlbStoreWatch: the journals and the tracker see the first store to each page through Unicorn's TLB, as their
write hooks would, and an access only the CPU's own translation answers puts the engine back on the hooks."""

from __future__ import annotations

import pytest
from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, UC_PROT_ALL, Uc, UcError
from unicorn.arm64_const import UC_ARM64_REG_X0, UC_ARM64_REG_X1, UC_ARM64_REG_X2

from emu.cpu import nativelib
from emu.cpu.engine import NO_UNTIL
from emu.cpu.journal import PageJournal
from emu.cpu.tlbfill import TlbStoreWatch, pamax
from emu.cpu.writetrack import WriteTracker
from emu.platform.memory_map import PAGE_SIZE, PHYS_BASE
from emu.platform.physmem import PhysicalMemory

pytestmark = pytest.mark.skipif(nativelib.load() is None, reason="native library not built")

CODE = PHYS_BASE
SECURE = PHYS_BASE + 4 * PAGE_SIZE  # four pages journalled with their contents
VM = PHYS_BASE + 8 * PAGE_SIZE  # four pages listed and tracked
STR_X1_X0 = 0xF900_0001  # str x1, [x0]
STP_X1_X2_X0 = 0xA900_0801  # stp x1, x2, [x0]
LDR_X1_X0 = 0xF940_0001  # ldr x1, [x0]
MOVZ_X2 = 0xD280_0002  # movz x2, #0 (the immediate in bits 5-20)


class Secure:
    """An engine with the SPMC's watchers, its stores watched through the TLB."""

    def __init__(self) -> None:
        self.physmem = PhysicalMemory(16 * PAGE_SIZE)
        self.uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        self.uc.mem_map_ptr(PHYS_BASE, self.physmem.size, UC_PROT_ALL, self.physmem.host_pointer(PHYS_BASE))
        self.journal = PageJournal(self.uc, self.physmem, SECURE, 4 * PAGE_SIZE, keep=True, hooked=False)
        self.vm = PageJournal(self.uc, self.physmem, VM, 4 * PAGE_SIZE, keep=False, hooked=False)
        self.tracker = WriteTracker(self.uc, VM, VM + 4 * PAGE_SIZE, native=True, hooked=False)
        self.watch = TlbStoreWatch(self.uc, nativelib.load(), self.journal, self.vm, self.tracker, NO_UNTIL)

    def run(self, insn: int, address: int, x1: int = 0x1111, x2: int = 0x2222) -> None:
        """One instruction with x0 = ``address``; a refused fill is resumed as the engine does."""
        self.physmem.write(CODE, insn.to_bytes(4, "little"))
        self.uc.ctl_remove_cache(CODE, CODE + 4)
        self.uc.reg_write(UC_ARM64_REG_X0, address)
        self.uc.reg_write(UC_ARM64_REG_X1, x1)
        self.uc.reg_write(UC_ARM64_REG_X2, x2)
        try:
            self.uc.emu_start(CODE, CODE + 4)
        except UcError as exc:
            if self.watch.start_error(exc.errno) is not None:
                raise
            self.uc.emu_start(CODE, CODE + 4)

    def commit(self) -> None:
        self.vm.commit()
        self.journal.commit()
        self.watch.settle()


def test_first_stores_are_journalled_in_order_and_rolled_back() -> None:
    s = Secure()
    s.physmem.write(SECURE, b"\xaa" * (4 * PAGE_SIZE))
    s.run(LDR_X1_X0, SECURE + 2 * PAGE_SIZE)  # a load first: the page is in the TLB, still without write
    s.run(STR_X1_X0, SECURE + 2 * PAGE_SIZE + 8)
    s.run(STP_X1_X2_X0, SECURE + PAGE_SIZE - 8)  # straddles pages 0 and 1
    s.run(STR_X1_X0, SECURE + 2 * PAGE_SIZE)  # page 2 again: listed once
    s.run(STR_X1_X0, VM + 3 * PAGE_SIZE)
    s.run(STR_X1_X0, CODE + 2 * PAGE_SIZE)  # outside every range
    assert s.journal.written() == [SECURE + 2 * PAGE_SIZE, SECURE, SECURE + PAGE_SIZE]
    assert s.vm.written() == [VM + 3 * PAGE_SIZE]
    assert s.tracker.take() == [(VM + 3 * PAGE_SIZE, PAGE_SIZE)]
    s.journal.rollback()
    s.watch.settle()
    assert s.physmem.read(SECURE, 4 * PAGE_SIZE) == b"\xaa" * (4 * PAGE_SIZE)


def test_a_commit_withholds_write_again() -> None:
    s = Secure()
    s.run(STR_X1_X0, SECURE + 16, x1=0x1234)
    s.run(STR_X1_X0, VM + 16)
    s.commit()
    s.tracker.take()
    s.run(STR_X1_X0, SECURE + 24, x1=0x5678)  # the page's TLB entry went with the commit: seen again
    s.run(STR_X1_X0, VM + 24)
    assert s.journal.written() == [SECURE]
    assert s.vm.written() == [VM]
    assert s.tracker.take() == [(VM, PAGE_SIZE)]
    s.journal.rollback()
    assert s.physmem.read(SECURE + 16, 16) == (0x1234).to_bytes(8, "little") + bytes(8)


def test_code_stored_to_a_page_runs_and_is_seen_rewritten() -> None:
    """A page filled without execute (stored to, never fetched from) gets it on its first fetch, and stores to it
    still reach the code translated from it."""
    s = Secure()
    page = SECURE + PAGE_SIZE
    for value in (1, 2):
        s.run(STR_X1_X0, page, x1=MOVZ_X2 | value << 5)
        s.uc.emu_start(page, page + 4)
        assert s.uc.reg_read(UC_ARM64_REG_X2) == value
    assert s.journal.written() == [page]


def test_an_access_past_pamax_puts_the_engine_back_on_the_write_hooks() -> None:
    s = Secure()
    s.run(STR_X1_X0, SECURE + 8)
    with pytest.raises(UcError):  # the CPU's translation: an address size fault, an exception Unicorn reports
        s.run(LDR_X1_X0, 1 << pamax(s.uc))
    s.run(STR_X1_X0, SECURE + PAGE_SIZE)  # now seen by the journal's hook
    s.run(STR_X1_X0, VM)
    assert s.journal.written() == [SECURE, SECURE + PAGE_SIZE]
    assert s.vm.written() == [VM]
    assert s.tracker.take() == [(VM, PAGE_SIZE)]
