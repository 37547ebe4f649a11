/*
 * sgi_self: software-generated interrupts to the sending CPU, the priority
 * mask and preemption (IHI 0069: ICC_SGI1R_EL1, and the chapter on
 * interrupt prioritization: priority masking, running priority,
 * preemption).
 *
 * 1. SGI 3 (priority 0x80) to this CPU through ICC_SGI1R_EL1 (Aff3.Aff2.Aff1
 *    of this CPU's MPIDR, TargetList = bit Aff0), IRQs masked: it shows up
 *    pending (ISR_EL1.I, ICC_HPPIR1_EL1, GICR_ISPENDR0); unmasked, it is
 *    taken with INTID 3 and ICC_RPR_EL1 = 0x80 in the handler.
 *    ICC_SGI1R_EL1.IRM = 1 sends to every PE but this one: nothing arrives.
 * 2. ICC_PMR_EL1 = 0x80: SGI 3 (priority 0x80, not higher than the mask)
 *    stays pending and is not signalled (ISR_EL1.I = 0); PMR = 0xff lets it
 *    in.
 * 3. Preemption (ICC_BPR1_EL1 at its minimum, so every implemented priority
 *    bit is group priority): SGI 1 (priority 0xa0) is taken; its handler
 *    unmasks IRQs, sends SGI 4 (0xc0, lower) which must not preempt (it
 *    stays pending: ICC_HPPIR1_EL1 = 4, ISR_EL1.I = 0), then SGI 2 (0x80,
 *    higher) which must preempt at once; the handler masks IRQs again and
 *    EOIs.  SGI 4 is taken after the return.  Expected order of handler
 *    entries (+) and exits (-): +1 +2 -2 -1 +4 -4.
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "gic.h"
#include "tap.h"
#include "timer.h"

#define SGI_BASIC 3u
#define SGI_LOW 1u
#define SGI_HIGH 2u
#define SGI_LOWER 4u
#define PRIO_BASIC 0x80
#define PRIO_LOW 0xa0
#define PRIO_HIGH 0x80
#define PRIO_LOWER 0xc0

#define MAX_EVENTS 16

static volatile struct {
    unsigned count;
    unsigned spurious;
    uint32_t last_intid;
    uint32_t rpr[16];           /* ICC_RPR_EL1 at entry, per SGI */
    uint32_t ap1r0[16];         /* ICC_AP1R0_EL1 at entry, per SGI */
    int events[MAX_EVENTS];     /* +intid on entry, -intid on exit */
    unsigned nevents;
    /* Inside SGI_LOW's handler, after sending SGI_LOWER. */
    int lower_preempted;
    uint32_t hppir_after_lower;
    uint64_t isr_after_lower;
    int lower_pending;
    /* Inside SGI_LOW's handler, after sending SGI_HIGH. */
    int high_preempted;
} seen;

static uint64_t my_mpidr;
static uint64_t ticks_1ms;

static void log_event(int e)
{
    if (seen.nevents < MAX_EVENTS)
        seen.events[seen.nevents] = e;
    seen.nevents++;
}

/* Spin until cond() or about ms milliseconds have passed; returns cond(). */
static int wait_until(int (*cond)(void), unsigned ms)
{
    uint64_t end = timer_cntvct() + ms * ticks_1ms;

    while (!cond()) {
        if (timer_cntvct() > end)
            return cond();
    }
    return 1;
}

static int irq_pending_at_pe(void) { return (read_isr_el1() & ISR_EL1_I) != 0; }
static int lower_entered(void) { return seen.rpr[SGI_LOWER] != 0; }
static int high_entered(void) { return seen.rpr[SGI_HIGH] != 0; }
static int all_events(void) { return seen.nevents >= 6; }

static void low_handler_body(void)
{
    irq_unmask();

    gic_send_sgi(SGI_LOWER, my_mpidr);
    seen.lower_preempted = wait_until(lower_entered, 2);
    seen.hppir_after_lower = gic_read_hppir1();
    seen.isr_after_lower = read_isr_el1();
    seen.lower_pending = gic_irq_pending(SGI_LOWER);

    gic_send_sgi(SGI_HIGH, my_mpidr);
    seen.high_preempted = wait_until(high_entered, 100);

    irq_mask();
}

