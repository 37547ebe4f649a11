/*
 * bad_eret: an exception return to EL2 from EL1 (SPSR_EL1.M = EL2h) is an
 * illegal exception return; the next instruction takes an Illegal State
 * exception, with no vectors (exit 3).
 */
#include <stdint.h>

#include "console.h"

static void after(void)
{
    uint64_t el;

    asm volatile("mrs %0, CurrentEL" : "=r"(el));
    printf("bad_eret: survived, at EL%llu (should not get here)\n", (unsigned long long)(el >> 2) & 3);
    for (;;)
        asm volatile("wfi");
}

int main(void)
{
    printf("bad_eret: eret to EL2h\n");
    asm volatile("msr spsr_el1, %0\n\tmsr elr_el1, %1\n\tisb\n\teret"
                 : : "r"((uint64_t)0x3c9), "r"((uint64_t)(uintptr_t)after) : "memory");
    return 1;
}
