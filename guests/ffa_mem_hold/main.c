/*
 * ffa_mem_hold: shares one page and lends another (where the profile
 * lends), then powers off without reclaiming either. The machine tears the
 * VM down and the mediator reclaims every handle it still holds (RECLAIM
 * hops from EL2 in the trace, an empty ownership ledger afterwards).
 */
#include "../ffa_mem_share/mem_guest.h"

#define SHARE_IPA (MEM_DATA_IPA + 0x60000ULL)
#define LEND_IPA (MEM_DATA_IPA + 0x70000ULL)

int main(void)
{
    struct smccc_regs r;

    tap_plan(5);
    mem_setup();
    r = mem_show("MEM_SHARE (kept)", mem_send_one(FFA_FN64_MEM_SHARE, SHARE_IPA, 1));
    tap_ok(ffa_ok(&r), "MEM_SHARE succeeds");
    r = mem_show("MEM_LEND (kept)", mem_send_one(FFA_FN64_MEM_LEND, LEND_IPA, 2));
    tap_ok(ffa_ok(&r) || mem_is_error(&r, FFA_RET_NOT_SUPPORTED), "MEM_LEND: SUCCESS or NOT_SUPPORTED");
    tap_diag("powering off with the handles still held");
    return tap_done();
}
