"""emu.platform.elf: loading guest images, and a one-line ImageError for every bad one."""

from __future__ import annotations

import random
import shutil
import struct
from pathlib import Path

import pytest

from emu.platform import memory_map
from emu.platform.elf import load_elf
from emu.platform.image import MAX_IMAGE_BYTES, ImageError

# ELF64 header fields: (offset, struct format)
E_TYPE, E_MACHINE, E_ENTRY, E_PHOFF, E_PHENTSIZE, E_PHNUM = (16, "<H"), (18, "<H"), (24, "<Q"), (32, "<Q"), \
    (54, "<H"), (56, "<H")
# Program header fields (relative to the entry)
P_TYPE, P_FLAGS, P_OFFSET, P_VADDR, P_PADDR, P_FILESZ, P_MEMSZ = (0, "<I"), (4, "<I"), (8, "<Q"), (16, "<Q"), \
    (24, "<Q"), (32, "<Q"), (40, "<Q")
PT_NULL, PT_LOAD = 0, 1
EM_X86_64 = 62


class Elf:
    """A patchable copy of a guest image."""

    def __init__(self, src: Path, dst: Path) -> None:
        shutil.copyfile(src, dst)
        self.path = dst
        self.data = bytearray(dst.read_bytes())

    def get(self, field: tuple[int, str], base: int = 0) -> int:
        offset, fmt = field
        return struct.unpack_from(fmt, self.data, base + offset)[0]

    def set(self, field: tuple[int, str], value: int, base: int = 0) -> Elf:
        offset, fmt = field
        struct.pack_into(fmt, self.data, base + offset, value)
        return self

    def phdr(self, index: int) -> int:
        """File offset of program header ``index``."""
        return self.get(E_PHOFF) + index * self.get(E_PHENTSIZE)

    def loads(self) -> list[int]:
        """Offsets of the PT_LOAD program headers."""
        return [self.phdr(i) for i in range(self.get(E_PHNUM)) if self.get(P_TYPE, self.phdr(i)) == PT_LOAD]

    def set_segment(self, field: tuple[int, str], value: int, load_index: int) -> Elf:
        return self.set(field, value, self.loads()[load_index])

    def move_segment(self, load_index: int, address: int) -> Elf:
        base = self.loads()[load_index]
        return self.set(P_VADDR, address, base).set(P_PADDR, address, base)

    def save(self) -> Path:
        self.path.write_bytes(bytes(self.data))
        return self.path


@pytest.fixture(scope="module")
def hello_path(guest_image) -> Path:
    return guest_image("hello")


@pytest.fixture
def elf(hello_path: Path, tmp_path: Path) -> Elf:
    return Elf(hello_path, tmp_path / "patched.elf")


