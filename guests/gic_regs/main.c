/*
 * gic_regs: the GICv3 identification and configuration registers of QEMU
 * virt (-M virt,gic-version=3), read at EL1 through MMIO (distributor,
 * redistributor) and the ICC_* system registers, with TAP checks of what the
 * architecture fixes.  References are to Arm IHI 0069 (GICv3/v4, issue H),
 * its "Programmers' Model" chapter unless said otherwise, by register name.
 *
 * Every value read is printed (`gic_regs: NAME=0x...`), so a run on QEMU
 * doubles as a record of its model.
 */
#include <stdint.h>

#include "console.h"
#include "gic.h"
#include "tap.h"

/* An SPI and a PPI nobody uses on virt (SPIs 0-15 and a few more have
 * devices; INTID 32 + 60 is free), for the priority write tests. */
#define TEST_SPI (GIC_FIRST_SPI + 60)
#define TEST_PPI 23u

/* The pattern of k implemented priority bits: the top k bits of a byte
 * (IHI 0069 "Interrupt prioritization": unimplemented low-order priority
 * bits are RAZ/WI). */
static uint32_t priority_mask(unsigned k)
{
    return (0xffu << (8 - k)) & 0xffu;
}

/* k if v is the top-k-bits pattern, else 0. */
static unsigned priority_bits_of(uint32_t v)
{
    for (unsigned k = 1; k <= 8; k++) {
        if (v == priority_mask(k))
            return k;
    }
    return 0;
}

