/*
 * timer_irq: the generic timer's EL1 virtual timer (CNTV, PPI 27 on QEMU
 * virt) and physical timer (CNTP, PPI 30) interrupting through the GICv3.
 *
 * For each timer: CTL = 0, TVAL = CNTFRQ / 1000 (~1 ms; the write sets
 * CVAL = counter + TVAL), the PPI in group 1 at a priority, CTL.ENABLE = 1,
 * IRQs unmasked (daifclr #2), then a loop of WFI until the handler has run.
 * The handler (guest_irq) acknowledges (ICC_IAR1_EL1), records the counter,
 * ICC_RPR_EL1, CTL and TVAL, masks the timer (CTL.IMASK: the level-sensitive
 * PPI deasserts), ends the interrupt (ICC_EOIR1_EL1) and records the running
 * priority again.  Checks:
 *   - the interrupt came, once, with the timer's INTID, from EL1h with
 *     PSTATE.I clear (SPSR_EL1);
 *   - the counter at handling time >= CVAL; ISTATUS was set and TVAL (the
 *     signed CVAL - counter) <= 0;
 *   - ICC_RPR_EL1 in the handler is the interrupt's priority (IHI 0069:
 *     acknowledging sets the running priority) and is back to idle (0xff)
 *     after the EOI (priority drop), the INTID no longer active;
 *   - once masked, the PPI is no longer pending (a level-sensitive
 *     interrupt's pending state follows its line) and does not come back.
 *
 * The wait loop checks the flag and then sleeps with IRQs unmasked; the IRQ
 * cannot slip in between the check and the WFI to be lost, because QEMU (and
 * an emulator that takes IRQs at block boundaries) only takes interrupts
 * between translation blocks and the WFI ends the block holding the check.
 * (wfi_wakeup does it the race-free way, WFI with IRQs masked.)
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "gic.h"
#include "tap.h"
#include "timer.h"

struct timer {
    const char *name;
    uint32_t intid;
    uint8_t priority;
    uint64_t (*count)(void);
    uint64_t (*ctl)(void);
    void (*set_ctl)(uint64_t);
    uint64_t (*cval)(void);
    void (*set_tval)(uint32_t);
    uint64_t (*tval)(void);
};

static uint64_t cntv_tval(void) { return TIMER_READ_SYSREG(cntv_tval_el0); }
static uint64_t cntp_tval(void) { return TIMER_READ_SYSREG(cntp_tval_el0); }

static const struct timer timers[2] = {
    {"CNTV", GIC_PPI_CNTV, 0x80, timer_cntvct, cntv_ctl, cntv_set_ctl, cntv_cval,
     cntv_set_tval, cntv_tval},
    {"CNTP", GIC_PPI_CNTP, 0x90, timer_cntpct, cntp_ctl, cntp_set_ctl, cntp_cval,
     cntp_set_tval, cntp_tval},
};

/* What the handler saw (written in guest_irq, read by main). */
static volatile struct {
    const struct timer *timer;  /* the one being tested */
    unsigned count;             /* interrupts acknowledged (not spurious) */
    unsigned spurious;          /* ICC_IAR1_EL1 returned 1023 */
    uint32_t intid;
    uint64_t counter;           /* the timer's counter at handling time */
    uint32_t rpr;               /* ICC_RPR_EL1 after the acknowledge */
    uint32_t rpr_after_eoi;
    uint64_t ctl;               /* CTL at handling time */
    int64_t tval;               /* TVAL (signed 32-bit) at handling time */
    int pending_after_mask;     /* GICR_ISPENDR0 bit once CTL.IMASK is set */
    int active_before_eoi;
    int active_after_eoi;
    uint64_t spsr;              /* of the interrupted context */
} seen;

void guest_irq(struct exception_frame *frame)
{
    uint32_t intid = gic_ack();
    const struct timer *t = seen.timer;

    if (intid == GIC_SPURIOUS) {
        seen.spurious++;
        return;
    }
    seen.counter = t->count();
    seen.rpr = gic_read_rpr();
    seen.ctl = t->ctl();
    seen.tval = (int32_t)(uint32_t)t->tval();
    seen.intid = intid;
    seen.spsr = frame->spsr;
    if (intid == t->intid) {
        /* Mask the timer's output so that the level-sensitive PPI drops. */
        t->set_ctl(CNT_CTL_ENABLE | CNT_CTL_IMASK);
        /* The line drops at once on QEMU; allow real hardware a few reads. */
        int pending = 1;
        for (unsigned i = 0; i < 100 && pending; i++)
            pending = gic_irq_pending(intid);
        seen.pending_after_mask = pending;
    }
    seen.active_before_eoi = intid < GIC_FIRST_SPI ? gic_irq_active(intid) : -1;
    gic_eoi(intid);
    seen.rpr_after_eoi = gic_read_rpr();
    seen.active_after_eoi = intid < GIC_FIRST_SPI ? gic_irq_active(intid) : -1;
    seen.count++;
}

