"""Choose the loader for a guest image file by what it holds, as QEMU's ``-kernel`` does."""

from __future__ import annotations

from pathlib import Path

from emu.platform.elf import is_elf, parse_elf
from emu.platform.image import GuestImage, ImageError, read_file
from emu.platform.linux_image import is_linux_image, parse_linux_image
from emu.platform.raw_image import parse_raw_image
from emu.platform.memory_map import GUEST_RAM_IPA


def load_image(path: str | Path, load_addr: int | None = None, entry: int | None = None,
               ram_base: int = GUEST_RAM_IPA) -> GuestImage:
    """An ELF, an arm64 Linux ``Image``, or (with ``load_addr``) a raw binary.

    ``load_addr`` makes the file a raw binary whatever it holds (QEMU's
    ``-device loader`` semantics); ``entry`` overrides the entry point of any
    image.
    """
    path = Path(path)
    raw = read_file(path)
    if load_addr is not None:
        return parse_raw_image(path, raw, load_addr, entry)
    if is_elf(raw):
        image = parse_elf(path, raw)
    elif is_linux_image(raw):
        image = parse_linux_image(path, raw, ram_base)
    else:
        raise ImageError(f"{path}: neither an ELF nor an arm64 Linux Image; "
                         "give --load-addr (and --entry) to load it as a raw binary")
    if entry is not None:
        if not any(s.vaddr <= entry < s.vaddr + len(s.data) for s in image.segments):
            raise ImageError(f"{path}: entry {entry:#x} is outside the image")
        image.entry = entry
    return image
