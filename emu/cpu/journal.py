"""The pages of one address range an engine writes, and (optionally) what they held before.

A ``UC_HOOK_MEM_WRITE`` limited to the range: Unicorn calls it before each
store, so the first write to a page since the last ``commit()`` can save the
page as it was, and ``rollback()`` puts every saved page back.  The SPMD
journals the secure RAM this way (an SPMC call is all or nothing); the
invariant checker only lists the normal-world pages the SPMC wrote.  The
hot path is ``native/journal.c``; without the native library an identical
Python hook is used.  Addresses are the engine's own (the SPMC's are
physical addresses: it maps physical memory one to one).

A store the hook sees costs Unicorn some 1,000 host instructions (before
the hook runs it finds the store's guest PC again), against a few hundred
to copy a whole page.  So a keeping journal used call by call (``begin()``
before each) makes "eager" the pages written in two calls in a row (the
SPMC's stack and exchange buffers): ``begin()`` saves them whole and the
hook no longer covers them.  Which pages are eager changes only the host's
work, never what a rollback restores.
"""

from __future__ import annotations

import ctypes
from functools import partial

from unicorn import UC_HOOK_MEM_WRITE, Uc
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu import nativelib
from emu.platform.memory_map import PAGE_SIZE
from emu.platform.physmem import PhysicalMemory


class _State(ctypes.Structure):
    _fields_ = [
        ("lo", ctypes.c_uint64), ("pages", ctypes.c_uint64), ("host", ctypes.c_void_p),
        ("saved", ctypes.c_void_p), ("dirty", ctypes.c_void_p), ("list", ctypes.POINTER(ctypes.c_uint32)),
        ("count", ctypes.c_uint64), ("eager", ctypes.POINTER(ctypes.c_uint32)), ("eager_count", ctypes.c_uint64),
    ]


MAX_EAGER = 16  # pages saved whole before every call, at most: 64 KiB of copying
# A hook range starts this far before its first page: a store that begins in an eager page and runs
# into a watched one is seen (Unicorn checks a hook's range against a store's first byte).
STRADDLE = 64


def _load() -> ctypes.CDLL | None:
    lib = nativelib.load()
    if lib is None:
        return None
    lib.pj_create.restype = ctypes.POINTER(_State)
    lib.pj_create.argtypes = [ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_int]
    for name in ("pj_destroy", "pj_commit", "pj_rollback", "pj_begin"):
        getattr(lib, name).argtypes = [ctypes.POINTER(_State)]
    lib.pj_promote.argtypes = [ctypes.POINTER(_State), ctypes.c_uint64]
    return lib


