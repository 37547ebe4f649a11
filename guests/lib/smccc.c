#include "smccc.h"

#include "ffa_emu_abi.h"

const uint64_t guest_psci_system_off_fid = PSCI_SYSTEM_OFF;

void guest_system_off(int code)
{
    struct smccc_regs r;
    smccc_regs_init(&r, PSCI_SYSTEM_OFF, (uint64_t)(int64_t)code, 0, 0);
    smccc_hvc(&r);
    for (;;)
        asm volatile("wfi");
}
