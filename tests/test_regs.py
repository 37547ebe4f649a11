"""emu.cpu.regs: batched register access on a real Unicorn AArch64 instance."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, Uc
from unicorn.arm64_const import (
    UC_ARM64_REG_SP, UC_ARM64_REG_X0, UC_ARM64_REG_X18, UC_ARM64_REG_X19, UC_ARM64_REG_X29,
    UC_ARM64_REG_X30,
)

from emu.cpu.regs import BatchRegisters, CallFrame
from emu.el2.smccc import FRAME_REGS, MASK64

X = [UC_ARM64_REG_X0 + i for i in range(29)]  # x0-x28 are contiguous IDs
# 18 distinct 64-bit values, every one with both halves non-zero
DISTINCT = [(0x0123_4567_89AB_CDEF ^ (i * 0x1111_1111_1111_1111) ^ (1 << (63 - i))) & MASK64
            for i in range(FRAME_REGS)]


@pytest.fixture
def uc() -> Uc:
    return Uc(UC_ARCH_ARM64, UC_MODE_ARM)


def test_distinct_values_are_distinct() -> None:
    assert len(set(DISTINCT)) == FRAME_REGS
    assert all(0 <= v <= MASK64 and v >> 32 for v in DISTINCT)


def test_call_frame_round_trip(uc: Uc) -> None:
    frame = CallFrame(uc)
    frame.write(DISTINCT)
    assert frame.read() == DISTINCT


def test_call_frame_write_agrees_with_reg_read(uc: Uc) -> None:
    frame = CallFrame(uc)
    frame.write(DISTINCT)
    for i, value in enumerate(DISTINCT):
        assert uc.reg_read(UC_ARM64_REG_X0 + i) == value, f"x{i}"
    # x18 is not part of the frame and stays untouched
    assert uc.reg_read(UC_ARM64_REG_X18) == 0


def test_call_frame_read_agrees_with_reg_write(uc: Uc) -> None:
    frame = CallFrame(uc)
    for i, value in enumerate(DISTINCT):
        uc.reg_write(UC_ARM64_REG_X0 + i, value)
    uc.reg_write(UC_ARM64_REG_X18, 0xFEED)
    values = frame.read()
    assert values == DISTINCT
    assert len(values) == FRAME_REGS


def test_call_frame_reads_are_fresh(uc: Uc) -> None:
    """read() returns a new list and sees later register writes."""
    frame = CallFrame(uc)
    frame.write(DISTINCT)
    first = frame.read()
    uc.reg_write(UC_ARM64_REG_X0 + 7, 7)
    second = frame.read()
    assert first == DISTINCT  # not aliased to the ctypes buffer
    assert second[7] == 7 and second[:7] == DISTINCT[:7] and second[8:] == DISTINCT[8:]


def test_call_frames_of_two_engines_are_independent() -> None:
    a, b = Uc(UC_ARCH_ARM64, UC_MODE_ARM), Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    fa, fb = CallFrame(a), CallFrame(b)
    fa.write(DISTINCT)
    fb.write(list(range(FRAME_REGS)))
    assert fa.read() == DISTINCT
    assert fb.read() == list(range(FRAME_REGS))


def test_batch_registers_of_an_arbitrary_list(uc: Uc) -> None:
    ids = [UC_ARM64_REG_X30, UC_ARM64_REG_SP, X[3], UC_ARM64_REG_X19,
           UC_ARM64_REG_X29, X[28], X[0]]
    values = [0x4000_1234, 0x4001_0000, MASK64, 1 << 63, 0xDEAD_BEEF_0000_0001, 28, 0]
    regs = BatchRegisters(uc, ids)
    regs.write(values)
    for reg, value in zip(ids, values):
        assert uc.reg_read(reg) == value
    uc.reg_write(UC_ARM64_REG_X19, 19)
    expected = list(values)
    expected[ids.index(UC_ARM64_REG_X19)] = 19
    assert regs.read() == expected


def test_batch_registers_single_register(uc: Uc) -> None:
    regs = BatchRegisters(uc, [UC_ARM64_REG_X29])
    uc.reg_write(UC_ARM64_REG_X29, 0xABCD)
    assert regs.read() == [0xABCD]
    regs.write([5])
    assert uc.reg_read(UC_ARM64_REG_X29) == 5


def test_batch_write_rejects_a_wrong_count(uc: Uc) -> None:
    frame = CallFrame(uc)
    frame.write(DISTINCT)
    with pytest.raises((ValueError, TypeError, OverflowError)):
        frame.write([0] * (FRAME_REGS + 1))  # too many values for the frame
    assert frame.read() == DISTINCT  # and nothing was written


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=MASK64), min_size=FRAME_REGS, max_size=FRAME_REGS))
def test_call_frame_round_trip_property(values: list[int]) -> None:
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    frame = CallFrame(uc)
    frame.write(values)
    assert frame.read() == values
    assert [uc.reg_read(UC_ARM64_REG_X0 + i) for i in range(FRAME_REGS)] == values