def load_error(path: Path) -> str:
    with pytest.raises(ImageError) as info:
        load_elf(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert str(path) in message, message
    return message


# -- the good image -------------------------------------------------------------

def test_hello_loads(hello_path: Path) -> None:
    image = load_elf(hello_path)
    assert image.entry == memory_map.GUEST_RAM_IPA
    assert [s.vaddr for s in image.segments] == sorted(s.vaddr for s in image.segments)
    text = image.segments[0]
    assert text.executable and text.vaddr <= image.entry < text.vaddr + len(text.data)
    assert all(len(s.data) <= s.memsz for s in image.segments)
    assert any(len(s.data) < s.memsz for s in image.segments)  # .bss: zero-filled, not in the file
    image.check_fits(memory_map.GUEST_RAM_IPA, memory_map.GUEST_RAM_DEFAULT_SIZE, "guest RAM")


def test_patch_helper_is_faithful(elf: Elf) -> None:
    """An unpatched copy loads exactly like the original."""
    original = load_elf(elf.path)
    copy = load_elf(elf.save())
    assert [(s.vaddr, s.data, s.memsz) for s in copy.segments] == \
           [(s.vaddr, s.data, s.memsz) for s in original.segments]
    assert len(elf.loads()) == 3


def test_symbols_lookup_inside_main(hello_path: Path) -> None:
    image = load_elf(hello_path)
    main = image.symbols.address_of("main")
    assert main is not None and main % 4 == 0
    assert image.symbols.lookup(main) == "main"
    assert image.symbols.lookup(main + 8) == "main+0x8"
    assert image.symbols.lookup(image.entry) == "_start"
    assert image.symbols.address_of("no_such_symbol") is None
    assert image.symbols.lookup(0x1000) is None  # below every symbol


def test_absolute_symbols_do_not_name_addresses(hello_path: Path) -> None:
    """Linker constants such as STACK_SIZE = 0x10000 are numbers, not code or data addresses."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    with hello_path.open("rb") as stream:
        absolute = [(sym.name, sym["st_value"]) for section in ELFFile(stream).iter_sections()
                    if isinstance(section, SymbolTableSection) for sym in section.iter_symbols()
                    if sym["st_shndx"] == "SHN_ABS" and sym.name and sym["st_value"]
                    and sym["st_info"]["type"] == "STT_NOTYPE"]
    if not absolute:
        pytest.skip("hello.elf has no absolute symbols")
    symbols = load_elf(hello_path).symbols
    for name, value in absolute:
        assert symbols.address_of(name) is None
        found = symbols.lookup(value + 4)
        assert found is None or not found.startswith(name), (name, found)


def test_source_line_of_main(hello_path: Path) -> None:
    image = load_elf(hello_path)
    line = image.source_line(image.symbols.address_of("main"))
    assert line is not None
    assert line[0].endswith("main.c") and line[1] > 0


# -- read errors ----------------------------------------------------------------

def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in load_error(tmp_path / "absent.elf")


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in load_error(tmp_path)


def test_not_elf(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some text, long enough to look like a header of something else entirely\n")
    assert "not an ELF file" in load_error(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.elf"
    path.write_bytes(b"")
    assert "not an ELF file" in load_error(path)


@pytest.mark.parametrize("length", [4, 16, 40, 63])
def test_truncated_header(elf: Elf, length: int) -> None:
    elf.data = elf.data[:length]
    assert "truncated ELF header" in load_error(elf.save())


def test_32_bit_elf(elf: Elf) -> None:
    elf.data[4] = 1  # ELFCLASS32
    assert "32-bit" in load_error(elf.save())


def test_big_endian_elf(elf: Elf) -> None:
    elf.data[5] = 2  # ELFDATA2MSB
    assert "big-endian" in load_error(elf.save())


def test_wrong_machine(elf: Elf) -> None:
    message = load_error(elf.set(E_MACHINE, EM_X86_64).save())
    assert "not an AArch64 ELF" in message and "X86_64" in message


def test_handmade_x86_64_header(tmp_path: Path) -> None:
    header = bytearray(64)
    header[:16] = b"\x7fELF\x02\x01\x01" + bytes(9)
    struct.pack_into("<HHIQQQIHHHHHH", header, 16, 2, EM_X86_64, 1, 0x401000, 0, 0, 0, 64, 56, 0, 64, 0, 0)
    path = tmp_path / "x86.elf"
    path.write_bytes(bytes(header))
    assert "not an AArch64 ELF" in load_error(path)


def test_not_executable_type(elf: Elf) -> None:
    assert "not an executable ELF" in load_error(elf.set(E_TYPE, 1).save())  # ET_REL


# -- segment errors -------------------------------------------------------------

def test_no_loadable_segment(elf: Elf) -> None:
    for base in elf.loads():
        elf.set(P_TYPE, PT_NULL, base)
    assert "no loadable segment" in load_error(elf.save())


def test_only_empty_segments(elf: Elf) -> None:
    for i in range(len(elf.loads())):
        elf.set_segment(P_FILESZ, 0, i).set_segment(P_MEMSZ, 0, i)
    assert "no loadable segment" in load_error(elf.save())


def test_overlapping_segments(elf: Elf) -> None:
    text = elf.loads()[0]
    elf.move_segment(1, elf.get(P_VADDR, text) + 0x100)  # rodata inside .text
    assert "overlap" in load_error(elf.save())


def test_entry_outside_every_segment(elf: Elf) -> None:
    message = load_error(elf.set(E_ENTRY, 0x1000).save())
    assert "entry point 0x1000" in message


def test_entry_in_a_non_executable_segment(elf: Elf) -> None:
    rodata = elf.loads()[1]
    message = load_error(elf.set(E_ENTRY, elf.get(P_VADDR, rodata)).save())
    assert "outside every executable segment" in message


def test_segment_filesz_above_memsz(elf: Elf) -> None:
    base = elf.loads()[0]
    elf.set(P_MEMSZ, elf.get(P_FILESZ, base) - 4, base)
    assert "file size above memory size" in load_error(elf.save())


@pytest.mark.parametrize("memsz", [MAX_IMAGE_BYTES + 1, 1 << 40, (1 << 64) - 1])
def test_huge_memsz(elf: Elf, memsz: int) -> None:
    message = load_error(elf.set_segment(P_MEMSZ, memsz, 2).save())
    assert "larger than 1 GiB" in message


def test_segment_past_end_of_file(elf: Elf) -> None:
    base = elf.loads()[1]
    elf.set(P_OFFSET, len(elf.data) - 8, base)
    assert "past end of file" in load_error(elf.save())


def test_file_truncated_inside_a_segment(elf: Elf) -> None:
    elf.data = elf.data[:elf.get(P_OFFSET, elf.loads()[0]) + 0x100]
    assert "past end of file" in load_error(elf.save())


def test_program_headers_past_end_of_file(elf: Elf) -> None:
    message = load_error(elf.set(E_PHOFF, len(elf.data) + 0x1000).save())
    assert "malformed ELF" in message or "no loadable segment" in message


def test_absurd_program_header_offset(elf: Elf) -> None:
    message = load_error(elf.set(E_PHOFF, (1 << 64) - 64).save())
    assert "malformed ELF" in message or "no loadable segment" in message


# -- fitting into guest RAM ---------------------------------------------------------

def test_check_fits_rejects_a_segment_outside_ram(elf: Elf) -> None:
    image = load_elf(elf.move_segment(1, memory_map.GUEST_RAM_IPA + memory_map.GUEST_RAM_DEFAULT_SIZE).save())
    with pytest.raises(ImageError, match="lies outside guest RAM") as info:
        image.check_fits(memory_map.GUEST_RAM_IPA, memory_map.GUEST_RAM_DEFAULT_SIZE, "guest RAM")
    assert "\n" not in str(info.value)


def test_check_fits_rejects_a_segment_below_ram(elf: Elf) -> None:
    image = load_elf(elf.move_segment(2, memory_map.GUEST_RAM_IPA - 0x10_0000).save())
    with pytest.raises(ImageError, match="outside guest RAM"):
        image.check_fits(memory_map.GUEST_RAM_IPA, memory_map.GUEST_RAM_DEFAULT_SIZE, "guest RAM")


def test_check_fits_small_ram(hello_path: Path) -> None:
    image = load_elf(hello_path)
    end = max(s.end for s in image.segments)
    image.check_fits(memory_map.GUEST_RAM_IPA, end - memory_map.GUEST_RAM_IPA, "guest RAM")  # exactly fits
    with pytest.raises(ImageError, match="outside guest RAM"):
        image.check_fits(memory_map.GUEST_RAM_IPA, end - memory_map.GUEST_RAM_IPA - 1, "guest RAM")


def test_machine_refuses_an_image_outside_guest_ram(elf: Elf, run_guests) -> None:
    path = elf.move_segment(2, memory_map.GUEST_RAM_IPA + memory_map.GUEST_RAM_DEFAULT_SIZE).save()
    with pytest.raises(ImageError, match="outside guest RAM"):
        run_guests(path)


# -- robustness -----------------------------------------------------------------

def test_corrupted_images_give_image_error_or_load(hello_path: Path, tmp_path: Path) -> None:
    """Random byte corruption anywhere in the file: a loaded image or an ImageError, nothing else."""
    raw = hello_path.read_bytes()
    rng = random.Random(20240611)
    path = tmp_path / "corrupt.elf"
    headers_end = 64 + 8 * 56
    for _ in range(250):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            span = rng.choice((headers_end, len(data)))
            data[rng.randrange(span)] = rng.randrange(256)
        if rng.random() < 0.1:
            data = data[:rng.randrange(len(data))]
        path.write_bytes(bytes(data))
        try:
            load_elf(path)
        except ImageError as exc:
            assert "\n" not in str(exc)
