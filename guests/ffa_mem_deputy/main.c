/*
 * ffa_mem_deputy (run as vm2, next to ffa_mem_owner as vm1): a confused
 * deputy.  While vm1 holds its share (the first SPMC handle: handles are
 * predictable) vm2 asks the service SP to checksum it, fill it, hold it and
 * relinquish it, naming as the sender first itself (VM 2), then vm1 (VM 1).
 * Every request must be refused and vm1's share stay as it was (ffa_mem_owner
 * checks its checksum and reclaims it):
 *   - the SP retrieves naming the request's sender as the lender, and the
 *     SPMC refuses a retrieve naming another sender than the share's, DENIED
 *     (so SERVICE_ERR_NO_HANDLE with DENIED; a relinquish of a handle the SP
 *     does not hold for the requester is SERVICE_ERR_NOT_HELD);
 *   - naming vm1 is spoofing: a mediator that checks the sender (spec, Xen)
 *     answers INVALID_PARAMETERS; pKVM forwards the request as written, and
 *     since vm1's descriptor names the host (0), the SP's retrieve for
 *     endpoint 1 is DENIED as above.
 * Under pKVM every VM is the host's endpoint 0 (FFA_ID_GET answers 0), so a
 * request naming 0 would be vm1's own as far as FF-A can tell: not tried.
 * Finally vm2's own share is served normally.
 */
#include "../ffa_mem_share/mem_guest.h"

#define HANDLE_BASE 0x53504D4300000000ULL
#define OWNER_HANDLE (HANDLE_BASE + 1)
#define SHARE_IPA (MEM_DATA_IPA + 0x200000ULL)

static const struct {
    uint64_t cmd;
    const char *name;
} commands[] = {
    { SERVICE_CMD_MEM_CHECKSUM, "CHECKSUM" },
    { SERVICE_CMD_MEM_FILL, "FILL" },
    { SERVICE_CMD_MEM_RETRIEVE, "RETRIEVE (hold)" },
    { SERVICE_CMD_MEM_RELINQUISH, "RELINQUISH" },
};

static int refused(const struct smccc_regs *r, uint64_t cmd)
{
    if (mem_is_error(r, FFA_RET_INVALID_PARAMETERS))
        return 1; /* the mediator refused a spoofed sender */
    if (!ffa_is_direct_resp(r))
        return 0;
    if (cmd == SERVICE_CMD_MEM_RELINQUISH)
        return r->x[3] == SERVICE_ERR_NOT_HELD;
    return r->x[3] == SERVICE_ERR_NO_HANDLE && (uint32_t)r->x[4] == (uint32_t)FFA_RET_DENIED;
}

int main(void)
{
    static const uint16_t senders[] = { 2, 1 };
    struct smccc_regs r;
    uint64_t handle;

    tap_plan(3 + 8 + 2);
    mem_setup();
    for (unsigned s = 0; s < 2; s++) {
        for (unsigned c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
            char what[64];

            snprintf(what, sizeof(what), "%s of vm1's handle as endpoint %u", commands[c].name, senders[s]);
            r = mem_show(what, ffa_service_mem(senders[s], commands[c].cmd, OWNER_HANDLE, 0xDE9u));
            tap_ok(refused(&r, commands[c].cmd), "%s: refused", what);
        }
    }
    r = mem_show("MEM_SHARE of vm2's own page", mem_send_one(FFA_FN64_MEM_SHARE, SHARE_IPA, 1));
    handle = ffa_mem_handle(&r);
    r = mem_show("CHECKSUM of vm2's own handle", ffa_service_mem(mem_self, SERVICE_CMD_MEM_CHECKSUM, handle, 0));
    tap_ok(ffa_is_direct_resp(&r) && r.x[4] == 1, "vm2's own share is served");
    r = mem_show("RECLAIM of vm2's own handle", ffa_mem_reclaim(handle, 0));
    tap_ok(ffa_ok(&r), "vm2 reclaims its own handle");
    return tap_done();
}
