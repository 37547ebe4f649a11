/*
 * The Arm generic timer at EL1 (Arm ARM, DDI 0487, "The Generic Timer in AArch64
 * state"): the counters and the EL1 virtual (CNTV_*) and physical (CNTP_*)
 * timers.
 *
  * A timer's condition is met when the counter >= CVAL (TVAL is the signed
 * 32-bit view CVAL - counter; writing it sets CVAL = counter + TVAL).  While
 * CTL.ENABLE = 1 and the condition is met, CTL.ISTATUS reads 1 and, unless
 * CTL.IMASK = 1, the timer asserts its interrupt: a level-sensitive PPI
 * (QEMU virt: 27 virtual, 30 physical; gic.h).  The line stays asserted
 * until the condition stops being met, or the timer is disabled or masked.
 */
#ifndef GUEST_TIMER_H
#define GUEST_TIMER_H

#include <stdint.h>

#define CNT_CTL_ENABLE (1u << 0)
#define CNT_CTL_IMASK (1u << 1)
#define CNT_CTL_ISTATUS (1u << 2)

#define TIMER_READ_SYSREG(name)                                              \
    ({                                                                       \
        uint64_t v_;                                                         \
        asm volatile("mrs %0, " #name : "=r"(v_) : : "memory");              \
        v_;                                                                  \
    })

#define TIMER_WRITE_SYSREG(name, v)                                          \
    asm volatile("msr " #name ", %0\n\tisb" : : "r"((uint64_t)(v)) : "memory")

static inline uint64_t timer_frequency(void)
{
    return TIMER_READ_SYSREG(cntfrq_el0);
}

/* The counters, read in program order (the isb keeps the read from being
 * done early). */
static inline uint64_t timer_cntvct(void)
{
    uint64_t v;

    asm volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
    return v;
}

static inline uint64_t timer_cntpct(void)
{
    uint64_t v;

    asm volatile("isb\n\tmrs %0, cntpct_el0" : "=r"(v) : : "memory");
    return v;
}

/* Virtual timer. */
static inline uint64_t cntv_ctl(void) { return TIMER_READ_SYSREG(cntv_ctl_el0); }
static inline void cntv_set_ctl(uint64_t v) { TIMER_WRITE_SYSREG(cntv_ctl_el0, v); }
static inline uint64_t cntv_cval(void) { return TIMER_READ_SYSREG(cntv_cval_el0); }
static inline void cntv_set_cval(uint64_t v) { TIMER_WRITE_SYSREG(cntv_cval_el0, v); }
static inline void cntv_set_tval(uint32_t v) { TIMER_WRITE_SYSREG(cntv_tval_el0, v); }

/* Physical timer (EL1). */
static inline uint64_t cntp_ctl(void) { return TIMER_READ_SYSREG(cntp_ctl_el0); }
static inline void cntp_set_ctl(uint64_t v) { TIMER_WRITE_SYSREG(cntp_ctl_el0, v); }
static inline uint64_t cntp_cval(void) { return TIMER_READ_SYSREG(cntp_cval_el0); }
static inline void cntp_set_cval(uint64_t v) { TIMER_WRITE_SYSREG(cntp_cval_el0, v); }
static inline void cntp_set_tval(uint32_t v) { TIMER_WRITE_SYSREG(cntp_tval_el0, v); }

#endif /* GUEST_TIMER_H */
