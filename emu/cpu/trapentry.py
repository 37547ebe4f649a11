"""How an engine's exceptions reach Python, with the registers of an HVC/SMC trap already read.

Unicorn reports exceptions through ``UC_HOOK_INTR``.  At an HVC or SMC the
handler needs x0-x17, the PC and the trapping instruction (its immediate),
and gives x0-x17 back; through ctypes each of those is a crossing into
libunicorn costing about a microsecond.  With the native library
(``native/trapentry.c``) the hook itself reads them in C before it calls
Python once, and writes the frame back after Python returns; without it,
Python reads and writes them the same way, with the same values.

At a trap, ``frame()``, ``pc`` and ``insn`` describe it; ``write(frame)``
is the trap's last word on x0-x17 (the native hook applies it on return).
After ``stop_at_traps()`` a trap calls no handler: it stops the engine and
sets ``trapped``, and ``frame()`` and ``pc`` describe it once the run has
returned (the SPMC's SMC is its answer: nothing to do before the engine stops).

The native hook can also answer calls whose answer never changes by itself
(``answers_calls``): ``answer_here`` teaches it one calling site, and the
calls it answers are logged for Python (``FixedAnswerLog``), handed over
through ``on_log`` before Python sees the engine's next exception and when
``flush_log`` is called (the engine does at the end of each run).
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from typing import NamedTuple

from unicorn import UC_HOOK_INTR, Uc
from unicorn.arm64_const import UC_ARM64_REG_PC, UC_ARM64_REG_X0
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu import nativelib
from emu.cpu.regs import BatchRegisters, CallFrame
from emu.cpu.vmem import CodeWords
from emu.el2.smccc import FRAME_REGS

TRAP_REGS = [*range(UC_ARM64_REG_X0, UC_ARM64_REG_X0 + FRAME_REGS), UC_ARM64_REG_PC]


class _State(ctypes.Structure):
    _fields_ = [
        ("regs", ctypes.c_uint64 * len(TRAP_REGS)),
        ("insn", ctypes.c_uint32),
        ("dirty", ctypes.c_uint32),
        ("trap_a", ctypes.c_uint32),
        ("trap_b", ctypes.c_uint32),
        ("ids", ctypes.c_int * len(TRAP_REGS)),
        ("values", ctypes.c_void_p * len(TRAP_REGS)),
        ("read_batch", ctypes.c_void_p),
        ("write_batch", ctypes.c_void_p),
        ("vmem_read", ctypes.c_void_p),
        ("python", ctypes.c_void_p),
        ("emu_stop", ctypes.c_void_p),
        ("stop_at_traps", ctypes.c_uint32),
        ("trapped", ctypes.c_uint32),
        ("clock", ctypes.c_void_p),
        ("flush", ctypes.c_void_p),
        ("fast", ctypes.c_void_p),
        ("fast_used", ctypes.c_uint32),
        ("log_len", ctypes.c_uint32),
        ("log_cap", ctypes.c_uint32),
        ("log", ctypes.c_void_p),
        ("log_cycles", ctypes.c_uint64),
    ]


LOG_ENTRY = f"<QI4x{FRAME_REGS}Q"  # native/trapentry.c struct te_log_entry: clock at entry, site index, x0-x17


_LOG_ENTRY_SIZE = struct.calcsize(LOG_ENTRY)


class FixedAnswerLog(NamedTuple):
    """Calls the native hook answered since the last hand-over: ``entries`` packed as ``LOG_ENTRY`` each."""

    entries: bytes
    count: int
    cycles: int  # all of them together


_PYTHON_CB = ctypes.CFUNCTYPE(None, ctypes.c_uint32)
_FLUSH_CB = ctypes.CFUNCTYPE(None)
_INTR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)


def _address(fn: object) -> int:
    return ctypes.cast(fn, ctypes.c_void_p).value


def _declare(lib: ctypes.CDLL) -> None:
    u32, u64, ptr = ctypes.c_uint32, ctypes.c_uint64, ctypes.c_void_p
    for name in ("te_init", "te_fast_clear", "te_log_reset", "te_destroy"):
        getattr(lib, name).argtypes, getattr(lib, name).restype = [ptr], None
    lib.te_fast_add.argtypes = [ptr, u32, u64, u64, u32, u32, ctypes.POINTER(u64), u32, u64]
    lib.te_fast_add.restype = ctypes.c_int


def _hook(uc: Uc, callback: int, data: int | None) -> None:
    handle = ctypes.c_size_t()
    status = uclib.uc_hook_add(uc._uch, ctypes.byref(handle), UC_HOOK_INTR, ctypes.c_void_p(callback),
                               ctypes.c_void_p(data) if data is not None else None, 1, 0)
    if status:
        raise RuntimeError(f"uc_hook_add(UC_HOOK_INTR) failed with status {status}")


class _TrapRegisters:
    """x0-x17 and the PC (past the HVC/SMC) of the trap being handled, in ``_regs``."""

    _regs: ctypes.Array | list[int]

    def frame(self) -> list[int]:
        return self._regs[:FRAME_REGS]

    @property
    def pc(self) -> int:
        return self._regs[FRAME_REGS]

    def trap(self) -> tuple[list[int], int, int]:
        """``frame()``, ``pc`` and ``insn`` at once (the trap path reads all three)."""
        return self.frame(), self._regs[FRAME_REGS], self.insn


class NativeTrapEntry(_TrapRegisters):
    answers_calls = True

    def __init__(self, uc: Uc, handler: Callable[[int], None], traps: tuple[int, int],
                 lib: ctypes.CDLL) -> None:
        state = self._state = _State()
        state.ids[:] = TRAP_REGS
        state.trap_a, state.trap_b = traps
        state.read_batch = _address(uclib.uc_reg_read_batch)
        state.write_batch = _address(uclib.uc_reg_write_batch)
        state.vmem_read = _address(uclib.uc_vmem_read)
        self._python = _PYTHON_CB(handler)  # C keeps a pointer: keep the object alive
        state.python = _address(self._python)
        state.emu_stop = _address(uclib.uc_emu_stop)
        _declare(lib)
        lib.te_init(ctypes.byref(state))
        _hook(uc, _address(lib.te_intr_hook), ctypes.addressof(state))
        self._regs = state.regs
        self._words = memoryview(state.regs).cast("B").cast("Q")
        self._lib = lib
        self._flush: _FLUSH_CB | None = None
        self.on_log: Callable[[FixedAnswerLog], None] | None = None

    def __del__(self) -> None:
        self._lib.te_destroy(ctypes.byref(self._state))

    def answer_here(self, clock_address: int, intno: int, x0: int, pc: int, insn: int, index: int,
                    answer: list[int], cycles: int) -> bool:
        """Answer the trap ``intno`` with x0 ``x0`` at ``pc`` (past the word ``insn``) in C from now on: write
        ``answer`` to x0, x1, ..., move the clock at ``clock_address`` by ``cycles`` and log the call as site
        ``index``.  False when the hook cannot take another site."""
        state = self._state
        if self._flush is None:
            self._flush = _FLUSH_CB(self.flush_log)  # C keeps a pointer: keep the object alive
            state.flush = _address(self._flush)
        state.clock = clock_address
        words = (ctypes.c_uint64 * len(answer))(*answer)
        return self._lib.te_fast_add(ctypes.byref(state), intno, x0, pc, insn, index, words, len(answer),
                                     cycles) == 0

    def forget_answers(self) -> None:
        """Every call goes to Python again (after taking the log)."""
        self.flush_log()
        self._lib.te_fast_clear(ctypes.byref(self._state))

    def flush_log(self) -> None:
        """Hand the calls answered in C since the last time to ``on_log``."""
        if self._flush is None:  # never taught a site: no log (the SPMC's entry, once per forwarded call)
            return
        state = self._state
        count = state.log_len
        if count:
            log = FixedAnswerLog(ctypes.string_at(state.log, count * _LOG_ENTRY_SIZE), count, state.log_cycles)
            self._lib.te_log_reset(ctypes.byref(state))
            self.on_log(log)

    def frame(self) -> list[int]:
        return self._words[:FRAME_REGS].tolist()  # faster than slicing the ctypes array

    def trap(self) -> tuple[list[int], int, int]:
        words = self._words
        return words[:FRAME_REGS].tolist(), words[FRAME_REGS], self._state.insn

    @property
    def insn(self) -> int:
        return self._state.insn

    def write(self, frame: list[int]) -> None:
        self._regs[:FRAME_REGS] = frame
        self._state.dirty = 1

    def stop_at_traps(self) -> None:
        self._state.stop_at_traps = 1

    @property
    def trapped(self) -> bool:
        return bool(self._state.trapped)

    @trapped.setter
    def trapped(self, value: bool) -> None:
        self._state.trapped = value


class PythonTrapEntry(_TrapRegisters):
    answers_calls = False

    def __init__(self, uc: Uc, handler: Callable[[int], None], traps: tuple[int, int]) -> None:
        self._handler = handler
        self._traps = traps
        self._read = BatchRegisters(uc, TRAP_REGS)
        self._frame = CallFrame(uc)
        self._code = CodeWords(uc)
        self._regs: list[int] = [0] * len(TRAP_REGS)
        self.insn = 0
        self._uc = uc
        self._stops = False
        self.trapped = False
        self._callback = _INTR_CB(lambda _uch, intno, _data: self._on_intr(intno))  # kept alive for C
        _hook(uc, _address(self._callback), None)

    def _on_intr(self, intno: int) -> None:
        if intno in self._traps:
            self._regs = self._read.read()
            self.insn = self._code.at(self._regs[FRAME_REGS] - 4)
            if self._stops:
                self.trapped = True
                self._uc.emu_stop()
                return
        self._handler(intno)

    def write(self, frame: list[int]) -> None:
        self._frame.write(frame)

    def stop_at_traps(self) -> None:
        self._stops = True

    def flush_log(self) -> None:
        """Nothing to hand over: every call is Python's."""


def trap_entry(uc: Uc, handler: Callable[[int], None], traps: tuple[int, int],
               native: bool | None = None) -> NativeTrapEntry | PythonTrapEntry:
    """Hook ``uc``'s exceptions to ``handler(intno)``; ``traps`` are the two exception numbers of HVC and SMC.

    ``native``: use the C hook (None: when the library is built).
    """
    lib = nativelib.load() if native is not False else None
    if native and lib is None:
        raise RuntimeError(f"native hook library not built ({nativelib.LIBRARY})")
    if lib is None:
        return PythonTrapEntry(uc, handler, traps)
    return NativeTrapEntry(uc, handler, traps, lib)
