/*
 * spin: never exits, never calls the hypervisor; for instruction/time
 * budget tests.
 */
#include <stdint.h>

#include "console.h"

int main(void)
{
    volatile uint64_t counter = 0;

    printf("spinning\n");
    for (;;)
        counter = counter * 3 + 1;
}
