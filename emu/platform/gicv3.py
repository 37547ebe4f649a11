"""GICv3 at QEMU virt's addresses: distributor, one redistributor per vCPU, the ICC_* CPU interface.

Registers and their reset values follow the GICv3 architecture (Arm IHI 0069)
and QEMU's model of it (hw/intc/arm_gicv3_dist.c, arm_gicv3_redist.c,
arm_gicv3_cpuif.c) as a non-secure guest sees it: security disabled from the
guest's point of view (GICD_CTLR.DS reads 1), affinity routing on, no LPIs,
no ITS.  Every interrupt a guest configures is level or edge; the generic
timer drives its PPIs as level-sensitive lines (``set_level``).  Group 1
interrupts are IRQs and group 0 ones FIQs.

The model answers three questions for the CPU side: is an interrupt
deliverable to a vCPU (``pending_irq``), which one does an acknowledge take
(``acknowledge``), and what does an EOI drop (``end_of_interrupt``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain

GICD_BASE, GICD_SIZE = 0x0800_0000, 0x1_0000
GICR_BASE, GICR_STRIDE = 0x080A_0000, 0x2_0000
SGI_FRAME = 0x1_0000
NUM_IRQS = 288  # QEMU virt: 256 SPIs + the 32 SGIs and PPIs
SPURIOUS = 1023
IDLE_PRIORITY = 0xFF
PRIORITY_BITS = 5  # the Cortex-A72's CPU interface (QEMU's gicv3 pribits for it)
PRIORITY_MASK = (0xFF << (8 - PRIORITY_BITS)) & 0xFF

# Distributor and redistributor register offsets
CTLR, TYPER, IIDR, STATUSR, WAKER = 0x0000, 0x0004, 0x0008, 0x0010, 0x0014
IGROUPR, ISENABLER, ICENABLER, ISPENDR, ICPENDR = 0x0080, 0x0100, 0x0180, 0x0200, 0x0280
ISACTIVER, ICACTIVER, IPRIORITYR, ICFGR, IGRPMODR = 0x0300, 0x0380, 0x0400, 0x0C00, 0x0D00
IROUTER = 0x6000
GICD_CTLR_DS = 1 << 6
GICD_CTLR_RW_BITS = 0x13  # EnableGrp0, EnableGrp1, ARE
GICR_WAKER_PROCESSOR_SLEEP, GICR_WAKER_CHILDREN_ASLEEP = 1 << 1, 1 << 2
# Peripheral and component ID registers, 0xFFD0-0xFFFC: GICv3 (PIDR2.ArchRev = 3), QEMU's values
ID_BASE = 0xFFD0
ID_BYTES = (0x44, 0x00, 0x00, 0x00, 0x92, 0xB4, 0x3B, 0x00, 0x0D, 0xF0, 0x05, 0xB1)
IIDR_VALUE = 0x43B  # implementer Arm, as QEMU's GICD_IIDR and GICR_IIDR read
GICR_IIDR, GICR_TYPER = 0x0004, 0x0008  # the redistributor's layout differs from the distributor's


class _Irq:
    """One interrupt's state (an SPI, or a CPU's banked SGI or PPI)."""

    def __init__(self, edge: bool = False) -> None:
        self.enabled = False
        self.pending = False  # latched (edge, or written through ISPENDR)
        self.level = False  # the input line of a level-sensitive interrupt
        self.active = False
        self.priority = 0
        self.group1 = False
        self.edge = edge
        self.route = 0  # IROUTER affinity of an SPI

    @property
    def asserted(self) -> bool:
        return self.pending or (self.level and not self.edge)


class CpuInterface:
    """One vCPU's ICC_* state and its redistributor's SGIs and PPIs."""

    def __init__(self, index: int, affinity: int) -> None:
        self.index = index
        self.affinity = affinity
        self.banked = [_Irq(edge=i < 16) for i in range(32)]
        self.waker = GICR_WAKER_PROCESSOR_SLEEP | GICR_WAKER_CHILDREN_ASLEEP
        self.pmr = 0
        self.bpr1 = 3  # the minimum with 5 priority bits (8 - PRIbits), QEMU's reset value
        self.ctlr = 0
        self.sre = 0x7  # SRE, DFB, DIB: the system register interface is always on (as QEMU)
        self.igrpen0 = False
        self.igrpen1 = False
        self.active_stack: list[tuple[int, int]] = []  # (intid, priority), preemption order

    @property
    def running_priority(self) -> int:
        return self.active_stack[-1][1] if self.active_stack else IDLE_PRIORITY


class GicV3:
    """The interrupt controller of one VM, shared by its vCPUs."""

    def __init__(self, affinities: list[int]) -> None:
        self.cpus = [CpuInterface(i, aff) for i, aff in enumerate(affinities)]
        self.spis = [_Irq() for _ in range(NUM_IRQS - 32)]
        self.ctlr = GICD_CTLR_DS
        self.sample_lines: Callable[[], None] = lambda: None  # brings level inputs (timers, devices) up to date

    # -- interrupt lines and state --------------------------------------------------------
    def irq(self, intid: int, cpu: int) -> _Irq | None:
        if intid < 32:
            return self.cpus[cpu].banked[intid]
        return self.spis[intid - 32] if intid < NUM_IRQS else None

    def set_level(self, intid: int, cpu: int, level: bool) -> None:
        """Drive a level-sensitive line (a timer's PPI, a device's SPI)."""
        irq = self.irq(intid, cpu)
        if irq is not None:
            irq.level = level

    def send_sgi(self, intid: int, targets: list[int]) -> None:
        for cpu in targets:
            self.cpus[cpu].banked[intid].pending = True

    def _candidates(self, cpu: int, group1: bool) -> Iterator[tuple[int, _Irq]]:
        """The vCPU's enabled, asserted, inactive interrupts of a group, by INTID (the SPIs routed to it).

        Asked at every block boundary where an interrupt could be taken: the cheap test (enabled, which most
        of the 256 SPIs are not) comes first."""
        affinity = self.cpus[cpu].affinity
        for intid, irq in chain(enumerate(self.cpus[cpu].banked), enumerate(self.spis, 32)):
            if irq.enabled and irq.asserted and not irq.active and irq.group1 == group1 \
                    and (intid < 32 or irq.route & 0xFF_FFFF == affinity):
                yield intid, irq

    def highest_pending(self, cpu: int, group1: bool = True) -> tuple[int, int]:
        """(intid, priority) of the highest-priority pending, enabled, inactive interrupt of a group."""
        best, best_priority = SPURIOUS, IDLE_PRIORITY + 1
        enabled_group = self.ctlr & (2 if group1 else 1)
        if not enabled_group:
            return SPURIOUS, IDLE_PRIORITY
        for intid, irq in self._candidates(cpu, group1):
            priority = irq.priority & PRIORITY_MASK
            if priority < best_priority:
                best, best_priority = intid, priority
        return (best, best_priority) if best != SPURIOUS else (SPURIOUS, IDLE_PRIORITY)

    def pending_irq(self, cpu: int) -> bool:
        """Would an IRQ be signalled to this vCPU (PSTATE.I aside)?"""
        self.sample_lines()
        c = self.cpus[cpu]
        if not c.igrpen1:
            return False
        _intid, priority = self.highest_pending(cpu)
        return priority < (c.pmr & PRIORITY_MASK or 0x100) and priority < c.running_priority \
            and priority != IDLE_PRIORITY

    def acknowledge(self, cpu: int) -> int:
        """ICC_IAR1_EL1: the interrupt taken, now active; 1023 when none may be."""
        if not self.pending_irq(cpu):
            return SPURIOUS
        intid, priority = self.highest_pending(cpu)
        irq = self.irq(intid, cpu)
        irq.pending = False
        irq.active = True
        self.cpus[cpu].active_stack.append((intid, priority))
        return intid

    def end_of_interrupt(self, cpu: int, intid: int) -> None:
        """ICC_EOIR1_EL1 with EOImode 0: drop the running priority and deactivate."""
        stack = self.cpus[cpu].active_stack
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] == intid:
                del stack[i]
                break
        if not self.cpus[cpu].ctlr & 0x2:  # ICC_CTLR_EL1.EOImode clear: EOI also deactivates
            self.deactivate(cpu, intid)

    def deactivate(self, cpu: int, intid: int) -> None:
        irq = self.irq(intid, cpu)
        if irq is not None:
            irq.active = False

    # -- distributor MMIO --------------------------------------------------------------------
    def dist_read(self, offset: int, size: int) -> int:
        self.sample_lines()
        if offset == CTLR:
            return self.ctlr
        if offset == TYPER:
            return (NUM_IRQS // 32 - 1) | (len(self.cpus) - 1) << 5 | 15 << 19  # ITLinesNumber, CPUs, IDbits
        if offset == IIDR:
            return IIDR_VALUE
        if IROUTER + 8 * 32 <= offset < IROUTER + 8 * NUM_IRQS:
            route = self.spis[(offset - IROUTER) // 8 - 32].route
            return route >> 32 if offset % 8 else route & (0xFFFF_FFFF if size < 8 else (1 << 64) - 1)
        if offset >= ID_BASE:
            return _id_register(offset)
        return self._bank_read(offset, size, lambda n: self.spis[n - 32] if 32 <= n < NUM_IRQS else None)

    def dist_write(self, offset: int, size: int, value: int) -> None:
        if offset == CTLR:
            self.ctlr = GICD_CTLR_DS | value & GICD_CTLR_RW_BITS
        elif IROUTER + 8 * 32 <= offset < IROUTER + 8 * NUM_IRQS:
            irq = self.spis[(offset - IROUTER) // 8 - 32]
            if offset % 8:
                irq.route = irq.route & 0xFFFF_FFFF | (value & 0xFF) << 32
            else:
                irq.route = (irq.route & ~((1 << (8 * size)) - 1)) | value
        else:
            self._bank_write(offset, size, value, lambda n: self.spis[n - 32] if 32 <= n < NUM_IRQS else None)

    # -- redistributor MMIO -------------------------------------------------------------------
    def redist_read(self, offset: int, size: int) -> int:
        self.sample_lines()
        cpu, frame = divmod(offset, GICR_STRIDE)
        if cpu >= len(self.cpus):
            return 0
        c = self.cpus[cpu]
        if frame >= SGI_FRAME:
            return self._bank_read(frame - SGI_FRAME, size, lambda n: c.banked[n] if n < 32 else None)
        if frame in (GICR_TYPER, GICR_TYPER + 4):
            typer = c.affinity << 32 | c.index << 8 | (1 << 4 if cpu == len(self.cpus) - 1 else 0)
            return typer >> 32 if frame == GICR_TYPER + 4 else typer & (0xFFFF_FFFF if size < 8 else (1 << 64) - 1)
        if frame == GICR_IIDR:
            return IIDR_VALUE
        if frame == WAKER:
            return c.waker
        if frame >= ID_BASE:
            return _id_register(frame)
        return 0

    def redist_write(self, offset: int, size: int, value: int) -> None:
        cpu, frame = divmod(offset, GICR_STRIDE)
        if cpu >= len(self.cpus):
            return
        c = self.cpus[cpu]
        if frame >= SGI_FRAME:
            self._bank_write(frame - SGI_FRAME, size, value, lambda n: c.banked[n] if n < 32 else None)
        elif frame == WAKER:
            asleep = value & GICR_WAKER_PROCESSOR_SLEEP
            c.waker = asleep | (GICR_WAKER_CHILDREN_ASLEEP if asleep else 0)

    # -- the banked per-interrupt registers, shared by both frames -------------------------------
    def _bank_read(self, offset: int, size: int, lookup) -> int:
        bit_registers = {IGROUPR: "group1", ISENABLER: "enabled", ICENABLER: "enabled", ISPENDR: "asserted",
                         ICPENDR: "asserted", ISACTIVER: "active", ICACTIVER: "active"}
        base = offset & ~0x7F if offset < IPRIORITYR else None
        if base in bit_registers:
            first = (offset - base) * 8
            return sum(1 << i for i in range(8 * size)
                       if (irq := lookup(first + i)) is not None and getattr(irq, bit_registers[base]))
        if IPRIORITYR <= offset < IPRIORITYR + NUM_IRQS:
            first = offset - IPRIORITYR
            return sum(((irq.priority if (irq := lookup(first + i)) else 0) & 0xFF) << 8 * i for i in range(size))
        if ICFGR <= offset < ICFGR + NUM_IRQS // 4:
            first = (offset - ICFGR) * 4
            return sum(2 << 2 * i for i in range(4 * size) if (irq := lookup(first + i)) is not None and irq.edge)
        return 0

    def _bank_write(self, offset: int, size: int, value: int, lookup) -> None:
        base = offset & ~0x7F if offset < IPRIORITYR else None
        if base is not None:
            first = (offset - base) * 8
            for i in range(8 * size):
                irq = lookup(first + i)
                bit = value >> i & 1
                if irq is None or (not bit and base != IGROUPR):
                    continue
                if base == IGROUPR:
                    irq.group1 = bool(bit)
                elif base in (ISENABLER, ICENABLER):
                    irq.enabled = base == ISENABLER
                elif base in (ISPENDR, ICPENDR):
                    irq.pending = base == ISPENDR
                elif base in (ISACTIVER, ICACTIVER):
                    irq.active = base == ISACTIVER
        elif IPRIORITYR <= offset < IPRIORITYR + NUM_IRQS:
            for i in range(size):
                if (irq := lookup(offset - IPRIORITYR + i)) is not None:
                    irq.priority = value >> 8 * i & 0xFF
        elif ICFGR <= offset < ICFGR + NUM_IRQS // 4:
            first = (offset - ICFGR) * 4
            for i in range(4 * size):
                irq = lookup(first + i)
                if irq is not None and first + i >= 16:  # SGIs are always edge
                    irq.edge = bool(value >> (2 * i + 1) & 1)


def _id_register(offset: int) -> int:
    index = (offset - ID_BASE) // 4
    return ID_BYTES[index] if offset % 4 == 0 and index < len(ID_BYTES) else 0


# -- the CPU interface's system registers ((op0, op1, CRn, CRm, op2) -> name) -------------------
ICC_REGISTERS = {
    (3, 0, 4, 6, 0): "PMR", (3, 0, 12, 8, 0): "IAR0", (3, 0, 12, 8, 1): "EOIR0", (3, 0, 12, 8, 2): "HPPIR0",
    (3, 0, 12, 8, 3): "BPR0", (3, 0, 12, 9, 0): "AP1R0", (3, 0, 12, 11, 1): "DIR", (3, 0, 12, 11, 3): "RPR",
    # Active priorities: with 5 priority bits only AP1R0 holds state; the others read as zero, ignore writes
    **{(3, 0, 12, 8, 4 + n): f"AP0R{n}" for n in range(4)}, **{(3, 0, 12, 9, n): f"AP1R{n}" for n in range(1, 4)},
    (3, 0, 12, 11, 5): "SGI1R", (3, 0, 12, 11, 6): "ASGI1R", (3, 0, 12, 11, 7): "SGI0R",
    (3, 0, 12, 12, 0): "IAR1", (3, 0, 12, 12, 1): "EOIR1", (3, 0, 12, 12, 2): "HPPIR1", (3, 0, 12, 12, 3): "BPR1",
    (3, 0, 12, 12, 4): "CTLR", (3, 0, 12, 12, 5): "SRE", (3, 0, 12, 12, 6): "IGRPEN0", (3, 0, 12, 12, 7): "IGRPEN1",
}
ICC_CTLR_RO = 4 << 8 | 1 << 14  # PRIbits - 1 = 4 (5 bits), IDbits 16-bit (0), A3V
ICC_CTLR_RW = 0x3  # CBPR, EOImode


def icc_read(gic: GicV3, cpu: int, name: str) -> int:
    c = gic.cpus[cpu]
    if name == "PMR":
        return c.pmr
    if name == "IAR1":
        return gic.acknowledge(cpu)
    if name in ("IAR0", "HPPIR0"):
        return SPURIOUS
    if name == "HPPIR1":
        return gic.highest_pending(cpu)[0]
    if name == "RPR":
        return c.running_priority
    if name in ("BPR0", "BPR1"):
        return c.bpr1
    if name == "CTLR":
        return ICC_CTLR_RO | c.ctlr
    if name == "SRE":
        return c.sre
    if name == "IGRPEN0":
        return int(c.igrpen0)
    if name == "IGRPEN1":
        return int(c.igrpen1)
    if name == "AP1R0":
        return sum(1 << (p >> (8 - PRIORITY_BITS)) for _i, p in c.active_stack)
    return 0


def icc_write(gic: GicV3, cpu: int, name: str, value: int) -> None:
    c = gic.cpus[cpu]
    if name == "PMR":
        c.pmr = value & PRIORITY_MASK
    elif name == "EOIR1":
        gic.end_of_interrupt(cpu, value & 0xFF_FFFF)
    elif name == "DIR":
        gic.deactivate(cpu, value & 0xFF_FFFF)
    elif name in ("BPR0", "BPR1"):
        c.bpr1 = max(value & 7, 8 - PRIORITY_BITS)
    elif name == "CTLR":
        c.ctlr = value & ICC_CTLR_RW
    elif name == "IGRPEN0":
        c.igrpen0 = bool(value & 1)
    elif name == "IGRPEN1":
        c.igrpen1 = bool(value & 1)
    elif name in ("SGI1R", "ASGI1R"):
        gic.send_sgi(sgi_intid(value), _sgi_targets(gic, cpu, value))


def sgi_intid(value: int) -> int:
    """The INTID (bits 27:24) an ICC_SGI1R/ASGI1R/SGI0R_EL1 write sends."""
    return value >> 24 & 0xF


def _sgi_targets(gic: GicV3, cpu: int, value: int) -> list[int]:
    """ICC_SGI1R_EL1: IRM (bit 40) = all but self; else TargetList (bits 15:0) within Aff3.Aff2.Aff1."""
    if value >> 40 & 1:
        return [c.index for c in gic.cpus if c.index != cpu]
    cluster = (value >> 16 & 0xFF) << 8 | (value >> 32 & 0xFF) << 16 | (value >> 48 & 0xFF) << 24
    return [c.index for c in gic.cpus
            if c.affinity & ~0xFF == cluster and value >> (c.affinity & 0xF) & 1 and c.affinity & 0xFF < 16]
