/*
 * ffa_run: a direct request the service SP answers over several runs.  Its
 * WORK command yields (FFA_YIELD) after every step but the last; the caller
 * resumes it with FFA_RUN.  One "run: key=value" line per step:
 *
 *   features       FFA_FEATURES(FFA_RUN)
 *   req            DIRECT_REQ (SMC32) WORK 3: the first answer
 *   busy           a PING to the SP while it is blocked in WORK
 *   run1, run2     FFA_RUN of the SP, vCPU 0: the answers (the last one is
 *                  the DIRECT_RESP, with the steps done)
 *   idle           FFA_RUN once more: nothing to resume
 *   bad_vcpu       FFA_RUN of vCPU 5 (the SP has one)
 *   bad_sp         FFA_RUN of 0x8009 (no such SP)
 *   req2, req2_run DIRECT_REQ2 WORK 2, then FFA_RUN
 *   preempted      WORK 40 in one run (mode 1) with the virtual timer set to
 *                  fire 20 us into it: the answers until the DIRECT_RESP
 *                  (how many FFA_INTERRUPTs, the timer interrupts taken
 *                  between them, the steps done)
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "ffa.h"
#include "gic.h"
#include "timer.h"

#define VTIMER_PPI 27u
#define PREEMPT_STEPS 40u

#define RUN_TARGET(sp, vcpu) ((uint64_t)(uint16_t)(sp) << 16 | (uint16_t)(vcpu))

static uint16_t self;
static volatile unsigned timer_irqs;

void guest_irq(struct exception_frame *frame)
{
    uint32_t intid = gic_ack();

    (void)frame;
    if (intid == GIC_SPURIOUS)
        return;
    if (intid == VTIMER_PPI) {
        cntv_set_ctl(CNT_CTL_ENABLE | CNT_CTL_IMASK);
        timer_irqs++;
    }
    gic_eoi(intid);
}

static void report(const char *key, const struct smccc_regs *r)
{
    uint32_t w0 = ffa_w(r, 0);

    if (w0 == (uint32_t)FFA_YIELD)
        printf("run: %s=YIELD w1=0x%x w2=0x%x\n", key, ffa_w(r, 1), ffa_w(r, 2));
    else if (w0 == (uint32_t)FFA_MSG_SEND_DIRECT_RESP)
        printf("run: %s=DIRECT_RESP w1=0x%x w3=%u\n", key, ffa_w(r, 1), ffa_w(r, 3));
    else if (w0 == (uint32_t)FFA_FN64_MSG_SEND_DIRECT_RESP2)
        printf("run: %s=DIRECT_RESP2 w1=0x%x x4=%llu\n", key, ffa_w(r, 1), (unsigned long long)r->x[4]);
    else
        ffa_print_step("run", key, r);
}

static struct smccc_regs run(uint16_t sp, uint16_t vcpu)
{
    return ffa_call(FFA_RUN, RUN_TARGET(sp, vcpu), 0, 0, 0, 0, 0, 0);
}

static struct smccc_regs req2_work(uint64_t steps)
{
    const uint64_t payload[14] = { SERVICE_CMD_WORK, steps };
    struct smccc_regs r = ffa_direct_req2_frame(self, SERVICE_SP_ID, 0, 0, payload);

    smccc_call(&r);
    return r;
}

/* A long request a timer interrupt preempts: the SP hands the CPU back with FFA_INTERRUPT, the interrupt is
 * taken, FFA_RUN resumes the SP. */
static void preempted(void)
{
    struct smccc_regs r;
    unsigned interrupts = 0, rounds = 0;

    install_vectors();
    gic_init();
    gic_irq_setup(VTIMER_PPI, 0x80);
    cntv_set_tval((uint32_t)(timer_frequency() / 50000)); /* 20 us */
    cntv_set_ctl(CNT_CTL_ENABLE);
    irq_unmask();
    r = ffa_call(FFA_MSG_SEND_DIRECT_REQ, FFA_ENDPOINTS(self, SERVICE_SP_ID), 0, SERVICE_CMD_WORK, PREEMPT_STEPS,
                 1, 0, 0);
    while (ffa_w(&r, 0) == (uint32_t)FFA_INTERRUPT && rounds++ < PREEMPT_STEPS) {
        interrupts++;
        r = run(SERVICE_SP_ID, 0);
    }
    irq_mask();
    cntv_set_ctl(0);
    printf("run: preempted=interrupts:%u timer_irqs:%u answer:%s steps:%u\n", interrupts, timer_irqs,
           ffa_w(&r, 0) == (uint32_t)FFA_MSG_SEND_DIRECT_RESP ? "DIRECT_RESP" : "other", ffa_w(&r, 3));
}

int main(void)
{
    struct smccc_regs r;

    ffa_version(FFA_MAKE_VERSION(1, 2));
    r = ffa_id_get();
    self = (uint16_t)ffa_w(&r, 2);
    r = ffa_features(FFA_RUN);
    report("features", &r);

    r = ffa_call(FFA_MSG_SEND_DIRECT_REQ, FFA_ENDPOINTS(self, SERVICE_SP_ID), 0, SERVICE_CMD_WORK, 3, 0, 0, 0);
    report("req", &r);
    r = ffa_call(FFA_MSG_SEND_DIRECT_REQ, FFA_ENDPOINTS(self, SERVICE_SP_ID), 0, SERVICE_CMD_PING, 0, 0, 0, 0);
    report("busy", &r);
    r = run(SERVICE_SP_ID, 0);
    report("run1", &r);
    r = run(SERVICE_SP_ID, 0);
    report("run2", &r);
    r = run(SERVICE_SP_ID, 0);
    report("idle", &r);
    r = run(SERVICE_SP_ID, 5);
    report("bad_vcpu", &r);
    r = run(0x8009, 0);
    report("bad_sp", &r);

    r = req2_work(2);
    report("req2", &r);
    r = run(SERVICE_SP_ID, 0);
    report("req2_run", &r);
    preempted();
    return 0;
}
