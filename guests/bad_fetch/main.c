/* bad_fetch: a jump to an IPA with nothing mapped (exit 3). */
#include <stdint.h>

#include "console.h"

int main(void)
{
    void (*nowhere)(void) = (void (*)(void))(uintptr_t)0x20000000ULL;

    printf("bad_fetch: calling 0x20000000\n");
    nowhere();
    printf("bad_fetch: survived (should not get here)\n");
    return 1;
}
