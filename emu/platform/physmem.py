"""Emulated physical memory: one host buffer, carved into regions by address.

Every Unicorn instance (each VM's vCPU, the SPMC) maps slices of this one
buffer with ``mem_map_ptr``, so a write by one is seen by all without copies.
The buffer is an anonymous mapping: untouched pages cost no host memory.
Engines cache translated code, so every write made outside an engine's own
instructions is announced to the write listeners (``written``): those made
here, and those another engine made (reported by its write tracker).
"""

from __future__ import annotations

import ctypes
import mmap
from collections.abc import Callable
from typing import NamedTuple

from emu.platform.memory_map import PAGE_SIZE, PHYS_BASE, REGION_ALIGN


class PhysicalAccessError(Exception):
    """An access outside emulated physical memory."""


class HostMemoryError(Exception):
    """The host would not reserve the emulated physical memory."""


class Region(NamedTuple):
    name: str
    pa: int
    size: int

    @property
    def end(self) -> int:
        return self.pa + self.size

    def contains(self, pa: int, size: int = 1) -> bool:
        return self.pa <= pa and pa + size <= self.end


def align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) & ~(alignment - 1)


class PhysicalMemory:
    """A sparse physical address space starting at ``PHYS_BASE``."""

    def __init__(self, size: int) -> None:
        if size <= 0 or size % PAGE_SIZE:
            raise ValueError("physical memory size must be a positive multiple of the page size")
        self.base = PHYS_BASE
        self.size = size
        try:
            self._buffer = mmap.mmap(-1, size)
        except OSError as exc:
            raise HostMemoryError(f"the host would not reserve {size >> 20} MiB for the emulated physical "
                                  f"memory: {exc.strerror}") from None
        self._view = memoryview(self._buffer)
        self._host = ctypes.addressof(ctypes.c_char.from_buffer(self._buffer))
        self.regions: list[Region] = []
        self._next = PHYS_BASE
        self._write_listeners: list[Callable[[int, int], None]] = []

    @property
    def end(self) -> int:
        return self.base + self.size

    def allocate(self, name: str, size: int, pa: int | None = None) -> Region:
        """Reserve a named region, at ``pa`` or at the next aligned free address."""
        start = align_up(self._next, REGION_ALIGN) if pa is None else pa
        region = Region(name, start, align_up(size, PAGE_SIZE))
        if region.pa < self.base or region.end > self.end:
            raise ValueError(f"region {name} does not fit in physical memory")
        if any(r.pa < region.end and region.pa < r.end for r in self.regions):
            raise ValueError(f"region {name} overlaps another region")
        self.regions.append(region)
        self._next = max(self._next, region.end)
        return region

    def host_pointer(self, pa: int) -> int:
        """Host address backing physical address ``pa`` (for ``mem_map_ptr``)."""
        self._check(pa, 1)
        return self._host + (pa - self.base)

    def read(self, pa: int, size: int) -> bytes:
        self._check(pa, size)
        offset = pa - self.base
        return bytes(self._view[offset:offset + size])

    def write(self, pa: int, data: bytes) -> None:
        self._check(pa, len(data))
        offset = pa - self.base
        self._view[offset:offset + len(data)] = data
        self.written(pa, len(data))

    def add_write_listener(self, listener: Callable[[int, int], None]) -> None:
        """``listener(pa, size)`` hears of every write announced through ``written``."""
        self._write_listeners.append(listener)

    def written(self, pa: int, size: int) -> None:
        """``[pa, pa + size)`` was written other than by the instructions of an engine mapping it."""
        for listener in self._write_listeners:
            listener(pa, size)

    def _check(self, pa: int, size: int) -> None:
        if size < 0 or pa < self.base or pa + size > self.end:
            raise PhysicalAccessError(f"physical access {pa:#x}+{size:#x} outside {self.base:#x}-{self.end:#x}")
