/* bad_trap_storm: calls SMCCC_VERSION forever, never powers off: the cycle limit stops it (exit 3). */
#include "smccc.h"

int main(void)
{
    for (;;)
        smccc_call_hvc(0x80000000ULL, 0, 0, 0);
    return 1;
}
