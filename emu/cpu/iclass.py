"""Instruction cost classes: one capstone mnemonic (and its operands) to one class name."""

from __future__ import annotations

import re
from functools import cache

INSTRUCTION_CLASSES = (
    "alu", "multiply", "divide", "load", "store", "load_pair", "store_pair", "branch",
    "fp_simd", "system", "barrier", "exception", "hint",
)
# Classes a core model (a file with a [pipeline] table) times apart from their base class.
REFINED_CLASSES = {"alu_shift": "alu", "multiply_wide": "multiply", "fp_divide": "fp_simd"}
CORE_CLASSES = INSTRUCTION_CLASSES + tuple(REFINED_CLASSES)

_LOAD_PAIR = ("ldp", "ldnp", "ldpsw", "ldxp", "ldaxp")
_STORE_PAIR = ("stp", "stnp", "stxp", "stlxp")
_BRANCHES = frozenset(("b", "bl", "br", "blr", "ret", "cbz", "cbnz", "tbz", "tbnz", "braa", "brab", "braaz",
                       "brabz", "blraa", "blrab", "blraaz", "blrabz", "retaa", "retab"))
_MULTIPLY = frozenset(("mul", "madd", "msub", "mneg", "smull", "umull", "smulh", "umulh", "smaddl",
                       "umaddl", "smsubl", "umsubl", "smnegl", "umnegl"))
_DIVIDE = frozenset(("sdiv", "udiv"))
_SYSTEM = frozenset(("mrs", "msr", "sys", "sysl", "at", "tlbi", "ic", "dc"))
_BARRIER = frozenset(("dmb", "dsb", "isb", "sb", "ssbb", "pssbb"))
_EXCEPTION = frozenset(("hvc", "smc", "svc", "brk", "hlt", "eret", "eretaa", "eretab", "udf"))
_HINT = frozenset(("nop", "yield", "wfi", "wfe", "sev", "sevl", "hint", "pacia", "autia", "bti",
                   "paciasp", "autiasp", "pacibsp", "autibsp", "paciaz", "autiaz", "pacibz", "autibz",
                   "xpaclri", "csdb"))
_SIMD_OPERAND = re.compile(r"[vqdshb]\d")
_FP_DIVIDE = ("fdiv", "fsqrt")
_WIDENING = frozenset(("smull", "umull", "smaddl", "umaddl", "smsubl", "umsubl", "smnegl", "umnegl"))


def classify(mnemonic: str, op_str: str = "") -> str:
    """The cost class of one instruction, from its capstone mnemonic (and, for SIMD, its operands)."""
    cls = _mnemonic_class(mnemonic)
    if cls is not None:
        return cls
    return "fp_simd" if _SIMD_OPERAND.match(op_str) else "alu"


@cache
def _mnemonic_class(mnemonic: str) -> str | None:
    """The class the mnemonic alone decides; None when the operands decide (SIMD registers or not)."""
    m = mnemonic.lower()
    if m.startswith("b.") or m in _BRANCHES:
        return "branch"
    if m in _MULTIPLY:
        return "multiply"
    if m in _DIVIDE:
        return "divide"
    if m in _EXCEPTION:
        return "exception"
    if m in _SYSTEM:
        return "system"
    if m in _BARRIER:
        return "barrier"
    if m in _HINT:
        return "hint"
    if m.startswith(_LOAD_PAIR):
        return "load_pair"
    if m.startswith(_STORE_PAIR):
        return "store_pair"
    if m.startswith(("ld", "cas", "swp", "prf")):
        return "load"
    if m.startswith("st"):
        return "store"
    if m.startswith(("f", "scvtf", "ucvtf")):
        return "fp_simd"
    return None


def refine(cls: str, mnemonic: str, shifted: bool, wide_dest: bool) -> str:
    """The finer class a core model times: shifted/extended ALU operands, 64-bit multiplies, FP divides."""
    if cls == "alu" and shifted:
        return "alu_shift"
    if cls == "multiply" and wide_dest and mnemonic not in _WIDENING:
        return "multiply_wide"  # X-form MUL/MADD/UMULH; the widening ...L forms multiply W registers
    if cls == "fp_simd" and mnemonic.startswith(_FP_DIVIDE):
        return "fp_divide"
    return cls
