/*
 * ffa_mem_owner (run as vm1, next to ffa_mem_thief as vm2): shares a page
 * with the service SP, prints the handle, spins long enough for vm2's
 * attempts to reclaim it (the scheduler gives each VM 200000 cycles a
 * turn), then checks the share is intact (the SP's checksum) and
 * reclaims it itself.
 */
#include "../ffa_mem_share/mem_guest.h"

#define PAGE_IPA (MEM_DATA_IPA + 0x200000ULL)
#define SPIN 100000u

int main(void)
{
    struct smccc_regs r;
    uint64_t handle, sum;

    tap_plan(7);
    mem_setup();
    mem_pattern(PAGE_IPA, 1, 0x0EE0000000000000ULL, 5);
    sum = ffa_mem_checksum(MEM_PAGE(PAGE_IPA), 1);
    r = mem_show("MEM_SHARE", mem_send_one(FFA_FN64_MEM_SHARE, PAGE_IPA, 1));
    tap_ok(ffa_ok(&r), "vm1 shares a page");
    handle = ffa_mem_handle(&r);
    tap_diag("owner handle 0x%llx", (unsigned long long)handle);
    for (volatile unsigned i = 0; i < SPIN; i++)
        ;
    tap_diag("owner done waiting");
    r = mem_show("CHECKSUM", ffa_service_mem(mem_self, SERVICE_CMD_MEM_CHECKSUM, handle, 0));
    expect_eq_u64(r.x[3], sum, "the share is intact after vm2's attempts");
    r = mem_show("RECLAIM", ffa_mem_reclaim(handle, 0));
    tap_ok(ffa_ok(&r), "vm1 reclaims its own handle");
    r = mem_show("RECLAIM again", ffa_mem_reclaim(handle, 0));
    tap_ok(mem_is_error(&r, FFA_RET_INVALID_PARAMETERS), "once only");
    return tap_done();
}
