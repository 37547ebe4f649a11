"""Running a vCPU with interrupts: the generic timer and the GIC between Unicorn runs.

Unicorn has no interrupt input, so interrupts are taken at block boundaries,
deterministically: the engine is stopped at the cycle a timer fires (its
deadline is part of the run's budget), the timer's line is raised at the
GIC, and when the GIC signals an IRQ and PSTATE.I is clear the vCPU enters
its IRQ vector.  An interrupt that is pending while the guest masks IRQs is
taken at the first block boundary where PSTATE.I is clear (Unicorn reports
no write to DAIF, but QEMU ends a translation block after one, so the
interrupt is taken right after the instruction that unmasks it, as on QEMU):
the block hook looks at PSTATE.I before each block meanwhile, and stops the
engine there (``Engine.run(until_unmasked=True)``).
WFI returns control here: the vCPU sleeps until its next timer event by
advancing the clock (an idle guest costs no host CPU), wakes at once for a
pending interrupt, and is reported hung when nothing can wake it.
"""

from __future__ import annotations

from collections.abc import Callable

from emu.cpu.engine import Engine, StopKind
from emu.cpu.exceptions import VECTOR_IRQ, irqs_masked, take_exception
from emu.cpu.generic_timer import GenericTimer
from emu.platform.gicv3 import ICC_REGISTERS, GicV3, icc_read, icc_write

ISR_I = 1 << 7


class InterruptingVcpu:
    """One vCPU (``cpu`` index into the GIC) whose engine runs under ``run``."""

    def __init__(self, engine: Engine, gic: GicV3, cpu: int, timer: GenericTimer, clock_now: Callable[[], int],
                 advance_clock: Callable[[int], int], device_lines: list[tuple[int, Callable[[], bool]]],
                 powered: bool = True) -> None:
        self.engine = engine
        self.gic = gic
        self.cpu = cpu
        self.timer = timer
        self.clock_now = clock_now
        self.advance_clock = advance_clock
        self.device_lines = device_lines  # (SPI INTID, its level)
        self.powered = powered  # PSCI: on, or off (a secondary before CPU_ON, or after CPU_OFF)
        self.waiting = False  # in WFI
        self.engine.platform_sysreg = self._icc
        self.engine.timer.isr = lambda: ISR_I if self.gic.pending_irq(self.cpu) else 0
        self.timer.changed = self.recheck  # a timer armed while running fires at its cycle, not at the next stop

    def recheck(self) -> None:
        """The GIC's state changed under a running vCPU: stop at the next block to look for an IRQ."""
        self.engine.counter.stop_at = min(self.engine.counter.stop_at, self.clock_now())

    def power_on(self, entry: int, context: int) -> None:
        """PSCI CPU_ON: start at ``entry`` with ``context`` in x0, EL1h, MMU off (DEN0022 6.4)."""
        self.engine.reset(entry, x0=context)
        self.powered, self.waiting = True, False

    def power_off(self) -> None:
        self.powered = False
        self.engine.request_stop()

    def can_wake(self) -> bool:
        """A waiting vCPU has an interrupt signalled (PSTATE.I aside) or a timer event ahead."""
        return self.gic.pending_irq(self.cpu) or self.timer.next_event() is not None

    def _icc(self, encoding: tuple[int, int, int, int, int], value: int | None) -> int | None:
        name = ICC_REGISTERS.get(encoding)
        if name is None:
            return None
        if value is None:
            return icc_read(self.gic, self.cpu, name)
        icc_write(self.gic, self.cpu, name, value)
        self.recheck()  # a new mask, an EOI or an SGI may let an interrupt in
        return 0

    def sample_lines(self) -> None:
        """Drive this vCPU's timer PPIs and the devices' SPIs into the GIC as they are now."""
        for ppi, level in self.timer.lines():
            self.gic.set_level(ppi, self.cpu, level)
        for intid, level in self.device_lines:
            self.gic.set_level(intid, self.cpu, level())

    def _deliver(self) -> bool:
        """Take a signalled IRQ now if PSTATE allows; True if one is signalled but masked."""
        if not self.gic.pending_irq(self.cpu):
            return False
        uc = self.engine.uc
        if irqs_masked(uc):
            return True
        self.engine.pc = take_exception(uc, None, self.engine.pc, kind=VECTOR_IRQ)
        self.waiting = False
        return False

    def run(self, deadline: int) -> StopKind:
        """Run until ``deadline`` on the machine clock or a stop the caller must see."""
        while True:
            masked_pending = self._deliver()
            if self.waiting:
                if masked_pending or self.gic.pending_irq(self.cpu):
                    self.waiting = False  # WFI wakes for a pending interrupt even with PSTATE.I set
                else:
                    wake = self.timer.next_event()
                    if wake is None:
                        return StopKind.IDLE
                    self.advance_clock(min(wake, deadline) - self.clock_now())
                    if wake > deadline:
                        return StopKind.BUDGET
                    continue
            stop = deadline
            event = self.timer.next_event()
            if event is not None:
                stop = min(stop, event)
            kind = self.engine.run(stop, until_unmasked=masked_pending)
            if kind is StopKind.BUDGET and self.clock_now() < deadline:
                continue  # a timer event or a recheck, not the caller's deadline
            if kind is StopKind.IDLE:
                self.waiting = True
                continue
            return kind
