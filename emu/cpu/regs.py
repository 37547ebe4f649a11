"""Fast register marshalling: the x0-x17 call frame in one native call each way.

The Unicorn binding converts every value through several Python layers
(about 6,000 frames a second for 18 registers).  Calling
``uc_reg_read_batch`` / ``uc_reg_write_batch`` from the C library directly,
with the ctypes arrays allocated once per vCPU, is roughly 20x faster.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

from unicorn import Uc
from unicorn.arm64_const import UC_ARM64_REG_X0, UC_ARM64_REG_X8, UC_ARM64_REG_X17
from unicorn.unicorn_py3.unicorn import uclib

from emu.el2.smccc import FRAME_REGS

# x0..x28 are contiguous register IDs; check the assumption once at import.
assert UC_ARM64_REG_X17 - UC_ARM64_REG_X0 == FRAME_REGS - 1 and UC_ARM64_REG_X8 == UC_ARM64_REG_X0 + 8


class BatchRegisters:
    """Reads and writes a fixed list of registers of one Unicorn instance."""

    def __init__(self, uc: Uc, reg_ids: Sequence[int]) -> None:
        count = len(reg_ids)
        self._uch = uc._uch
        self._count = count
        self.ids = (ctypes.c_int * count)(*reg_ids)
        self.values = (ctypes.c_uint64 * count)()  # what write() wrote or read() read, with their ids and addresses
        base = ctypes.addressof(self.values)
        self.pointers = (ctypes.c_void_p * count)(*(base + 8 * i for i in range(count)))
        # Function objects of their own, without argtypes: the arguments are ctypes objects already (and an int
        # count), so ctypes passes them without a Python-level conversion each.
        self._read = uclib["uc_reg_read_batch"]
        self._write = uclib["uc_reg_write_batch"]

    def read(self) -> list[int]:
        status = self._read(self._uch, self.ids, self.pointers, self._count)
        if status:
            raise RuntimeError(f"uc_reg_read_batch failed with status {status}")
        return self.values[:]

    def write(self, values: Sequence[int]) -> None:
        self.values[:] = values
        status = self._write(self._uch, self.ids, self.pointers, self._count)
        if status:
            raise RuntimeError(f"uc_reg_write_batch failed with status {status}")


class CallFrame(BatchRegisters):
    """The SMCCC 1.2 call frame: x0-x17."""

    def __init__(self, uc: Uc) -> None:
        super().__init__(uc, range(UC_ARM64_REG_X0, UC_ARM64_REG_X0 + FRAME_REGS))
