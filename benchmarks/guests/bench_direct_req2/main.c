/*
 * bench_direct_req2: FF-A 1.2 DIRECT_REQ2 round trips to the echo SP.
 *
 * Negotiates 1.2, then makes N FFA_FN64_MSG_SEND_DIRECT_REQ2 calls through
 * `hvc #0` with all of x4-x17 set (different every call) and counts the
 * answers that are not DIRECT_RESP2 with every register + ECHO_DELTA.
 * Prints `bench_direct_req2 calls=N errors=E`.
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"

#ifndef CALLS
#define CALLS 20000u
#endif

int main(void)
{
    struct smccc_regs r;
    uint16_t self = 0;
    uint32_t errors = 0;

    ffa_version(FFA_MAKE_VERSION(1, 2));
    r = ffa_id_get();
    if (ffa_ok(&r))
        self = (uint16_t)ffa_w(&r, 2);

    for (uint32_t n = 0; n < CALLS; n++) {
        ffa_regs_clear(&r);
        r.x[0] = FFA_FN64_MSG_SEND_DIRECT_REQ2;
        r.x[1] = FFA_ENDPOINTS(self, ECHO_SP_ID);
        for (int i = 4; i < SMCCC_NUM_REGS; i++)
            r.x[i] = ((uint64_t)n << 32) | (uint64_t)i;
        smccc_call(&r);
        if (!ffa_is_direct_resp2(&r)) {
            errors++;
            continue;
        }
        for (int i = 4; i < SMCCC_NUM_REGS; i++) {
            if (r.x[i] != (((uint64_t)n << 32) | (uint64_t)i) + ECHO_DELTA) {
                errors++;
                break;
            }
        }
    }
    printf("bench_direct_req2 calls=%u errors=%u\n", CALLS, errors);
    return 0;
}
