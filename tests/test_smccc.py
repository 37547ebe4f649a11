"""Unit tests of emu.el2.smccc: function ID decoding and the SMCCC 1.2 register rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emu.el2 import smccc
from emu.el2.smccc import MASK32, MASK64, apply_results, call_args, decode_fid, to_signed, version_str

REG = st.integers(min_value=0, max_value=MASK64)
FRAME = st.lists(REG, min_size=smccc.FRAME_REGS, max_size=smccc.FRAME_REGS)
# Results a (possibly misbehaving) callee may return: any register x0-x17, any
# Python int including negative and over-wide values.
RESULTS = st.dictionaries(st.integers(min_value=0, max_value=smccc.FRAME_REGS - 1),
                          st.integers(min_value=-(1 << 70), max_value=1 << 70))
SMC32_FID = st.integers(min_value=0, max_value=MASK64).map(lambda x: x & ~smccc.SMC64)


def frame_pattern() -> list[int]:
    """x0-x17 all distinct, all with non-zero upper halves."""
    return [0xA5A5_0000_0000_0000 | (i << 32) | (0x1000 + i) for i in range(smccc.FRAME_REGS)]


# -- decode_fid ---------------------------------------------------------------

@pytest.mark.parametrize(
    "x0, fast, smc64, owner, number",
    [
        (0x8000_0000, True, False, smccc.Owner.ARCH, 0x0000),  # SMCCC_VERSION
        (0x8000_8000, True, False, smccc.Owner.ARCH, 0x8000),  # SMCCC_ARCH_WORKAROUND_1
        (0x8400_0008, True, False, smccc.Owner.STANDARD, 0x0008),  # PSCI_SYSTEM_OFF
        (0x8400_FF00, True, False, smccc.Owner.STANDARD, 0xFF00),  # STD_SVC_CALL_COUNT
        (0x8500_FF01, True, False, smccc.Owner.STANDARD_HYP, 0xFF01),
        (0xC400_0150, True, True, smccc.Owner.STANDARD, 0x0150),  # RMI_VERSION (SMC64)
        (0xC200_1234, True, True, smccc.Owner.SIP, 0x1234),
        (0x8700_0001, True, False, smccc.Owner.VENDOR_EL3, 0x0001),
        (0xBF00_0001, True, False, 0x3F, 0x0001),  # owner field is 6 bits wide
        (0x0100_0000, False, False, smccc.Owner.CPU, 0x0000),  # yielding call
        (0x4300_0042, False, True, smccc.Owner.OEM, 0x0042),  # yielding SMC64
    ],
)
def test_decode_fid_fields(x0: int, fast: bool, smc64: bool, owner: int, number: int) -> None:
    fid = decode_fid(x0)
    assert fid.raw == x0
    assert fid.value == x0
    assert fid.fast is fast
    assert fid.smc64 is smc64
    assert fid.owner == owner
    assert fid.number == number
    assert fid.sve_hint is False
    assert fid.convention == ("SMC64" if smc64 else "SMC32")


def test_decode_fid_masks_sve_hint() -> None:
    fid = decode_fid(smccc.SMCCC_VERSION | smccc.SVE_HINT)
    assert fid.sve_hint is True
    assert fid.raw == smccc.SMCCC_VERSION | smccc.SVE_HINT
    assert fid.value == smccc.SMCCC_VERSION
    assert fid.number == 0
    assert not fid.reserved_bits_set  # bit 16 is the hint, not a reserved bit
    plain = decode_fid(smccc.SMCCC_VERSION)
    assert (fid.fast, fid.smc64, fid.owner, fid.number) == (plain.fast, plain.smc64, plain.owner, plain.number)


@pytest.mark.parametrize("bit", range(17, 24))
def test_decode_fid_reserved_bits_of_fast_calls(bit: int) -> None:
    fid = decode_fid(smccc.SMCCC_VERSION | 1 << bit)
    assert fid.reserved_bits_set
    assert fid.value == smccc.SMCCC_VERSION | 1 << bit  # kept in the value: dispatch must not match it
    assert fid.number == 0
    assert fid.owner == smccc.Owner.ARCH


def test_reserved_bits_only_matter_for_fast_calls() -> None:
    assert not decode_fid(0x0100_0000 | 0x00FE_0000).reserved_bits_set
    assert not decode_fid(smccc.SMCCC_VERSION).reserved_bits_set


@pytest.mark.parametrize("upper", [0x1, 0xDEAD_BEEF, 0xFFFF_FFFF, 0x8000_0000])
def test_decode_fid_ignores_upper_half_of_x0(upper: int) -> None:
    for w0 in (smccc.SMCCC_VERSION, 0xC400_0150, 0x0100_0000, smccc.SMCCC_VERSION | smccc.SVE_HINT):
        fid = decode_fid(upper << 32 | w0)
        assert fid == decode_fid(w0)
        assert fid.raw == w0


@given(st.integers(min_value=0, max_value=MASK64))
def test_decode_fid_is_a_function_of_w0(x0: int) -> None:
    fid = decode_fid(x0)
    w0 = x0 & MASK32
    assert fid.raw == w0
    assert fid.value == w0 & ~smccc.SVE_HINT
    assert fid.fast == bool(w0 >> 31)
    assert fid.smc64 == bool(w0 >> 30 & 1)
    assert fid.owner == w0 >> 24 & 0x3F
    assert fid.number == w0 & 0xFFFF
    assert fid.sve_hint == bool(w0 >> 16 & 1)


# -- call_args ----------------------------------------------------------------

def test_call_args_smc32_sees_w0_to_w7() -> None:
    frame = frame_pattern()
    args = call_args(decode_fid(smccc.SMCCC_ARCH_FEATURES), frame)
    assert args == [v & MASK32 for v in frame[:8]]
    assert len(args) == smccc.SMC32_REGS
    assert all(v >> 32 == 0 for v in args)


def test_call_args_smc64_sees_x0_to_x17() -> None:
    frame = frame_pattern()
    args = call_args(decode_fid(0xC400_0150), frame)
    assert args == frame
    assert len(args) == smccc.FRAME_REGS
    assert args is not frame  # a copy: a callee cannot edit the caller's frame


# -- apply_results ------------------------------------------------------------

def test_apply_results_smc32_masks_and_zero_extends() -> None:
    frame = frame_pattern()
    out = apply_results(decode_fid(smccc.SMCCC_VERSION), frame,
                        {0: 0xFFFF_FFFF_0001_0002, 1: -1, 3: smccc.NOT_SUPPORTED})
    assert out[0] == 0x0001_0002
    assert out[1] == 0xFFFF_FFFF
    assert out[3] == 0xFFFF_FFFF  # -1 as a 32-bit status, zero-extended
    # undefined registers keep their values, upper halves included
    assert out[2] == frame[2]
    assert out[4:] == frame[4:]
    assert frame == frame_pattern()  # the input is not modified


def test_apply_results_smc32_preserves_x8_to_x17_even_if_named() -> None:
    frame = frame_pattern()
    results = {reg: 0x1234 for reg in range(smccc.FRAME_REGS)}
    out = apply_results(decode_fid(0x8200_0001), frame, results)
    assert out[:8] == [0x1234] * 8
    assert out[8:] == frame[8:]


def test_apply_results_smc64_writes_x0_to_x17() -> None:
    frame = frame_pattern()
    results = {reg: (reg + 1) << 40 | 0xBEEF for reg in range(smccc.FRAME_REGS)}
    results[5] = -2
    out = apply_results(decode_fid(0xC400_0150), frame, results)
    assert out[5] == MASK64 - 1
    assert out == [results[reg] & MASK64 for reg in range(smccc.FRAME_REGS)]


def test_apply_results_smc64_preserves_undefined_registers() -> None:
    frame = frame_pattern()
    out = apply_results(decode_fid(0xC400_0150), frame, {0: 0, 17: 1 << 63})
    assert out[0] == 0 and out[17] == 1 << 63
    assert out[1:17] == frame[1:17]


def test_apply_results_empty() -> None:
    frame = frame_pattern()
    assert apply_results(decode_fid(smccc.SMCCC_VERSION), frame, {}) == frame
    assert apply_results(decode_fid(0xC400_0150), frame, {}) == frame


def test_apply_results_list_is_x0_onwards() -> None:
    frame = frame_pattern()
    as_dict = {0: 0xFFFF_FFFF_0001_0002, 1: -1, 2: 7}
    for x0 in (smccc.SMCCC_VERSION, 0xC400_0150):
        fid = decode_fid(x0)
        assert apply_results(fid, frame, list(as_dict.values())) == apply_results(fid, frame, as_dict)
    wide = list(range(1, smccc.FRAME_REGS + 1))
    assert apply_results(decode_fid(0x8200_0001), frame, wide) == wide[:8] + frame[8:]


def test_apply_results_raw_writes_every_register_as_64_bits() -> None:
    frame = frame_pattern()
    results = {0: -1, 12: 1 << 40}
    out = apply_results(decode_fid(smccc.SMCCC_VERSION), frame, results, raw=True)
    assert out[0] == MASK64 and out[12] == 1 << 40
    assert out[1:12] == frame[1:12] and out[13:] == frame[13:]
    assert apply_results(decode_fid(smccc.SMCCC_VERSION), frame, [-1] * 18, raw=True) == [MASK64] * 18


@given(fid_x0=SMC32_FID, frame=FRAME, results=RESULTS)
def test_smc32_apply_results_property(fid_x0: int, frame: list[int], results: dict[int, int]) -> None:
    fid = decode_fid(fid_x0)
    assert not fid.smc64
    out = apply_results(fid, frame, results)
    assert len(out) == smccc.FRAME_REGS
    assert out[8:] == frame[8:]  # x8-x17 never change for SMC32
    for reg in range(8):
        if reg in results:
            assert out[reg] >> 32 == 0  # written results are zero-extended 32-bit values
            assert out[reg] == results[reg] & MASK32
        else:
            assert out[reg] == frame[reg]


@given(frame=FRAME, results=RESULTS)
def test_smc64_apply_results_property(frame: list[int], results: dict[int, int]) -> None:
    out = apply_results(decode_fid(0xC000_0000), frame, results)
    for reg in range(smccc.FRAME_REGS):
        assert out[reg] == (results[reg] & MASK64 if reg in results else frame[reg])
        assert 0 <= out[reg] <= MASK64


# -- helpers ------------------------------------------------------------------

@pytest.mark.parametrize(
    "value, bits, expected",
    [
        (0, 64, 0),
        (MASK64, 64, -1),
        (1 << 63, 64, -(1 << 63)),
        ((1 << 63) - 1, 64, (1 << 63) - 1),
        (0xFFFF_FFFF, 32, -1),
        (0xFFFF_FFFD, 32, -3),
        (0x7FFF_FFFF, 32, 0x7FFF_FFFF),
        (0xDEAD_BEEF_FFFF_FFFE, 32, -2),  # bits above the width are ignored
        (0xFFFF_FFFF, 64, 0xFFFF_FFFF),
    ],
)
def test_to_signed(value: int, bits: int, expected: int) -> None:
    assert to_signed(value, bits) == expected


@pytest.mark.parametrize("word, text", [(smccc.SMCCC_VERSION_1_2, "1.2"), (0x0001_0001, "1.1"), (0, "0.0"),
                                        (0x7FFF_FFFF, "32767.65535"), (0x8001_0000, "1.0"), (0x000A_0003, "10.3")])
def test_version_str(word: int, text: str) -> None:
    assert version_str(word) == text
