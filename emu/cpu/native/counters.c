/*
 * Counter reads served from the machine's cycle clock, as a UC_HOOK_INSN
 * (MRS) callback in C.  Unicorn's CNTVCT_EL0/CNTPCT_EL0 and PMCCNTR_EL0
 * follow host time; serving them from the cycle clock makes every run of a
 * guest read the same values.  The hook sees every MRS, so the common case
 * (not a counter) must return at once.
 *
 * A guest that polls the counter in a tight loop (a delay loop) is treated
 * as a vCPU a hypervisor would deschedule: after POLL_THRESHOLD quick
 * re-reads from the same PC, time advances without instructions, by a skip
 * that doubles on every read up to skip_max.  Deterministic, and a 100 ms
 * delay costs a few hundred reads instead of millions.
 *
 * emu/cpu/counters.py holds the identical pure-Python fallback.
 */
#include <stdint.h>

typedef int (*ct_reg_write_fn)(void *uc, int regid, const void *value);
typedef int (*ct_reg_read_fn)(void *uc, int regid, void *value);
/* A timer compare register access, served in Python: (write, CRm, op2, value) -> value read. */
typedef uint64_t (*ct_timer_fn)(uint32_t write, uint32_t crm, uint32_t op2, uint64_t value);
/* ISR_EL1, served in Python: the interrupts pending at this PE (Unicorn has no interrupt lines). */
typedef uint64_t (*ct_isr_fn)(void);

struct ct_cp_reg {
    uint32_t crn, crm, op0, op1, op2;
    uint64_t val;
};

struct ct_state {
    uint64_t *clock;         /* the machine-wide cycle clock */
    uint64_t ticks_per_256;  /* generic timer ticks per 256 cycles */
    uint64_t skip_max;       /* longest single time skip of a polling loop, in cycles */
    uint64_t skipped;        /* cycles skipped in polling loops, in total */
    uint64_t poll_pc;
    uint64_t poll_clock;
    uint64_t skip;
    uint32_t poll_count;
    int pc_reg;
    ct_reg_write_fn reg_write;
    ct_reg_read_fn reg_read;
    ct_timer_fn timer;
    ct_isr_fn isr;
};

#define POLL_WINDOW 512      /* cycles between two reads of one polling loop */
#define POLL_THRESHOLD 32    /* quick re-reads before time skips */

static uint64_t ct_now(void *uc, struct ct_state *s)
{
    uint64_t pc = 0, now = *s->clock;
    s->reg_read(uc, s->pc_reg, &pc);
    if (pc == s->poll_pc && now - s->poll_clock < POLL_WINDOW) {
        if (++s->poll_count >= POLL_THRESHOLD) {
            s->skip = s->skip ? s->skip * 2 : POLL_WINDOW;
            if (s->skip > s->skip_max)
                s->skip = s->skip_max;
            *s->clock += s->skip;
            s->skipped += s->skip;
            now += s->skip;
        }
    } else {
        s->poll_count = 0;
        s->skip = 0;
    }
    s->poll_pc = pc;
    s->poll_clock = now;
    return now;
}

/* CNTP_* (CRm 2) and CNTV_* (CRm 3) TVAL, CTL, CVAL: the timers that raise interrupts. */
static int ct_is_timer(const struct ct_cp_reg *cp)
{
    return cp->op0 == 3 && cp->op1 == 3 && cp->crn == 14 && (cp->crm == 2 || cp->crm == 3) && cp->op2 <= 2;
}

uint32_t ct_msr_hook(void *uc, int reg, const struct ct_cp_reg *cp, struct ct_state *s)
{
    (void)uc;
    (void)reg;
    if (!ct_is_timer(cp) || !s->timer)
        return 0;
    s->timer(1, cp->crm, cp->op2, cp->val);
    return 1;
}

uint32_t ct_mrs_hook(void *uc, int reg, const struct ct_cp_reg *cp, struct ct_state *s)
{
    uint64_t value;
    if (cp->op0 == 3 && cp->op1 == 0 && cp->crn == 12 && cp->crm == 1 && cp->op2 == 0 && s->isr) {  /* ISR_EL1 */
        value = s->isr();
        s->reg_write(uc, reg, &value);
        return 1;
    }
    if (cp->op0 != 3 || cp->op1 != 3)
        return 0;
    if (ct_is_timer(cp) && s->timer)
        value = s->timer(0, cp->crm, cp->op2, 0);
    else if (cp->crn == 14 && cp->crm == 0 && (cp->op2 == 1 || cp->op2 == 2))  /* CNTPCT_EL0, CNTVCT_EL0 */
        value = ct_now(uc, s) * s->ticks_per_256 / 256;
    else if (cp->crn == 9 && cp->crm == 13 && cp->op2 == 0)  /* PMCCNTR_EL0 */
        value = ct_now(uc, s);
    else
        return 0;
    s->reg_write(uc, reg, &value);
    return 1;
}
