"""The SPMC stub's memory transaction table, read from its memory (``struct mem_txn`` in firmware/mem.h).

Found through the firmware's symbol table (``txns``); reading it changes
nothing in the secure world.  firmware/mem.h asserts the offsets used here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from emu.ffa.stub_partitions import PARTITIONS
from emu.platform.image import GuestImage
from emu.platform.memory_map import PAGE_SIZE
from emu.platform.physmem import PhysicalMemory

TXN_SLOTS = 32  # MEM_TXN_SLOTS
TXN_HANDLE, TXN_DESC, TXN_LENGTH, TXN_STATE, TXN_RETRIEVED, TXN_RETRIEVALS = 0, 8, 24, 28, 72, 76
TXN_FRAGMENTING, TXN_COMMITTED = 1, 2
MAX_RECEIVERS = len(PARTITIONS)  # MEM_MAX_RECEIVERS: receivers are distinct stub SPs


@dataclass(frozen=True)
class SpmcTransaction:
    """A committed transaction as the SPMC records it (its canonical 1.1 descriptor and its state)."""

    handle: int
    sender: int
    receivers: tuple[int, ...]
    pages: frozenset[int]
    held: tuple[int, ...]  # receivers that retrieved it and have not relinquished
    retrievals: int  # retrieve requests the SPMC granted, all receivers

    def retrieved_since(self, before: SpmcTransaction | None) -> bool:
        """Whether a receiver retrieved it since ``before`` was read (None: it did not exist then)."""
        return self.retrievals > (before.retrievals if before is not None else 0)


class TransactionTable:
    def __init__(self, physmem: PhysicalMemory, base: int, stride: int) -> None:
        self.physmem = physmem
        self.base = base
        self.stride = stride

    @classmethod
    def find(cls, image: GuestImage, physmem: PhysicalMemory) -> TransactionTable | None:
        """The table of the firmware ``image``, or None when it has none."""
        for start, size, name in image.symbols.entries:
            if name == "txns" and size and size % TXN_SLOTS == 0:
                return cls(physmem, start, size // TXN_SLOTS)
        return None

    def read(self) -> tuple[dict[int, SpmcTransaction], list[int]]:
        """The committed transactions by handle, and the handles of half-sent (fragmenting) ones."""
        table = self.physmem.read(self.base, self.stride * TXN_SLOTS)
        committed: dict[int, SpmcTransaction] = {}
        fragmenting: list[int] = []
        for slot in range(TXN_SLOTS):
            off = slot * self.stride
            handle, desc = struct.unpack_from("<QQ", table, off + TXN_HANDLE)
            length, state = struct.unpack_from("<IB", table, off + TXN_LENGTH)
            if state == TXN_FRAGMENTING:
                fragmenting.append(handle)
            if state != TXN_COMMITTED:
                continue
            retrieved = table[off + TXN_RETRIEVED:off + TXN_RETRIEVED + MAX_RECEIVERS]
            (retrievals,) = struct.unpack_from("<I", table, off + TXN_RETRIEVALS)
            sender, receivers, pages = _descriptor(self.physmem.read(desc, length))
            held = tuple(r for r, flag in zip(receivers, retrieved) if flag)
            committed[handle] = SpmcTransaction(handle, sender, receivers, pages, held, retrievals)
        return committed, fragmenting


def _descriptor(data: bytes) -> tuple[int, tuple[int, ...], frozenset[int]]:
    """Sender, receivers and pages of a descriptor in the canonical 1.1 layout (firmware/mem.h)."""
    sender, count = struct.unpack_from("<H", data, 0)[0], struct.unpack_from("<I", data, 28)[0]
    receivers = tuple(struct.unpack_from("<H", data, 48 + 16 * i)[0] for i in range(count))
    composite = 48 + 16 * count
    range_count = struct.unpack_from("<I", data, composite + 4)[0]
    pages: set[int] = set()
    for i in range(range_count):
        address, n = struct.unpack_from("<QI", data, composite + 16 + 16 * i)
        pages.update(range(address, address + n * PAGE_SIZE, PAGE_SIZE))
    return sender, receivers, frozenset(pages)
