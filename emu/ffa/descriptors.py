"""FF-A memory transaction descriptors: the one place that knows their layouts.

Two layouts exist.  FF-A 1.0: a 32-byte header followed directly by the
endpoint memory access descriptors (EMADs).  FF-A 1.1+: a 48-byte header
that gives the EMAD size and the offset of the EMAD array explicitly.  In
both, each EMAD points at a composite descriptor (total page count, range
count) followed by 16-byte constituents (address, page count).

``parse`` validates everything a mediator must check before trusting a
descriptor (lengths and offsets in bounds and without overflow, sizes,
counts adding up) and raises ``DescriptorError`` with the FF-A error code.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

from emu.ffa import constants as ffa

HEADER_V1_0 = struct.Struct("<HBBIQQII")  # sender, attrs, reserved, flags, handle, tag, reserved, count
HEADER_V1_1 = struct.Struct("<HHIQQIII12x")  # sender, attrs, flags, handle, tag, emad size, count, emad offset
EMAD = struct.Struct("<HBBIQ")  # receiver, permissions, flags, composite offset, reserved
COMPOSITE = struct.Struct("<IIQ")  # total pages, range count, reserved
CONSTITUENT = struct.Struct("<QII")  # address, pages, reserved
assert HEADER_V1_0.size == ffa.MEM_TRANSACTION_DESC_SIZE_V1_0 and HEADER_V1_1.size == ffa.MEM_TRANSACTION_DESC_SIZE_V1_1
assert EMAD.size == ffa.MEM_ACCESS_DESC_SIZE_V1_1 and COMPOSITE.size == ffa.COMPOSITE_DESC_SIZE
assert CONSTITUENT.size == ffa.CONSTITUENT_SIZE

PAGE = 4096
MAX_RANGES = 1 << 16

# Permissions (EMAD byte 2): data access bits 1:0, instruction access bits 3:2
DATA_ACCESS_MASK = 0x3
DATA_RO, DATA_RW = 1, 2
INSN_ACCESS_SHIFT = 2
# Memory region attributes: type bits 5:4, cacheability 3:2, shareability 1:0
ATTR_TYPE_SHIFT = 4
ATTR_TYPE_DEVICE, ATTR_TYPE_NORMAL = 1, 2
ATTR_CACHE_WB = 3
ATTR_SHARE_INNER = 3
NORMAL_WB_INNER = ATTR_TYPE_NORMAL << 4 | ATTR_CACHE_WB << 2 | ATTR_SHARE_INNER


class DescriptorError(Exception):
    """A descriptor the mediator must refuse; ``code`` is the FF-A error."""

    def __init__(self, message: str, code: int = ffa.INVALID_PARAMETERS) -> None:
        super().__init__(message)
        self.code = code


class Range(NamedTuple):
    address: int
    pages: int

    @property
    def size(self) -> int:
        return self.pages * PAGE


@dataclass(frozen=True)
class Receiver:
    """One endpoint memory access descriptor: a borrower and its permissions."""

    endpoint_id: int
    permissions: int
    flags: int = 0

    @property
    def data_access(self) -> int:
        return self.permissions & DATA_ACCESS_MASK


@dataclass
class Transaction:
    """A memory transaction descriptor, layout-independent."""

    sender: int
    attributes: int
    flags: int
    handle: int
    tag: int
    receivers: list[Receiver]
    ranges: list[Range]
    total_pages: int = 0

    def __post_init__(self) -> None:
        if not self.total_pages:
            self.total_pages = sum(r.pages for r in self.ranges)

    def summary(self) -> str:
        """One line for the trace: sender, receivers, permissions, ranges, total pages."""
        receivers = ",".join(f"{r.endpoint_id:#x}:{_perm(r.permissions)}" for r in self.receivers)
        shown = " ".join(f"{r.address:#x}+{r.pages}" for r in self.ranges[:4])
        more = f" (+{len(self.ranges) - 4} more)" if len(self.ranges) > 4 else ""
        return (f"sender={self.sender:#x} receivers=[{receivers}] ranges=[{shown}{more}] "
                f"pages={self.total_pages}")


def _perm(permissions: int) -> str:
    return {DATA_RO: "RO", DATA_RW: "RW"}.get(permissions & DATA_ACCESS_MASK, f"{permissions:#x}")


def layout_is_v1_0(version: int) -> bool:
    return version < ffa.VERSION_1_1


def parse(data: bytes, version: int) -> Transaction:
    """Parse and bounds-check a complete descriptor in the layout of ``version``."""
    length = len(data)
    if layout_is_v1_0(version):
        if length < HEADER_V1_0.size:
            raise DescriptorError(f"descriptor of {length} bytes is shorter than its header")
        sender, attrs, _res8, flags, handle, tag, _res32, count = HEADER_V1_0.unpack_from(data)
        emad_size, emad_offset = EMAD.size, HEADER_V1_0.size
    else:
        if length < HEADER_V1_1.size:
            raise DescriptorError(f"descriptor of {length} bytes is shorter than its header")
        sender, attrs, flags, handle, tag, emad_size, count, emad_offset = HEADER_V1_1.unpack_from(data)
        if emad_size < EMAD.size or emad_size % 16:
            raise DescriptorError(f"memory access descriptor size {emad_size} is invalid")
        if emad_offset < HEADER_V1_1.size or emad_offset % 16:
            raise DescriptorError(f"memory access descriptor offset {emad_offset} is invalid")
    if count == 0:
        raise DescriptorError("no receivers")
    if emad_offset + count * emad_size > length:
        raise DescriptorError("memory access descriptors extend past the descriptor")
    receivers, composite_offset = [], None
    for i in range(count):
        receiver, perms, rflags, offset, _reserved = EMAD.unpack_from(data, emad_offset + i * emad_size)
        receivers.append(Receiver(receiver, perms, rflags))
        if composite_offset is None:
            composite_offset = offset
        elif offset != composite_offset:
            raise DescriptorError("receivers point at different composite descriptors")
    if len({r.endpoint_id for r in receivers}) != len(receivers):
        raise DescriptorError("a receiver is listed twice")
    if composite_offset is None or composite_offset % 8 or composite_offset < emad_offset + count * emad_size:
        raise DescriptorError(f"composite descriptor offset {composite_offset} is invalid")
    if composite_offset + COMPOSITE.size > length:
        raise DescriptorError("composite descriptor extends past the descriptor")
    total_pages, range_count, _reserved = COMPOSITE.unpack_from(data, composite_offset)
    if range_count == 0 or range_count > MAX_RANGES:
        raise DescriptorError(f"address range count {range_count} is invalid")
    first = composite_offset + COMPOSITE.size
    if first + range_count * CONSTITUENT.size != length:
        raise DescriptorError("constituents do not end where the descriptor ends")
    ranges = []
    for i in range(range_count):
        address, pages, _reserved = CONSTITUENT.unpack_from(data, first + i * CONSTITUENT.size)
        if pages == 0 or address % PAGE or address + pages * PAGE > 1 << 64:
            raise DescriptorError(f"constituent {i} ({address:#x}, {pages} pages) is invalid")
        ranges.append(Range(address, pages))
    if sum(r.pages for r in ranges) != total_pages:
        raise DescriptorError(f"constituents add up to {sum(r.pages for r in ranges)} pages, not {total_pages}")
    return Transaction(sender, attrs, flags, handle, tag, receivers, ranges, total_pages)


def build(tx: Transaction, version: int) -> bytes:
    """Serialise a transaction in the layout of ``version`` (the inverse of ``parse``)."""
    count = len(tx.receivers)
    if layout_is_v1_0(version):
        header = HEADER_V1_0.pack(tx.sender, tx.attributes & 0xFF, 0, tx.flags, tx.handle, tx.tag, 0, count)
    else:
        header = HEADER_V1_1.pack(tx.sender, tx.attributes, tx.flags, tx.handle, tx.tag, EMAD.size, count,
                                  HEADER_V1_1.size)
    composite_offset = len(header) + count * EMAD.size
    emads = b"".join(EMAD.pack(r.endpoint_id, r.permissions, r.flags, composite_offset, 0) for r in tx.receivers)
    composite = COMPOSITE.pack(sum(r.pages for r in tx.ranges), len(tx.ranges), 0)
    constituents = b"".join(CONSTITUENT.pack(r.address, r.pages, 0) for r in tx.ranges)
    return header + emads + composite + constituents


def merge_ranges(ranges: list[Range]) -> list[Range]:
    """Merge ranges that are contiguous and in order."""
    out: list[Range] = []
    for r in ranges:
        if out and out[-1].address + out[-1].size == r.address:
            out[-1] = Range(out[-1].address, out[-1].pages + r.pages)
        else:
            out.append(r)
    return out
