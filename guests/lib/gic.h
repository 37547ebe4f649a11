/*
 * GICv3 helpers for guests on the QEMU virt machine (-M virt,gic-version=3).
 *
 * References are to the GICv3/v4 architecture specification, Arm IHI 0069
 * (issue H): the register descriptions of its "Programmers' Model" chapter
 * (GICD_* distributor, GICR_* redistributor, ICC_* CPU interface), and the
 * chapters on interrupt handling and prioritization (acknowledge, priority
 * drop, running priority, preemption) and on affinity routing and SGIs.
 *
 * The layout is QEMU virt's (hw/arm/virt.c, memmap VIRT_GIC_DIST and
 * VIRT_GIC_REDIST):
 *   distributor     GICD_BASE 0x08000000, 64 KiB
 *   redistributors  GICR_BASE 0x080A0000, one per CPU, GICR_STRIDE 0x20000
 *                   apart: the RD_base frame (control, GICR_TYPER, WAKER)
 *                   and, 64 KiB above it, the SGI_base frame (SGI and PPI
 *                   enable/pending/active/priority/config registers)
 * QEMU's GIC has no security extension unless the machine has EL3
 * (virt,secure=on): GICD_CTLR.DS reads 1, there is a single security state,
 * group 0 interrupts are FIQs and group 1 interrupts IRQs at EL1.  The
 * helpers put every interrupt they enable in group 1 (non-secure group 1
 * when there are two security states), so it arrives as an IRQ.
 *
 * The CPU interface is used through its system registers (ICC_SRE_EL1.SRE
 * = 1); they are written with their S3_<op1>_C<n>_C<m>_<op2> encodings so
 * that any assembler takes them.
 *
 * Typical use (one CPU):
 *   gic_init();                       distributor, this CPU's redistributor
 *                                     and CPU interface
 *   gic_irq_setup(27, 0x80);          group 1, priority, enable
 *   asm volatile("msr daifclr, #2");  take IRQs
 *   ... in guest_irq(): iar = gic_ack(); ...; gic_eoi(iar);
 * A secondary CPU calls gic_init_redist() and gic_init_cpu() itself (the
 * distributor is shared).
 *
 * Functions taking an INTID reach SGIs and PPIs (0-31) in the calling CPU's
 * redistributor (found by walking GICR_TYPER for its MPIDR affinity) and
 * SPIs (32-1019) in the distributor.
 */
#ifndef GUEST_GIC_H
#define GUEST_GIC_H

#include <stdint.h>

/* ---- QEMU virt addresses ------------------------------------------------ */

#define GICD_BASE 0x08000000ULL
#define GICR_BASE 0x080A0000ULL
#define GICR_STRIDE 0x20000ULL          /* RD_base + SGI_base frames */
#define GICR_SGI_OFFSET 0x10000ULL      /* SGI_base from RD_base */

/* ---- distributor registers (offsets from GICD_BASE) --------------------- */

#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_IIDR 0x0008
#define GICD_IGROUPR 0x0080             /* 1 bit per INTID */
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ISPENDR 0x0200
#define GICD_ICPENDR 0x0280
#define GICD_ISACTIVER 0x0300
#define GICD_ICACTIVER 0x0380
#define GICD_IPRIORITYR 0x0400          /* 1 byte per INTID */
#define GICD_ICFGR 0x0C00               /* 2 bits per INTID */
#define GICD_IGRPMODR 0x0D00
#define GICD_IROUTER 0x6000             /* 8 bytes per SPI, from INTID 0 */
#define GICD_PIDR2 0xFFE8

/*
 * GICD_CTLR as a non-secure access sees it when there are two security
 * states: bit 0 EnableGrp1 (non-secure), bit 1 EnableGrp1A, bit 4 ARE_NS.
 * With one security state (DS = 1, QEMU virt without EL3) the same bits are
 * EnableGrp0, EnableGrp1 and ARE.  gic_init_dist() sets all three: either
 * way group 1 is enabled with affinity routing.
 */
#define GICD_CTLR_ENABLE_G1NS (1u << 0)
#define GICD_CTLR_ENABLE_G1A (1u << 1)
#define GICD_CTLR_ARE_NS (1u << 4)
#define GICD_CTLR_DS (1u << 6)
#define GICD_CTLR_RWP (1u << 31)        /* register write pending */

