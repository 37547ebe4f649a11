/* GICv3 helpers (gic.h). */
#include "gic.h"

/* GICR_CTLR.RWP: a write to GICR_ICENABLER0 (or CTLR) is still in flight. */
#define GICR_CTLR_RWP (1u << 3)

/* Bounded waits: a model that never clears a bit must not hang the guest. */
#define GIC_WAIT_LIMIT 1000000u

uint64_t gic_read_mpidr(void)
{
    uint64_t mpidr;

    asm volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
    return mpidr;
}

uint32_t gic_mpidr_affinity(uint64_t mpidr)
{
    /* MPIDR_EL1: Aff0 [7:0], Aff1 [15:8], Aff2 [23:16], Aff3 [39:32]. */
    return (uint32_t)(mpidr & 0xffffffu) | (uint32_t)((mpidr >> 32) & 0xffu) << 24;
}

uint64_t gic_rdist_base_of(uint32_t affinity)
{
    /* GICR_TYPER.Last marks the last frame of a contiguous series; QEMU virt
     * has one series at GICR_BASE (a second region only beyond 123 CPUs). */
    for (unsigned i = 0; i < 512; i++) {
        uint64_t rd = GICR_BASE + i * GICR_STRIDE;
        uint64_t typer = gic_read64(rd + GICR_TYPER);

        if (GICR_TYPER_AFFINITY(typer) == affinity)
            return rd;
        if (typer & GICR_TYPER_LAST)
            break;
    }
    return 0;
}

uint64_t gic_rdist_base(void)
{
    return gic_rdist_base_of(gic_mpidr_affinity(gic_read_mpidr()));
}

uint64_t gic_rdist_sgi_base(void)
{
    uint64_t rd = gic_rdist_base();

    return rd ? rd + GICR_SGI_OFFSET : 0;
}

static void wait_dist_rwp(void)
{
    for (unsigned i = 0; i < GIC_WAIT_LIMIT; i++) {
        if (!(gic_read32(GICD_BASE + GICD_CTLR) & GICD_CTLR_RWP))
            return;
    }
}

static void wait_rdist_rwp(uint64_t rd)
{
    for (unsigned i = 0; i < GIC_WAIT_LIMIT; i++) {
        if (!(gic_read32(rd + GICR_CTLR) & GICR_CTLR_RWP))
            return;
    }
}

void gic_init_dist(void)
{
    gic_write32(GICD_BASE + GICD_CTLR,
                GICD_CTLR_ARE_NS | GICD_CTLR_ENABLE_G1NS | GICD_CTLR_ENABLE_G1A);
    wait_dist_rwp();
}

