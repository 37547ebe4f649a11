/*
 * ffa_features: FFA_FEATURES for every FF-A function ID (32- and 64-bit
 * forms), the feature IDs NPI/SRI/MEI and a bogus ID, after negotiating
 * FF-A 1.2.  Every answer is printed as a diagnostic (the tests compare
 * them per mediator profile).  TAP checks what must hold everywhere: each
 * answer is SUCCESS or NOT_SUPPORTED, RXTX_MAP's minimum buffer size field
 * is valid, and for calls that are safe to make, calling them agrees with
 * FEATURES (NOT_SUPPORTED if and only if FEATURES said so).
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"
#include "tap.h"

struct fid_entry {
    const char *name;
    uint32_t id;
};

#define F(x) { #x, (uint32_t)(x) }

static const struct fid_entry fids[] = {
    F(FFA_ERROR), F(FFA_SUCCESS), F(FFA_INTERRUPT), F(FFA_VERSION), F(FFA_FEATURES),
    F(FFA_RX_RELEASE), F(FFA_RXTX_MAP), F(FFA_RXTX_UNMAP), F(FFA_PARTITION_INFO_GET),
    F(FFA_ID_GET), F(FFA_MSG_POLL), F(FFA_MSG_WAIT), F(FFA_YIELD), F(FFA_RUN), F(FFA_MSG_SEND),
    F(FFA_MSG_SEND_DIRECT_REQ), F(FFA_MSG_SEND_DIRECT_RESP), F(FFA_MEM_DONATE), F(FFA_MEM_LEND),
    F(FFA_MEM_SHARE), F(FFA_MEM_RETRIEVE_REQ), F(FFA_MEM_RETRIEVE_RESP), F(FFA_MEM_RELINQUISH),
    F(FFA_MEM_RECLAIM), F(FFA_MEM_FRAG_RX), F(FFA_MEM_FRAG_TX), F(FFA_NORMAL_WORLD_RESUME),
    F(FFA_NOTIFICATION_BITMAP_CREATE), F(FFA_NOTIFICATION_BITMAP_DESTROY),
    F(FFA_NOTIFICATION_BIND), F(FFA_NOTIFICATION_UNBIND), F(FFA_NOTIFICATION_SET),
    F(FFA_NOTIFICATION_GET), F(FFA_NOTIFICATION_INFO_GET), F(FFA_RX_ACQUIRE), F(FFA_SPM_ID_GET),
    F(FFA_MSG_SEND2), F(FFA_MEM_PERM_GET), F(FFA_MEM_PERM_SET), F(FFA_CONSOLE_LOG),
    F(FFA_EL3_INTR_HANDLE),
    F(FFA_FN64_SUCCESS), F(FFA_FN64_RXTX_MAP), F(FFA_FN64_MSG_SEND_DIRECT_REQ),
    F(FFA_FN64_MSG_SEND_DIRECT_RESP), F(FFA_FN64_MEM_DONATE), F(FFA_FN64_MEM_LEND),
    F(FFA_FN64_MEM_SHARE), F(FFA_FN64_MEM_RETRIEVE_REQ), F(FFA_FN64_NOTIFICATION_INFO_GET),
    F(FFA_FN64_SECONDARY_EP_REGISTER), F(FFA_FN64_MEM_PERM_GET), F(FFA_FN64_MEM_PERM_SET),
    F(FFA_FN64_CONSOLE_LOG), F(FFA_FN64_PARTITION_INFO_GET_REGS), F(FFA_FN64_MSG_SEND_DIRECT_REQ2),
    F(FFA_FN64_MSG_SEND_DIRECT_RESP2),
};

#define BOGUS_FID 0x840000FFu /* owner 4, outside the FF-A range */

