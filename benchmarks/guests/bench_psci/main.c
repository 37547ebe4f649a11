/*
 * bench_psci: N PSCI_VERSION calls through `hvc #0`, the trap guest that QEMU
 * runs too (its built-in PSCI answers HVC calls with PSCI function IDs, and
 * nothing else), so the two trap paths compare call for call.  The image's
 * data starts on its own page (link.ld): code and data sharing a page make
 * QEMU translate again on every store.
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
    unsigned errors = 0;

    for (unsigned i = 0; i < CALLS; i++) {
        if (smccc_call_hvc(PSCI_VERSION, 0, 0, 0) != PSCI_VERSION_1_1)
            errors++;
    }
    printf("bench_psci calls=%u errors=%u\n", CALLS, errors);
    return 0;
}
