"""Partition information descriptors: the 8-byte (1.0) and 24-byte (1.1+) layouts,
and the register form of FFA_PARTITION_INFO_GET_REGS."""

from __future__ import annotations

import struct
from typing import NamedTuple

from emu.ffa import constants as ffa

_V1_0 = struct.Struct("<HHI")
_V1_1 = struct.Struct("<HHI4I")
assert _V1_0.size == ffa.PARTITION_INFO_SIZE_V1_0 and _V1_1.size == ffa.PARTITION_INFO_SIZE_V1_1

NIL_UUID = (0, 0, 0, 0)


class PartitionInfo(NamedTuple):
    endpoint_id: int
    exec_contexts: int
    properties: int
    uuid: tuple[int, int, int, int] = NIL_UUID

    def pack(self, entry_size: int) -> bytes:
        if entry_size == ffa.PARTITION_INFO_SIZE_V1_0:
            return _V1_0.pack(self.endpoint_id, self.exec_contexts, self.properties)
        return _V1_1.pack(self.endpoint_id, self.exec_contexts, self.properties, *self.uuid)

    def to_regs(self) -> tuple[int, int, int]:
        """Three registers of an FFA_PARTITION_INFO_GET_REGS entry."""
        u = self.uuid
        return (self.endpoint_id | self.exec_contexts << 16 | self.properties << 32,
                u[0] | u[1] << 32, u[2] | u[3] << 32)


def entry_size_for(version: int) -> int:
    """The descriptor size a caller of ``version`` expects."""
    return ffa.PARTITION_INFO_SIZE_V1_0 if version < ffa.VERSION_1_1 else ffa.PARTITION_INFO_SIZE_V1_1


def unpack_entries(data: bytes, count: int, entry_size: int) -> list[PartitionInfo]:
    if entry_size not in (ffa.PARTITION_INFO_SIZE_V1_0, ffa.PARTITION_INFO_SIZE_V1_1):
        raise ValueError(f"unknown partition info entry size {entry_size}")
    if count * entry_size > len(data):
        raise ValueError(f"{count} entries of {entry_size} bytes do not fit in {len(data)} bytes")
    out = []
    for i in range(count):
        chunk = data[i * entry_size:(i + 1) * entry_size]
        if entry_size == ffa.PARTITION_INFO_SIZE_V1_0:
            pid, ctx, props = _V1_0.unpack(chunk)
            out.append(PartitionInfo(pid, ctx, props))
        else:
            pid, ctx, props, *uuid = _V1_1.unpack(chunk)
            out.append(PartitionInfo(pid, ctx, props, tuple(uuid)))
    return out


def uuid_from_words(words: list[int] | tuple[int, ...]) -> tuple[int, int, int, int]:
    return tuple(w & 0xFFFF_FFFF for w in words[:4])  # type: ignore[return-value]


def uuid_from_regs(lo: int, hi: int) -> tuple[int, int, int, int]:
    """The UUID of FFA_PARTITION_INFO_GET_REGS / DIRECT_REQ2 (x1/x2 or x2/x3)."""
    return (lo & 0xFFFF_FFFF, lo >> 32 & 0xFFFF_FFFF, hi & 0xFFFF_FFFF, hi >> 32 & 0xFFFF_FFFF)
