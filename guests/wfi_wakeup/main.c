/*
 * wfi_wakeup: WFI wakes on an interrupt that PSTATE.I masks.
 *
 * The Arm ARM (DDI 0487, "Wait for Interrupt": the WFI wake-up events) wakes
 * a PE from WFI on a physical IRQ whatever the value of PSTATE.I: the
 * interrupt is not taken, but WFI completes.  That is what makes the
 * race-free idle loop work (mask, check, WFI, unmask).
 *
 * The virtual timer (PPI 27) is enabled in the GIC, PSTATE.I is set,
 * CNTV_CVAL = now + CNTFRQ / 200 (~5 ms), CNTV_CTL.ENABLE = 1, then WFI
 * (again while the counter is below CVAL: WFI may also complete early, for
 * no reason).  After the wake-up: the counter is >= CVAL, no handler ran,
 * the interrupt is pending everywhere one can see it (ISR_EL1.I,
 * ICC_HPPIR1_EL1, GICR_ISPENDR0, CNTV_CTL.ISTATUS).  Then daifclr #2: the
 * IRQ is taken at once (by the isb after the unmask, a context
 * synchronization event), with INTID 27 and the running priority 0x80.
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "gic.h"
#include "tap.h"
#include "timer.h"

#define TIMER_PRIORITY 0x80

static volatile struct {
    unsigned count;
    unsigned spurious;
    uint32_t intid;
    uint32_t rpr;
    uint64_t counter;
    uint64_t elr;
} seen;

void guest_irq(struct exception_frame *frame)
{
    uint32_t intid = gic_ack();

    if (intid == GIC_SPURIOUS) {
        seen.spurious++;
        return;
    }
    seen.counter = timer_cntvct();
    seen.rpr = gic_read_rpr();
    seen.intid = intid;
    seen.elr = frame->elr;
    if (intid == GIC_PPI_CNTV)
        cntv_set_ctl(CNT_CTL_ENABLE | CNT_CTL_IMASK);
    gic_eoi(intid);
    seen.count++;
}

int main(void)
{
    install_vectors();
    irq_mask();
    tap_plan(16);
    expect_eq_u64(gic_init(), 0, "GIC initialised (this CPU's redistributor found)");

    uint64_t frq = timer_frequency();
    cntv_set_ctl(0);
    gic_irq_setup(GIC_PPI_CNTV, TIMER_PRIORITY);

    uint64_t isr_before = read_isr_el1();
    uint64_t start = timer_cntvct();
    uint64_t cval = start + frq / 200;
    cntv_set_cval(cval);
    cntv_set_ctl(CNT_CTL_ENABLE);

    unsigned wfis = 0;
    uint64_t now;
    do {
        asm volatile("wfi" : : : "memory");
        wfis++;
        now = timer_cntvct();
    } while (now < cval && wfis < 1000000);

    uint64_t daif = read_daif();
    uint64_t isr = read_isr_el1();
    uint32_t hppir = gic_read_hppir1();
    int pending = gic_irq_pending(GIC_PPI_CNTV);
    uint64_t ctl = cntv_ctl();
    unsigned handled_while_masked = seen.count;

    printf("wfi_wakeup: frq=%llu start=%llu cval=%llu woke at %llu (counter-cval=%llu) "
           "after %u wfi; DAIF=0x%llx ISR_EL1=0x%llx (before 0x%llx) "
           "ICC_HPPIR1_EL1=%u GICR_ISPENDR0[27]=%d CNTV_CTL=0x%llx\n",
           (unsigned long long)frq, (unsigned long long)start,
           (unsigned long long)cval, (unsigned long long)now,
           (unsigned long long)(now - cval), wfis, (unsigned long long)daif,
           (unsigned long long)isr, (unsigned long long)isr_before, hppir, pending,
           (unsigned long long)ctl);

    expect_eq_u64(isr_before & ISR_EL1_I, 0, "no IRQ pending before the timer is armed");
    tap_ok(now >= cval, "WFI returned with CNTVCT >= CVAL");
    expect_eq_u64(handled_while_masked, 0, "no handler ran while PSTATE.I was set");
    tap_ok(daif & 0x80u, "PSTATE.I is still set");
    tap_ok(isr & ISR_EL1_I, "ISR_EL1.I: an IRQ is pending at the PE");
    expect_eq_u64(hppir, GIC_PPI_CNTV, "ICC_HPPIR1_EL1 is INTID 27");
    tap_ok(pending, "GICR_ISPENDR0 shows PPI 27 pending");
    tap_ok((ctl & (CNT_CTL_ENABLE | CNT_CTL_ISTATUS)) == (CNT_CTL_ENABLE | CNT_CTL_ISTATUS),
           "CNTV_CTL_EL0: ENABLE and ISTATUS set");

    /* Unmask: the pending IRQ is taken by the isb in irq_unmask(). */
    irq_unmask();
    unsigned handled_at_unmask = seen.count;
    irq_mask();

    printf("wfi_wakeup: after daifclr: %u handled (%u spurious), INTID %u, "
           "ICC_RPR_EL1=0x%x in the handler, counter %llu, ELR 0x%llx\n",
           handled_at_unmask, seen.spurious, seen.intid, seen.rpr,
           (unsigned long long)seen.counter, (unsigned long long)seen.elr);

    expect_eq_u64(handled_at_unmask, 1, "unmasking takes the pending IRQ at once");
    expect_eq_u64(seen.intid, GIC_PPI_CNTV, "the handler acknowledged INTID 27");
    expect_eq_u64(seen.rpr, TIMER_PRIORITY, "ICC_RPR_EL1 in the handler is the priority");
    tap_ok(seen.counter >= cval, "counter at handling time >= CVAL");
    expect_eq_u64(read_isr_el1() & ISR_EL1_I, 0, "ISR_EL1.I clear afterwards");
    expect_eq_u64(gic_irq_pending(GIC_PPI_CNTV), 0, "PPI 27 no longer pending (timer masked)");
    expect_eq_u64(gic_read_rpr(), GIC_IDLE_PRIORITY, "ICC_RPR_EL1 idle afterwards");

    cntv_set_ctl(0);
    gic_disable_irq(GIC_PPI_CNTV);
    return tap_done();
}
