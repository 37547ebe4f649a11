/* bad_pc_align: a branch to a misaligned address (PC alignment fault) with no vectors (exit 3). */
#include <stdint.h>

#include "console.h"

int main(void)
{
    uint64_t target = (uint64_t)(uintptr_t)&main + 2;

    printf("bad_pc_align: br to 0x%llx\n", (unsigned long long)target);
    asm volatile("br %0" : : "r"(target));
    printf("bad_pc_align: survived (should not get here)\n");
    return 1;
}
