"""The two parallel NOR flash banks of QEMU virt (0x0 and 0x04000000, 64 MiB each).

They read as QEMU's do: zeros when no file backs a bank (QEMU's pflash with
no drive; real erased NOR would read 0xFF), or the contents of a file
(``--pflash``), and they are read-only: a write, such as a CFI query command U-Boot's flash probe
sends, is ignored, so probes find no CFI device and carry on.  Banks are
backed lazily: a 2 MiB chunk gets host memory and its contents the first time
the guest touches it, so an untouched flash costs nothing, and reads run at
memory speed (no callback per access).
"""

from __future__ import annotations

import mmap
from pathlib import Path

from emu.platform.image import ImageError, read_file

BANK_SIZE = 64 << 20
BANK_ADDRESSES = (0x0000_0000, 0x0400_0000)
FLASH_END = BANK_ADDRESSES[-1] + BANK_SIZE
CHUNK = 2 << 20
UNBACKED = 0x00


class Pflash:
    """Both banks' contents for one VM; ``chunk(ipa)`` backs the chunk holding ``ipa``."""

    def __init__(self, files: list[Path] | None = None) -> None:
        files = files or []
        if len(files) > len(BANK_ADDRESSES):
            raise ImageError(f"at most {len(BANK_ADDRESSES)} flash images (one per bank)")
        self._contents = [b""] * len(BANK_ADDRESSES)
        for bank, path in enumerate(files):
            data = read_file(Path(path))
            if len(data) > BANK_SIZE:
                raise ImageError(f"{path}: {len(data):#x} bytes does not fit a {BANK_SIZE >> 20} MiB flash bank")
            self._contents[bank] = data
        self._memory = mmap.mmap(-1, FLASH_END)
        self._backed: set[int] = set()
        self.ignored_writes = 0

    def overlay(self, address: int, data: bytes) -> None:
        """Place ``data`` in the flash image (the boot loader's DTB in bank 0), before the guest runs."""
        bank = address // BANK_SIZE
        if self._backed or not 0 <= address < FLASH_END or address + len(data) > (bank + 1) * BANK_SIZE:
            raise ValueError("flash overlays go inside one bank, before the guest runs")
        offset = address - BANK_ADDRESSES[bank]
        image = bytearray(self._contents[bank].ljust(offset + len(data), bytes([UNBACKED])))
        image[offset:offset + len(data)] = data
        self._contents[bank] = bytes(image)

    @staticmethod
    def contains(ipa: int) -> bool:
        return 0 <= ipa < FLASH_END

    def chunk(self, ipa: int) -> tuple[int, memoryview]:
        """(chunk base, its bytes), filled on first use; the caller maps them read-only."""
        base = ipa - ipa % CHUNK
        view = memoryview(self._memory)[base:base + CHUNK]
        if base not in self._backed:
            self._backed.add(base)
            bank = base // BANK_SIZE
            data = self._contents[bank]
            offset = base - BANK_ADDRESSES[bank]
            piece = data[offset:offset + CHUNK]
            view[:len(piece)] = piece
            view[len(piece):] = bytes([UNBACKED]) * (CHUNK - len(piece))
        return base, view
