"""Starting an engine where its PC is, in one crossing into C (``native/emustart.c``).

Every call through ctypes costs more than the work behind it: a function
with ``argtypes`` also converts each argument with a Python-level
``from_param``.  The native ``es_start`` reads the PC and calls
``uc_emu_start`` itself, and is called with its one argument already a
ctypes object, without ``argtypes``; the pure-Python path makes the same two
calls with the same values.
"""

from __future__ import annotations

import ctypes
from functools import partial

from unicorn import Uc
from unicorn.arm64_const import UC_ARM64_REG_PC
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu import nativelib


class _State(ctypes.Structure):
    _fields_ = [
        ("uc", ctypes.c_void_p),
        ("reg_read", ctypes.c_void_p),
        ("emu_start", ctypes.c_void_p),
        ("pc_id", ctypes.c_int),
        ("until", ctypes.c_uint64),
        ("pc", ctypes.c_uint64),
    ]


class EmuStart:
    """``start()`` runs ``uc`` from its PC until ``until`` (``uc_emu_start(uc, pc, until, 0, 0)``): its status."""

    def __init__(self, uc: Uc, until: int, native: bool | None = None) -> None:
        lib = nativelib.load() if native is not False else None
        self._uch = uc._uch
        self._until = until
        self._pc = ctypes.c_uint64()
        self._pc_ref = ctypes.byref(self._pc)
        if lib is None:
            self.start = self._start_python
            return
        reg_read, emu_start = (ctypes.cast(f, ctypes.c_void_p).value for f in (uclib.uc_reg_read, uclib.uc_emu_start))
        self._state = _State(uc._uch.value, reg_read, emu_start, UC_ARM64_REG_PC, until)
        # A function object of its own, without argtypes (no conversion per call), bound to its argument.
        self.start = partial(lib["es_start"], ctypes.byref(self._state))

    @property
    def native_state(self) -> int:
        """The address of the native start's state (``struct es_state``)."""
        return ctypes.addressof(self._state)

    def _start_python(self) -> int:
        status = uclib.uc_reg_read(self._uch, UC_ARM64_REG_PC, self._pc_ref)
        if status:
            return status
        return uclib.uc_emu_start(self._uch, self._pc.value, self._until, 0, 0)
