"""Raw arm64 Linux ``Image`` files, placed as the Linux arm64 boot protocol and QEMU do.

The 64-byte header (Documentation/arch/arm64/booting.rst) carries the magic
``ARM\\x64`` at offset 0x38, ``text_offset`` (the image's offset from a 2 MiB
aligned base), ``image_size`` (what the kernel needs, bss included) and
``flags``.  QEMU's ``load_aarch64_image`` (hw/arm/boot.c) puts the kernel at
the start of RAM plus ``text_offset``, moved up by 2 MiB when that would
overlap its boot stub at the bottom of RAM; an ``image_size`` of 0 marks a
pre-3.17 kernel whose ``text_offset`` is taken as 0x80000.  This emulator has
no boot stub in RAM but keeps the same addresses, so a kernel sees the same
memory layout as under QEMU.
"""

from __future__ import annotations

import struct
from pathlib import Path

from emu.platform.image import MAX_IMAGE_BYTES, GuestImage, ImageError, Segment

MAGIC = b"ARM\x64"
MAGIC_OFFSET = 0x38
HEADER = struct.Struct("<IIQQQ")  # code0, code1, text_offset, image_size, flags
HEADER_SIZE = 64
LEGACY_TEXT_OFFSET = 0x80000
BOOT_STUB_RESERVED = 0x1000  # QEMU's BOOTLOADER_MAX_SIZE: the stub's room at the bottom of RAM
TWO_MIB = 2 << 20
FLAG_BIG_ENDIAN = 1 << 0
FLAG_PLACE_ANYWHERE = 1 << 3


def is_linux_image(raw: bytes) -> bool:
    return len(raw) >= HEADER_SIZE and raw[MAGIC_OFFSET:MAGIC_OFFSET + 4] == MAGIC


def kernel_offset(text_offset: int, image_size: int) -> int:
    """Offset of the kernel from the start of RAM, as QEMU's ``load_aarch64_image`` computes it."""
    offset = LEGACY_TEXT_OFFSET if image_size == 0 else text_offset
    if offset < BOOT_STUB_RESERVED:
        offset += TWO_MIB
    return offset


def parse_linux_image(path: Path, raw: bytes, ram_base: int) -> GuestImage:
    """The kernel as a segment at RAM + its offset; entered at its first instruction (x0 = DTB)."""
    if not is_linux_image(raw):
        raise ImageError(f"{path}: not an arm64 Linux Image (no ARM\\x64 magic at 0x38)")
    _code0, _code1, text_offset, image_size, flags = HEADER.unpack_from(raw)
    if image_size and flags & FLAG_BIG_ENDIAN:
        raise ImageError(f"{path}: big-endian kernel; a little-endian arm64 kernel is needed")
    if text_offset % 4096 or text_offset >= TWO_MIB * 16:
        raise ImageError(f"{path}: text_offset {text_offset:#x} is not a page-aligned offset below 32 MiB")
    memsz = max(image_size, len(raw))
    if memsz > MAX_IMAGE_BYTES:
        raise ImageError(f"{path}: the kernel needs {memsz:#x} bytes, more than 1 GiB")
    load = ram_base + kernel_offset(text_offset, image_size)
    return GuestImage(path, load, [Segment(load, raw, memsz, True)], "linux")