#define TESTS_PER_TIMER 13

static void test_timer(const struct timer *t, uint64_t frq)
{
    uint64_t ticks = frq / 1000;    /* ~1 ms */

    seen.timer = t;
    seen.count = 0;
    seen.spurious = 0;
    seen.intid = GIC_SPURIOUS;

    t->set_ctl(0);
    gic_irq_setup(t->intid, t->priority);
    uint64_t start = t->count();
    t->set_tval((uint32_t)ticks);
    uint64_t cval = t->cval();
    t->set_ctl(CNT_CTL_ENABLE);

    irq_unmask();
    unsigned wfis = 0;
    while (!seen.count) {
        if (t->count() - start > frq)   /* 1 s: the interrupt is not coming */
            break;
        asm volatile("wfi" : : : "memory");
        wfis++;
    }
    irq_mask();
    uint64_t woke = t->count();

    /* With the timer masked, nothing more comes for another ~1 ms. */
    irq_unmask();
    uint64_t quiet_until = t->count() + ticks;
    while (t->count() < quiet_until)
        ;
    irq_mask();
    uint64_t ctl_after = t->ctl();

    printf("timer_irq: %s INTID %u prio 0x%x frq=%llu start=%llu cval=%llu "
           "(cval-start=%llu, tval=%llu) handled at %llu (counter-cval=%llu) "
           "loop exit at %llu (+%llu), %u wfi, %u spurious\n",
           t->name, t->intid, t->priority, (unsigned long long)frq,
           (unsigned long long)start, (unsigned long long)cval,
           (unsigned long long)(cval - start), (unsigned long long)ticks,
           (unsigned long long)seen.counter,
           (unsigned long long)(seen.counter - cval), (unsigned long long)woke,
           (unsigned long long)(woke - seen.counter), wfis, seen.spurious);
    printf("timer_irq: %s handler: ICC_RPR_EL1=0x%x (after EOI 0x%x) CTL=0x%llx "
           "TVAL=%lld active=%d (after EOI %d) pending after IMASK=%d SPSR=0x%llx; "
           "CTL afterwards 0x%llx\n",
           t->name, seen.rpr, seen.rpr_after_eoi, (unsigned long long)seen.ctl,
           (long long)seen.tval, seen.active_before_eoi, seen.active_after_eoi,
           seen.pending_after_mask, (unsigned long long)seen.spsr,
           (unsigned long long)ctl_after);

    tap_ok(seen.count >= 1, "%s: the timer interrupt came", t->name);
    expect_eq_u64(seen.count, 1, "%s: exactly once (masked in the handler, no repeat)",
                  t->name);
    expect_eq_u64(seen.intid, t->intid, "%s: ICC_IAR1_EL1 gave INTID %u", t->name,
                  t->intid);
    tap_ok(cval - start >= ticks && cval - start < ticks + frq / 10,
           "%s: writing TVAL set CVAL = counter + TVAL", t->name);
    tap_ok(seen.counter >= cval, "%s: counter at handling time >= CVAL", t->name);
    tap_ok((seen.ctl & (CNT_CTL_ENABLE | CNT_CTL_ISTATUS | CNT_CTL_IMASK)) ==
               (CNT_CTL_ENABLE | CNT_CTL_ISTATUS),
           "%s: CTL in the handler: ENABLE and ISTATUS set, IMASK clear", t->name);
    tap_ok(seen.tval <= 0, "%s: TVAL in the handler is <= 0 (%lld)", t->name,
           (long long)seen.tval);
    expect_eq_u64(seen.rpr, t->priority, "%s: ICC_RPR_EL1 in the handler is the priority",
                  t->name);
    expect_eq_u64(seen.rpr_after_eoi, GIC_IDLE_PRIORITY,
                  "%s: ICC_RPR_EL1 back to idle after the EOI", t->name);
    tap_ok(seen.active_before_eoi == 1 && seen.active_after_eoi == 0,
           "%s: active after the acknowledge, inactive after the EOI", t->name);
    expect_eq_u64(seen.pending_after_mask, 0,
                  "%s: not pending once CTL.IMASK drops the level", t->name);
    expect_eq_u64(seen.spsr & (SPSR_M_MASK | 0x80u), SPSR_M_EL1H,
                  "%s: taken from EL1h with PSTATE.I clear", t->name);
    expect_eq_u64(gic_read_rpr(), GIC_IDLE_PRIORITY, "%s: ICC_RPR_EL1 idle afterwards",
                  t->name);

    t->set_ctl(0);
    gic_disable_irq(t->intid);
}

int main(void)
{
    install_vectors();
    tap_plan(2 * TESTS_PER_TIMER + 1);
    expect_eq_u64(gic_init(), 0, "GIC initialised (this CPU's redistributor found)");

    uint64_t frq = timer_frequency();
    for (unsigned i = 0; i < 2; i++)
        test_timer(&timers[i], frq);
    return tap_done();
}
