"""CNTVCT_EL0, CNTPCT_EL0 and PMCCNTR_EL0 read from the machine's cycle clock; the timers' registers.

Unicorn's counters follow host time, so two runs of a guest that reads the
time would differ.  Here every MRS of a counter is served from the cycle
clock: the generic timer runs at ``CNTFRQ_HZ`` and the core at the cost
model's clock, so ticks = cycles * CNTFRQ_HZ / core_hz.  A tight polling loop
on the counter (a delay loop) skips time ahead, as a descheduled vCPU would
see it: see ``native/counters.c``, whose logic ``_PythonCounters`` repeats
for runs without the native library.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

from unicorn import UC_HOOK_INSN, Uc
from unicorn.arm64_const import UC_ARM64_INS_MRS, UC_ARM64_INS_MSR, UC_ARM64_REG_PC
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpu import nativelib
from emu.cpu.blockcost import Clock
from emu.cpu.generic_timer import GenericTimer

CNTFRQ_HZ = 62_500_000  # QEMU virt's generic timer (and what Unicorn's CNTFRQ_EL0 reads)
CNTFRQ_EL0 = (3, 3, 14, 0, 0)
POLL_WINDOW = 512
POLL_THRESHOLD = 32
SKIP_MAX_SECONDS = 0.001


class _State(ctypes.Structure):
    _fields_ = [
        ("clock", ctypes.c_void_p), ("ticks_per_256", ctypes.c_uint64), ("skip_max", ctypes.c_uint64),
        ("skipped", ctypes.c_uint64), ("poll_pc", ctypes.c_uint64), ("poll_clock", ctypes.c_uint64),
        ("skip", ctypes.c_uint64), ("poll_count", ctypes.c_uint32), ("pc_reg", ctypes.c_int),
        ("reg_write", ctypes.c_void_p), ("reg_read", ctypes.c_void_p), ("timer", ctypes.c_void_p),
        ("isr", ctypes.c_void_p),
    ]


_TIMER_CB = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint64)
_ISR_CB = ctypes.CFUNCTYPE(ctypes.c_uint64)
ISR_EL1 = (3, 0, 12, 1, 0)


def ticks_per_256(core_hz: int) -> int:
    ratio = CNTFRQ_HZ * 256 / core_hz
    if ratio != int(ratio) or ratio < 1:
        raise ValueError(f"core clock {core_hz} Hz must be a multiple of {CNTFRQ_HZ} Hz / 256")
    return int(ratio)


class CounterHook:
    """Serves counter and timer register accesses for one engine.

    ``timer`` is the vCPU's generic timer; ``skipped`` is the time its polling
    loops skipped.
    """

    def __init__(self, uc: Uc, clock: Clock, core_hz: int, native: bool) -> None:
        uc.cpr_write(*CNTFRQ_EL0, CNTFRQ_HZ)
        per_256 = ticks_per_256(core_hz)
        self._state = _State(clock=clock.address, ticks_per_256=per_256,
                             skip_max=int(core_hz * SKIP_MAX_SECONDS), pc_reg=UC_ARM64_REG_PC)
        self._clock = clock
        self.timer = GenericTimer(lambda: clock.now * per_256 // 256, lambda ticks: -(-ticks * 256 // per_256))
        self._timer_cb = _TIMER_CB(self.timer.access)  # C holds the pointer: keep it alive
        self._state.timer = ctypes.cast(self._timer_cb, ctypes.c_void_p)
        # ISR_EL1's value: the platform's interrupt controller sets it (bit 7 I, bit 6 F).
        self.isr: Callable[[], int] = lambda: 0
        self._isr_cb = _ISR_CB(lambda: self.isr())
        self._state.isr = ctypes.cast(self._isr_cb, ctypes.c_void_p)
        lib = nativelib.load() if native else None
        if lib is not None:
            self._state.reg_write = ctypes.cast(uclib.uc_reg_write, ctypes.c_void_p)
            self._state.reg_read = ctypes.cast(uclib.uc_reg_read, ctypes.c_void_p)
            for hook, insn in ((lib.ct_mrs_hook, UC_ARM64_INS_MRS), (lib.ct_msr_hook, UC_ARM64_INS_MSR)):
                handle = ctypes.c_size_t()
                status = uclib.uc_hook_add(uc._uch, ctypes.byref(handle), UC_HOOK_INSN,
                                           ctypes.cast(hook, ctypes.c_void_p), ctypes.byref(self._state),
                                           ctypes.c_uint64(1), ctypes.c_uint64(0), ctypes.c_int(insn))
                if status:
                    raise RuntimeError(f"uc_hook_add(MRS/MSR) failed with status {status}")
        else:
            uc.hook_add(UC_HOOK_INSN, self._py_mrs, None, 1, 0, UC_ARM64_INS_MRS)
            uc.hook_add(UC_HOOK_INSN, self._py_msr, None, 1, 0, UC_ARM64_INS_MSR)

    @property
    def skipped(self) -> int:
        return self._state.skipped

    def _py_msr(self, _uc: Uc, _reg: int, cp, _data: object) -> bool:
        if not _is_timer(cp):
            return False
        self.timer.access(1, cp.crm, cp.op2, cp.val)
        return True

    def _py_mrs(self, uc: Uc, reg: int, cp, _data: object) -> bool:
        if (cp.op0, cp.op1, cp.crn, cp.crm, cp.op2) == ISR_EL1:
            uc.reg_write(reg, self.isr())
            return True
        if cp.op0 != 3 or cp.op1 != 3:
            return False
        if _is_timer(cp):
            value = self.timer.access(0, cp.crm, cp.op2, 0)
        elif cp.crn == 14 and cp.crm == 0 and cp.op2 in (1, 2):
            value = self._now(uc) * self._state.ticks_per_256 // 256
        elif cp.crn == 9 and cp.crm == 13 and cp.op2 == 0:
            value = self._now(uc)
        else:
            return False
        uc.reg_write(reg, value)
        return True

    def _now(self, uc: Uc) -> int:
        s, pc, now = self._state, uc.reg_read(UC_ARM64_REG_PC), self._clock.now
        if pc == s.poll_pc and now - s.poll_clock < POLL_WINDOW:
            s.poll_count += 1
            if s.poll_count >= POLL_THRESHOLD:
                s.skip = min(s.skip * 2 if s.skip else POLL_WINDOW, s.skip_max)
                now = self._clock.advance(s.skip)
                s.skipped += s.skip
        else:
            s.poll_count = 0
            s.skip = 0
        s.poll_pc = pc
        s.poll_clock = now
        return now


def _is_timer(cp) -> bool:  # noqa: ANN001 - Unicorn's CpReg tuple
    return cp.op0 == 3 and cp.op1 == 3 and cp.crn == 14 and cp.crm in (2, 3) and cp.op2 <= 2
