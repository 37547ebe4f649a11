"""ELF images (guests and firmware): program headers load, sections only name things.

The loadable part is read from the program headers alone, with ``struct``,
as a boot loader does: sections are never needed to run.  Symbols (read
with ``struct``) and DWARF line tables and inlined calls (``emu.platform.dwarf``)
are parsed on first use, and a section that cannot be parsed (an odd ``sh_link``, an unknown
type, as in U-Boot's ``.hash``) costs at most the names it would have given.
"""

from __future__ import annotations

import struct
from pathlib import Path

from emu.platform.dwarf import DwarfLines
from emu.platform.image import MAX_IMAGE_BYTES, GuestImage, ImageError, Segment, Symbols, read_file

ELF_MAGIC = b"\x7fELF"
_EHDR = struct.Struct("<HHIQQQIHHHHHH")  # e_type .. e_shstrndx, after the 16-byte e_ident
_PHDR = struct.Struct("<IIQQQQQQ")  # p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
_SHDR = struct.Struct("<IIQQQQIIQQ")  # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, ...
_SYM = struct.Struct("<IBBHQQ")  # st_name, st_info, st_other, st_shndx, st_value, st_size
PT_LOAD = 1
PF_X = 1
SHT_SYMTAB = 2
SHN_ABS = 0xFFF1
_NAMED_TYPES = (0, 1, 2)  # STT_NOTYPE, STT_OBJECT, STT_FUNC
EM_AARCH64 = 183
_TYPES = {0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}
_MACHINES = {3: "EM_386", 40: "EM_ARM", 62: "EM_X86_64", 183: "EM_AARCH64", 243: "EM_RISCV"}


def is_elf(raw: bytes) -> bool:
    return raw[:4] == ELF_MAGIC


def load_elf(path: str | Path) -> GuestImage:
    path = Path(path)
    return parse_elf(path, read_file(path))


def parse_elf(path: Path, raw: bytes) -> GuestImage:
    if not is_elf(raw):
        raise ImageError(f"{path}: not an ELF file")
    if len(raw) < 64:
        raise ImageError(f"{path}: truncated ELF header")
    if raw[4] != 2:
        raise ImageError(f"{path}: 32-bit ELF; an AArch64 (ELF64) image is needed")
    if raw[5] != 1:
        raise ImageError(f"{path}: big-endian ELF; a little-endian AArch64 image is needed")
    e_type, machine, _version, entry, phoff, _shoff, _flags, _ehsize, phentsize, phnum, *_ = \
        _EHDR.unpack_from(raw, 16)
    if machine != EM_AARCH64:
        raise ImageError(f"{path}: not an AArch64 ELF (machine {_MACHINES.get(machine, machine)})")
    if e_type not in (2, 3):
        raise ImageError(f"{path}: not an executable ELF (type {_TYPES.get(e_type, e_type)})")
    if phnum and (phentsize < _PHDR.size or phoff + phnum * phentsize > len(raw)):
        raise ImageError(f"{path}: malformed ELF: program headers lie past the end of the file")
    segments: list[Segment] = []
    for i in range(phnum):
        p_type, p_flags, offset, _vaddr, paddr, filesz, memsz, _align = _PHDR.unpack_from(raw, phoff + i * phentsize)
        if p_type != PT_LOAD or memsz == 0:
            continue
        if filesz > memsz:
            raise ImageError(f"{path}: segment at {paddr:#x} has file size above memory size")
        if memsz > MAX_IMAGE_BYTES:
            raise ImageError(f"{path}: segment at {paddr:#x} is {memsz:#x} bytes, larger than 1 GiB")
        if offset + filesz > len(raw):
            raise ImageError(f"{path}: truncated: segment at {paddr:#x} extends past end of file")
        # p_paddr: where the bytes go; the image runs there with the MMU off, or maps itself.
        segments.append(Segment(paddr, raw[offset:offset + filesz], memsz, bool(p_flags & PF_X)))
    if not segments:
        raise ImageError(f"{path}: no loadable segment")
    segments.sort(key=lambda s: s.vaddr)
    for a, b in zip(segments, segments[1:]):
        if a.end > b.vaddr:
            raise ImageError(f"{path}: segments at {a.vaddr:#x} and {b.vaddr:#x} overlap")
    if not any(s.vaddr <= entry < s.vaddr + len(s.data) and s.executable for s in segments):
        raise ImageError(f"{path}: entry point {entry:#x} is outside every executable segment")
    return GuestImage(path, entry, segments, "elf", lambda: _symbols(raw), DwarfLines(raw).at)


def _symbols(raw: bytes) -> Symbols:
    """Function, object and untyped symbols of every SHT_SYMTAB section, read with ``struct``.

    Reading the table directly is some 50 times faster than through
    pyelftools (U-Boot has ~12,000 symbols); a malformed header or table costs
    the names, never the run.
    """
    entries: list[tuple[int, int, str]] = []
    try:
        shoff, = struct.unpack_from("<Q", raw, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", raw, 0x3A)
        if shentsize < _SHDR.size or shoff + shnum * shentsize > len(raw):
            return Symbols()
        headers = [_SHDR.unpack_from(raw, shoff + i * shentsize) for i in range(shnum)]
        for sh_type, offset, size, link, entsize in ((h[1], h[4], h[5], h[6], h[9]) for h in headers):
            if sh_type != SHT_SYMTAB or entsize != _SYM.size or link >= shnum or offset + size > len(raw):
                continue
            str_offset, str_size = headers[link][4], headers[link][5]
            strtab = raw[str_offset:str_offset + str_size]
            for name, info, _other, shndx, value, sym_size in _SYM.iter_unpack(raw[offset:offset + size - size % 24]):
                if info & 0xF not in _NAMED_TYPES or not value or not name or shndx == SHN_ABS:
                    continue  # absolute symbols are constants (e.g. STACK_SIZE = 0x10000), not addresses
                end = strtab.find(b"\0", name)
                text = strtab[name:end if end >= 0 else None].decode(errors="replace")
                if text and not text.startswith("$"):  # mapping symbols ($x, $d) name no function
                    entries.append((value, sym_size, text))
    except struct.error:
        return Symbols()
    return Symbols(entries)
