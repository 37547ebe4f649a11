/*
 * ffa_mem_lend: LEND and DONATE.
 *
 *  - LEND one page (RW) to the service SP; the guest does not touch it
 *    while lent (ffa_mem_lent_touch shows what happens if it does); the SP
 *    fills it; after RECLAIM the guest reads the SP's pattern.
 *  - LEND two pages (crossing nothing special) and CHECKSUM them, RECLAIM.
 *  - DONATE one page, then RECLAIM it before any retrieval: it comes back
 *    with its contents.
 * LEND: the spec and pKVM support it, Xen answers NOT_SUPPORTED. DONATE:
 * only the spec; pKVM and Xen answer NOT_SUPPORTED. Both answers are the
 * profiles' documented ones, so a TAP check is "SUCCESS or NOT_SUPPORTED".
 */
#include "../ffa_mem_share/mem_guest.h"

#define LEND_IPA (MEM_DATA_IPA + 0x10000ULL)
#define LEND2_IPA (MEM_DATA_IPA + 0x20000ULL)
#define DONATE_IPA (MEM_DATA_IPA + 0x30000ULL)
#define FILL_PATTERN 0x1E9D000000000000ULL
#define DONATED 0xD0AA7ED000000000ULL
#define PLAN 14

static void skip(unsigned n, const char *why)
{
    for (unsigned i = 0; i < n; i++)
        tap_ok(1, "%s: nothing to check (%u)", why, i);
}

static void lend(void)
{
    struct smccc_regs r;
    uint64_t handle, sum;

    mem_pattern(LEND_IPA, 1, 0x4C454E4400000000ULL, 1);
    r = mem_show("MEM_LEND of one page", mem_send_one(FFA_FN64_MEM_LEND, LEND_IPA, 1));
    tap_ok(ffa_ok(&r) || mem_is_error(&r, FFA_RET_NOT_SUPPORTED), "MEM_LEND: SUCCESS or NOT_SUPPORTED");
    if (!ffa_ok(&r)) {
        tap_diag("MEM_LEND refused: the profile's documented answer");
        skip(6, "LEND refused");
        return;
    }
    handle = ffa_mem_handle(&r);
    r = mem_show("FILL of the lent page", ffa_service_mem(mem_self, SERVICE_CMD_MEM_FILL, handle, FILL_PATTERN));
    expect_eq_u64(r.x[3], 1, "the SP filled the lent page");
    r = mem_show("RECLAIM of the lent page", ffa_mem_reclaim(handle, 0));
    tap_ok(ffa_ok(&r), "RECLAIM of the lent page: SUCCESS");
    tap_ok(mem_check_fill(LEND_IPA, 1, FILL_PATTERN), "after RECLAIM the guest reads the SP's pattern");

    mem_pattern(LEND2_IPA, 2, 0x22, 0x10001);
    sum = ffa_mem_checksum(MEM_PAGE(LEND2_IPA), 2);
    r = mem_show("MEM_LEND (SMC32) of two pages", mem_send_one(FFA_MEM_LEND, LEND2_IPA, 2));
    tap_ok(ffa_ok(&r), "MEM_LEND (SMC32) of two pages: SUCCESS");
    handle = ffa_mem_handle(&r);
    r = mem_show("CHECKSUM of the two lent pages", ffa_service_mem(mem_self, SERVICE_CMD_MEM_CHECKSUM, handle, 0));
    expect_eq_u64(r.x[3], sum, "the SP's checksum of the lent pages equals the guest's (taken before lending)");
    r = mem_show("RECLAIM of the two lent pages", ffa_mem_reclaim(handle, 0));
    tap_ok(ffa_ok(&r), "RECLAIM of the two lent pages: SUCCESS");
}

static void donate(void)
{
    struct smccc_regs r;
    uint64_t sum;

    mem_pattern(DONATE_IPA, 1, DONATED, 1);
    sum = ffa_mem_checksum(MEM_PAGE(DONATE_IPA), 1);
    r = mem_show("MEM_DONATE of one page", mem_send_one(FFA_FN64_MEM_DONATE, DONATE_IPA, 1));
    tap_ok(ffa_ok(&r) || mem_is_error(&r, FFA_RET_NOT_SUPPORTED), "MEM_DONATE: SUCCESS or NOT_SUPPORTED");
    if (!ffa_ok(&r)) {
        tap_diag("MEM_DONATE refused: the profile's documented answer");
        skip(2, "DONATE refused");
        return;
    }
    r = mem_show("RECLAIM of the donated page before retrieval", ffa_mem_reclaim(ffa_mem_handle(&r), 0));
    tap_ok(ffa_ok(&r), "RECLAIM before any retrieval: SUCCESS");
    expect_eq_u64(ffa_mem_checksum(MEM_PAGE(DONATE_IPA), 1), sum, "the donated page is back, contents intact");
}

int main(void)
{
    struct smccc_regs r;

    tap_plan(PLAN);
    mem_setup();
    lend();
    donate();
    r = mem_show("MEM_SHARE of the lent page, now reclaimed", mem_send_one(FFA_FN64_MEM_SHARE, LEND_IPA, 1));
    tap_ok(ffa_ok(&r) && ffa_ok((r = ffa_mem_reclaim(ffa_mem_handle(&r), 0), &r)),
           "the page can be shared and reclaimed afterwards");
    return tap_done();
}