int main(void)
{
    tap_plan(32);

    /* ---- distributor ---------------------------------------------------- */

    uint32_t gicd_pidr2 = gic_read32(GICD_BASE + GICD_PIDR2);
    uint32_t gicd_typer = gic_read32(GICD_BASE + GICD_TYPER);
    uint32_t gicd_iidr = gic_read32(GICD_BASE + GICD_IIDR);
    uint32_t gicd_ctlr0 = gic_read32(GICD_BASE + GICD_CTLR);
    gic_init_dist();
    uint32_t gicd_ctlr = gic_read32(GICD_BASE + GICD_CTLR);

    printf("gic_regs: GICD_PIDR2=0x%x GICD_TYPER=0x%x GICD_IIDR=0x%x "
           "GICD_CTLR=0x%x (reset) 0x%x (enabled)\n",
           gicd_pidr2, gicd_typer, gicd_iidr, gicd_ctlr0, gicd_ctlr);
    unsigned itlines = GICD_TYPER_ITLINES(gicd_typer);
    unsigned idbits = GICD_TYPER_IDBITS(gicd_typer) + 1;
    printf("gic_regs: ITLinesNumber=%u (INTIDs up to %u) IDbits=%u (%u-bit INTIDs) "
           "LPIS=%u SecurityExtn=%u\n",
           itlines, 32 * (itlines + 1) - 1, idbits - 1, idbits,
           (gicd_typer & GICD_TYPER_LPIS) != 0,
           (gicd_typer & GICD_TYPER_SECURITY_EXTN) != 0);

    /* GICD_PIDR2.ArchRev [7:4]: 0x3 for GICv3 (0x4 for GICv4). */
    expect_eq_u64(GIC_PIDR2_ARCHREV(gicd_pidr2), 3, "GICD_PIDR2.ArchRev is 3 (GICv3)");
    /* GICD_TYPER.ITLinesNumber [4:0]: SPIs up to INTID 32*(N+1)-1; virt
     * wires its devices to SPIs 0-15 at least (UART = SPI 1), so N >= 1. */
    tap_ok(itlines >= 1, "GICD_TYPER.ITLinesNumber %u covers virt's SPIs", itlines);
    /* GICD_TYPER.IDbits [23:19]: INTID bits - 1; at least 14 bits (13) when
     * LPIs are supported (GICD_TYPER.LPIS), at least 10 (9) otherwise. */
    tap_ok(idbits >= ((gicd_typer & GICD_TYPER_LPIS) ? 14u : 10u),
           "GICD_TYPER.IDbits %u is enough for the INTIDs it implies", idbits - 1);
    /* GICD_CTLR.DS [6]: with a single security state (no EL3 on virt) DS
     * reads 1, and GICD_TYPER.SecurityExtn [10] is then RAZ. */
    tap_ok(!(gicd_ctlr & GICD_CTLR_DS) || !(gicd_typer & GICD_TYPER_SECURITY_EXTN),
           "GICD_TYPER.SecurityExtn is 0 when GICD_CTLR.DS is 1");
    /* GICD_CTLR after gic_init_dist(): ARE (ARE_NS) [4] and the group 1
     * enable (EnableGrp1 with DS = 1, bit 1) read back set, RWP [31] clear. */
    tap_ok((gicd_ctlr & GICD_CTLR_ARE_NS) && (gicd_ctlr & GICD_CTLR_ENABLE_G1A) &&
               !(gicd_ctlr & GICD_CTLR_RWP),
           "GICD_CTLR reads back ARE and EnableGrp1 set, RWP clear");

    /* ---- redistributor -------------------------------------------------- */

    uint64_t mpidr = gic_read_mpidr();
    uint32_t affinity = gic_mpidr_affinity(mpidr);
    uint64_t rd0_typer = gic_read64(GICR_BASE + GICR_TYPER);
    unsigned frames = 0;
    uint64_t last_typer = 0;
    for (unsigned i = 0; i < 512; i++) {
        last_typer = gic_read64(GICR_BASE + i * GICR_STRIDE + GICR_TYPER);
        frames++;
        if (last_typer & GICR_TYPER_LAST)
            break;
    }
    uint64_t rd = gic_rdist_base();
    uint64_t gicr_typer = rd ? gic_read64(rd + GICR_TYPER) : 0;
    uint32_t gicr_typer_lo = rd ? gic_read32(rd + GICR_TYPER) : 0;
    uint32_t gicr_typer_hi = rd ? gic_read32(rd + GICR_TYPER + 4) : 0;
    uint32_t gicr_pidr2 = gic_read32(GICR_BASE + GICR_PIDR2);
    uint32_t gicr_iidr = gic_read32(GICR_BASE + GICR_IIDR);
    uint32_t waker0 = rd ? gic_read32(rd + GICR_WAKER) : 0;
    int woke = gic_init_redist();
    uint32_t waker1 = rd ? gic_read32(rd + GICR_WAKER) : 0;

    printf("gic_regs: MPIDR_EL1=0x%llx GICR_TYPER=0x%llx (frame 0) GICR_PIDR2=0x%x "
           "GICR_IIDR=0x%x frames=%u GICR_WAKER=0x%x (reset) 0x%x (awake)\n",
           (unsigned long long)mpidr, (unsigned long long)rd0_typer, gicr_pidr2,
           gicr_iidr, frames, waker0, waker1);

    tap_ok(rd != 0, "a redistributor's GICR_TYPER.Affinity_Value is this CPU's "
                    "MPIDR affinity 0x%x", affinity);
    /* GICR_TYPER [63:32] Affinity_Value = Aff3.Aff2.Aff1.Aff0; a 64-bit read
     * and the two 32-bit halves agree (the register allows both). */
    expect_eq_u64(((uint64_t)gicr_typer_hi << 32) | gicr_typer_lo, gicr_typer,
                  "GICR_TYPER: 64-bit read equals its two 32-bit halves");
    /* GICR_TYPER.Last [4]: set in the last frame of the series; the walk
     * ends at a frame with Last set. */
    tap_ok((last_typer & GICR_TYPER_LAST) != 0,
           "the redistributor walk ends at a GICR_TYPER with Last set (%u frames)",
           frames);
    /* GICR_TYPER.Processor_Number [23:8] is the PE's number, unique per
     * redistributor; the boot CPU of virt is 0. */
    expect_eq_u64(GICR_TYPER_PROCESSOR_NUMBER(gicr_typer), 0,
                  "GICR_TYPER.Processor_Number of the boot CPU is 0");
    expect_eq_u64(GIC_PIDR2_ARCHREV(gicr_pidr2), 3, "GICR_PIDR2.ArchRev is 3 (GICv3)");
    /* GICR_WAKER: ProcessorSleep [1] cleared by software, then
     * ChildrenAsleep [2] reads 0 (the redistributor is awake). */
    tap_ok(woke == 0 && !(waker1 & (GICR_WAKER_PROCESSOR_SLEEP | GICR_WAKER_CHILDREN_ASLEEP)),
           "GICR_WAKER: ProcessorSleep and ChildrenAsleep clear after waking");
    /* GICR_ICFGR0: SGIs are always edge-triggered, Int_config = 0b10 each. */
    uint64_t sgi = gic_rdist_sgi_base();
    uint32_t icfgr0 = gic_read32(sgi + GICR_ICFGR0);
    gic_write32(sgi + GICR_ICFGR0, 0);
    uint32_t icfgr0_after = gic_read32(sgi + GICR_ICFGR0);
    printf("gic_regs: GICR_ICFGR0=0x%x (after writing 0: 0x%x) GICR_ICFGR1=0x%x "
           "GICR_IGROUPR0=0x%x GICR_ISENABLER0=0x%x\n",
           icfgr0, icfgr0_after, gic_read32(sgi + GICR_ICFGR1),
           gic_read32(sgi + GICR_IGROUPR0), gic_read32(sgi + GICR_ISENABLER0));
    expect_eq_u64(icfgr0_after, 0xaaaaaaaa, "GICR_ICFGR0: SGIs are edge-triggered (read-only)");

    /* ---- CPU interface -------------------------------------------------- */

    uint64_t sre0 = GIC_READ_SYSREG(ICC_SRE_EL1);
    gic_init_cpu();
    uint64_t sre = GIC_READ_SYSREG(ICC_SRE_EL1);
    uint64_t ctlr = GIC_READ_SYSREG(ICC_CTLR_EL1);
    unsigned pribits = ICC_CTLR_PRIBITS(ctlr) + 1;
    printf("gic_regs: ICC_SRE_EL1=0x%llx (reset) 0x%llx ICC_CTLR_EL1=0x%llx "
           "(PRIbits=%u: %u priority bits, IDbits=%u, A3V=%u, SEIS=%u) "
           "ICC_BPR1_EL1=0x%llx ICC_IGRPEN1_EL1=0x%llx\n",
           (unsigned long long)sre0, (unsigned long long)sre,
           (unsigned long long)ctlr, pribits - 1, pribits, (unsigned)ICC_CTLR_IDBITS(ctlr),
           (ctlr & ICC_CTLR_A3V) != 0, (ctlr & ICC_CTLR_SEIS) != 0,
           (unsigned long long)GIC_READ_SYSREG(ICC_BPR1_EL1),
           (unsigned long long)GIC_READ_SYSREG(ICC_IGRPEN1_EL1));

    /* ICC_SRE_EL1.SRE [0] reads 1 once set (the system register interface
     * is in use; a GIC that only has it makes SRE RAO/WI). */
    tap_ok((sre & ICC_SRE_SRE) != 0, "ICC_SRE_EL1.SRE reads 1 after setting it");
    /* ICC_CTLR_EL1.PRIbits [10:8]: priority bits - 1; at least 4 bits (16
     * levels) with one security state ("Interrupt prioritization"). */
    tap_ok(pribits >= 4 && pribits <= 8, "ICC_CTLR_EL1.PRIbits: %u priority bits", pribits);
    /* ICC_CTLR_EL1.IDbits [13:11]: 0b000 16 bits, 0b001 24 bits. */
    tap_ok(ICC_CTLR_IDBITS(ctlr) <= 1, "ICC_CTLR_EL1.IDbits is 16 or 24 bits");
    /* ICC_CTLR_EL1.EOImode [1] reads back as gic_init_cpu() wrote it (0). */
    expect_eq_u64(ctlr & ICC_CTLR_EOIMODE, 0, "ICC_CTLR_EL1.EOImode reads 0");
    /* ICC_BPR1_EL1: a write below the minimum binary point sets the minimum,
     * which for group 1 is the group 0 minimum (7 - PRIbits) plus one. */
    expect_eq_u64(GIC_READ_SYSREG(ICC_BPR1_EL1), 8 - pribits,
                  "ICC_BPR1_EL1 = 0 reads back its minimum 8 - (PRIbits + 1)");

    /* ICC_PMR_EL1: unimplemented low-order bits are RAZ/WI, so 0xff reads
     * back with PRIbits + 1 bits; 0x80 (top bit) reads back unchanged. */
    gic_write_pmr(0xff);
    uint32_t pmr_ff = gic_read_pmr();
    gic_write_pmr(0x80);
    uint32_t pmr_80 = gic_read_pmr();
    gic_write_pmr(0x8f);
    uint32_t pmr_8f = gic_read_pmr();
    gic_write_pmr(0xff);
    printf("gic_regs: ICC_PMR_EL1 0xff->0x%x 0x80->0x%x 0x8f->0x%x\n", pmr_ff,
           pmr_80, pmr_8f);
    expect_eq_u64(pmr_ff, priority_mask(pribits),
                  "ICC_PMR_EL1 = 0xff reads back with PRIbits+1 bits");
    expect_eq_u64(pmr_80, 0x80, "ICC_PMR_EL1 = 0x80 reads back 0x80");
    expect_eq_u64(pmr_8f, 0x8f & priority_mask(pribits),
                  "ICC_PMR_EL1 = 0x8f keeps only the implemented bits");

    /* ICC_RPR_EL1: the idle priority 0xff when no interrupt is active
     * ("Running priority"). */
    expect_eq_u64(gic_read_rpr(), GIC_IDLE_PRIORITY, "ICC_RPR_EL1 is 0xff (idle)");
    /* ICC_HPPIR1_EL1 / ICC_IAR1_EL1 with nothing pending: INTID 1023. */
    expect_eq_u64(gic_read_hppir1(), GIC_SPURIOUS, "ICC_HPPIR1_EL1 is 1023 with nothing pending");
    expect_eq_u64(gic_ack(), GIC_SPURIOUS, "ICC_IAR1_EL1 is 1023 (spurious) with nothing pending");
    expect_eq_u64(gic_read_rpr(), GIC_IDLE_PRIORITY,
                  "ICC_RPR_EL1 still 0xff after a spurious acknowledge");

    /* ---- priorities ----------------------------------------------------- */

    /* GICD_IPRIORITYR<n> (SPI) and GICR_IPRIORITYR<n> (PPI, SGI_base):
     * byte-accessible, unimplemented low-order bits RAZ/WI. */
    gic_set_priority(TEST_SPI, 0xff);
    uint32_t spi_ff = gic_get_priority(TEST_SPI);
    gic_set_priority(TEST_SPI, 0xa0);
    uint32_t spi_a0 = gic_get_priority(TEST_SPI);
    uint32_t spi_word = gic_read32(GICD_BASE + GICD_IPRIORITYR + (TEST_SPI & ~3u));
    gic_set_priority(TEST_PPI, 0xff);
    uint32_t ppi_ff = gic_get_priority(TEST_PPI);
    gic_set_priority(TEST_PPI, 0x40);
    uint32_t ppi_40 = gic_get_priority(TEST_PPI);
    printf("gic_regs: GICD_IPRIORITYR[%u] 0xff->0x%x 0xa0->0x%x (word 0x%08x) "
           "GICR_IPRIORITYR[%u] 0xff->0x%x 0x40->0x%x\n",
           TEST_SPI, spi_ff, spi_a0, spi_word, TEST_PPI, ppi_ff, ppi_40);
    unsigned dist_bits = priority_bits_of(spi_ff);
    tap_ok(dist_bits >= 4, "GICD_IPRIORITYR: 0xff reads back as the top %u bits (0x%x)",
           dist_bits, spi_ff);
    expect_eq_u64(spi_a0, 0xa0, "GICD_IPRIORITYR: 0xa0 reads back");
    expect_eq_u64(spi_word, 0xa0u << (8 * (TEST_SPI % 4)),
                  "GICD_IPRIORITYR: the byte write landed in its lane of the word");
    tap_ok(priority_bits_of(ppi_ff) >= 4,
           "GICR_IPRIORITYR: 0xff reads back as the top %u bits (0x%x)",
           priority_bits_of(ppi_ff), ppi_ff);
    expect_eq_u64(ppi_40, 0x40, "GICR_IPRIORITYR: 0x40 reads back");

    /* The last SPI GICD_TYPER.ITLinesNumber implies exists.  The fields of
     * INTIDs past the implemented ones are RAZ/WI; which is the first one is
     * only printed: QEMU 7.2 computes ITLinesNumber as (num_irq - 32) / 32 - 1
     * and so reports one group of 32 SPIs fewer than it implements (virt:
     * INTIDs up to 255 reported, 287 implemented), fixed in later QEMUs. */
    uint32_t last_spi = 32 * (itlines + 1) - 1;
    gic_set_priority(last_spi, 0xa0);
    uint32_t last_a0 = gic_get_priority(last_spi);
    gic_set_priority(last_spi, 0);
    uint32_t first_raz = 0;
    for (uint32_t intid = last_spi + 1; intid < 1020 && !first_raz; intid++) {
        gic_set_priority(intid, 0xa0);
        if (gic_get_priority(intid) == 0)
            first_raz = intid;
        gic_set_priority(intid, 0);
    }
    printf("gic_regs: priority 0xa0 of INTID %u -> 0x%x; first INTID with a RAZ/WI "
           "priority: %u\n", last_spi, last_a0, first_raz);
    expect_eq_u64(last_a0, 0xa0, "the last SPI by ITLinesNumber (INTID %u) has a priority",
                  last_spi);

    /* ---- enables -------------------------------------------------------- */

    /* GICD_ISENABLER/ICENABLER: write 1 to set / clear, reads show the
     * state; same for a PPI in GICR_ISENABLER0/ICENABLER0. */
    gic_enable_irq(TEST_SPI);
    int spi_on = gic_irq_enabled(TEST_SPI);
    gic_disable_irq(TEST_SPI);
    int spi_off = gic_irq_enabled(TEST_SPI);
    gic_enable_irq(TEST_PPI);
    int ppi_on = gic_irq_enabled(TEST_PPI);
    gic_disable_irq(TEST_PPI);
    int ppi_off = gic_irq_enabled(TEST_PPI);
    tap_ok(spi_on && !spi_off, "GICD_ISENABLER/ICENABLER set and clear an SPI's enable");
    tap_ok(ppi_on && !ppi_off, "GICR_ISENABLER0/ICENABLER0 set and clear a PPI's enable");

    return tap_done();
}
