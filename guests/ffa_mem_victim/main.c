/*
 * ffa_mem_victim (run as vm2, next to ffa_mem_hog as vm1): waits SPIN
 * iterations, by which time vm1 holds every transaction the mediator lets
 * it, then shares one page: it must succeed, and its reclaim too.
 */
#include "../ffa_mem_share/mem_guest.h"

#define PAGE_IPA MEM_DATA_IPA
#define SPIN 1000000u
#define PLAN 5

int main(void)
{
    struct smccc_regs r;

    tap_plan(PLAN);
    mem_setup();
    for (volatile unsigned i = 0; i < SPIN; i++)
        ;
    r = mem_show("MEM_SHARE while vm1 holds its quota", mem_send_one(FFA_FN64_MEM_SHARE, PAGE_IPA, 1));
    tap_ok(ffa_ok(&r), "a one-page share succeeds");
    r = mem_show("RECLAIM", ffa_mem_reclaim(ffa_mem_handle(&r), 0));
    tap_ok(ffa_ok(&r), "and its reclaim");
    return tap_done();
}