void guest_irq(struct exception_frame *frame)
{
    (void)frame;
    uint32_t intid = gic_ack();

    if (intid == GIC_SPURIOUS) {
        seen.spurious++;
        return;
    }
    seen.last_intid = intid;
    if (intid < 16) {
        seen.rpr[intid] = gic_read_rpr();
        seen.ap1r0[intid] = (uint32_t)GIC_READ_SYSREG(ICC_AP1R0_EL1);
    }
    log_event((int)intid);
    if (intid == SGI_LOW)
        low_handler_body();
    log_event(-(int)intid);
    seen.count++;
    gic_eoi(intid);
}

static void reset_seen(void)
{
    seen.count = 0;
    seen.spurious = 0;
    seen.last_intid = GIC_SPURIOUS;
    seen.nevents = 0;
    for (unsigned i = 0; i < 16; i++) {
        seen.rpr[i] = 0;
        seen.ap1r0[i] = 0;
    }
}

static int count_is_one(void) { return seen.count >= 1; }

int main(void)
{
    install_vectors();
    irq_mask();
    tap_plan(25);
    expect_eq_u64(gic_init(), 0, "GIC initialised (this CPU's redistributor found)");
    ticks_1ms = timer_frequency() / 1000;
    my_mpidr = gic_read_mpidr();

    /* ---- 1. SGI 3 to self ----------------------------------------------- */
    gic_irq_setup(SGI_BASIC, PRIO_BASIC);
    reset_seen();
    gic_send_sgi(SGI_BASIC, my_mpidr);
    int signalled = wait_until(irq_pending_at_pe, 100);
    uint32_t hppir = gic_read_hppir1();
    int pending = gic_irq_pending(SGI_BASIC);
    printf("sgi_self: MPIDR=0x%llx SGI %u sent (IRQs masked): ISR_EL1.I=%d "
           "ICC_HPPIR1_EL1=%u GICR_ISPENDR0[%u]=%d\n",
           (unsigned long long)my_mpidr, SGI_BASIC, signalled, hppir, SGI_BASIC, pending);
    tap_ok(signalled, "SGI 3 to self: ISR_EL1.I set while IRQs are masked");
    expect_eq_u64(hppir, SGI_BASIC, "ICC_HPPIR1_EL1 is 3");
    tap_ok(pending, "GICR_ISPENDR0 shows SGI 3 pending");
    expect_eq_u64(seen.count, 0, "not taken while PSTATE.I is set");
    irq_unmask();
    irq_mask();
    expect_eq_u64(seen.count, 1, "taken once IRQs are unmasked");
    expect_eq_u64(seen.last_intid, SGI_BASIC, "ICC_IAR1_EL1 gave INTID 3");
    expect_eq_u64(seen.rpr[SGI_BASIC], PRIO_BASIC, "ICC_RPR_EL1 in the handler is 0x80");
    expect_eq_u64(gic_irq_pending(SGI_BASIC) | (read_isr_el1() & ISR_EL1_I), 0,
                  "nothing pending afterwards");

    /* IRM = 1: every PE but the sender (on one CPU: nobody). */
    reset_seen();
    gic_write_sgi1r(ICC_SGI1R_IRM | (uint64_t)SGI_BASIC << ICC_SGI1R_INTID_SHIFT);
    int irm_signalled = wait_until(irq_pending_at_pe, 2);
    tap_ok(!irm_signalled && !gic_irq_pending(SGI_BASIC),
           "ICC_SGI1R_EL1.IRM = 1 does not target the sender");

    /* ---- 2. the priority mask -------------------------------------------- */
    reset_seen();
    gic_write_pmr(PRIO_BASIC);     /* only priorities < 0x80 get through */
    gic_send_sgi(SGI_BASIC, my_mpidr);
    irq_unmask();
    int masked_taken = wait_until(count_is_one, 2);
    irq_mask();
    uint64_t isr_masked = read_isr_el1();
    int pending_masked = gic_irq_pending(SGI_BASIC);
    uint32_t hppir_masked = gic_read_hppir1();
    printf("sgi_self: PMR=0x%x: SGI %u taken=%d pending=%d ISR_EL1=0x%llx "
           "ICC_HPPIR1_EL1=%u\n",
           gic_read_pmr(), SGI_BASIC, masked_taken, pending_masked,
           (unsigned long long)isr_masked, hppir_masked);
    tap_ok(!masked_taken, "ICC_PMR_EL1 = 0x80 holds back a priority-0x80 SGI");
    tap_ok(pending_masked, "it stays pending in the redistributor");
    expect_eq_u64(isr_masked & ISR_EL1_I, 0, "and is not signalled to the PE (ISR_EL1.I = 0)");
    gic_write_pmr(0xff);
    irq_unmask();
    irq_mask();
    tap_ok(seen.count == 1 && seen.last_intid == SGI_BASIC,
           "ICC_PMR_EL1 = 0xff lets it in");

    /* ---- 3. preemption --------------------------------------------------- */
    gic_irq_setup(SGI_LOW, PRIO_LOW);
    gic_irq_setup(SGI_HIGH, PRIO_HIGH);
    gic_irq_setup(SGI_LOWER, PRIO_LOWER);
    reset_seen();
    gic_send_sgi(SGI_LOW, my_mpidr);
    irq_unmask();
    wait_until(all_events, 200);
    irq_mask();

    unsigned n = seen.nevents < MAX_EVENTS ? seen.nevents : MAX_EVENTS;
    char order[96];
    unsigned len = 0;
    for (unsigned i = 0; i < n && len + 8 < sizeof(order); i++)
        len += (unsigned)snprintf(order + len, sizeof(order) - len, "%s%+d",
                                  i ? " " : "", seen.events[i]);
    order[len] = 0;
    printf("sgi_self: preemption order: %s\n", order);
    printf("sgi_self: ICC_RPR_EL1 at entry: SGI1=0x%x SGI2=0x%x SGI4=0x%x; "
           "ICC_AP1R0_EL1 at entry: SGI1=0x%x SGI2=0x%x SGI4=0x%x\n",
           seen.rpr[SGI_LOW], seen.rpr[SGI_HIGH], seen.rpr[SGI_LOWER],
           seen.ap1r0[SGI_LOW], seen.ap1r0[SGI_HIGH], seen.ap1r0[SGI_LOWER]);
    printf("sgi_self: in SGI1's handler after sending SGI4: taken=%d "
           "ICC_HPPIR1_EL1=%u ISR_EL1=0x%llx pending=%d; ICC_BPR1_EL1=0x%llx\n",
           seen.lower_preempted, seen.hppir_after_lower,
           (unsigned long long)seen.isr_after_lower, seen.lower_pending,
           (unsigned long long)GIC_READ_SYSREG(ICC_BPR1_EL1));

    static const int expected[6] = {SGI_LOW, SGI_HIGH, -(int)SGI_HIGH, -(int)SGI_LOW,
                                    SGI_LOWER, -(int)SGI_LOWER};
    int order_ok = seen.nevents == 6;
    for (unsigned i = 0; order_ok && i < 6; i++)
        order_ok = seen.events[i] == expected[i];
    tap_ok(order_ok, "handler order is +1 +2 -2 -1 +4 -4");
    tap_ok(!seen.lower_preempted, "lower-priority SGI 4 (0xc0) did not preempt SGI 1 (0xa0)");
    expect_eq_u64(seen.hppir_after_lower, SGI_LOWER,
                  "meanwhile ICC_HPPIR1_EL1 is 4 (pending, not signalled)");
    tap_ok(seen.lower_pending && !(seen.isr_after_lower & ISR_EL1_I),
           "SGI 4 pending in the redistributor, ISR_EL1.I = 0");
    tap_ok(seen.high_preempted, "higher-priority SGI 2 (0x80) preempted SGI 1");
    expect_eq_u64(seen.rpr[SGI_LOW], PRIO_LOW, "ICC_RPR_EL1 in SGI 1's handler is 0xa0");
    expect_eq_u64(seen.rpr[SGI_HIGH], PRIO_HIGH, "ICC_RPR_EL1 in the nested SGI 2 is 0x80");
    expect_eq_u64(seen.rpr[SGI_LOWER], PRIO_LOWER, "ICC_RPR_EL1 in SGI 4's handler is 0xc0");
    tap_ok(seen.ap1r0[SGI_HIGH] != 0 && seen.ap1r0[SGI_HIGH] != seen.ap1r0[SGI_LOW],
           "ICC_AP1R0_EL1 gains an active priority when SGI 2 nests");
    expect_eq_u64(gic_read_rpr() | (uint64_t)GIC_READ_SYSREG(ICC_AP1R0_EL1) << 8,
                  GIC_IDLE_PRIORITY, "idle afterwards: ICC_RPR_EL1 0xff, ICC_AP1R0_EL1 0");
    expect_eq_u64(seen.spurious, 0, "no spurious acknowledges");

    return tap_done();
}
