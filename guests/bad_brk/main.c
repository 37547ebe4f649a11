/* bad_brk: a BRK with no exception vectors (exit 3). */
#include "console.h"

int main(void)
{
    printf("bad_brk: brk #0x7\n");
    asm volatile("brk #0x7");
    printf("bad_brk: survived (should not get here)\n");
    return 1;
}