/* GICD_TYPER fields. */
#define GICD_TYPER_ITLINES(t) ((t) & 0x1fu)             /* max SPI INTID = 32*(N+1)-1 */
#define GICD_TYPER_SECURITY_EXTN (1u << 10)
#define GICD_TYPER_LPIS (1u << 17)
#define GICD_TYPER_IDBITS(t) (((t) >> 19) & 0x1fu)      /* INTID bits - 1 */

/* PIDR2.ArchRev, bits [7:4]: 3 = GICv3, 4 = GICv4. */
#define GIC_PIDR2_ARCHREV(p) (((p) >> 4) & 0xfu)

/* ---- redistributor registers -------------------------------------------- */

/* RD_base frame */
#define GICR_CTLR 0x0000
#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008               /* 64 bits */
#define GICR_WAKER 0x0014
#define GICR_PIDR2 0xFFE8

#define GICR_TYPER_PLPIS (1ull << 0)
#define GICR_TYPER_LAST (1ull << 4)     /* the last redistributor of the series */
#define GICR_TYPER_PROCESSOR_NUMBER(t) (((t) >> 8) & 0xffffu)
#define GICR_TYPER_AFFINITY(t) ((uint32_t)((t) >> 32))  /* Aff3.Aff2.Aff1.Aff0 */

#define GICR_WAKER_PROCESSOR_SLEEP (1u << 1)
#define GICR_WAKER_CHILDREN_ASLEEP (1u << 2)

/* SGI_base frame (SGIs and PPIs, INTIDs 0-31) */
#define GICR_IGROUPR0 0x0080
#define GICR_ISENABLER0 0x0100
#define GICR_ICENABLER0 0x0180
#define GICR_ISPENDR0 0x0200
#define GICR_ICPENDR0 0x0280
#define GICR_ISACTIVER0 0x0300
#define GICR_ICACTIVER0 0x0380
#define GICR_IPRIORITYR 0x0400          /* 1 byte per INTID, 0-31 */
#define GICR_ICFGR0 0x0C00              /* SGIs */
#define GICR_ICFGR1 0x0C04              /* PPIs */
#define GICR_IGRPMODR0 0x0D00

/* ---- CPU interface system registers ------------------------------------- */

#define ICC_PMR_EL1 "S3_0_C4_C6_0"
#define ICC_IAR0_EL1 "S3_0_C12_C8_0"
#define ICC_EOIR0_EL1 "S3_0_C12_C8_1"
#define ICC_HPPIR0_EL1 "S3_0_C12_C8_2"
#define ICC_BPR0_EL1 "S3_0_C12_C8_3"
#define ICC_AP1R0_EL1 "S3_0_C12_C9_0"
#define ICC_DIR_EL1 "S3_0_C12_C11_1"
#define ICC_RPR_EL1 "S3_0_C12_C11_3"
#define ICC_SGI1R_EL1 "S3_0_C12_C11_5"
#define ICC_IAR1_EL1 "S3_0_C12_C12_0"
#define ICC_EOIR1_EL1 "S3_0_C12_C12_1"
#define ICC_HPPIR1_EL1 "S3_0_C12_C12_2"
#define ICC_BPR1_EL1 "S3_0_C12_C12_3"
#define ICC_CTLR_EL1 "S3_0_C12_C12_4"
#define ICC_SRE_EL1 "S3_0_C12_C12_5"
#define ICC_IGRPEN0_EL1 "S3_0_C12_C12_6"
#define ICC_IGRPEN1_EL1 "S3_0_C12_C12_7"

#define GIC_READ_SYSREG(enc)                                                 \
    ({                                                                       \
        uint64_t v_;                                                         \
        asm volatile("mrs %0, " enc : "=r"(v_) : : "memory");                \
        v_;                                                                  \
    })

#define GIC_WRITE_SYSREG(enc, v)                                             \
    asm volatile("msr " enc ", %0" : : "r"((uint64_t)(v)) : "memory")

#define ICC_SRE_SRE (1u << 0)           /* system register interface enabled */
#define ICC_SRE_DFB (1u << 1)
#define ICC_SRE_DIB (1u << 2)

