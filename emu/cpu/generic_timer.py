"""The generic timer's two EL1 timers (virtual and physical) of one vCPU, on the cycle clock.

CNTV_* and CNTP_* (CTL, CVAL, TVAL) are served here, not by Unicorn, whose
timers follow host time: a timer's condition is met when the counter
(the cycle clock at CNTFRQ, ``counters``) reaches its compare value, and then,
enabled and unmasked, it drives its PPI: 27 for the virtual timer and 30 for
the EL1 physical one, as QEMU virt wires them (hw/arm/virt.c,
``fdt_add_timer_nodes`` and ``create_gic``).  ``next_event`` tells the vCPU's
run loop when to stop to raise the line, so interrupts arrive at the same
cycle on every run.
"""

from __future__ import annotations

from collections.abc import Callable

CTL_ENABLE, CTL_IMASK, CTL_ISTATUS = 1, 2, 4
PPI_VIRTUAL, PPI_PHYSICAL = 27, 30
CRM_PHYSICAL, CRM_VIRTUAL = 2, 3
OP2_TVAL, OP2_CTL, OP2_CVAL = 0, 1, 2
MASK64 = (1 << 64) - 1


class _Timer:
    """One EL1 timer: its PPI, CTL and compare value."""

    def __init__(self, ppi: int) -> None:
        self.ppi = ppi
        self.ctl = 0
        self.cval = 0


class GenericTimer:
    """``access(write, crm, op2, value)`` is the MRS/MSR handler; ``lines()`` the PPI levels."""

    def __init__(self, count: Callable[[], int], cycles_at: Callable[[int], int]) -> None:
        self._count = count  # the counter now, in ticks
        self._cycles_at = cycles_at  # the first clock cycle at which the counter reaches a tick count
        self._timers = {CRM_VIRTUAL: _Timer(PPI_VIRTUAL), CRM_PHYSICAL: _Timer(PPI_PHYSICAL)}
        # Called after a write: the next event may have moved (the vCPU's run loop stops at it).
        self.changed: Callable[[], None] = lambda: None

    def access(self, write: int, crm: int, op2: int, value: int) -> int:
        timer = self._timers[crm]
        now = self._count()
        if write:
            if op2 == OP2_CTL:
                timer.ctl = value & (CTL_ENABLE | CTL_IMASK)
            elif op2 == OP2_CVAL:
                timer.cval = value & MASK64
            else:  # TVAL: a signed 32-bit offset from now
                timer.cval = (now + (value & 0xFFFF_FFFF) - ((value & 0x8000_0000) << 1)) & MASK64
            self.changed()
            return 0
        if op2 == OP2_CTL:
            return timer.ctl | (CTL_ISTATUS if now >= timer.cval else 0)
        if op2 == OP2_CVAL:
            return timer.cval
        return (timer.cval - now) & 0xFFFF_FFFF

    def lines(self) -> list[tuple[int, bool]]:
        """(PPI, level) of each timer now: asserted while enabled, unmasked and met."""
        now = self._count()
        return [(t.ppi, t.ctl & (CTL_ENABLE | CTL_IMASK) == CTL_ENABLE and now >= t.cval)
                for t in self._timers.values()]

    def next_event(self) -> int | None:
        """The clock cycle at which an enabled, unmasked timer that is not yet met fires (None: none will)."""
        now = self._count()
        events = [self._cycles_at(t.cval) for t in self._timers.values()
                  if t.ctl & (CTL_ENABLE | CTL_IMASK) == CTL_ENABLE and t.cval > now]
        return min(events, default=None)
