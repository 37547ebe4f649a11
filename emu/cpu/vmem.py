"""Reading guest memory at a virtual address, through the guest's own stage-1 translation.

``uc.mem_read`` takes guest physical addresses; once a guest turns its MMU
on, code addresses (the PC, a block start, a trap site) are virtual.
libunicorn exports ``uc_vmem_read``, which walks the current translation
regime without side effects; the Python binding does not wrap it.
"""

from __future__ import annotations

import ctypes

from unicorn import UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE, Uc
from unicorn.unicorn_py3.unicorn import uclib

uclib.uc_vmem_read.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
uclib.uc_vmem_read.restype = ctypes.c_int
uclib.uc_vmem_write.argtypes = uclib.uc_vmem_read.argtypes
uclib.uc_vmem_write.restype = ctypes.c_int
uclib.uc_vmem_translate.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int, ctypes.POINTER(ctypes.c_uint64)]
uclib.uc_vmem_translate.restype = ctypes.c_int


def read_virtual(uc: Uc, va: int, size: int, execute: bool = False) -> bytes | None:
    """``size`` bytes at ``va`` as the PE would fetch (``execute``) or load them; None if not mapped."""
    buf = ctypes.create_string_buffer(size)
    if uclib.uc_vmem_read(uc._uch, va, UC_PROT_EXEC if execute else UC_PROT_READ, buf, size):
        return None
    return buf.raw


def translate_virtual(uc: Uc, va: int, execute: bool = False) -> int | None:
    """The physical address the PE would fetch (``execute``) or load ``va`` from; None if not mapped."""
    pa = ctypes.c_uint64()
    if uclib.uc_vmem_translate(uc._uch, va, UC_PROT_EXEC if execute else UC_PROT_READ, ctypes.byref(pa)):
        return None
    return pa.value


class CodeWords:
    """Instruction words of one Unicorn instance, fetched through its translation into a buffer made once.

    ``read_virtual`` allocates a buffer per call; the trap path reads one word per call.
    """

    def __init__(self, uc: Uc) -> None:
        self._uch = uc._uch
        self._word = ctypes.c_uint32()
        self._address = ctypes.addressof(self._word)
        self._read = uclib.uc_vmem_read

    def at(self, va: int) -> int:
        """The 32-bit word the PE would fetch at ``va``; 0 (an UNDEF) when nothing is mapped there."""
        if self._read(self._uch, va, UC_PROT_EXEC, self._address, 4):
            return 0
        return self._word.value


def write_virtual(uc: Uc, va: int, data: bytes) -> bool:
    """Write ``data`` at ``va`` through the translation, if the guest may write there."""
    return uclib.uc_vmem_write(uc._uch, va, UC_PROT_WRITE, data, len(data)) == 0
