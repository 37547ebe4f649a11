/*
 * ffa_mem_lent_touch: LEND a page to the service SP, then read it. The
 * page is no longer in the guest's stage 2, so the run stops with a
 * stage-2 fault naming the handle (exit 3); the machine then tears the VM
 * down and the mediator reclaims the handle. Under Xen, which refuses LEND
 * (NOT_SUPPORTED), the guest has nothing to touch and ends cleanly.
 */
#include "../ffa_mem_share/mem_guest.h"

#define TOUCH_IPA (MEM_DATA_IPA + 0x50000ULL)

int main(void)
{
    struct smccc_regs r;
    volatile uint64_t *page = MEM_PAGE(TOUCH_IPA);

    tap_plan(5);
    mem_setup();
    page[0] = 0x70C4ED;
    r = mem_show("MEM_LEND", mem_send_one(FFA_FN64_MEM_LEND, TOUCH_IPA, 1));
    tap_ok(ffa_ok(&r) || mem_is_error(&r, FFA_RET_NOT_SUPPORTED), "MEM_LEND: SUCCESS or NOT_SUPPORTED");
    if (!ffa_ok(&r)) {
        tap_diag("MEM_LEND refused: nothing lent, nothing to touch");
        tap_ok(page[0] == 0x70C4ED, "the page is still the guest's");
        return tap_done();
    }
    tap_diag("lent page 0x%llx under handle 0x%llx; reading it now", (unsigned long long)TOUCH_IPA,
             (unsigned long long)ffa_mem_handle(&r));
    tap_ok(page[0] == 0x70C4ED, "reading a lent page stops the guest (not reached)");
    return tap_done();
}
