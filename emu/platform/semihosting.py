"""Arm semihosting (``HLT #0xF000`` on AArch64): console output, exit codes, time.

Bare-metal tests written for ``qemu -semihosting`` report through it: they
print with SYS_WRITEC/SYS_WRITE0/SYS_WRITE and end with SYS_EXIT or
SYS_EXIT_EXTENDED, whose status becomes the run's exit code.  The operation
numbers and parameter blocks are those of Arm's semihosting specification
(and QEMU's semihosting/arm-compat-semi.c).  The host's files are never
reachable: only the console pseudo-file ``:tt`` opens.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NamedTuple

SYS_OPEN, SYS_CLOSE, SYS_WRITEC, SYS_WRITE0, SYS_WRITE, SYS_READ, SYS_READC = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
SYS_ISERROR, SYS_ISTTY, SYS_SEEK, SYS_FLEN = 0x08, 0x09, 0x0A, 0x0C
SYS_CLOCK, SYS_TIME, SYS_ERRNO, SYS_GET_CMDLINE, SYS_HEAPINFO = 0x10, 0x11, 0x13, 0x15, 0x16
SYS_EXIT, SYS_EXIT_EXTENDED, SYS_ELAPSED, SYS_TICKFREQ = 0x18, 0x20, 0x30, 0x31
ADP_STOPPED_APPLICATION_EXIT = 0x20026
MAX_STRING = 4096  # longest SYS_WRITE0/SYS_OPEN name read; a guest cannot make the host scan its RAM
MAX_WRITE = 1 << 20

# Handles of the console pseudo-file ":tt" by open mode (r*, w*, a*), as QEMU hands them out.
TT_HANDLES = {0: 1, 1: 2, 2: 3}
ERROR = (1 << 64) - 1
EBADF, ENOENT = 9, 2


class SemihostingError(Exception):
    """A call whose parameter block or buffer is not guest memory the call may use."""


class SemihostingExit(NamedTuple):
    """A guest's SYS_EXIT(_EXTENDED): its status and reason code."""

    status: int
    reason: int


class Semihosting:
    """One VM's semihosting service; ``call(op, x1)`` returns the value for x0."""

    def __init__(self, read: Callable[[int, int], bytes], write: Callable[[int, bytes], None],
                 putc: Callable[[int], None], getc: Callable[[], int | None], now_ticks: Callable[[], int],
                 tick_hz: int) -> None:
        self.read = read  # (guest virtual address, size) -> bytes; SemihostingError if unmapped
        self.write = write  # SemihostingError if not writable
        self.putc = putc
        self.getc = getc  # the next console input byte, or None
        self.now_ticks = now_ticks  # emulated time, in ticks of tick_hz
        self.tick_hz = tick_hz
        self.cmdline = b""
        self.exit: SemihostingExit | None = None
        self.errno = 0

    def call(self, op: int, x1: int) -> int:
        handler = _HANDLERS.get(op)
        if handler is None:
            self.errno = ENOENT
            return ERROR
        return handler(self, x1) & ERROR

    def _words(self, addr: int, count: int) -> tuple[int, ...]:
        return struct.unpack(f"<{count}Q", self.read(addr, 8 * count))

    def _string(self, addr: int, limit: int = MAX_STRING) -> bytes:
        out = bytearray()
        while len(out) < limit:
            chunk = self.read(addr + len(out), 64 - (addr + len(out)) % 64)
            end = chunk.find(0)
            if end >= 0:
                return bytes(out + chunk[:end])
            out += chunk
        return bytes(out[:limit])

    def _open(self, x1: int) -> int:
        name_ptr, mode, length = self._words(x1, 3)
        name = self.read(name_ptr, min(length, MAX_STRING))
        if name == b":tt" and mode < 12:
            return TT_HANDLES[mode // 4]
        self.errno = ENOENT
        return ERROR

    def _writec(self, x1: int) -> int:
        self.putc(self.read(x1, 1)[0])
        return 0

    def _write0(self, x1: int) -> int:
        for byte in self._string(x1):
            self.putc(byte)
        return 0

    def _write(self, x1: int) -> int:
        handle, buf, length = self._words(x1, 3)
        if handle not in (2, 3):
            self.errno = EBADF
            return ERROR
        data = self.read(buf, min(length, MAX_WRITE))
        for byte in data:
            self.putc(byte)
        return length - len(data)  # bytes not written

    def _read(self, x1: int) -> int:
        handle, buf, length = self._words(x1, 3)
        if handle != 1:
            self.errno = EBADF
            return ERROR
        got = bytearray()
        while len(got) < length:
            byte = self.getc()
            if byte is None:
                break
            got.append(byte)
            if byte == 0x0A:
                break
        self.write(buf, bytes(got))
        return length - len(got)

    def _readc(self, _x1: int) -> int:
        byte = self.getc()
        return ERROR if byte is None else byte

    def _exit(self, x1: int) -> int:
        reason, subcode = self._words(x1, 2)
        status = subcode & 0xFF if reason == ADP_STOPPED_APPLICATION_EXIT else 1
        self.exit = SemihostingExit(status, reason)
        return 0

    def _elapsed(self, x1: int) -> int:
        self.write(x1, struct.pack("<Q", self.now_ticks()))
        return 0

    def _get_cmdline(self, x1: int) -> int:
        buf, size = self._words(x1, 2)
        text = self.cmdline[:max(size - 1, 0)] + b"\0"
        if len(text) > size:
            return ERROR
        self.write(buf, text)
        self.write(x1 + 8, struct.pack("<Q", len(text) - 1))
        return 0

    def _heapinfo(self, x1: int) -> int:
        block = self._words(x1, 1)[0]
        self.write(block, bytes(32))  # all zero: "unknown", the C library picks its own heap
        return 0


_HANDLERS: dict[int, Callable[[Semihosting, int], int]] = {
    SYS_OPEN: Semihosting._open,
    SYS_CLOSE: lambda sh, x1: 0,
    SYS_WRITEC: Semihosting._writec,
    SYS_WRITE0: Semihosting._write0,
    SYS_WRITE: Semihosting._write,
    SYS_READ: Semihosting._read,
    SYS_READC: Semihosting._readc,
    SYS_ISERROR: lambda sh, x1: int(sh._words(x1, 1)[0] >> 63),
    SYS_ISTTY: lambda sh, x1: int(sh._words(x1, 1)[0] in (1, 2, 3)),
    SYS_SEEK: lambda sh, x1: ERROR,
    SYS_FLEN: lambda sh, x1: ERROR,
    SYS_CLOCK: lambda sh, x1: sh.now_ticks() * 100 // sh.tick_hz,
    SYS_TIME: lambda sh, x1: sh.now_ticks() // sh.tick_hz,
    SYS_ERRNO: lambda sh, x1: sh.errno,
    SYS_GET_CMDLINE: Semihosting._get_cmdline,
    SYS_HEAPINFO: Semihosting._heapinfo,
    SYS_EXIT: Semihosting._exit,
    SYS_EXIT_EXTENDED: Semihosting._exit,
    SYS_ELAPSED: Semihosting._elapsed,
    SYS_TICKFREQ: lambda sh, x1: sh.tick_hz,
}
