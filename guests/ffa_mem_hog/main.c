/*
 * ffa_mem_hog (run as vm1, next to ffa_mem_victim as vm2): shares one page
 * after another until the mediator refuses, which must be NO_MEMORY: its
 * share of the SPMC's transaction slots is used up, while the SPMC still
 * has room for the other VM. It holds them all while it spins for SPIN
 * iterations, long enough for vm2 to share a page meanwhile, then reclaims
 * them and shares again.
 */
#include "../ffa_mem_share/mem_guest.h"

#define PAGE_IPA MEM_DATA_IPA
#define MAX_SHARES 64 /* more than the SPMC has slots */
#define SPIN 4000000u
#define PLAN 7

int main(void)
{
    static uint64_t handles[MAX_SHARES];
    struct smccc_regs r = { 0 };
    unsigned held = 0, reclaimed = 0;

    tap_plan(PLAN);
    mem_setup();
    while (held < MAX_SHARES) {
        r = mem_send_one(FFA_FN64_MEM_SHARE, PAGE_IPA + held * FFA_MEM_PAGE_SIZE, 1);
        if (!ffa_ok(&r))
            break;
        handles[held++] = ffa_mem_handle(&r);
    }
    mem_show("the share past the hog's quota", r);
    tap_ok(held > 0 && mem_is_error(&r, FFA_RET_NO_MEMORY), "shares until NO_MEMORY (%u held)", held);
    for (volatile unsigned i = 0; i < SPIN; i++)
        ;
    for (unsigned i = 0; i < held; i++) {
        r = ffa_mem_reclaim(handles[i], 0);
        reclaimed += ffa_ok(&r);
    }
    tap_ok(reclaimed == held, "reclaims all %u", held);
    r = mem_show("MEM_SHARE once it let go", mem_send_one(FFA_FN64_MEM_SHARE, PAGE_IPA, 1));
    tap_ok(ffa_ok(&r), "shares again once it let go");
    r = mem_show("RECLAIM", ffa_mem_reclaim(ffa_mem_handle(&r), 0));
    tap_ok(ffa_ok(&r), "and reclaims it");
    return tap_done();
}
