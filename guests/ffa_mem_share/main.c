/*
 * ffa_mem_share: one page shared (RW) with the service SP, the whole life
 * of a handle.
 *
 *  - the page holds a known pattern; MEM_SHARE (FN64) gives a handle;
 *  - SERVICE_CMD_MEM_CHECKSUM: the SP's sum equals the guest's;
 *  - SERVICE_CMD_MEM_FILL: the guest sees the SP's writes (word i = pattern + i);
 *  - SERVICE_CMD_MEM_RETRIEVE (the SP holds it): MEM_RECLAIM -> DENIED;
 *  - SERVICE_CMD_MEM_RELINQUISH, then MEM_RECLAIM -> SUCCESS;
 *  - MEM_RECLAIM again, and of a made-up handle -> INVALID_PARAMETERS.
 * Every profile supports all of it (one RW normal page, one borrower).
 */
#include "mem_guest.h"

#define PAGE_IPA MEM_DATA_IPA
#define INITIAL 0x1111222233334444ULL
#define STEP 0x0101010101010101ULL
#define FILL_PATTERN 0xF111000000000000ULL
#define MADE_UP_HANDLE 0x0000DEAD0000BEEFULL
#define PLAN 22

int main(void)
{
    struct smccc_regs r;
    uint64_t handle, expect;

    tap_plan(PLAN);
    mem_setup();

    mem_pattern(PAGE_IPA, 1, INITIAL, STEP);
    expect = ffa_mem_checksum(MEM_PAGE(PAGE_IPA), 1);
    tap_diag("guest checksum 0x%llx", (unsigned long long)expect);
    r = mem_show("MEM_SHARE of one page", mem_send_one(FFA_FN64_MEM_SHARE, PAGE_IPA, 1));
    tap_ok(ffa_ok(&r), "MEM_SHARE succeeds");
    handle = ffa_mem_handle(&r);
    tap_ok(handle != 0 && !(handle & FFA_MEM_HANDLE_HYPERVISOR), "the handle is the SPMC's (bit 63 clear)");

    r = mem_show("CHECKSUM", ffa_service_mem(mem_self, SERVICE_CMD_MEM_CHECKSUM, handle, 0));
    tap_ok(ffa_is_direct_resp(&r), "CHECKSUM answered with DIRECT_RESP");
    expect_eq_u64(r.x[3], expect, "the SP's checksum equals the guest's");
    expect_eq_u64(r.x[4], 1, "CHECKSUM saw one page");

    r = mem_show("FILL", ffa_service_mem(mem_self, SERVICE_CMD_MEM_FILL, handle, FILL_PATTERN));
    expect_eq_u64(r.x[3], 1, "FILL filled one page");
    tap_ok(mem_check_fill(PAGE_IPA, 1, FILL_PATTERN), "the guest sees the SP's writes");
    r = mem_show("CHECKSUM after FILL", ffa_service_mem(mem_self, SERVICE_CMD_MEM_CHECKSUM, handle, 0));
    expect_eq_u64(r.x[3], ffa_mem_checksum(MEM_PAGE(PAGE_IPA), 1), "CHECKSUM after FILL matches the page");

    r = mem_show("RETRIEVE (held)", ffa_service_mem(mem_self, SERVICE_CMD_MEM_RETRIEVE, handle, 0));
    expect_eq_u64(r.x[3], 1, "the SP retrieved one page and holds it");
    r = mem_show("RECLAIM while retrieved", ffa_mem_reclaim(handle, 0));
    tap_ok(mem_is_error(&r, FFA_RET_DENIED), "RECLAIM while the SP holds it: DENIED");
    r = mem_show("RELINQUISH", ffa_service_mem(mem_self, SERVICE_CMD_MEM_RELINQUISH, handle, 0));
    expect_eq_u64(r.x[3], 0, "the SP relinquished");
    r = mem_show("RECLAIM", ffa_mem_reclaim(handle, 0));
    tap_ok(ffa_ok(&r), "RECLAIM after RELINQUISH: SUCCESS");
    r = mem_show("RECLAIM again", ffa_mem_reclaim(handle, 0));
    tap_ok(mem_is_error(&r, FFA_RET_INVALID_PARAMETERS), "RECLAIM again: INVALID_PARAMETERS");
    r = mem_show("RECLAIM of a made-up handle", ffa_mem_reclaim(MADE_UP_HANDLE, 0));
    tap_ok(mem_is_error(&r, FFA_RET_INVALID_PARAMETERS), "RECLAIM of a made-up handle: INVALID_PARAMETERS");

    /* The SP can no longer reach it; the page is the guest's again (and still holds the SP's fill). */
    r = mem_show("CHECKSUM after RECLAIM", ffa_service_mem(mem_self, SERVICE_CMD_MEM_CHECKSUM, handle, 0));
    expect_eq_u64(r.x[3], SERVICE_ERR_NO_HANDLE, "CHECKSUM of the reclaimed handle: SERVICE_ERR_NO_HANDLE");
    tap_ok(mem_check_fill(PAGE_IPA, 1, FILL_PATTERN), "the page still holds the SP's writes");
    mem_pattern(PAGE_IPA, 1, 0, 0);
    tap_ok(ffa_mem_checksum(MEM_PAGE(PAGE_IPA), 1) == 0, "the guest can write the page again");
    r = mem_show("MEM_SHARE (SMC32) of the same page again", mem_send_one(FFA_MEM_SHARE, PAGE_IPA, 1));
    tap_ok(ffa_ok(&r) && ffa_mem_handle(&r) != handle, "the page can be shared again, under a new handle");
    r = mem_show("RECLAIM of the second handle", ffa_mem_reclaim(ffa_mem_handle(&r), 0));
    tap_ok(ffa_ok(&r), "RECLAIM of the second handle: SUCCESS");
    return tap_done();
}
