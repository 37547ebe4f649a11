"""The native word classifier (emu/cpu/native/wordclass.c) against capstone and emu/cpu/iclass.py.

The block-cost hook costs a new word by the class wordclass.c decodes from its
bits, and only asks capstone for the words it leaves unknown: every class it
claims must be the one ``iclass.classify`` gives capstone's disassembly (ALU
for an undecodable word), or runs would no longer be exact.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from emu.cpu.disassembler import disassembler
from emu.cpu.iclass import classify
from emu.cpu.wordclass import class_names, word_class
from emu.platform.elf import load_elf

ROOT = Path(__file__).resolve().parent.parent
SPMC = ROOT / "emu" / "data" / "spmc.elf"
needs_native = pytest.mark.skipif(not class_names(), reason="the native helper library is not built")
pytestmark = needs_native


def capstone_class(word: int) -> str:
    insns = list(disassembler().disasm_lite(struct.pack("<I", word), 0))
    return classify(insns[0][2], insns[0][3]) if insns else "alu"


def code_words(image: Path) -> set[int]:
    words = set()
    for segment in load_elf(image).segments:
        if segment.executable:
            data = segment.data
            words.update(struct.unpack(f"<{len(data) // 4}I", data[:len(data) // 4 * 4]))
    return words


def test_the_classes_are_the_cost_models_classes() -> None:
    from emu.cpu.costmodel import INSTRUCTION_CLASSES

    assert set(class_names()) == set(INSTRUCTION_CLASSES)


@pytest.mark.parametrize("image", ["hello", "ffa_demo", "smp_code", "bench_compute", "spmc"])
def test_every_word_it_claims_in_our_images_is_capstones_class(image, guest_image) -> None:
    words = code_words(SPMC if image == "spmc" else guest_image(image))
    claimed = {w: word_class(w) for w in words if word_class(w) is not None}
    wrong = {f"{w:#010x}": (cls, capstone_class(w)) for w, cls in claimed.items() if cls != capstone_class(w)}
    assert not wrong
    assert len(claimed) >= 0.9 * len(words), "compiled integer code is nearly all the decoder's own"


@pytest.mark.parametrize("word, cls", [
    (0xD503201F, "hint"),       # nop
    (0xD65F03C0, "branch"),     # ret
    (0x9B037C41, "multiply"),   # mul x1, x2, x3
    (0x1AC20C20, "divide"),     # sdiv w0, w1, w2
    (0xA9BF7BFD, "store_pair"),  # stp x29, x30, [sp, #-16]!
    (0xD5033FDF, "barrier"),    # isb
    (0xD5033C9F, None),         # dsb #12, which capstone names dfb: an ALU by mnemonic (the full check found it)
    (0xD53BD040, "system"),     # mrs x0, tpidr_el0
    (0xD4000002, "exception"),  # hvc #0
    (0x6F00E400, "fp_simd"),    # movi v0.2d, #0
    (0x1E222820, "fp_simd"),    # fadd s0, s1, s2
    (0x1E260022, "fp_simd"),    # fmov w2, s1
    (0x2E711042, "fp_simd"),    # uaddw v2.4s, v2.4s, v17.4h
    (0x4EB1B821, "fp_simd"),    # addv s1, v1.4s
    (0x0E1C3C8B, "alu"),        # mov w11, v4.s[3] (UMOV): a general register written
    (0x1EE22820, None),         # fadd h0, h1, h2 (half precision): left to capstone
    (0x4E209C20, None),         # mul v0.16b, v1.16b, v0.16b: left to capstone
    (0xD508871F, "system"),     # tlbi vmalle1
    (0xD50B7E20, "system"),     # dc civac, x0
    (0xD50343DF, "system"),     # msr daifset, #3
    (0xD509729F, None),         # brb iall (a SYS encoding capstone names otherwise): left to capstone
    (0xD500401F, None),         # cfinv (an MSR immediate encoding, ALU by mnemonic): left to capstone
])
def test_known_words(word, cls) -> None:
    assert word_class(word) == cls
    if cls is not None:
        assert capstone_class(word) == cls


def test_a_spread_sample_of_all_words_agrees_with_capstone() -> None:
    """Every 1021st word of the 32-bit space (some four million), through capstone's C library; the full
    check (``tools/check_wordclass.py`` with no stride) takes CPU minutes."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "check_wordclass.py"), "--stride", "1021"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 disagreements" in proc.stdout


def test_a_plain_run_does_not_load_capstone(guest_image) -> None:
    """Start-up: capstone is imported only when a word needs it, and every word of hello and the SPMC is the
    native decoder's."""
    script = ("import sys; from emu.cli import main; code = main(['run', '-q', sys.argv[1]]); "
              "print('capstone' in sys.modules); sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", script, str(guest_image("hello"))], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False"
