/* bad_flood_ffa: floods the console through FFA_CONSOLE_LOG (the mediator prints it): stopped, exit 3. */
#include <stdint.h>

#include "ffa.h"

int main(void)
{
    ffa_call(FFA_VERSION, FFA_VERSION_1_2, 0, 0, 0, 0, 0, 0);
    for (;;)
        ffa_call(FFA_FN64_CONSOLE_LOG, 64, 0x2e2e2e2e2e2e2e2eULL, 0x2e2e2e2e2e2e2e2eULL,
                 0x2e2e2e2e2e2e2e2eULL, 0x2e2e2e2e2e2e2e2eULL, 0x2e2e2e2e2e2e2e2eULL, 0x0a2e2e2e2e2e2e2eULL);
    return 1;
}
