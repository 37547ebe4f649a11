"""The SPMC entered for one forwarded call in one crossing into C (``native/callentry.c``).

Entering the SPMC wrote x0-x17, saved the journal's eager pages and started
the engine: three ctypes calls, each costing more than its work.  With the
native library ``enter()`` makes the three in C, and ``resume()`` (how the
engine starts again within the call) passes emu_start's status through the
TLB fill hook's filter as ``TlbStoreWatch.start_error`` would; without it,
Python makes the same calls in the same order.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from functools import partial

from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu import nativelib
from emu.cpu.engine import Engine
from emu.cpu.journal import PageJournal
from emu.cpu.tlbfill import TlbStoreWatch


class _State(ctypes.Structure):
    _fields_ = [("uc", ctypes.c_void_p), ("write_batch", ctypes.c_void_p), ("ids", ctypes.c_void_p),
                ("values", ctypes.c_void_p), ("journal", ctypes.c_void_p), ("start", ctypes.c_void_p),
                ("tlb", ctypes.c_void_p)]


class CallEntry:
    """``load(request)``, then ``enter()`` as ``engine.run``'s first start: the SPMC's x0-x17 written, ``journal``
    begun, the engine started (emu_start's status).  ``resume()`` is the engine's start for the rest of the call."""

    def __init__(self, engine: Engine, journal: PageJournal, stores: TlbStoreWatch | None) -> None:
        lib = nativelib.load() if engine.counter.native else None
        self._frame = engine.frame
        self._journal = journal
        self._start = engine.start
        self._request: Sequence[int] = ()
        if lib is None:
            self.enter = self._enter_python
            self.resume = engine.start
            return
        frame = engine.frame
        self._state = _State(engine.uc._uch.value, ctypes.cast(uclib.uc_reg_write_batch, ctypes.c_void_p).value,
                             ctypes.addressof(frame.ids), ctypes.addressof(frame.pointers), journal.native_state,
                             engine.emu_start.native_state, stores.native_state if stores is not None else None)
        # Function objects of their own, without argtypes (no conversion per call), bound to the state.
        self.enter = partial(lib["ce_enter"], ctypes.byref(self._state))
        self.resume = partial(lib["ce_resume"], ctypes.byref(self._state))
        self.load = partial(frame.values.__setitem__, slice(None))  # values[:] = request, with no Python frame

    def load(self, request: Sequence[int]) -> None:
        """The request ``enter()`` writes to x0-x17."""
        self._request = request

    def _enter_python(self) -> int:
        self._frame.write(self._request)
        self._journal.begin()
        return self._start()