int gic_init_redist(void)
{
    uint64_t rd = gic_rdist_base();

    if (!rd)
        return -1;
    gic_write32(rd + GICR_WAKER,
                gic_read32(rd + GICR_WAKER) & ~GICR_WAKER_PROCESSOR_SLEEP);
    for (unsigned i = 0; i < GIC_WAIT_LIMIT; i++) {
        if (!(gic_read32(rd + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP))
            return 0;
    }
    return -1;
}

void gic_init_cpu(void)
{
    GIC_WRITE_SYSREG(ICC_SRE_EL1, GIC_READ_SYSREG(ICC_SRE_EL1) | ICC_SRE_SRE);
    asm volatile("isb" : : : "memory");
    GIC_WRITE_SYSREG(ICC_PMR_EL1, 0xff);
    GIC_WRITE_SYSREG(ICC_BPR1_EL1, 0);
    GIC_WRITE_SYSREG(ICC_CTLR_EL1, GIC_READ_SYSREG(ICC_CTLR_EL1) & ~(uint64_t)ICC_CTLR_EOIMODE);
    GIC_WRITE_SYSREG(ICC_IGRPEN1_EL1, 1);
    asm volatile("isb" : : : "memory");
}

int gic_init(void)
{
    gic_init_dist();
    int rc = gic_init_redist();
    gic_init_cpu();
    return rc;
}

/* ---- per-INTID ---------------------------------------------------------- */

/* The frame holding intid's bits: this CPU's SGI_base for SGIs and PPIs
 * (whose GICR_* registers sit at the offsets of the GICD_* ones for INTIDs
 * 0-31), the distributor for SPIs. */
static uint64_t bank(uint32_t intid)
{
    return intid < GIC_FIRST_SPI ? gic_rdist_sgi_base() : GICD_BASE;
}

static uint64_t bit_reg(uint32_t intid, uint32_t reg)
{
    return bank(intid) + reg + (intid / 32) * 4;
}

static uint32_t bit_of(uint32_t intid)
{
    return 1u << (intid % 32);
}

static void wait_rwp(uint32_t intid)
{
    if (intid < GIC_FIRST_SPI)
        wait_rdist_rwp(gic_rdist_base());
    else
        wait_dist_rwp();
}

void gic_set_group1(uint32_t intid, int group1)
{
    uint64_t reg = bit_reg(intid, GICD_IGROUPR);
    uint64_t mod = bit_reg(intid, GICD_IGRPMODR);
    uint32_t v = gic_read32(reg);

    gic_write32(reg, group1 ? v | bit_of(intid) : v & ~bit_of(intid));
    /* IGRPMODR 0: non-secure group 1 (RAZ/WI with a single security state). */
    gic_write32(mod, gic_read32(mod) & ~bit_of(intid));
}

void gic_set_priority(uint32_t intid, uint8_t priority)
{
    gic_write8(bank(intid) + GICD_IPRIORITYR + intid, priority);
}

uint8_t gic_get_priority(uint32_t intid)
{
    return gic_read8(bank(intid) + GICD_IPRIORITYR + intid);
}

void gic_set_edge(uint32_t intid, int edge)
{
    if (intid < GIC_NUM_SGIS)
        return;
    uint64_t reg = bank(intid) + GICD_ICFGR + (intid / 16) * 4;
    uint32_t bit = 2u << ((intid % 16) * 2);
    uint32_t v = gic_read32(reg);

    gic_write32(reg, edge ? v | bit : v & ~bit);
}

void gic_enable_irq(uint32_t intid)
{
    gic_write32(bit_reg(intid, GICD_ISENABLER), bit_of(intid));
}

void gic_disable_irq(uint32_t intid)
{
    gic_write32(bit_reg(intid, GICD_ICENABLER), bit_of(intid));
    wait_rwp(intid);
}

int gic_irq_enabled(uint32_t intid)
{
    return (gic_read32(bit_reg(intid, GICD_ISENABLER)) & bit_of(intid)) != 0;
}

int gic_irq_pending(uint32_t intid)
{
    return (gic_read32(bit_reg(intid, GICD_ISPENDR)) & bit_of(intid)) != 0;
}

int gic_irq_active(uint32_t intid)
{
    return (gic_read32(bit_reg(intid, GICD_ISACTIVER)) & bit_of(intid)) != 0;
}

void gic_clear_pending(uint32_t intid)
{
    gic_write32(bit_reg(intid, GICD_ICPENDR), bit_of(intid));
}

void gic_route_spi(uint32_t intid, uint64_t mpidr)
{
    /* GICD_IROUTER<n>: Aff3 [39:32], Interrupt_Routing_Mode [31] = 0,
     * Aff2 [23:16], Aff1 [15:8], Aff0 [7:0]. */
    gic_write64(GICD_BASE + GICD_IROUTER + 8ull * intid,
                (mpidr & 0xffffffull) | (mpidr & (0xffull << 32)));
}

void gic_irq_setup(uint32_t intid, uint8_t priority)
{
    gic_set_group1(intid, 1);
    gic_set_priority(intid, priority);
    gic_enable_irq(intid);
    wait_rwp(intid);
}

/* ---- SGIs --------------------------------------------------------------- */

void gic_write_sgi1r(uint64_t value)
{
    asm volatile("dsb ish" : : : "memory");
    GIC_WRITE_SYSREG(ICC_SGI1R_EL1, value);
    asm volatile("isb" : : : "memory");
}

void gic_send_sgi(uint32_t intid, uint64_t mpidr)
{
    uint64_t aff0 = mpidr & 0xff;
    uint64_t aff1 = (mpidr >> 8) & 0xff;
    uint64_t aff2 = (mpidr >> 16) & 0xff;
    uint64_t aff3 = (mpidr >> 32) & 0xff;

    gic_write_sgi1r((1ull << (aff0 % 16)) | aff1 << ICC_SGI1R_AFF1_SHIFT |
                    (uint64_t)(intid & 0xf) << ICC_SGI1R_INTID_SHIFT |
                    aff2 << ICC_SGI1R_AFF2_SHIFT |
                    (aff0 / 16) << ICC_SGI1R_RS_SHIFT |
                    aff3 << ICC_SGI1R_AFF3_SHIFT);
}

volatile uint32_t gic_taken = GIC_SPURIOUS;

void gic_take(void)
{
    uint32_t intid = gic_ack();

    if (intid != GIC_SPURIOUS) {
        gic_taken = intid;
        gic_eoi(intid);
    }
}
