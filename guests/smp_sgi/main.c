/*
 * smp_sgi: two CPUs (run with -smp 2): PSCI CPU_ON / AFFINITY_INFO /
 * CPU_OFF and an SGI from CPU 0 to CPU 1.
 *
 * CPU 0 (lib/start.S, main) initialises the distributor and its own
 * redistributor, then for each of two rounds:
 *   - AFFINITY_INFO(1, 0) is OFF (1);
 *   - CPU_ON(target 1, secondary_entry, context = top of CPU 1's stack)
 *     returns SUCCESS (0);
 *   - CPU 1 (lib/secondary.S, secondary_main) sets up its stack, vectors, its own
 *     redistributor (GICR_WAKER) and CPU interface, enables SGI 5, records
 *     what it saw at entry and signals readiness through memory, then waits
 *     for the SGI with WFI (IRQs masked: WFI still wakes, and the IRQ is
 *     taken when it unmasks; no lost wake-up);
 *   - AFFINITY_INFO(1) is ON (0), and a second CPU_ON gives ALREADY_ON (-4);
 *   - CPU 0 sends SGI 5 with ICC_SGI1R_EL1 (Aff3.Aff2.Aff1 = 0, TargetList =
 *     bit 1); CPU 1's handler acknowledges INTID 5 and raises a flag; CPU 0
 *     (which has SGI 5 enabled too, to catch a misdelivery) takes nothing;
 *   - CPU 0 lets CPU 1 go (a flag and SEV); CPU 1 calls CPU_OFF, which does
 *     not return; AFFINITY_INFO(1) becomes OFF.
 * The second round checks that a CPU turned off can be turned on again.
 *
 * Only CPU 0 prints; CPU 1 reports through the shared `cpu1` record (the
 * MMU is off on both CPUs, so every access is Device memory, coherent and
 * uncached; barriers order the flags after the data).
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "ffa_emu_abi.h"
#include "gic.h"
#include "smccc.h"
#include "smp.h"
#include "tap.h"
#include "timer.h"

/* PSCI 1.1 function IDs and return values (Arm DEN 0022). */
#define PSCI_CPU_OFF 0x84000002u
#define PSCI_AFFINITY_INFO_64 0xC4000004u
#define PSCI_SUCCESS 0
#define PSCI_ALREADY_ON (-4)
#define PSCI_AFF_ON 0
#define PSCI_AFF_OFF 1
#define PSCI_AFF_ON_PENDING 2

#define SGI_ID 5u
#define SGI_PRIORITY 0x80
#define ROUNDS 2

#define CPU1_STACK_SIZE 16384
static uint8_t cpu1_stack[CPU1_STACK_SIZE] __attribute__((aligned(16)));

/* What CPU 1 reports (it writes, CPU 0 reads; counters are per round). */
static volatile struct {
    unsigned ready;             /* rounds in which CPU 1 got ready */
    uint64_t context;           /* x0 at secondary_entry */
    uint64_t mpidr;
    uint64_t daif;              /* PSTATE.DAIF at entry */
    uint64_t currentel;
    uint64_t rd_base;           /* the redistributor it found for itself */
    int gic_rc;
    unsigned sgis;              /* SGI_IDs handled */
    uint32_t intid;
    uint32_t rpr;
    unsigned go_off;            /* written by CPU 0: the round CPU 1 may leave */
    unsigned off_returns;       /* CPU_OFF came back (it must not) */
    int64_t off_ret;
} cpu1;

static volatile unsigned cpu0_irqs;
static volatile uint32_t cpu0_last_intid;


#define DMB() asm volatile("dmb ish" : : : "memory")

static int64_t psci(uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
    return (int32_t)(uint32_t)smccc_call_hvc(fid, a1, a2, a3);
}

static unsigned this_cpu(void)
{
    return (unsigned)(gic_read_mpidr() & 0xff);
}

void guest_irq(struct exception_frame *frame)
{
    (void)frame;
    uint32_t intid = gic_ack();

    if (intid == GIC_SPURIOUS)
        return;
    if (this_cpu() == CPU1_MPIDR) {
        cpu1.intid = intid;
        cpu1.rpr = gic_read_rpr();
        gic_eoi(intid);
        DMB();
        cpu1.sgis = cpu1.sgis + 1;
    } else {
        cpu0_last_intid = intid;
        gic_eoi(intid);
        cpu0_irqs = cpu0_irqs + 1;
    }
}

