"""A loadable guest or firmware image, whatever its file format.

Loaders (``elf``, ``linux_image``, ``raw_image``) turn a file into a
``GuestImage``: where its bytes go, where it starts, and how to name its code
addresses.  Any problem with a file becomes an ``ImageError`` whose message is
one line naming the file and what is wrong: a user handing the emulator a bad
file must never see a traceback.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

MAX_IMAGE_BYTES = 1 << 30


class ImageError(Exception):
    """An image that cannot be loaded, with a one-line reason."""


class Segment(NamedTuple):
    vaddr: int  # the load address in guest physical (IPA) space
    data: bytes
    memsz: int
    executable: bool

    @property
    def end(self) -> int:
        return self.vaddr + self.memsz


class Symbols:
    """Function and object symbols, for naming code addresses."""

    def __init__(self, entries: Iterable[tuple[int, int, str]] = ()) -> None:
        self.entries = sorted(entries)  # (addr, size, name)
        self.starts = [e[0] for e in self.entries]

    def lookup(self, addr: int) -> str | None:
        """``name+0xoff`` for an address inside (or just after) a known symbol."""
        i = bisect.bisect_right(self.starts, addr) - 1
        while i >= 0:
            start, size, name = self.entries[i]
            if addr < start + max(size, 1) or (size == 0 and addr - start < 0x1000):
                return name if addr == start else f"{name}+{addr - start:#x}"
            if size:
                return None
            i -= 1
        return None

    def address_of(self, name: str) -> int | None:
        for start, _size, sym in self.entries:
            if sym == name:
                return start
        return None


class LineInfo:
    """DWARF source positions: the line table, and the calls the compiler inlined."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, int]] = []  # (addr, file, line), sorted
        # (low, high, file, line): code from low to high belongs to a call inlined at file:line (the outermost
        # such call, the one in a real function's body); sorted, disjoint
        self.inlined: list[tuple[int, int, str, int]] = []


def _no_lines(_addr: int) -> LineInfo:
    return LineInfo()


class GuestImage:
    """An image ready to load: segments at guest addresses, an entry point, lazily parsed debug info.

    ``kind`` is ``elf``, ``linux`` (an arm64 ``Image``, booted per the Linux
    boot protocol) or ``raw``.  Symbols and line tables are parsed on first
    use: a run that never names a code address never pays for them, and a
    file whose debug sections are broken still runs.
    """

    def __init__(self, path: Path, entry: int, segments: list[Segment], kind: str = "elf",
                 load_symbols: Callable[[], Symbols] = Symbols, lines_at: Callable[[int], LineInfo] = _no_lines
                 ) -> None:
        self.path = path
        self.entry = entry
        self.segments = segments
        self.kind = kind
        self.load_symbols = load_symbols
        # the DWARF positions of the compile unit holding an address (parsed as needed, once per unit)
        self.lines_at = lines_at

    @cached_property
    def symbols(self) -> Symbols:
        return self.load_symbols()

    @property
    def low(self) -> int:
        return self.segments[0].vaddr

    @property
    def high(self) -> int:
        return max(s.end for s in self.segments)

    def check_fits(self, base: int, size: int, what: str) -> None:
        """Every segment must lie inside ``[base, base + size)``."""
        for seg in self.segments:
            if seg.vaddr < base or seg.end > base + size:
                raise ImageError(
                    f"{self.path}: segment {seg.vaddr:#x}-{seg.end:#x} lies outside {what} "
                    f"{base:#x}-{base + size:#x}"
                )

    def source_line(self, addr: int) -> tuple[str, int] | None:
        """The DWARF (file, line) of the instruction at ``addr``, when known (inside an inlined helper: its line)."""
        table = self.lines_at(addr).rows
        i = bisect.bisect_right(table, (addr, "\uffff", 1 << 30)) - 1
        if i < 0:
            return None
        _start, file, line = table[i]
        return file, line

    def caller_line(self, addr: int) -> tuple[str, int] | None:
        """The (file, line) in the real function the instruction at ``addr`` belongs to.

        Through inlined helpers (``static inline`` wrappers of ``hvc``, say): the
        line of the outermost inlined call, from DWARF's ``DW_AT_call_file`` and
        ``DW_AT_call_line``; elsewhere the line table's.
        """
        inlined = self.lines_at(addr).inlined
        i = bisect.bisect_right(inlined, (addr, 1 << 64)) - 1
        if i >= 0 and addr < inlined[i][1]:
            return inlined[i][2], inlined[i][3]
        return self.source_line(addr)

    def code_at(self, addr: int, size: int) -> bytes | None:
        """The image's own bytes at ``[addr, addr + size)`` when one executable segment holds them."""
        for seg in self.segments:
            if seg.executable and seg.vaddr <= addr and addr + size <= seg.vaddr + len(seg.data):
                offset = addr - seg.vaddr
                return seg.data[offset:offset + size]
        return None


def read_file(path: Path) -> bytes:
    """The file's bytes, or an ImageError naming why it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read: {exc.strerror}") from None
