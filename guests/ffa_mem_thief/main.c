/*
 * ffa_mem_thief (run as vm2, next to ffa_mem_owner as vm1): tries to
 * RECLAIM handles it never sent. SPMC handles are predictable ("SPMC" in
 * bits 62:32, a counter from 1 below), so it tries the first THEFTS of
 * them, vm1's among them, and the same with bit 63 set (a provisional
 * hypervisor handle): each must be INVALID_PARAMETERS. Then its own share
 * and reclaim work.
 */
#include "../ffa_mem_share/mem_guest.h"

#define PAGE_IPA (MEM_DATA_IPA + 0x200000ULL) /* the same IPA as vm1's page: different memory */
#define HANDLE_BASE 0x53504D4300000000ULL
#define THEFTS 4

int main(void)
{
    struct smccc_regs r;

    tap_plan(3 + 2 * THEFTS + 2);
    mem_setup();
    for (unsigned i = 1; i <= THEFTS; i++) {
        uint64_t handle = HANDLE_BASE + i;

        r = mem_show("RECLAIM of a handle vm2 never sent", ffa_mem_reclaim(handle, 0));
        tap_ok(mem_is_error(&r, FFA_RET_INVALID_PARAMETERS), "RECLAIM of 0x%llx: INVALID_PARAMETERS",
               (unsigned long long)handle);
        r = ffa_mem_reclaim(handle | FFA_MEM_HANDLE_HYPERVISOR, 0);
        tap_ok(mem_is_error(&r, FFA_RET_INVALID_PARAMETERS), "RECLAIM of 0x%llx: INVALID_PARAMETERS",
               (unsigned long long)(handle | FFA_MEM_HANDLE_HYPERVISOR));
    }
    r = mem_show("MEM_SHARE of vm2's own page", mem_send_one(FFA_FN64_MEM_SHARE, PAGE_IPA, 1));
    tap_ok(ffa_ok(&r), "vm2 shares its own page");
    r = mem_show("RECLAIM of vm2's own handle", ffa_mem_reclaim(ffa_mem_handle(&r), 0));
    tap_ok(ffa_ok(&r), "vm2 reclaims its own handle");
    return tap_done();
}