/* ---- CPU 1 ---------------------------------------------------------------- */

void secondary_main(uint64_t context)
{
    uint64_t daif, el;

    asm volatile("mrs %0, daif" : "=r"(daif));
    asm volatile("mrs %0, CurrentEL" : "=r"(el));
    cpu1.context = context;
    cpu1.mpidr = gic_read_mpidr();
    cpu1.daif = daif;
    cpu1.currentel = el;

    install_vectors();          /* VBAR_EL1 is per CPU */
    cpu1.gic_rc = gic_init_redist();
    gic_init_cpu();
    gic_irq_setup(SGI_ID, SGI_PRIORITY);
    cpu1.rd_base = gic_rdist_base();

    unsigned round = cpu1.ready + 1;
    unsigned sgis = cpu1.sgis;
    DMB();
    cpu1.ready = round;
    asm volatile("dsb ish\n\tsev" : : : "memory");

    /* Wait for the SGI: WFI with IRQs masked wakes on the pending IRQ, the
     * unmask takes it. */
    while (cpu1.sgis == sgis) {
        asm volatile("wfi" : : : "memory");
        irq_unmask();
        irq_mask();
    }

    /* Wait until CPU 0 has looked at AFFINITY_INFO, then turn off. */
    while (cpu1.go_off < round)
        asm volatile("wfe" : : : "memory");

    int64_t ret = psci(PSCI_CPU_OFF, 0, 0, 0);
    cpu1.off_ret = ret;
    DMB();
    cpu1.off_returns = cpu1.off_returns + 1;
    for (;;)
        asm volatile("wfi");
}

/* ---- CPU 0 ---------------------------------------------------------------- */

static uint64_t ticks_1ms;

/* Spin (IRQs unmasked, so a misdelivered SGI would be seen) until *p >= want
 * or ms milliseconds have passed. */
static int wait_for(volatile unsigned *p, unsigned want, unsigned ms)
{
    uint64_t end = timer_cntvct() + ms * ticks_1ms;

    while (*p < want) {
        if (timer_cntvct() > end)
            return 0;
    }
    DMB();
    return 1;
}

static int64_t wait_affinity(int64_t want, unsigned ms, unsigned *polls)
{
    uint64_t end = timer_cntvct() + ms * ticks_1ms;
    int64_t state;

    *polls = 0;
    do {
        state = psci(PSCI_AFFINITY_INFO_64, CPU1_MPIDR, 0, 0);
        (*polls)++;
    } while (state != want && timer_cntvct() <= end);
    return state;
}

#define TESTS_PER_ROUND 13

