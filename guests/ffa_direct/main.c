/*
 * ffa_direct: direct messaging to the stub's SPs after negotiating 1.2.
 *
 *  - FFA_MSG_SEND_DIRECT_REQ (SMC32) to the echo SP: w3-w7 distinct, garbage
 *    in the upper halves of x3-x7 (must be ignored), known values in x8-x17
 *    (whether they survive is printed: the rules differ per mediator);
 *  - the SMC64 form with 64-bit payloads;
 *  - FFA_MSG_SEND_DIRECT_REQ2 through `smc #0` with 14 distinct 64-bit
 *    payload registers x4-x17;
 *  - the service SP's PING and SUM commands;
 *  - a spoofed sender (own ID + 1), a receiver that is not an SP (0x0002)
 *    and a non-existent SP (0x8009).
 * The sender is the ID FFA_ID_GET answered (0 under pKVM, which forwards it).
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"
#include "tap.h"

#define UPPER_GARBAGE 0xA5A5A5A500000000ULL
#define X8_MARK 0x0808080800000000ULL
#define NOT_AN_SP 0x0002u
#define MISSING_SP 0x8009u
#define PLAN 37

static uint16_t self;

static struct smccc_regs show(const char *what, struct smccc_regs r)
{
    char text[96];

    if (ffa_is_direct_resp(&r) || ffa_is_direct_resp2(&r))
        tap_diag("%s -> DIRECT_RESP%s w1=0x%08x x3=0x%llx x4=0x%llx", what, ffa_is_direct_resp2(&r) ? "2" : "",
                 ffa_w(&r, 1), (unsigned long long)r.x[3], (unsigned long long)r.x[4]);
    else
        tap_diag("%s -> %s", what, ffa_describe(&r, text, sizeof(text)));
    return r;
}

static void direct_req32(void)
{
    static const uint32_t w[5] = { 0x11111111, 0x22222222, 0x33333333, 0x44444444, 0xFFFFFFFF };
    struct smccc_regs r;
    int upper_zero = 1, x8_kept = 1, x8_zero = 1;

    ffa_regs_clear(&r);
    r.x[0] = FFA_MSG_SEND_DIRECT_REQ;
    r.x[1] = FFA_ENDPOINTS(self, ECHO_SP_ID) | UPPER_GARBAGE;
    for (int i = 0; i < 5; i++)
        r.x[3 + i] = UPPER_GARBAGE | w[i];
    for (int i = 8; i < 18; i++)
        r.x[i] = X8_MARK | (uint64_t)i;
    smccc_call(&r);
    show("DIRECT_REQ (SMC32) to the echo SP", r);
    tap_ok(ffa_w(&r, 0) == (uint32_t)FFA_MSG_SEND_DIRECT_RESP, "DIRECT_REQ: answered with DIRECT_RESP");
    expect_eq_u64(ffa_w(&r, 1), FFA_ENDPOINTS(ECHO_SP_ID, self), "DIRECT_RESP: w1 endpoints swapped");
    for (int i = 0; i < 5; i++)
        expect_eq_u64(ffa_w(&r, 3 + i), (uint32_t)(w[i] + ECHO_DELTA), "DIRECT_RESP: w%d + ECHO_DELTA", 3 + i);
    for (int i = 0; i < 8; i++)
        upper_zero &= (r.x[i] >> 32) == 0;
    for (int i = 8; i < 18; i++) {
        x8_kept &= r.x[i] == (X8_MARK | (uint64_t)i);
        x8_zero &= r.x[i] == 0;
    }
    tap_diag("DIRECT_REQ (SMC32): upper halves of x0-x7 zero: %s", upper_zero ? "yes" : "no");
    tap_diag("DIRECT_REQ (SMC32): x8-x17 %s", x8_kept ? "preserved" : x8_zero ? "zeroed" : "changed");
}

static void direct_req64(void)
{
    uint64_t v[5] = { 0x0102030405060708ULL, 0x1112131415161718ULL, 0xFFFFFFFFFFFFFFFEULL,
                      0x00000000FFFFFFFFULL, 0x8000000000000000ULL };
    struct smccc_regs r = show("DIRECT_REQ (SMC64) to the echo SP",
                               ffa_direct_req(FFA_FN64_MSG_SEND_DIRECT_REQ, self, ECHO_SP_ID, v));

    tap_ok(ffa_w(&r, 0) == (uint32_t)FFA_FN64_MSG_SEND_DIRECT_RESP, "DIRECT_REQ64: answered with DIRECT_RESP64");
    for (int i = 0; i < 5; i++)
        expect_eq_u64(r.x[3 + i], v[i] + ECHO_DELTA, "DIRECT_RESP64: x%d + ECHO_DELTA (64-bit)", 3 + i);
}

static void direct_req2(void)
{
    uint64_t v[14];
    struct smccc_regs r;

    for (int i = 0; i < 14; i++)
        v[i] = 0x0400000000000000ULL * (uint64_t)(i + 1) + 0x1000ULL * (uint64_t)i + 0xFFFFFFFFULL;
    r = ffa_direct_req2_frame(self, ECHO_SP_ID, 0, 0, v);
    smccc_smc(&r);
    show("DIRECT_REQ2 (smc) to the echo SP", r);
    tap_ok(ffa_is_direct_resp2(&r) || ffa_error_code(&r) == FFA_RET_NOT_SUPPORTED,
           "DIRECT_REQ2: DIRECT_RESP2 or NOT_SUPPORTED");
    if (ffa_is_direct_resp2(&r)) {
        expect_eq_u64(ffa_w(&r, 1), FFA_ENDPOINTS(ECHO_SP_ID, self), "DIRECT_RESP2: w1 endpoints swapped");
        for (int i = 0; i < 14; i++)
            expect_eq_u64(r.x[4 + i], v[i] + ECHO_DELTA, "DIRECT_RESP2: x%d + ECHO_DELTA", 4 + i);
    } else {
        tap_ok(1, "DIRECT_REQ2 refused: no endpoints to check");
        for (int i = 0; i < 14; i++)
            tap_ok(1, "DIRECT_REQ2 refused: x%d not checked", 4 + i);
    }
}

static void service(void)
{
    uint64_t ping[5] = { SERVICE_CMD_PING, 0, 0, 0, 0 };
    uint64_t sum[5] = { SERVICE_CMD_SUM, 1000, 200, 30, 4 };
    struct smccc_regs r;

    r = show("PING the service SP", ffa_direct_req(FFA_MSG_SEND_DIRECT_REQ, self, SERVICE_SP_ID, ping));
    tap_ok(ffa_is_direct_resp(&r) && ffa_w(&r, 3) == SERVICE_PING_MAGIC, "PING answers SERVICE_PING_MAGIC");
    tap_diag("PING: %u requests served", ffa_w(&r, 4));
    tap_ok(ffa_w(&r, 4) >= 1, "PING: served count includes this request");
    r = show("SUM on the service SP", ffa_direct_req(FFA_MSG_SEND_DIRECT_REQ, self, SERVICE_SP_ID, sum));
    expect_eq_u64(ffa_w(&r, 3), 1234, "SUM(1000, 200, 30, 4)");
}

static void bad_endpoints(void)
{
    uint64_t v[5] = { 1, 2, 3, 4, 5 };
    struct smccc_regs r;

    r = show("DIRECT_REQ with sender = own ID + 1",
             ffa_direct_req(FFA_MSG_SEND_DIRECT_REQ, (uint16_t)(self + 1), ECHO_SP_ID, v));
    tap_ok(ffa_is_direct_resp(&r) || ffa_is_error(&r), "spoofed sender: DIRECT_RESP or ERROR");
    r = show("DIRECT_REQ to 0x0002 (not an SP)", ffa_direct_req(FFA_MSG_SEND_DIRECT_REQ, self, NOT_AN_SP, v));
    tap_ok(ffa_is_error(&r), "receiver that is not an SP: fails");
    r = show("DIRECT_REQ to 0x8009 (no such SP)", ffa_direct_req(FFA_MSG_SEND_DIRECT_REQ, self, MISSING_SP, v));
    tap_ok(ffa_is_error(&r), "non-existent SP: fails");
}

int main(void)
{
    char text[96];
    struct smccc_regs r;
    uint32_t w0;

    tap_plan(PLAN);
    w0 = ffa_version(FFA_MAKE_VERSION(1, 2));
    tap_diag("FFA_VERSION(1.2) -> %s", ffa_version_str(w0, text, sizeof(text)));
    tap_ok(!ffa_version_is_error(w0) && FFA_VERSION_MAJOR_OF(w0) == 1, "VERSION answers a 1.x version");
    r = show("FFA_ID_GET", ffa_id_get());
    tap_ok(ffa_ok(&r), "ID_GET succeeds");
    self = (uint16_t)ffa_w(&r, 2);
    tap_diag("own endpoint ID 0x%04x", self);

    direct_req32();
    direct_req64();
    direct_req2();
    service();
    bad_endpoints();
    return tap_done();
}
