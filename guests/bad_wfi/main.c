/* bad_wfi: waits for an interrupt that never comes (interrupts masked, no timer): a hang (exit 3). */
#include "console.h"

int main(void)
{
    printf("bad_wfi: wfi\n");
    for (;;)
        asm volatile("wfi");
    return 1;
}
