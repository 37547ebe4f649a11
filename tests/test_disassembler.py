"""The cost model's disassembler (emu/cpu/disassembler.py): libcapstone through ctypes gives what the capstone
package's ``Cs.disasm_lite`` gives, without importing the package."""

from __future__ import annotations

import random
import struct
import subprocess
import sys
from pathlib import Path

from emu.cpu.disassembler import disassembler, lite_disassembler
from emu.platform.elf import load_elf

ROOT = Path(__file__).resolve().parent.parent
# Words the Linux kernel's boot makes the cost model classify: SIMD moves from general registers and PMULL.
SIMD_WORDS = (0x4E081C03, 0x4E081C84, 0x0EE3E000, 0x0EE4E021)


def both(code: bytes, offset: int = 0) -> tuple[list, list]:
    return list(lite_disassembler().disasm_lite(code, offset)), list(disassembler().disasm_lite(code, offset))


def test_the_library_is_used() -> None:
    assert lite_disassembler() is not disassembler()


def test_random_words_one_by_one() -> None:
    rng = random.Random(7)
    for word in [rng.getrandbits(32) for _ in range(20_000)] + list(SIMD_WORDS):
        lite, package = both(struct.pack("<I", word), 0x1000)
        assert lite == package, hex(word)


def test_a_guest_image_block_by_block(guest_image) -> None:
    """Whole runs of code, to the first undecodable word, with the addresses the caller gives."""
    image = load_elf(guest_image("smccc"))
    for seg in image.segments:
        if seg.executable:
            for start in range(0, len(seg.data), 256):
                lite, package = both(seg.data[start:start + 256], seg.vaddr + start)
                assert lite == package


def test_classifying_a_simd_word_does_not_import_capstone() -> None:
    script = ("import sys; from emu.cpu.costmodel import BlockClassifier, load_cost_model; model = load_cost_model(); "
              f"costs = BlockClassifier(model).word_costs({list(SIMD_WORDS)!r}); "
              "print(costs == [model.instruction['fp_simd']] * len(costs), 'capstone' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False"]
