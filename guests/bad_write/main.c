/* bad_write: a store to an IPA that is neither RAM nor a device (exit 3). */
#include <stdint.h>

#include "console.h"

int main(void)
{
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)0x30000000ULL;

    printf("bad_write: writing 0x30000000\n");
    *p = 0xdeadbeef;
    printf("bad_write: survived (should not get here)\n");
    return 1;
}
