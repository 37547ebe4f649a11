/*
 * bad_vbar: exception vectors that point at nothing.  VBAR_EL1 names an
 * unmapped IPA, then an undefined instruction: taking the exception fetches
 * from the vector, which faults.  The emulator must stop the guest (exit 3).
 */
#include <stdint.h>

#include "console.h"

int main(void)
{
    uint64_t vbar = 0x20000000ULL;

    printf("bad_vbar: VBAR_EL1 = 0x%llx, then udf\n", (unsigned long long)vbar);
    asm volatile("msr vbar_el1, %0\n\tisb\n\tudf #1" : : "r"(vbar) : "memory");
    printf("bad_vbar: survived (should not get here)\n");
    return 1;
}
