/*
 * ffa_mem_bystander (run as vm2, next to ffa_mem_stall as vm1): keeps a
 * private page holding a pattern while vm1 makes the SPMC abort a call and
 * aims its next call at this page.  After waiting long enough for vm1 (the
 * scheduler gives each VM 200000 cycles a turn), checks the page is intact
 * and that its own sharing with the service SP works: share a page, fill
 * it, check the fill and the SP's checksum, reclaim.
 */
#include "../ffa_mem_share/mem_guest.h"

#define PRIVATE_IPA (MEM_DATA_IPA + 0x300000ULL)
#define SHARE_IPA (MEM_DATA_IPA + 0x200000ULL)
#define PATTERN 0x5EC2E70000000000ULL
#define FILL_BASE 0x0F11000000000000ULL
#define SPIN 60000u

int main(void)
{
    struct smccc_regs r;
    uint64_t handle, sum;

    tap_plan(9);
    mem_pattern(PRIVATE_IPA, 1, PATTERN, 3);
    sum = ffa_mem_checksum(MEM_PAGE(PRIVATE_IPA), 1);
    mem_setup();
    for (volatile unsigned i = 0; i < SPIN; i++)
        ;
    tap_diag("victim done waiting");
    expect_eq_u64(ffa_mem_checksum(MEM_PAGE(PRIVATE_IPA), 1), sum, "vm2's private page is intact");
    r = mem_show("MEM_SHARE", mem_send_one(FFA_FN64_MEM_SHARE, SHARE_IPA, 1));
    tap_ok(ffa_ok(&r), "vm2 shares a page");
    handle = ffa_mem_handle(&r);
    r = mem_show("FILL", ffa_service_mem(mem_self, SERVICE_CMD_MEM_FILL, handle, FILL_BASE));
    tap_ok(ffa_is_direct_resp(&r) && r.x[3] == 1, "the SP fills vm2's page");
    tap_ok(mem_check_fill(SHARE_IPA, 1, FILL_BASE), "with the pattern vm2 asked for");
    r = mem_show("CHECKSUM", ffa_service_mem(mem_self, SERVICE_CMD_MEM_CHECKSUM, handle, 0));
    expect_eq_u64(r.x[3], ffa_mem_checksum(MEM_PAGE(SHARE_IPA), 1), "the SP's checksum agrees");
    r = mem_show("RECLAIM", ffa_mem_reclaim(handle, 0));
    tap_ok(ffa_ok(&r), "vm2 reclaims its page");
    return tap_done();
}