class PageJournal:
    """Pages of ``[address, address + size)`` that ``uc`` wrote since the last commit.

    ``keep``: save each page's contents before its first write, for ``rollback()``.
    ``native``: use the C hook (None: when the library is built).
    ``hooked``: watch stores with write hooks; False when something else touches the pages in the native
    state (``tlbfill.py``), until ``watch_stores()``.
    """

    def __init__(self, uc: Uc, physmem: PhysicalMemory, address: int, size: int, keep: bool,
                 native: bool | None = None, hooked: bool = True) -> None:
        if address % PAGE_SIZE or size % PAGE_SIZE or size <= 0:
            raise ValueError("a journal covers whole pages")
        self.address = address
        self.pages = size // PAGE_SIZE
        self.keep = keep
        self._physmem = physmem
        lib = _load() if native is not False else None
        if native and lib is None:
            raise RuntimeError(f"native hook library not built ({nativelib.LIBRARY})")
        self._lib = lib
        self._uc = uc
        self._end = address + size
        self._eager: dict[int, bytes] = {}  # eager page address -> contents saved by begin()
        self._last: tuple[int, ...] = ()  # the pages written in the call before the last commit
        self._hooks: list[int] = []
        self._hooked = hooked
        if lib is not None:
            self._state = lib.pj_create(address, self.pages, physmem.host_pointer(address), int(keep))
            if not self._state:
                raise MemoryError("pj_create failed")
            self._s = self._state.contents  # made once: each SPMC call reads the count
            # pj_begin as a function object of its own, without argtypes (no conversion per call), bound to the state
            self._begin = partial(lib["pj_begin"], self._state)
        else:
            self._saved: dict[int, bytes | None] = {}  # page address -> old contents, in first-write order
        self._hook_ranges()

    def _hook_ranges(self) -> None:
        """Hook every run of pages that is not eager (again, after pages became eager)."""
        for handle in self._hooks:
            if self._lib is None:
                self._uc.hook_del(handle)
            else:
                self._hook_del(handle)
        self._hooks = []
        if not self._hooked:
            return
        start = self.address
        for page in sorted(self._eager) + [self._end]:
            if page > start:
                self._hooks.append(self._hook(max(self.address, start - STRADDLE), page - 1))
            start = page + PAGE_SIZE

    def watch_stores(self) -> None:
        """Watch stores with write hooks from now on."""
        if not self._hooked:
            self._hooked = True
            self._hook_ranges()

    @property
    def native_state(self) -> int:
        """The address of the native journal's state (``struct pj_state``)."""
        return ctypes.addressof(self._s)

    def _hook(self, first: int, last: int) -> int:
        if self._lib is None:
            return self._uc.hook_add(UC_HOOK_MEM_WRITE, self._py_hook, None, first, last)
        handle = ctypes.c_size_t()
        status = uclib.uc_hook_add(self._uc._uch, ctypes.byref(handle), UC_HOOK_MEM_WRITE,
                                   ctypes.cast(self._lib.pj_hook, ctypes.c_void_p),
                                   ctypes.cast(self._state, ctypes.c_void_p),
                                   ctypes.c_uint64(first), ctypes.c_uint64(last))
        if status:
            raise RuntimeError(f"uc_hook_add(UC_HOOK_MEM_WRITE) failed with status {status}")
        return handle.value

    def _hook_del(self, handle: int) -> None:
        status = uclib.uc_hook_del(self._uc._uch, ctypes.c_size_t(handle))
        if status:
            raise RuntimeError(f"uc_hook_del failed with status {status}")

    def __del__(self) -> None:
        if getattr(self, "_lib", None) is not None and getattr(self, "_state", None):
            self._lib.pj_destroy(self._state)
            self._state = None

    def written(self) -> list[int]:
        """Addresses of the pages written since the last commit or rollback, in first-write order."""
        if self._lib is None:
            return list(self._saved)
        s = self._s
        if not s.count:  # the usual call: nothing written (and no list comprehension to run)
            return []
        return [self.address + s.list[i] * PAGE_SIZE for i in range(s.count)]

    def begin(self) -> None:
        """Before a call: save the eager pages, which no hook watches (as they are then, so that what was
        written between calls stands, as a page's first hooked write saves it)."""
        if not self._eager:
            return
        if self._lib is None:
            for page in self._eager:
                self._eager[page] = self._physmem.read(page, PAGE_SIZE)
        else:
            self._begin()

    def commit(self) -> None:
        """Forget the written pages: their contents now stand.  A keeping journal's pages written in this call
        and in the one before become eager."""
        if self._lib is None:
            written = list(self._saved)
            self._saved.clear()
        else:
            written = self.written()
            if written:  # nothing written: nothing to forget (and one call into C fewer)
                self._lib.pj_commit(self._state)
        if self.keep and (written or self._last):
            self._promote(written)

    def _promote(self, written: list[int]) -> None:
        again = [page for page in written if page in self._last][:MAX_EAGER - len(self._eager)]
        self._last = tuple(written)
        if not again:
            return
        for page in again:  # saved now too, for a rollback without begin()
            self._eager[page] = self._physmem.read(page, PAGE_SIZE)
            if self._lib is not None:
                self._lib.pj_promote(self._state, (page - self.address) // PAGE_SIZE)
        self._hook_ranges()

    def rollback(self) -> None:
        """Put every written page back as it was at the last commit."""
        if not self.keep:
            raise RuntimeError("this journal does not keep old contents")
        if self._lib is None:
            for page, data in self._saved.items():
                self._physmem.write(page, data)
            self._saved.clear()
            for page, data in self._eager.items():
                self._physmem.write(page, data)
        else:
            self._lib.pj_rollback(self._state)

    def _py_hook(self, _uc: Uc, _access: int, address: int, size: int, _value: int, _data: object) -> None:
        first = address & ~(PAGE_SIZE - 1)
        last = (address + max(size, 1) - 1) & ~(PAGE_SIZE - 1)  # a store may straddle two pages
        for page in (first,) if last == first else (first, last):
            if self.address <= page < self._end and page not in self._saved and page not in self._eager:
                self._saved[page] = self._physmem.read(page, PAGE_SIZE) if self.keep else None
