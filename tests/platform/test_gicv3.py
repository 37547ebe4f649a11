"""emu.platform.gicv3 and emu.cpu.generic_timer as the GICv3 architecture (IHI 0069) and the Arm ARM define them."""

from __future__ import annotations

from emu.cpu.generic_timer import CRM_VIRTUAL, CTL_ENABLE, CTL_IMASK, CTL_ISTATUS, OP2_CTL, OP2_CVAL, OP2_TVAL, \
    PPI_VIRTUAL, GenericTimer
from emu.platform.gicv3 import (
    GICR_STRIDE, GICR_TYPER, ICENABLER, ICFGR, IPRIORITYR, ISENABLER, SGI_FRAME, SPURIOUS, TYPER, WAKER, GicV3, icc_read,
    icc_write,
)


def enabled_gic(cpus: int = 1) -> GicV3:
    gic = GicV3(list(range(cpus)))
    gic.dist_write(0, 4, 0x12)  # ARE, EnableGrp1
    for cpu in range(cpus):
        gic.redist_write(cpu * GICR_STRIDE + SGI_FRAME + 0x80, 4, 0xFFFF_FFFF)  # group 1
        icc_write(gic, cpu, "PMR", 0xFF)
        icc_write(gic, cpu, "IGRPEN1", 1)
    return gic


def test_identification_and_wake() -> None:
    gic = GicV3([0, 1])
    assert gic.dist_read(0xFFE8, 4) >> 4 == 3  # PIDR2.ArchRev: GICv3
    assert gic.dist_read(TYPER, 4) & 0x1F == 288 // 32 - 1  # ITLinesNumber
    assert gic.redist_read(GICR_STRIDE + GICR_TYPER, 8) >> 4 & 1 == 1  # the last redistributor says so
    assert gic.redist_read(GICR_TYPER, 8) >> 4 & 1 == 0
    assert gic.redist_read(GICR_STRIDE + GICR_TYPER + 4, 4) == 1  # Aff0 of the second vCPU
    gic.redist_write(WAKER, 4, 0)
    assert gic.redist_read(WAKER, 4) == 0  # ProcessorSleep cleared -> ChildrenAsleep cleared


def test_priority_order_ack_eoi_and_running_priority() -> None:
    gic = enabled_gic()
    sgi = SGI_FRAME
    gic.redist_write(sgi + IPRIORITYR, 4, 0xA0 << 16 | 0x80 << 8)  # SGI1 at 0x80, SGI2 at 0xa0
    gic.redist_write(sgi + ISENABLER, 4, 0b110)
    gic.send_sgi(2, [0])
    gic.send_sgi(1, [0])
    assert icc_read(gic, 0, "HPPIR1") == 1  # the higher priority (lower value) first
    assert icc_read(gic, 0, "IAR1") == 1
    assert icc_read(gic, 0, "RPR") == 0x80
    assert icc_read(gic, 0, "IAR1") == SPURIOUS  # SGI2 at 0xa0 does not preempt 0x80
    icc_write(gic, 0, "EOIR1", 1)
    assert icc_read(gic, 0, "RPR") == 0xFF
    assert icc_read(gic, 0, "IAR1") == 2


def test_pmr_and_disable_mask() -> None:
    gic = enabled_gic()
    gic.redist_write(SGI_FRAME + IPRIORITYR, 4, 0x80)
    gic.redist_write(SGI_FRAME + ISENABLER, 4, 1)
    gic.send_sgi(0, [0])
    icc_write(gic, 0, "PMR", 0x80)  # only priorities strictly higher than the mask are signalled
    assert not gic.pending_irq(0)
    icc_write(gic, 0, "PMR", 0xF8)
    assert gic.pending_irq(0)
    gic.redist_write(SGI_FRAME + ICENABLER, 4, 1)
    assert not gic.pending_irq(0)
    assert icc_read(gic, 0, "PMR") == 0xF8 and gic.dist_read(0, 4) & 1 << 6  # 5 priority bits; DS reads 1


def test_sgi_targets_other_cpu_and_spi_routing() -> None:
    gic = enabled_gic(2)
    gic.redist_write(GICR_STRIDE + SGI_FRAME + ISENABLER, 4, 1 << 5)
    icc_write(gic, 0, "SGI1R", 5 << 24 | 0b10)  # TargetList: CPU with Aff0 = 1
    assert gic.pending_irq(1) and not gic.pending_irq(0)
    gic.dist_write(ISENABLER + 4, 4, 1 << 1)  # SPI 33
    gic.dist_write(0x80 + 4, 4, 1 << 1)
    gic.dist_write(0x6000 + 8 * 33, 8, 1)  # routed to CPU Aff0 = 1
    gic.dist_write(ICFGR + 8, 4, 0)  # level
    gic.set_level(33, 0, True)
    assert icc_read(gic, 1, "HPPIR1") in (5, 33)
    assert icc_read(gic, 0, "HPPIR1") == SPURIOUS


def test_virtual_timer_condition_and_tval() -> None:
    now = [1000]
    timer = GenericTimer(lambda: now[0], lambda ticks: ticks * 32)
    timer.access(1, CRM_VIRTUAL, OP2_TVAL, 500)
    assert timer.access(0, CRM_VIRTUAL, OP2_CVAL, 0) == 1500
    timer.access(1, CRM_VIRTUAL, OP2_CTL, CTL_ENABLE)
    assert timer.next_event() == 1500 * 32 and timer.lines() == [(PPI_VIRTUAL, False), (30, False)]
    now[0] = 1500
    assert timer.access(0, CRM_VIRTUAL, OP2_CTL, 0) == CTL_ENABLE | CTL_ISTATUS
    assert (PPI_VIRTUAL, True) in timer.lines()
    timer.access(1, CRM_VIRTUAL, OP2_CTL, CTL_ENABLE | CTL_IMASK)
    assert (PPI_VIRTUAL, False) in timer.lines()
    assert timer.access(0, CRM_VIRTUAL, OP2_TVAL, 0) == 0  # met: TVAL counts down through zero
    timer.access(1, CRM_VIRTUAL, OP2_TVAL, 0xFFFF_FFFF)  # -1: a signed offset
    assert timer.access(0, CRM_VIRTUAL, OP2_CVAL, 0) == 1499
