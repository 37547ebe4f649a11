/*
 * counters: the generic timer's counters and the PMU cycle counter, read at
 * EL1: CNTFRQ_EL0, CNTVCT_EL0 twice, CNTPCT_EL0, PMCCNTR_EL0 twice.
 *
 * The PMU is off after reset: PMCR_EL0.E enables the counters as a whole and
 * PMCNTENSET_EL0.C (bit 31) the cycle counter.  PMCCFILTR_EL0 = 0 counts at
 * EL1 and EL0.  EL1 may use the PMU and the counters unless a hypervisor
 * traps them (MDCR_EL2.TPM/TPMCR, CNTHCTL_EL2.EL1PCTEN).
 */
#include <stdint.h>

#include "console.h"
#include "tap.h"

#define PMCR_E (1u << 0)        /* enable */
#define PMCR_C (1u << 2)        /* reset the cycle counter */
#define PMCR_LC (1u << 6)       /* 64-bit cycle counter overflow */
#define PMCNTEN_C (1u << 31)    /* cycle counter enable */

#define READ_SYSREG(name)                                                    \
    ({                                                                       \
        uint64_t v_;                                                         \
        asm volatile("mrs %0, " #name : "=r"(v_));                           \
        v_;                                                                  \
    })

/* The counters may be read out of order with surrounding code: the isb
 * makes each read happen where the program says. */
#define READ_COUNTER(name)                                                   \
    ({                                                                       \
        uint64_t v_;                                                         \
        asm volatile("isb\n\tmrs %0, " #name : "=r"(v_) : : "memory");       \
        v_;                                                                  \
    })

/* Enough work for a counter at tens of MHz to move, on QEMU or an emulator. */
static void spin(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        asm volatile("" : : "r"(i) : "memory");
}

int main(void)
{
    uint64_t frq = READ_SYSREG(cntfrq_el0);

    uint64_t vct0 = READ_COUNTER(cntvct_el0);
    spin(100000);
    uint64_t vct1 = READ_COUNTER(cntvct_el0);
    uint64_t pct = READ_COUNTER(cntpct_el0);

    asm volatile("msr pmccfiltr_el0, xzr\n\t"
                 "msr pmcntenset_el0, %0\n\t"
                 "msr pmcr_el0, %1\n\t"
                 "isb"
                 : : "r"((uint64_t)PMCNTEN_C),
                     "r"((uint64_t)(PMCR_E | PMCR_C | PMCR_LC))
                 : "memory");
    uint64_t pmccntr0 = READ_COUNTER(pmccntr_el0);
    spin(100000);
    uint64_t pmccntr1 = READ_COUNTER(pmccntr_el0);
    uint64_t pmcr = READ_SYSREG(pmcr_el0);

    printf("counters: frq=0x%llx vct0=0x%llx vct1=0x%llx pct=0x%llx "
           "pmccntr0=0x%llx pmccntr1=0x%llx\n",
           (unsigned long long)frq, (unsigned long long)vct0,
           (unsigned long long)vct1, (unsigned long long)pct,
           (unsigned long long)pmccntr0, (unsigned long long)pmccntr1);

    tap_plan(5);
    tap_ok(frq != 0, "CNTFRQ_EL0 is nonzero (%llu Hz)", (unsigned long long)frq);
    tap_ok(vct1 > vct0, "CNTVCT_EL0 counts up");
    tap_ok(pct != 0, "CNTPCT_EL0 is nonzero");
    tap_ok(pmcr & PMCR_E, "PMCR_EL0.E reads back as set");
    tap_ok(pmccntr1 > pmccntr0, "PMCCNTR_EL0 counts up once enabled");
    return tap_done();
}