static const struct fid_entry others[] = {
    { "feature NPI", (uint32_t)FFA_FEATURE_ID_NPI },
    { "feature SRI", (uint32_t)FFA_FEATURE_ID_SRI },
    { "feature MEI", (uint32_t)FFA_FEATURE_ID_MEI },
    { "bogus 0x840000FF", BOGUS_FID },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define NCONSISTENCY 5
#define PLAN (1 + COUNT(fids) + COUNT(others) + 1 + 2 + 2 + NCONSISTENCY)

static int32_t answers[COUNT(fids)];
static uint32_t props[COUNT(fids)];

static int32_t features_of(uint32_t id)
{
    for (unsigned i = 0; i < COUNT(fids); i++)
        if (fids[i].id == id)
            return answers[i];
    return FFA_RET_NOT_SUPPORTED;
}

static uint32_t props_of(uint32_t id)
{
    for (unsigned i = 0; i < COUNT(fids); i++)
        if (fids[i].id == id)
            return props[i];
    return 0;
}

static int32_t status(const struct smccc_regs *r)
{
    if (ffa_ok(r) || ffa_is_direct_resp2(r))
        return 0;
    return ffa_is_error(r) ? ffa_error_code(r) : -100;
}

/* One safe call: its outcome must agree with what FEATURES said. */
static void agree(const char *name, uint32_t id, const struct smccc_regs *r)
{
    char text[96];
    int32_t said = features_of(id);

    tap_diag("call %s -> %s", name, ffa_describe(r, text, sizeof(text)));
    tap_ok((said == FFA_RET_NOT_SUPPORTED) == (status(r) == FFA_RET_NOT_SUPPORTED),
           "%s: NOT_SUPPORTED iff FEATURES said so (FEATURES %s)", name, ffa_error_name(said));
}

int main(void)
{
    char text[96];
    struct smccc_regs r;
    uint32_t w0;
    uint16_t self = 0;

    tap_plan(PLAN);
    w0 = ffa_version(FFA_MAKE_VERSION(1, 2));
    tap_diag("FFA_VERSION(1.2) -> %s", ffa_version_str(w0, text, sizeof(text)));
    tap_ok(!ffa_version_is_error(w0) && FFA_VERSION_MAJOR_OF(w0) == 1, "VERSION answers a 1.x version");

    for (unsigned i = 0; i < COUNT(fids); i++) {
        r = ffa_features(fids[i].id);
        answers[i] = ffa_ok(&r) ? 0 : ffa_is_error(&r) ? ffa_error_code(&r) : -100;
        props[i] = ffa_w(&r, 2);
        tap_diag("FEATURES(%s 0x%08x) -> %s", fids[i].name, fids[i].id,
                 ffa_describe(&r, text, sizeof(text)));
        tap_ok(answers[i] == 0 || answers[i] == FFA_RET_NOT_SUPPORTED,
               "FEATURES(%s): SUCCESS or NOT_SUPPORTED", fids[i].name);
    }
    for (unsigned i = 0; i < COUNT(others); i++) {
        r = ffa_features(others[i].id);
        tap_diag("FEATURES(%s) -> %s", others[i].name, ffa_describe(&r, text, sizeof(text)));
        tap_ok(ffa_ok(&r) || ffa_error_code(&r) == FFA_RET_NOT_SUPPORTED,
               "FEATURES(%s): SUCCESS or NOT_SUPPORTED", others[i].name);
    }
    r = ffa_features(BOGUS_FID);
    tap_ok(ffa_error_code(&r) == FFA_RET_NOT_SUPPORTED, "FEATURES(bogus ID) is NOT_SUPPORTED");
    tap_ok(features_of((uint32_t)FFA_VERSION) == 0, "FEATURES(FFA_VERSION) succeeds");
    tap_ok(features_of((uint32_t)FFA_FEATURES) == 0, "FEATURES(FFA_FEATURES) succeeds");

    {
        const uint32_t maps[2] = { (uint32_t)FFA_RXTX_MAP, (uint32_t)FFA_FN64_RXTX_MAP };

        for (unsigned i = 0; i < 2; i++) {
            uint32_t p = props_of(maps[i]);

            if (features_of(maps[i]) == 0) {
                tap_diag("RXTX_MAP%s: min buffer field %u, max pages %u", i ? "64" : "32",
                         p & FFA_RXTX_MAP_MIN_BUF_MASK, FFA_RXTX_MAP_MAX_PAGES(p));
                tap_ok((p & FFA_RXTX_MAP_MIN_BUF_MASK) <= 2, "RXTX_MAP%s min buffer field is 0..2",
                       i ? "64" : "32");
            } else {
                tap_ok(1, "RXTX_MAP%s not supported: no properties to check", i ? "64" : "32");
            }
        }
    }

    r = ffa_id_get();
    if (ffa_ok(&r))
        self = (uint16_t)ffa_w(&r, 2);
    tap_diag("FFA_ID_GET -> %s", ffa_describe(&r, text, sizeof(text)));

    r = ffa_call(FFA_SPM_ID_GET, 0, 0, 0, 0, 0, 0, 0);
    agree("FFA_SPM_ID_GET", (uint32_t)FFA_SPM_ID_GET, &r);

    r = ffa_call(FFA_FN64_PARTITION_INFO_GET_REGS, 0, 0, 0, 0, 0, 0, 0);
    agree("FFA_FN64_PARTITION_INFO_GET_REGS", (uint32_t)FFA_FN64_PARTITION_INFO_GET_REGS, &r);

    /* "features\n" packed little-endian into w2-w3. */
    r = ffa_call(FFA_CONSOLE_LOG, 9, 0x74616566u, 0x73657275u, 0x0Au, 0, 0, 0);
    agree("FFA_CONSOLE_LOG", (uint32_t)FFA_CONSOLE_LOG, &r);

    {
        uint64_t payload[14];

        for (int i = 0; i < 14; i++)
            payload[i] = 0x1000u + (uint64_t)i;
        r = ffa_direct_req2_frame(self, (uint16_t)ECHO_SP_ID, 0, 0, payload);
        smccc_call(&r);
        agree("FFA_FN64_MSG_SEND_DIRECT_REQ2", (uint32_t)FFA_FN64_MSG_SEND_DIRECT_REQ2, &r);
    }

    r = ffa_call(FFA_RX_ACQUIRE, 0, 0, 0, 0, 0, 0, 0);
    agree("FFA_RX_ACQUIRE", (uint32_t)FFA_RX_ACQUIRE, &r);
    if (ffa_ok(&r)) {
        r = ffa_rx_release();
        tap_diag("RX_RELEASE after RX_ACQUIRE -> %s", ffa_describe(&r, text, sizeof(text)));
    }
    return tap_done();
}
