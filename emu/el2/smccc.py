"""SMCCC 1.2 (Arm DEN0028): function ID decode and the register convention rules.

Everything the EL2 handler needs to know about *how* a call is made lives
here: which registers carry arguments, how results are masked, which
registers survive.  What a call *does* lives with its owner's handler.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

MASK32 = 0xFFFF_FFFF
MASK64 = 0xFFFF_FFFF_FFFF_FFFF
FRAME_REGS = 18  # x0-x17: the SMCCC 1.2 argument/result registers
SMC32_REGS = 8  # w0-w7

FAST_CALL = 1 << 31
SMC64 = 1 << 30
OWNER_SHIFT = 24
OWNER_MASK = 0x3F
SVE_HINT = 1 << 16  # SMCCC 1.3 "no live SVE state" hint: masked before decode
RESERVED_FAST_MASK = 0x00FE_0000  # bits 23:17, MBZ for fast calls


class Owner(IntEnum):
    ARCH = 0
    CPU = 1
    SIP = 2
    OEM = 3
    STANDARD = 4
    STANDARD_HYP = 5
    VENDOR_HYP = 6
    VENDOR_EL3 = 7


# SMCCC return codes
SUCCESS = 0
NOT_SUPPORTED = -1
NOT_REQUIRED = -2
INVALID_PARAMETER = -3

# Arm architecture calls (owner 0)
SMCCC_VERSION = 0x8000_0000
SMCCC_ARCH_FEATURES = 0x8000_0001
SMCCC_ARCH_SOC_ID = 0x8000_0002
SMCCC_ARCH_WORKAROUND_1 = 0x8000_8000
SMCCC_ARCH_WORKAROUND_2 = 0x8000_7FFF
SMCCC_ARCH_WORKAROUND_3 = 0x8000_3FFF
SMCCC_VERSION_1_2 = 0x1_0002

# Per-owner general queries (function numbers)
FN_CALL_COUNT = 0xFF00
FN_UID = 0xFF01
FN_REVISION = 0xFF03

STD_SVC_CALL_COUNT = 0x8400_FF00
STD_SVC_UID = 0x8400_FF01
STD_SVC_REVISION = 0x8400_FF03
STD_HYP_CALL_COUNT = 0x8500_FF00
STD_HYP_UID = 0x8500_FF01
STD_HYP_REVISION = 0x8500_FF03

# UIDs are four 32-bit words returned in w0-w3.  The standard service UID
# identifies this emulator's secure-services implementation and the standard
# hypervisor UID its EL2 layer; neither claims to be another vendor's.
STD_SVC_UID_WORDS = (0x3F6F_6B21, 0x4E14_9A1C, 0x8C5B_2E07, 0x61D3_A0F4)
STD_SVC_REVISION_MAJOR, STD_SVC_REVISION_MINOR = 1, 0
STD_HYP_UID_WORDS = (0xE1A5_7E2D, 0x4C3B_B0A6, 0x9E21_6F35, 0x0B7C_D4E8)
STD_HYP_REVISION_MAJOR, STD_HYP_REVISION_MINOR = 1, 0

ARCH_NAMES = {
    SMCCC_VERSION: "SMCCC_VERSION",
    SMCCC_ARCH_FEATURES: "SMCCC_ARCH_FEATURES",
    SMCCC_ARCH_SOC_ID: "SMCCC_ARCH_SOC_ID",
    SMCCC_ARCH_WORKAROUND_1: "SMCCC_ARCH_WORKAROUND_1",
    SMCCC_ARCH_WORKAROUND_2: "SMCCC_ARCH_WORKAROUND_2",
    SMCCC_ARCH_WORKAROUND_3: "SMCCC_ARCH_WORKAROUND_3",
    STD_SVC_CALL_COUNT: "STD_SVC_CALL_COUNT",
    STD_SVC_UID: "STD_SVC_UID",
    STD_SVC_REVISION: "STD_SVC_REVISION",
    STD_HYP_CALL_COUNT: "STD_HYP_CALL_COUNT",
    STD_HYP_UID: "STD_HYP_UID",
    STD_HYP_REVISION: "STD_HYP_REVISION",
}


class FunctionId(NamedTuple):
    """A decoded SMCCC function identifier (with the SVE hint bit masked)."""

    raw: int
    value: int  # the ID used for dispatch: bits 31:0 with the SVE hint cleared
    fast: bool
    smc64: bool
    owner: int
    number: int
    sve_hint: bool

    @property
    def convention(self) -> str:
        return "SMC64" if self.smc64 else "SMC32"

    @property
    def reserved_bits_set(self) -> bool:
        return self.fast and bool(self.value & RESERVED_FAST_MASK)


_decode_cache: dict[int, FunctionId] = {}


def decode_fid(x0: int) -> FunctionId:
    """Decode w0 as a function ID.  The upper half of x0 is never part of it."""
    fid = _decode_cache.get(x0)
    if fid is None:
        w0 = x0 & MASK32
        value = w0 & ~SVE_HINT
        fid = FunctionId(
            raw=w0,
            value=value,
            fast=bool(value & FAST_CALL),
            smc64=bool(value & SMC64),
            owner=(value >> OWNER_SHIFT) & OWNER_MASK,
            number=value & 0xFFFF,
            sve_hint=bool(w0 & SVE_HINT),
        )
        if len(_decode_cache) < 65536:
            _decode_cache[x0] = fid
    return fid


def to_signed(value: int, bits: int = 64) -> int:
    """Interpret a register value as a two's complement number."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def call_args(fid: FunctionId, frame: list[int]) -> list[int]:
    """The argument registers a callee sees: w0-w7 for SMC32, x0-x17 for SMC64."""
    if fid.smc64:
        return list(frame)
    args = frame[:SMC32_REGS]
    if args and max(args) > MASK32:  # rare: a caller's upper halves are usually zero, and then masking is a copy
        return [v & MASK32 for v in args]
    return args


def apply_results(fid: FunctionId, frame: list[int], results: dict[int, int] | list[int],
                  raw: bool = False) -> list[int]:
    """Write a call's defined results into the caller's frame.

    ``results`` maps register number to value; a list gives x0, x1, ... in
    order.  Registers the call does not define keep their values (SMCCC
    1.1+).  SMC32 results are 32-bit values zero-extended to 64 bits and may
    only touch w0-w7: x8-x17 are preserved whatever the callee returned.
    ``raw`` writes every register given as 64 bits, whatever the convention.
    """
    out = list(frame)
    if raw or fid.smc64:
        mask, limit = MASK64, len(out)
    else:
        mask, limit = MASK32, SMC32_REGS
    if type(results) is list:  # x0, x1, ...: one slice (a forwarded call's 18 registers)
        results = results[:limit]
        if mask != MASK64 or results and (min(results) < 0 or max(results) > MASK64):
            results = [value & mask for value in results]  # else masking changes nothing: no loop in Python
        out[:len(results)] = results
        return out
    for reg, value in results.items():
        if reg < limit:
            out[reg] = value & mask
    return out


def version_str(word: int) -> str:
    """Format a major.minor version word (bits 30:16 and 15:0)."""
    return f"{(word >> 16) & 0x7FFF}.{word & 0xFFFF}"