#define ICC_CTLR_EOIMODE (1u << 1)      /* 1: EOI drops priority only, DIR deactivates */
#define ICC_CTLR_PRIBITS(c) ((unsigned)((c) >> 8) & 0x7u)    /* priority bits - 1 */
#define ICC_CTLR_IDBITS(c) ((unsigned)((c) >> 11) & 0x7u)    /* 0: 16-bit INTIDs, 1: 24-bit */
#define ICC_CTLR_SEIS (1u << 14)
#define ICC_CTLR_A3V (1u << 15)
#define ICC_CTLR_RSS (1u << 18)

#define ICC_SGI1R_TARGETLIST_MASK 0xffffull
#define ICC_SGI1R_AFF1_SHIFT 16
#define ICC_SGI1R_INTID_SHIFT 24
#define ICC_SGI1R_AFF2_SHIFT 32
#define ICC_SGI1R_IRM (1ull << 40)      /* to every PE but this one */
#define ICC_SGI1R_RS_SHIFT 44
#define ICC_SGI1R_AFF3_SHIFT 48

/* ---- INTIDs ------------------------------------------------------------- */

#define GIC_INTID_MASK 0xffffffu        /* ICC_IAR1_EL1.INTID (24 bits at most) */
#define GIC_SPURIOUS 1023u              /* no pending interrupt to acknowledge */
#define GIC_IDLE_PRIORITY 0xffu         /* ICC_RPR_EL1 with nothing active */
#define GIC_NUM_SGIS 16u
#define GIC_FIRST_SPI 32u

/* PPIs of the Arm generic timer on QEMU virt (and the SBSA/BSA's choice). */
#define GIC_PPI_CNTHP 26u               /* EL2 physical timer */
#define GIC_PPI_CNTV 27u                /* EL1 virtual timer */
#define GIC_PPI_CNTPS 29u               /* secure physical timer */
#define GIC_PPI_CNTP 30u                /* EL1 (non-secure) physical timer */

/* ---- MMIO --------------------------------------------------------------- */

