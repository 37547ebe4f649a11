#include "smccc.h"

#include "fdt.h"
#include "ffa_emu_abi.h"
#include "string.h"

void guest_system_off(int code)
{
    struct smccc_regs r;
    smccc_regs_init(&r, PSCI_SYSTEM_OFF, (uint64_t)(int64_t)code, 0, 0);
    smccc_call(&r);
    for (;;)
        asm volatile("wfi");
}

static enum { CONDUIT_UNREAD, CONDUIT_HVC, CONDUIT_SMC } conduit; /* in .bss: unread until the first call */

static int method_is_smc(void)
{
    const char *where;
    const uint8_t *blob, *method;
    uint32_t len = 0;

    if (!fdt_locate(&blob, &where))
        return 0;
    method = fdt_root_child_prop(blob, "psci", "method", &len);
    return method != NULL && len == sizeof("smc") && memcmp(method, "smc", len) == 0;
}

int smccc_conduit_is_smc(void)
{
    if (conduit == CONDUIT_UNREAD)
        conduit = method_is_smc() ? CONDUIT_SMC : CONDUIT_HVC;
    return conduit == CONDUIT_SMC;
}
