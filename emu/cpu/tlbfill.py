"""The secure world's stores watched through Unicorn's TLB, not write hooks (``native/tlbfill.c``).

A write hook slows every load and store of its engine and costs some 1,000
host instructions per store it sees; the SPMC's journals and tracker only
need each page's first store in a call.  With its MMU off the SPMC's
translation is one to one, so Unicorn's virtual TLB mode with a fill hook in
C gives it, and withholds write on the pages not yet journalled in the call:
the first store to one fills again, and the hook journals the page then.
``settle()`` after the journals commit or roll back withholds write again.
Execute is withheld too on the pages the PE has not fetched from, or Unicorn
would keep every store to them on its slow path.

Where only the CPU's own translation is exact (the SPMC turning its MMU on,
an address at or above PAMax, which faults with the MMU off) the hook
refuses the fill; the engine stops before the access and ``start_error()`` puts
it back on the CPU's translation with the write hooks, for good, so the run
goes on exactly as it would have.  One such fill is Unicorn's own, not the
PE's: emu_start ends by looking up its "until" address, where the CPU's
translation faults and Unicorn ignores it; the hook refuses that one too
and ``tf_status`` (the engine's start, ``callentry.py``) takes back the
error it leaves.  Without the native
library the hooks are used from the start.
"""

from __future__ import annotations

import ctypes

from unicorn import (
    UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH, UC_HOOK_TLB_FILL, UC_TLB_CPU, UC_TLB_VIRTUAL, Uc, UcError,
)
from unicorn.arm64_const import UC_ARM64_REG_CP_REG, UC_ARM64_REG_PC
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu.journal import PageJournal
from emu.cpu.writetrack import WriteTracker

ID_AA64MMFR0_EL1 = (3, 0, 0, 7, 0)
PAMAX_BITS = (32, 36, 40, 42, 44, 48)  # by ID_AA64MMFR0_EL1.PARange, as QEMU's arm_pamax()
_TLB_FLUSH = UC_CTL_TLB_FLUSH | UC_CTL_IO_WRITE << 30  # uc_ctl_flush_tlb's control word (no arguments)
_ctl = uclib["uc_ctl"]  # without argtypes: variadic


class _State(ctypes.Structure):
    _fields_ = [("limit", ctypes.c_uint64), ("secure", ctypes.c_void_p), ("vm", ctypes.c_void_p),
                ("tracker", ctypes.c_void_p), ("secure_fetched", ctypes.c_void_p), ("vm_fetched", ctypes.c_void_p),
                ("reg_read", ctypes.c_void_p), ("cp_reg_id", ctypes.c_int),
                ("pc_id", ctypes.c_int), ("exit_page", ctypes.c_uint64), ("page_size", ctypes.c_uint64),
                ("granted", ctypes.c_uint32), ("refused", ctypes.c_uint32), ("exit_fill", ctypes.c_uint32)]


def pamax(uc: Uc) -> int:
    """The physical address size of ``uc``'s CPU, in bits."""
    parange = uc.cpr_read(*ID_AA64MMFR0_EL1) & 0xF
    return PAMAX_BITS[min(parange, len(PAMAX_BITS) - 1)]


class TlbStoreWatch:
    """Feeds ``secure`` (keeping), ``vm`` (listing) and ``tracker`` (VM RAM) the pages ``uc`` first stores to."""

    def __init__(self, uc: Uc, lib: ctypes.CDLL, secure: PageJournal, vm: PageJournal,
                 tracker: WriteTracker, until: int) -> None:
        """``until``: the engine's emu_start "until" address."""
        self._uc = uc
        self._hooked = (secure, vm, tracker)
        reg_read = ctypes.cast(uclib.uc_reg_read, ctypes.c_void_p).value
        page = uc.ctl_get_page_size()
        # A byte per journalled page: 1 once the PE fetched from it (tlbfill.c grants execute there only).
        self._fetched = [(ctypes.c_uint8 * journal.pages)() for journal in (secure, vm)]
        self._state = _State(1 << pamax(uc), secure.native_state, vm.native_state, tracker.native_state,
                             *map(ctypes.addressof, self._fetched), reg_read, UC_ARM64_REG_CP_REG, UC_ARM64_REG_PC,
                             (until - 1) & -page, page)
        handle = ctypes.c_size_t()
        status = uclib.uc_hook_add(uc._uch, ctypes.byref(handle), UC_HOOK_TLB_FILL,
                                   ctypes.cast(lib.tf_fill, ctypes.c_void_p), ctypes.byref(self._state),
                                   ctypes.c_uint64(1), ctypes.c_uint64(0))
        if status:
            raise RuntimeError(f"uc_hook_add(UC_HOOK_TLB_FILL) failed with status {status}")
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        self._flush()

    def settle(self) -> None:
        """After the journals committed or rolled back: pages made writable for the call are watched again."""
        if self._state.granted:
            self._flush()
            self._state.granted = 0

    @property
    def native_state(self) -> int:
        """The address of the fill hook's state (``struct tf_state``), whose ``tf_status`` filters emu_start's."""
        return ctypes.addressof(self._state)

    def start_error(self, status: int) -> int | None:
        """What an error ``status`` from emu_start, filtered by ``tf_status``, means: None when a fill was refused
        and the engine, now back on the CPU's translation and write hooks, must run the access at its PC again;
        else the status."""
        s = self._state
        if not s.refused:
            return status
        s.refused = s.exit_fill = 0
        self._uc.ctl_set_tlb_mode(UC_TLB_CPU)
        self._flush()
        for watcher in self._hooked:
            watcher.watch_stores()
        self._uc.ctl_flush_tb()  # code translated without write hooks would not call them
        return None

    def _flush(self) -> None:
        status = _ctl(self._uc._uch, _TLB_FLUSH)
        if status:
            raise UcError(status)
