/* bad_undef: an undefined instruction with no exception vectors: the emulator must stop the guest (exit 3). */
#include "console.h"

int main(void)
{
    printf("bad_undef: udf #0\n");
    asm volatile("udf #0");
    printf("bad_undef: survived (should not get here)\n");
    return 1;
}
