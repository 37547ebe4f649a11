"""The pages one engine writes inside a physical range, between two reads.

Every engine maps the same physical memory, but Unicorn keeps translated
code per engine and only sees its own engine's stores.  The secure world
writes VM memory (a partition filling a page shared with it), so its stores
into VM RAM are tracked here and handed to the VMs' code caches after each
call.  The hook runs in C (``native/writetrack.c``) when the helper library
is built, else in an identical pure-Python hook.
"""

from __future__ import annotations

import ctypes

from unicorn import UC_HOOK_MEM_WRITE, Uc
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu import nativelib

PAGE_SHIFT = 12
MAX_PAGES = 4096  # native/writetrack.c WT_PAGES
_NO_PAGE = (1 << 64) - 1


class _State(ctypes.Structure):
    _fields_ = [("last_page", ctypes.c_uint64), ("count", ctypes.c_uint32), ("overflow", ctypes.c_uint32),
                ("pages", ctypes.c_uint64 * MAX_PAGES)]


class WriteTracker:
    """Records the pages ``uc`` writes in ``[start, end)``; ``take()`` returns them and starts over."""

    def __init__(self, uc: Uc, start: int, end: int, native: bool, hooked: bool = True) -> None:
        """``hooked``: watch stores with a write hook; False when something else records the pages in the native
        state (``tlbfill.py``), until ``watch_stores()``."""
        self.start, self.end = start, end
        self._uc = uc
        self._state = _State(last_page=_NO_PAGE)
        self._lib = nativelib.load() if native else None
        self._hooked = False
        if hooked:
            self.watch_stores()

    @property
    def native_state(self) -> int:
        """The address of the state the native hook records into (``struct wt_state``)."""
        return ctypes.addressof(self._state)

    def watch_stores(self) -> None:
        """Watch stores with a write hook from now on."""
        if self._hooked:
            return
        self._hooked = True
        if self._lib is not None:
            handle = ctypes.c_size_t()
            status = uclib.uc_hook_add(self._uc._uch, ctypes.byref(handle), UC_HOOK_MEM_WRITE,
                                       ctypes.cast(self._lib.wt_hook, ctypes.c_void_p), ctypes.byref(self._state),
                                       ctypes.c_uint64(self.start), ctypes.c_uint64(self.end - 1))
            if status:
                raise RuntimeError(f"uc_hook_add(UC_HOOK_MEM_WRITE) failed with status {status}")
        else:
            self._uc.hook_add(UC_HOOK_MEM_WRITE, self._py_hook, None, self.start, self.end - 1)

    def take(self) -> list[tuple[int, int]]:
        """The (pa, size) runs written since the last call, merged and in address order."""
        s = self._state
        if not s.count:
            return []
        if s.overflow:
            runs = [(self.start, self.end - self.start)]
        else:
            runs = []
            for page in sorted(set(s.pages[:s.count])):
                pa = page << PAGE_SHIFT
                if runs and runs[-1][0] + runs[-1][1] == pa:
                    runs[-1] = (runs[-1][0], runs[-1][1] + (1 << PAGE_SHIFT))
                else:
                    runs.append((pa, 1 << PAGE_SHIFT))
        s.last_page, s.count, s.overflow = _NO_PAGE, 0, 0
        return runs

    def _py_hook(self, _uc: Uc, _type: int, addr: int, size: int, _value: int, _data: object) -> None:
        s = self._state
        for page in range(addr >> PAGE_SHIFT, ((addr + max(size, 1) - 1) >> PAGE_SHIFT) + 1):
            if page == s.last_page:
                continue
            s.last_page = page
            if s.count < MAX_PAGES:
                s.pages[s.count] = page
                s.count += 1
            else:
                s.overflow = 1
