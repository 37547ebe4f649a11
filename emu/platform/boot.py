"""Where a guest's kernel, initrd and device tree go in RAM, and what x0 holds at entry.

The rules are QEMU virt's (hw/arm/boot.c ``arm_setup_direct_kernel_boot``
and ``arm_load_dtb``), so a guest finds things where it would under
``qemu-system-aarch64 -M virt -kernel``:

* a Linux ``Image``: the initrd at RAM + min(RAM/2, 128 MiB), moved up past
  the kernel and page aligned; the DTB after it, 2 MiB aligned; x0 = DTB;
* an ELF or raw binary that leaves the start of RAM free: the DTB at the
  start of RAM (U-Boot's qemu-arm board looks for it there), below the image;
* an image that covers the start of RAM (this project's own guests): at
  address 0, in flash bank 0, where QEMU's loader leaves it then (its
  ``dtb_start`` stays 0).

x0 holds the DTB address in every case (QEMU leaves x0 zero for an ELF,
which is right only in the last case).  A
user blob (``--dtb``) is fixed up as QEMU fixes it: its memory nodes replaced
by the machine's, ``/chosen`` given the boot arguments and initrd, ``/psci``
replaced by the machine's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from emu.platform.fdt import FdtError, parse_dtb, to_dtb
from emu.platform.image import GuestImage, ImageError
from emu.platform.virt_tree import VirtTreeParams, build_virt_tree

MiB = 1 << 20
PAGE = 4096
INITRD_MAX_OFFSET = 128 * MiB
DTB_ALIGN = 2 * MiB
DTB_MAX = 2 * MiB
FLASH_DTB_ADDR = 0  # start of flash bank 0


@dataclass
class BootOptions:
    """What the user adds to an image: a device tree, boot arguments, an initrd, flash contents."""

    dtb: bytes | None = None  # a user blob (--dtb); None: the machine's generated tree
    dtb_name: str = "--dtb"
    bootargs: str | None = None
    initrd: bytes | None = None
    pflash: list[Path] = field(default_factory=list)


class BootPlan(NamedTuple):
    """Where the boot put the device tree (and the initrd) in the guest."""

    dtb_addr: int
    dtb: bytes
    initrd: tuple[int, int] | None  # (start, end) in guest RAM

    @property
    def dtb_in_flash(self) -> bool:
        return self.dtb_addr == FLASH_DTB_ADDR


def _align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def plan_boot(image: GuestImage, ram_base: int, ram_size: int, options: BootOptions,
              psci_method: str = "hvc", cpus: int = 1) -> BootPlan:
    """The DTB (built or fixed up) and the addresses of the DTB and initrd for ``image``."""
    ram_end = ram_base + ram_size
    initrd_range = None
    if image.kind == "linux":
        dtb_addr, initrd_range = _linux_layout(image, ram_base, ram_size, options.initrd)
    else:
        if options.initrd is not None:
            raise ImageError(f"{image.path}: --initrd is for a Linux Image (QEMU loads none for other images)")
        dtb_addr = ram_base if image.low > ram_base or image.high <= ram_base else FLASH_DTB_ADDR
    params = VirtTreeParams(ram_base, ram_size, cpus=cpus, psci_method=psci_method, bootargs=options.bootargs,
                            initrd=initrd_range)
    blob = _fix_user_tree(options, params) if options.dtb is not None else to_dtb(build_virt_tree(params))
    limit = image.low if dtb_addr == ram_base and image.low > ram_base else ram_end
    if len(blob) > DTB_MAX or dtb_addr != FLASH_DTB_ADDR and dtb_addr + len(blob) > limit:
        raise ImageError(f"{image.path}: no room for the {len(blob)}-byte device tree at {dtb_addr:#x}")
    return BootPlan(dtb_addr, blob, initrd_range)


def _linux_layout(image: GuestImage, ram_base: int, ram_size: int,
                  initrd: bytes | None) -> tuple[int, tuple[int, int] | None]:
    start = max(ram_base + min(ram_size // 2, INITRD_MAX_OFFSET), _align_up(image.high, PAGE))
    size = len(initrd) if initrd is not None else 0
    if start + size > ram_base + ram_size:
        raise ImageError(f"{image.path}: the initrd does not fit in guest RAM after the kernel")
    dtb_addr = _align_up(start + size, DTB_ALIGN)
    if dtb_addr >= ram_base + ram_size:
        raise ImageError(f"{image.path}: no room for the device tree after the kernel and initrd")
    return dtb_addr, ((start, start + size) if initrd is not None else None)


def _fix_user_tree(options: BootOptions, params: VirtTreeParams) -> bytes:
    """A user blob with QEMU's ``arm_load_dtb`` fix-ups: memory, /chosen and /psci from the machine."""
    try:
        root = parse_dtb(options.dtb)
    except FdtError as exc:
        raise ImageError(f"{options.dtb_name}: not a valid device tree blob: {exc}") from None
    machine = build_virt_tree(params)
    root.children = [c for c in root.children if c.name != "memory" and not c.name.startswith("memory@")]
    for name in (f"memory@{params.ram_base:x}", "psci"):
        ours = machine.find(f"/{name}")
        root.children = [c for c in root.children if c.name != name]
        root.children.append(ours)
    chosen = root.child("chosen")
    theirs = machine.find("/chosen")
    for prop in ("bootargs", "linux,initrd-start", "linux,initrd-end"):
        if prop in theirs.props:
            chosen.props[prop] = theirs.props[prop]
    return to_dtb(root)

