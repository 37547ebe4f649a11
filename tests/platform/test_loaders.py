"""Image formats QEMU's -kernel takes: ELF, arm64 Linux Image (booting.rst header), raw binary.

The Image is a real one in miniature: the 64-byte header of
Documentation/arch/arm64/booting.rst followed by code that keeps x0 (the
DTB address the boot protocol hands over) in x19 and powers off.
"""

from __future__ import annotations

import struct

import pytest
from unicorn.arm64_const import UC_ARM64_REG_X19

from emu.platform.fdt import parse_dtb
from emu.platform.image import ImageError
from emu.platform.linux_image import kernel_offset
from emu.platform.loaders import load_image

RAM = 0x4000_0000
MOV_X19_X0 = 0xAA0003F3
MOVZ_X0_8 = 0xD2800100  # movz x0, #0x8
MOVK_X0_8400_LSL16 = 0xF2B08000  # movk x0, #0x8400, lsl #16: PSCI SYSTEM_OFF
HVC_0 = 0xD4000002
B_OVER_HEADER = 0x14000010  # b +0x40


def linux_image(text_offset: int = 0, image_size: int | None = None, flags: int = 0xA) -> bytes:
    code = struct.pack("<4I", MOV_X19_X0, MOVZ_X0_8, MOVK_X0_8400_LSL16, HVC_0)
    size = 64 + len(code) if image_size is None else image_size
    header = struct.pack("<IIQQQQQQ4sI", B_OVER_HEADER, 0, text_offset, size, flags, 0, 0, 0, b"ARM\x64", 0)
    return header + code


@pytest.mark.parametrize("text_offset, image_size, offset", [
    (0, None, 0x20_0000),  # modern kernels: QEMU moves them up 2 MiB, off its boot stub
    (0x8_0000, None, 0x8_0000),
    (0x1_0000, 0, 0x8_0000),  # image_size 0: a pre-3.17 kernel, text_offset taken as 0x80000
])
def test_kernel_offset_follows_qemu(text_offset, image_size, offset) -> None:
    size = 0x1000 if image_size is None else image_size
    assert kernel_offset(text_offset, size) == offset


def test_linux_image_boots_with_the_dtb_in_x0(tmp_path, run_guests) -> None:
    path = tmp_path / "Image"
    path.write_bytes(linux_image())
    image = load_image(path)
    assert image.kind == "linux" and image.entry == RAM + 0x20_0000
    out = run_guests(path, ram_size=128 << 20)
    vm = out.machine.vms[0]
    assert out.result.vms[0].exit_reason == "SYSTEM_OFF"
    dtb = vm.engine.uc.reg_read(UC_ARM64_REG_X19)
    assert dtb == RAM + (64 << 20)  # after the (empty) initrd at RAM + min(RAM/2, 128 MiB), 2 MiB aligned
    size = int.from_bytes(vm.read_ipa(dtb + 4, 4), "big")
    assert parse_dtb(vm.read_ipa(dtb, size)).find("/chosen") is not None


def test_linux_image_with_initrd(tmp_path, run_guests) -> None:
    from emu.platform.boot import BootOptions

    path = tmp_path / "Image"
    path.write_bytes(linux_image())
    initrd = b"070701" + bytes(3 << 20)  # 3 MiB: the DTB moves past it
    out = run_guests(path, boot=BootOptions(initrd=initrd, bootargs="rdinit=/init"))
    vm = out.machine.vms[0]
    dtb = vm.engine.uc.reg_read(UC_ARM64_REG_X19)
    assert dtb == RAM + (64 << 20) + (4 << 20)
    chosen = parse_dtb(vm.read_ipa(dtb, int.from_bytes(vm.read_ipa(dtb + 4, 4), "big"))).find("/chosen")
    start = int.from_bytes(chosen.props["linux,initrd-start"], "big")
    assert start == RAM + (64 << 20) and vm.read_ipa(start, 6) == b"070701"
    assert int.from_bytes(chosen.props["linux,initrd-end"], "big") == start + len(initrd)
    assert chosen.strs("bootargs") == ["rdinit=/init"]


def test_raw_binary_at_load_addr(tmp_path, run_guests) -> None:
    path = tmp_path / "code.bin"
    path.write_bytes(linux_image()[64:])  # the code alone, no header
    image = load_image(path, load_addr=RAM + 0x10_0000)
    assert image.kind == "raw" and image.entry == RAM + 0x10_0000
    with pytest.raises(ImageError, match="neither an ELF nor an arm64 Linux Image"):
        load_image(path)
    with pytest.raises(ImageError, match="outside the image"):
        load_image(path, load_addr=RAM, entry=RAM + 0x1000)


def test_elf_with_a_section_pyelftools_refuses_still_runs(guest_image, tmp_path, run_guests) -> None:
    """U-Boot's ELF has a .hash section with sh_link 0, which pyelftools refuses: only program headers count."""
    data = bytearray(guest_image("hello").read_bytes())
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    for i in range(1, shnum):  # turn the first non-symbol section into a .hash pointing at section 0
        base = shoff + i * shentsize
        if struct.unpack_from("<I", data, base + 4)[0] not in (2, 3):
            struct.pack_into("<I", data, base + 4, 5)  # SHT_HASH
            struct.pack_into("<I", data, base + 40, 0)  # sh_link 0
            break
    path = tmp_path / "hash.elf"
    path.write_bytes(bytes(data))
    out = run_guests(path)
    assert out.result.vms[0].exit_reason == "SYSTEM_OFF"
    assert load_image(path).symbols.address_of("main") is not None
