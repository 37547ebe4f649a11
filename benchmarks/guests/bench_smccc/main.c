/*
 * bench_smccc: N SMCCC_VERSION calls through `hvc #0`, each a full SMCCC 1.2
 * x0-x17 round trip; measures the trap/dispatch/return path of the EL2
 * handler.
 */
#include <stdint.h>

#include "console.h"
#include "ffa_emu_abi.h"
#include "smccc.h"

#ifndef CALLS
#define CALLS 100000u
#endif

int main(void)
{
    struct smccc_regs r;
    unsigned errors = 0;

    for (unsigned i = 0; i < CALLS; i++) {
        smccc_regs_init(&r, SMCCC_VERSION, 0, 0, 0);
        smccc_hvc(&r);
        if (r.x[0] != SMCCC_VERSION_1_2)
            errors++;
    }
    printf("bench_smccc calls=%u errors=%u\n", CALLS, errors);
    return 0;
}
