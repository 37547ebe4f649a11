/* bad_sysreg: writing an EL2 register (HCR_EL2) from EL1 is UNDEFINED; no vectors (exit 3). */
#include <stdint.h>

#include "console.h"

int main(void)
{
    printf("bad_sysreg: msr hcr_el2\n");
    asm volatile("msr hcr_el2, %0" : : "r"((uint64_t)1) : "memory");
    printf("bad_sysreg: survived (should not get here)\n");
    return 1;
}
