"""How large an emulated machine may be: checked before anything is built, each bound a one-line error.

- At most ``MAX_VMS`` (32) VMs.  The SPMC stub holds 32 memory transactions
  and the mediator splits them into per-VM quotas, so past 32 VMs some VM
  could share nothing; and each VM is its own Unicorn engine (3.5 MiB for a
  small guest, tens of MiB once its translation cache fills), all taking
  turns on one emulated PE.
- At most ``MAX_GUEST_RAM`` (16 GiB) of guest RAM, all VMs together.
  Emulated physical memory is one anonymous host mapping: untouched pages
  cost nothing, but a guest may touch all of its RAM (a kernel clears it at
  boot) and the host must then hold it.  On a 24 GiB host, 16 GiB for guests
  leaves 8 GiB for the emulator itself (Python, the engines and their
  translation caches); Linux refuses a 64 GiB mapping there outright
  (ENOMEM under its default overcommit heuristic).
"""

from __future__ import annotations

from collections.abc import Sequence

from emu.ffa.stub_partitions import SPMC_TXN_SLOTS

MAX_VMS = SPMC_TXN_SLOTS
MAX_GUEST_RAM = 16 << 30


class LimitError(ValueError):
    """A machine larger than the emulator runs."""


def size_text(size: int) -> str:
    """``size`` in the largest unit that divides it: 16G, 128M, 4K, 100."""
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def check_vm_count(count: int) -> None:
    if count > MAX_VMS:
        raise LimitError(f"{count} VMs, more than the {MAX_VMS} a machine may have (the SPMC's "
                         f"{SPMC_TXN_SLOTS} transaction slots are split between them)")


def check_guest_ram(sizes: Sequence[int]) -> None:
    """RAM sizes of the VMs, in order (vm1 first)."""
    for number, size in enumerate(sizes, start=1):
        if size > MAX_GUEST_RAM:
            raise LimitError(f"vm{number}: {size_text(size)} of RAM, more than the {size_text(MAX_GUEST_RAM)} of "
                             f"guest RAM a machine may have")
    if sum(sizes) > MAX_GUEST_RAM:
        raise LimitError(f"{size_text(sum(sizes))} of guest RAM in {len(sizes)} VMs, more than the "
                         f"{size_text(MAX_GUEST_RAM)} a machine may have")
