/*
 * ffa_mem_stall (run as vm1, next to ffa_mem_bystander as vm2, with an SPMC
 * call budget below what filling 1 MiB takes, e.g. --spmc-budget 100000):
 * once vm2 is waiting (it runs while vm1 spins: the scheduler gives each
 * VM 200000 cycles a turn), shares 256 pages with the service SP and asks
 * it to fill them; the SPMD
 * aborts the call, FFA_ERROR(ABORTED).  Then a direct request with every
 * payload register (x3-x17) set to `victim_pa`, the physical address of
 * vm2's private page (the test writes it here through the symbol table: an
 * attacker who knows the physical layout).  An SPMC that resumed the
 * aborted fill loop with these registers would write there; a fresh call
 * is an unknown command to the SP.  The SP still serves (PING), and vm1
 * powers off holding the share: its teardown RECLAIM must succeed, so the
 * aborted call left no retrieve behind.
 */
#include "../ffa_mem_share/mem_guest.h"

#define SHARE_IPA (MEM_DATA_IPA + 0x400000ULL)
#define SHARE_PAGES 256 /* the most Xen lets one share have */
#define SPIN 20000u

/* In .data, not .bss: the test writes it before the guest starts, and _start zeroes .bss. */
volatile uint64_t victim_pa __attribute__((section(".data"))) = 0;

static struct smccc_regs service(uint64_t cmd, uint64_t handle, uint64_t arg)
{
    return ffa_service_mem(mem_self, cmd, handle, arg);
}

int main(void)
{
    struct smccc_regs r;
    uint64_t handle;

    tap_plan(7);
    mem_setup();
    for (volatile unsigned i = 0; i < SPIN; i++)
        ;
    r = mem_show("MEM_SHARE of 256 pages", mem_send_one(FFA_FN64_MEM_SHARE, SHARE_IPA, SHARE_PAGES));
    tap_ok(ffa_ok(&r), "vm1 shares 1 MiB with the service SP");
    handle = ffa_mem_handle(&r);
    r = mem_show("FILL past the SPMC's budget", service(SERVICE_CMD_MEM_FILL, handle, 0x5354414C4C000000ULL));
    tap_ok(mem_is_error(&r, FFA_RET_ABORTED), "the SPMD aborts the FILL: FFA_ERROR(ABORTED)");

    ffa_regs_clear(&r);
    r.x[0] = FFA_FN64_MSG_SEND_DIRECT_REQ;
    r.x[1] = FFA_ENDPOINTS(mem_self, SERVICE_SP_ID);
    for (int i = 3; i < 18; i++)
        r.x[i] = victim_pa;
    tap_diag("aiming x3-x17 at 0x%llx", (unsigned long long)victim_pa);
    smccc_call(&r);
    r = mem_show("a call with x3-x17 aimed at vm2's page", r);
    tap_ok(ffa_is_direct_resp(&r) && r.x[3] == SERVICE_ERR_UNKNOWN_CMD,
           "it is a fresh call: the SP answers SERVICE_ERR_UNKNOWN_CMD");
    r = mem_show("PING", service(SERVICE_CMD_PING, 0, 0));
    tap_ok(ffa_is_direct_resp(&r) && r.x[3] == SERVICE_PING_MAGIC, "the SP still serves: PING");
    tap_diag("powering off with handle 0x%llx still shared", (unsigned long long)handle);
    return tap_done();
}