static void round_trip(unsigned round)
{
    uint64_t stack_top = (uint64_t)(uintptr_t)(cpu1_stack + CPU1_STACK_SIZE);

    int64_t before = psci(PSCI_AFFINITY_INFO_64, CPU1_MPIDR, 0, 0);
    expect_eq_i64(before, PSCI_AFF_OFF, "round %u: AFFINITY_INFO(1) is OFF before CPU_ON",
                  round);

    int64_t on = psci(PSCI_CPU_ON64, CPU1_MPIDR, (uint64_t)(uintptr_t)secondary_entry,
                      stack_top);
    if (!expect_eq_i64(on, PSCI_SUCCESS, "round %u: CPU_ON(1) returns SUCCESS", round))
        return;     /* nothing will come up: stop here (main stops too) */

    int ready = wait_for(&cpu1.ready, round, 1000);
    tap_ok(ready, "round %u: CPU 1 signalled readiness", round);
    printf("smp_sgi: round %u: CPU_ON=%lld; CPU 1 up: x0=0x%llx (stack top 0x%llx) "
           "MPIDR=0x%llx CurrentEL=0x%llx DAIF=0x%llx GICR=0x%llx (rc %d)\n",
           round, (long long)on, (unsigned long long)cpu1.context,
           (unsigned long long)stack_top, (unsigned long long)cpu1.mpidr,
           (unsigned long long)cpu1.currentel, (unsigned long long)cpu1.daif,
           (unsigned long long)cpu1.rd_base, cpu1.gic_rc);
    if (!ready)
        return;
    expect_eq_u64(cpu1.context, stack_top, "round %u: CPU 1 got the context ID in x0", round);
    tap_ok((cpu1.mpidr & 0xff00ffffffull) == CPU1_MPIDR && cpu1.gic_rc == 0 &&
               cpu1.rd_base == GICR_BASE + GICR_STRIDE,
           "round %u: CPU 1 has MPIDR affinity 1 and the second redistributor", round);
    tap_ok(cpu1.currentel == (1u << 2) && (cpu1.daif & 0x3c0u) == 0x3c0u,
           "round %u: CPU 1 entered at EL1 with DAIF masked", round);

    int64_t on_state = psci(PSCI_AFFINITY_INFO_64, CPU1_MPIDR, 0, 0);
    expect_eq_i64(on_state, PSCI_AFF_ON, "round %u: AFFINITY_INFO(1) is ON", round);
    int64_t again = psci(PSCI_CPU_ON64, CPU1_MPIDR, (uint64_t)(uintptr_t)secondary_entry,
                         stack_top);
    expect_eq_i64(again, PSCI_ALREADY_ON, "round %u: CPU_ON(1) again is ALREADY_ON", round);

    /* SGI 5 to CPU 1: Aff3.Aff2.Aff1 = 0.0.0, TargetList bit 1 (Aff0 = 1). */
    uint64_t sgi1r = (uint64_t)SGI_ID << ICC_SGI1R_INTID_SHIFT | 1u << 1;
    unsigned irqs0 = cpu0_irqs;
    gic_write_sgi1r(sgi1r);
    int got = wait_for(&cpu1.sgis, round, 1000);
    /* Give a misdelivered copy time to show up on CPU 0. */
    uint64_t settle = timer_cntvct() + ticks_1ms;
    while (timer_cntvct() < settle)
        ;
    printf("smp_sgi: round %u: ICC_SGI1R_EL1=0x%llx; CPU 1 took INTID %u at "
           "ICC_RPR_EL1=0x%x; CPU 0 took %u\n",
           round, (unsigned long long)sgi1r, cpu1.intid, cpu1.rpr, cpu0_irqs - irqs0);
    tap_ok(got, "round %u: SGI 5 reached CPU 1", round);
    tap_ok(cpu1.intid == SGI_ID && cpu1.rpr == SGI_PRIORITY,
           "round %u: CPU 1 acknowledged INTID 5 at its priority", round);
    expect_eq_u64(cpu0_irqs - irqs0, 0, "round %u: CPU 0 did not get it", round);

    /* Let CPU 1 turn itself off. */
    cpu1.go_off = round;
    asm volatile("dsb ish\n\tsev" : : : "memory");
    unsigned polls;
    int64_t after = wait_affinity(PSCI_AFF_OFF, 1000, &polls);
    printf("smp_sgi: round %u: AFFINITY_INFO(1) = %lld after CPU_OFF (%u polls)\n", round,
           (long long)after, polls);
    expect_eq_i64(after, PSCI_AFF_OFF, "round %u: AFFINITY_INFO(1) becomes OFF", round);
    expect_eq_u64(cpu1.off_returns, 0, "round %u: CPU_OFF did not return", round);
}

int main(void)
{
    install_vectors();
    tap_plan(1 + ROUNDS * TESTS_PER_ROUND);
    ticks_1ms = timer_frequency() / 1000;

    expect_eq_u64(gic_init(), 0, "GIC initialised (CPU 0's redistributor found)");
    /* SGI 5 enabled on CPU 0 too: if it were delivered here, we would know. */
    gic_irq_setup(SGI_ID, SGI_PRIORITY);
    irq_unmask();

    for (unsigned round = 1; round <= ROUNDS; round++) {
        unsigned failed = tap_failures();
        round_trip(round);
        if (tap_failures() != failed)
            break;  /* CPU 1 may be stuck: a second round would only wait */
    }
    irq_mask();
    return tap_done();
}
