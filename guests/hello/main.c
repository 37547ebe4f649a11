/*
 * hello: print a greeting, then ask the hypervisor for its SMCCC and PSCI
 * versions over the HVC conduit.
 */
#include <stdint.h>

#include "console.h"
#include "ffa_emu_abi.h"
#include "smccc.h"

static unsigned current_el(void)
{
    uint64_t el;
    asm volatile("mrs %0, CurrentEL" : "=r"(el));
    return (unsigned)(el >> 2) & 3;
}

/* SMCCC_VERSION and PSCI_VERSION share the layout: bit 31 MBZ (a negative
 * w0 is an error code), major in 30:16, minor in 15:0. */
static void print_version(const char *what, uint64_t x0)
{
    int32_t w0 = (int32_t)(uint32_t)x0;

    if (w0 < 0)
        printf("%s: error %d (x0 = 0x%016llx)\n", what, w0,
               (unsigned long long)x0);
    else
        printf("%s %u.%u\n", what, SMCCC_VERSION_MAJOR(x0),
               SMCCC_VERSION_MINOR(x0));
}

int main(void)
{
    printf("Hello from an AArch64 guest at EL%u\n", current_el());
    print_version("SMCCC version", smccc_call_hvc(SMCCC_VERSION, 0, 0, 0));
    print_version("PSCI version", smccc_call_hvc(PSCI_VERSION, 0, 0, 0));
    return 0;
}
