/* bad_svc: an SVC with no exception vectors (exit 3). */
#include "console.h"

int main(void)
{
    printf("bad_svc: svc #0x42\n");
    asm volatile("svc #0x42");
    printf("bad_svc: survived (should not get here)\n");
    return 1;
}
