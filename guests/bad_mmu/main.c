/*
 * bad_mmu: turn the stage-1 MMU on with translation tables at an unmapped
 * IPA: the next instruction fetch takes a translation (prefetch) abort,
 * with no vectors (exit 3).
 */
#include <stdint.h>

#include "console.h"

int main(void)
{
    uint64_t sctlr, ttbr = 0x20000000ULL, tcr = 25u | (25u << 16) | (1ull << 23); /* 39-bit VA, EPD1 */

    printf("bad_mmu: TTBR0_EL1 = 0x%llx, SCTLR_EL1.M = 1\n", (unsigned long long)ttbr);
    asm volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    sctlr |= 1u; /* M */
    asm volatile("msr ttbr0_el1, %0\n\tmsr tcr_el1, %1\n\tisb\n\tmsr sctlr_el1, %2\n\tisb\n\tnop"
                 : : "r"(ttbr), "r"(tcr), "r"(sctlr) : "memory");
    printf("bad_mmu: survived (should not get here)\n");
    return 1;
}