static inline uint32_t gic_read32(uint64_t addr)
{
    return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline void gic_write32(uint64_t addr, uint32_t value)
{
    *(volatile uint32_t *)(uintptr_t)addr = value;
}

static inline uint64_t gic_read64(uint64_t addr)
{
    return *(volatile uint64_t *)(uintptr_t)addr;
}

static inline void gic_write64(uint64_t addr, uint64_t value)
{
    *(volatile uint64_t *)(uintptr_t)addr = value;
}

static inline uint8_t gic_read8(uint64_t addr)
{
    return *(volatile uint8_t *)(uintptr_t)addr;
}

static inline void gic_write8(uint64_t addr, uint8_t value)
{
    *(volatile uint8_t *)(uintptr_t)addr = value;
}

/* ---- PSTATE.I and ISR_EL1 ---------------------------------------------- */

/* ISR_EL1: an IRQ (bit 7) / FIQ (bit 6) is pending at the PE, masked or not. */
#define ISR_EL1_I (1u << 7)
#define ISR_EL1_F (1u << 6)

static inline uint64_t read_isr_el1(void)
{
    uint64_t v;

    asm volatile("isb\n\tmrs %0, isr_el1" : "=r"(v) : : "memory");
    return v;
}

/* PSTATE.I: mask / unmask IRQs (the isb makes a pending IRQ be taken right
 * after an unmask). */
static inline void irq_unmask(void)
{
    asm volatile("msr daifclr, #2\n\tisb" : : : "memory");
}

static inline void irq_mask(void)
{
    asm volatile("msr daifset, #2" : : : "memory");
}

static inline uint64_t read_daif(void)
{
    uint64_t v;

    asm volatile("mrs %0, daif" : "=r"(v) : : "memory");
    return v;
}

/* ---- set-up ------------------------------------------------------------- */

/* The calling CPU's MPIDR_EL1 affinity as Aff3.Aff2.Aff1.Aff0 (GICR_TYPER's
 * Affinity_Value layout). */
uint32_t gic_mpidr_affinity(uint64_t mpidr);
uint64_t gic_read_mpidr(void);

/* RD_base of the redistributor whose GICR_TYPER.Affinity_Value is affinity,
 * walking the frames from GICR_BASE up to the one with GICR_TYPER.Last; 0 if
 * none matches. */
uint64_t gic_rdist_base_of(uint32_t affinity);
/* The calling CPU's RD_base (0 if not found), and its SGI_base. */
uint64_t gic_rdist_base(void);
uint64_t gic_rdist_sgi_base(void);

/* Distributor: GICD_CTLR = ARE_NS | EnableGrp1NS | EnableGrp1A (see above),
 * waiting for GICD_CTLR.RWP to clear.  Once, from one CPU. */
void gic_init_dist(void);

/* The calling CPU's redistributor: clear GICR_WAKER.ProcessorSleep and wait
 * for ChildrenAsleep to clear.  Returns 0, or -1 if there is no
 * redistributor for this CPU. */
int gic_init_redist(void);

/* The calling CPU's interface: ICC_SRE_EL1.SRE = 1, ICC_PMR_EL1 = 0xff
 * (nothing masked by priority), ICC_BPR1_EL1 = 0 (the smallest binary point:
 * every implemented priority bit is group priority, so any higher priority
 * preempts), ICC_CTLR_EL1.EOImode = 0 (EOI drops the priority and
 * deactivates), ICC_IGRPEN1_EL1 = 1. */
void gic_init_cpu(void);

/* All three, for the boot CPU; returns gic_init_redist()'s result. */
int gic_init(void);

/* ---- per-INTID configuration -------------------------------------------- */

void gic_set_group1(uint32_t intid, int group1);
void gic_set_priority(uint32_t intid, uint8_t priority);
uint8_t gic_get_priority(uint32_t intid);
/* Edge-triggered (1) or level-sensitive (0); SGIs are always edge. */
void gic_set_edge(uint32_t intid, int edge);
void gic_enable_irq(uint32_t intid);
void gic_disable_irq(uint32_t intid);
int gic_irq_enabled(uint32_t intid);
int gic_irq_pending(uint32_t intid);
int gic_irq_active(uint32_t intid);
void gic_clear_pending(uint32_t intid);
/* GICD_IROUTER<n> for an SPI: Interrupt_Routing_Mode 0, to one PE. */
void gic_route_spi(uint32_t intid, uint64_t mpidr);

/* Group 1, priority, enabled (waiting for the write to take effect). */
void gic_irq_setup(uint32_t intid, uint8_t priority);

/* ---- CPU interface ------------------------------------------------------ */

/* Acknowledge: ICC_IAR1_EL1 (the INTID, or GIC_SPURIOUS).  The interrupt
 * becomes active and the running priority becomes its priority. */
static inline uint32_t gic_ack(void)
{
    uint64_t iar = GIC_READ_SYSREG(ICC_IAR1_EL1);
    asm volatile("dsb sy" : : : "memory");
    return (uint32_t)iar & GIC_INTID_MASK;
}

/* End of interrupt: ICC_EOIR1_EL1 (priority drop, and deactivation while
 * ICC_CTLR_EL1.EOImode is 0). */
static inline void gic_eoi(uint32_t intid)
{
    GIC_WRITE_SYSREG(ICC_EOIR1_EL1, intid);
    asm volatile("isb" : : : "memory");
}

static inline uint32_t gic_read_rpr(void)
{
    return (uint32_t)GIC_READ_SYSREG(ICC_RPR_EL1);
}

static inline uint32_t gic_read_pmr(void)
{
    return (uint32_t)GIC_READ_SYSREG(ICC_PMR_EL1);
}

static inline void gic_write_pmr(uint32_t pmr)
{
    GIC_WRITE_SYSREG(ICC_PMR_EL1, pmr);
    asm volatile("isb" : : : "memory");
}

static inline uint32_t gic_read_hppir1(void)
{
    return (uint32_t)GIC_READ_SYSREG(ICC_HPPIR1_EL1) & GIC_INTID_MASK;
}

/* Send SGI intid (0-15) to the PE with MPIDR mpidr (Aff3.Aff2.Aff1 from
 * mpidr, TargetList bit Aff0 % 16, RS = Aff0 / 16).  A dsb first makes this
 * CPU's earlier stores visible to the target's handler. */
void gic_send_sgi(uint32_t intid, uint64_t mpidr);

/* Write ICC_SGI1R_EL1 as given (dsb before, isb after). */
void gic_write_sgi1r(uint64_t value);

/* For a guest that only wants to know which interrupt came: acknowledge the
 * signalled one and end it at once, its INTID left in gic_taken (which the
 * guest sets back to GIC_SPURIOUS to wait for the next). */
extern volatile uint32_t gic_taken;
void gic_take(void);

#endif /* GUEST_GIC_H */
