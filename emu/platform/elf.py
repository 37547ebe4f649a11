"""Loading and validating AArch64 ELF images (guests and firmware) with pyelftools.

Any problem with an image becomes an ``ImageError`` whose message is one line
naming the file and what is wrong: a user handing the emulator a bad file
must never see a traceback.
"""

from __future__ import annotations

import bisect
import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

MAX_IMAGE_BYTES = 1 << 30


class ImageError(Exception):
    """An image that cannot be loaded, with a one-line reason."""


@dataclass(frozen=True)
class Segment:
    vaddr: int  # the load address (p_paddr: guests run with the MMU off, so it is also where code runs)
    data: bytes
    memsz: int
    executable: bool

    @property
    def end(self) -> int:
        return self.vaddr + self.memsz


@dataclass
class Symbols:
    """Function and object symbols, for naming code addresses."""

    starts: list[int] = field(default_factory=list)
    entries: list[tuple[int, int, str]] = field(default_factory=list)  # (addr, size, name), sorted

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


@dataclass
class ElfImage:
    path: Path
    entry: int
    segments: list[Segment]
    symbols: Symbols
    line_table: list[tuple[int, str, int]] = field(default_factory=list)  # (addr, file, line), sorted

    def check_fits(self, base: int, size: int, what: str) -> None:
        """Every segment must lie inside ``[base, base + size)``."""
        for seg in self.segments:
            if seg.vaddr < base or seg.end > base + size:
                raise ImageError(
                    f"{self.path}: segment {seg.vaddr:#x}-{seg.end:#x} lies outside {what} "
                    f"{base:#x}-{base + size:#x}"
                )

    def source_line(self, addr: int) -> tuple[str, int] | None:
        """The DWARF (file, line) of the instruction at ``addr``, when known."""
        i = bisect.bisect_right(self.line_table, (addr, "\uffff", 1 << 30)) - 1
        if i < 0:
            return None
        _start, file, line = self.line_table[i]
        return file, line


def load_elf(path: str | Path) -> ElfImage:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return _parse(path, raw)
    except ImageError:
        raise
    except (ELFError, struct.error, ValueError, KeyError, IndexError, EOFError, AttributeError, TypeError,
            OverflowError, AssertionError) as exc:  # what pyelftools raises on corrupt input
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ImageError(f"{path}: malformed ELF: {detail}") from None


def _parse(path: Path, raw: bytes) -> ElfImage:
    if raw[:4] != b"\x7fELF":
        raise ImageError(f"{path}: not an ELF file")
    if len(raw) < 64:
        raise ImageError(f"{path}: truncated ELF header")
    if raw[4] != 2:
        raise ImageError(f"{path}: 32-bit ELF; an AArch64 (ELF64) image is needed")
    if raw[5] != 1:
        raise ImageError(f"{path}: big-endian ELF; a little-endian AArch64 image is needed")
    elf = ELFFile(io.BytesIO(raw))
    if elf["e_machine"] != "EM_AARCH64":
        raise ImageError(f"{path}: not an AArch64 ELF (machine {elf['e_machine']})")
    if elf["e_type"] not in ("ET_EXEC", "ET_DYN"):
        raise ImageError(f"{path}: not an executable ELF (type {elf['e_type']})")
    segments: list[Segment] = []
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD" or seg["p_memsz"] == 0:
            continue
        offset, filesz, memsz = seg["p_offset"], seg["p_filesz"], seg["p_memsz"]
        if filesz > memsz:
            raise ImageError(f"{path}: segment at {seg['p_paddr']:#x} has file size above memory size")
        if memsz > MAX_IMAGE_BYTES:
            raise ImageError(f"{path}: segment at {seg['p_paddr']:#x} is {memsz:#x} bytes, larger than 1 GiB")
        if offset + filesz > len(raw):
            raise ImageError(f"{path}: truncated: segment at {seg['p_paddr']:#x} extends past end of file")
        segments.append(Segment(seg["p_paddr"], raw[offset:offset + filesz], memsz, bool(seg["p_flags"] & 1)))
    if not segments:
        raise ImageError(f"{path}: no loadable segment")
    segments.sort(key=lambda s: s.vaddr)
    for a, b in zip(segments, segments[1:]):
        if a.end > b.vaddr:
            raise ImageError(f"{path}: segments at {a.vaddr:#x} and {b.vaddr:#x} overlap")
    entry = elf["e_entry"]
    if not any(s.vaddr <= entry < s.vaddr + len(s.data) and s.executable for s in segments):
        raise ImageError(f"{path}: entry point {entry:#x} is outside every executable segment")
    return ElfImage(path, entry, segments, _symbols(elf), _lines(elf))


def _symbols(elf: ELFFile) -> Symbols:
    entries = []
    for section in elf.iter_sections():
        if not isinstance(section, SymbolTableSection):
            continue
        for sym in section.iter_symbols():
            if sym["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE") and sym.name and sym["st_value"]:
                if sym.name.startswith("$"):  # mapping symbols ($x, $d)
                    continue
                if sym["st_shndx"] == "SHN_ABS":  # constants (e.g. STACK_SIZE = 0x10000), not addresses
                    continue
                entries.append((sym["st_value"], sym["st_size"], sym.name))
    entries.sort()
    return Symbols([e[0] for e in entries], entries)


def _lines(elf: ELFFile) -> list[tuple[int, str, int]]:
    if not elf.has_dwarf_info():
        return []
    rows: list[tuple[int, str, int]] = []
    try:
        dwarf = elf.get_dwarf_info()
        for cu in dwarf.iter_CUs():
            program = dwarf.line_program_for_CU(cu)
            if program is None:
                continue
            first = 0 if program.header.version >= 5 else 1  # DWARF 5 numbers files from 0
            names = {first + i: fe.name.decode(errors="replace") for i, fe in enumerate(program["file_entry"])}
            for entry in program.get_entries():
                state = entry.state
                if state is not None and not state.end_sequence and state.line:
                    rows.append((state.address, names.get(state.file, "?"), state.line))
    except Exception:  # noqa: BLE001 - pyelftools raises many types on corrupt DWARF (even AssertionError)
        return []  # line info is a nicety; a malformed .debug_line is not fatal
    rows.sort()
    return rows
