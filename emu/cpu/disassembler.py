"""capstone's AArch64 disassembler, made on first use: importing capstone is a good part of start-up, and a run
whose words the native hook classifies (``wordclass``), with no ``--disasm``, never needs it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capstone import Cs


@cache
def disassembler() -> Cs:
    """One shared disassembler without operand detail (``disasm_lite``: mnemonic and operand text)."""
    from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs

    return Cs(CS_ARCH_ARM64, CS_MODE_ARM)
