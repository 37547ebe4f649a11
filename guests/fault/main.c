/*
 * fault: read from an IPA that is neither RAM nor a device.  The emulator
 * must stop the guest with a fault report; the second line never prints.
 */
#include <stdint.h>

#include "console.h"

/* Below the UART and guest RAM, mapped to nothing. */
#define UNMAPPED_IPA 0x20000000ULL

int main(void)
{
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)UNMAPPED_IPA;

    printf("fault: reading 0x%llx\n", (unsigned long long)UNMAPPED_IPA);
    uint64_t v = *p;
    printf("fault: read 0x%016llx (should not get here)\n",
           (unsigned long long)v);
    return 1;
}
