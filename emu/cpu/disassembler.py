"""capstone's AArch64 disassembler, made on first use: importing capstone is a good part of start-up, and a run
whose words the native hook classifies (``wordclass``), with no ``--disasm``, never needs it.

The cost model needs no more of capstone than each word's mnemonic and operand text, and a run that meets a
word ``wordclass`` cannot tell (a Linux kernel's few SIMD words) would pay 40 ms to import the capstone
package for it, where loading its library alone takes 1.5 ms.  ``lite_disassembler`` therefore calls the
library the package ships (``cs_open``, ``cs_disasm``, ``cs_free``) through ctypes, with the ABI of the capstone
release pyproject.toml pins (5.0), and falls back to the package where that library is not found.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Iterator
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from capstone import Cs

_CS_ARCH_ARM64 = 1  # capstone 5's cs_arch
_CS_MODE_ARM = 0
_LIBRARY_NAMES = {"darwin": "libcapstone.dylib", "win32": "capstone.dll"}


class _Insn(ctypes.Structure):
    """capstone 5's cs_insn (without its detail, which is never asked for)."""

    _fields_ = [("id", ctypes.c_uint), ("address", ctypes.c_uint64), ("size", ctypes.c_uint16),
                ("bytes", ctypes.c_ubyte * 24), ("mnemonic", ctypes.c_char * 32), ("op_str", ctypes.c_char * 160),
                ("detail", ctypes.c_void_p)]


class LiteDisassembler(Protocol):
    def disasm_lite(self, code: bytes, offset: int) -> Iterator[tuple[int, int, str, str]]:
        """(address, size, mnemonic, operand text) of each instruction, up to the first undecodable word."""


@cache
def disassembler() -> Cs:
    """One shared disassembler without operand detail (``disasm_lite``: mnemonic and operand text)."""
    from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs

    return Cs(CS_ARCH_ARM64, CS_MODE_ARM)


class _LibraryDisassembler:
    """``Cs.disasm_lite`` straight from libcapstone."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        lib.cs_open.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_size_t)]
        lib.cs_disasm.argtypes = [ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64, ctypes.c_size_t,
                                  ctypes.POINTER(ctypes.POINTER(_Insn))]
        lib.cs_disasm.restype = ctypes.c_size_t
        lib.cs_free.argtypes = [ctypes.POINTER(_Insn), ctypes.c_size_t]
        self._lib = lib
        self._handle = ctypes.c_size_t()
        if lib.cs_open(_CS_ARCH_ARM64, _CS_MODE_ARM, ctypes.byref(self._handle)):
            raise OSError("cs_open(ARM64) failed")

    def disasm_lite(self, code: bytes, offset: int) -> Iterator[tuple[int, int, str, str]]:
        insns = ctypes.POINTER(_Insn)()
        count = self._lib.cs_disasm(self._handle, code, len(code), offset, 0, ctypes.byref(insns))
        try:
            for i in range(count):
                insn = insns[i]
                yield insn.address, insn.size, insn.mnemonic.decode("ascii"), insn.op_str.decode("ascii")
        finally:
            if count:
                self._lib.cs_free(insns, count)


@cache
def lite_disassembler() -> LiteDisassembler:
    """A disassembler giving mnemonics and operand text only: libcapstone's own, else the package's."""
    spec = find_spec("capstone")
    if spec is not None and spec.submodule_search_locations:
        name = _LIBRARY_NAMES.get(sys.platform, "libcapstone.so")
        for folder in spec.submodule_search_locations:
            path = Path(folder) / "lib" / name
            if path.exists():
                try:
                    return _LibraryDisassembler(ctypes.CDLL(str(path)))
                except OSError:
                    break
    return disassembler()
