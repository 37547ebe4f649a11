"""emu.trace.sites: call sites named from the image, at a relocated address too, never wrongly."""

from __future__ import annotations

from emu.platform.elf import load_elf
from emu.trace.sites import SiteNamer


def memory_with(image, delta: int, patch: dict[int, bytes] | None = None):
    """A reader of guest code holding the image's segments moved by ``delta`` (then patched)."""
    ram = {}
    for seg in image.segments:
        for i, byte in enumerate(seg.data):
            ram[seg.vaddr + delta + i] = byte
    for addr, data in (patch or {}).items():
        for i, byte in enumerate(data):
            ram[addr + i] = byte

    def read(va: int, size: int) -> bytes | None:
        if any(va + i not in ram for i in range(size)):
            return None
        return bytes(ram[va + i] for i in range(size))
    return read


def test_in_place_relocated_and_foreign_code(guest_image) -> None:
    image = load_elf(guest_image("hello"))
    main = image.symbols.address_of("main")
    pc = main + 0x20
    expected = SiteNamer(image, memory_with(image, 0)).name(pc)
    assert expected is not None and expected.startswith("main+0x20")

    moved = 0x0730_0000  # as U-Boot moves itself towards the top of RAM
    namer = SiteNamer(image, memory_with(image, moved))
    assert namer.name(pc + moved) == expected
    assert namer.name(pc) is None  # nothing runs at the linked address any more

    rewritten = SiteNamer(image, memory_with(image, 0, {pc - 8: b"\x1f\x20\x03\xd5" * 4}))  # nops over the code
    assert rewritten.name(pc) is None  # code that is not the image's own is never named after it


def test_an_inlined_helpers_code_is_named_after_its_callers_line(guest_image) -> None:
    image = load_elf(guest_image("hello"))
    hvcs = [seg.vaddr + i for seg in image.segments if seg.executable
            for i in range(0, len(seg.data) - 3, 4) if seg.data[i:i + 4] == b"\x02\x00\x00\xd4"]  # hvc #0
    in_main = [pc for pc in hvcs if (image.symbols.lookup(pc) or "").startswith("main+")]
    assert in_main
    for pc in in_main:
        assert image.source_line(pc)[0].endswith("smccc.h")  # the line table: inside smccc_hvc
        file, line = image.caller_line(pc)
        assert file.endswith("main.c") and line > 0  # DWARF's call site: the line in main()
    assert image.caller_line(image.entry) == image.source_line(image.entry)  # no inlining there: the same
