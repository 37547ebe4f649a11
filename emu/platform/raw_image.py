"""Flat binaries: bytes copied to a given address, entered at a given point (``--load-addr``, ``--entry``)."""

from __future__ import annotations

from pathlib import Path

from emu.platform.image import MAX_IMAGE_BYTES, GuestImage, ImageError, Segment


def parse_raw_image(path: Path, raw: bytes, load_addr: int, entry: int | None) -> GuestImage:
    """A flat binary copied to ``load_addr`` and entered at ``entry`` (default: its first byte)."""
    if not raw:
        raise ImageError(f"{path}: empty image")
    if len(raw) > MAX_IMAGE_BYTES:
        raise ImageError(f"{path}: larger than 1 GiB")
    start = load_addr if entry is None else entry
    if not load_addr <= start < load_addr + len(raw):
        raise ImageError(f"{path}: entry {start:#x} is outside the image loaded at {load_addr:#x}")
    return GuestImage(path, start, [Segment(load_addr, raw, len(raw), True)], "raw")
