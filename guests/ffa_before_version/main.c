/*
 * ffa_before_version: FF-A calls made before any FFA_VERSION.
 *
 * FFA_ID_GET and FFA_FEATURES(FFA_VERSION) first (pKVM answers
 * INVALID_PARAMETERS, Xen NOT_SUPPORTED, the spec accepts them), then
 * FFA_VERSION(1.2) and FFA_ID_GET again, which must succeed everywhere.
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"
#include "tap.h"

#define PLAN 5

static struct smccc_regs show(const char *what, struct smccc_regs r)
{
    char text[96];

    tap_diag("%s -> %s", what, ffa_describe(&r, text, sizeof(text)));
    return r;
}

int main(void)
{
    char text[48];
    struct smccc_regs r;
    uint32_t w0;

    tap_plan(PLAN);
    r = show("FFA_ID_GET before FFA_VERSION", ffa_id_get());
    tap_ok(ffa_ok(&r) || ffa_is_error(&r), "ID_GET before VERSION: SUCCESS or ERROR");
    r = show("FFA_FEATURES(FFA_VERSION) before FFA_VERSION", ffa_features((uint32_t)FFA_VERSION));
    tap_ok(ffa_ok(&r) || ffa_is_error(&r), "FEATURES before VERSION: SUCCESS or ERROR");

    w0 = ffa_version(FFA_MAKE_VERSION(1, 2));
    tap_diag("FFA_VERSION(1.2) -> %s", ffa_version_str(w0, text, sizeof(text)));
    /* 1.2, or the mediator's own version where it implements an older one (pkvm@v6.17, xen@4.21). */
    tap_ok(!ffa_version_is_error(w0) && FFA_VERSION_MAJOR_OF(w0) == 1 && FFA_VERSION_MINOR_OF(w0) <= 2,
           "VERSION(1.2) answers a 1.x version up to 1.2");
    r = show("FFA_ID_GET after FFA_VERSION", ffa_id_get());
    tap_ok(ffa_ok(&r), "ID_GET after VERSION succeeds");
    r = show("FFA_FEATURES(FFA_VERSION) after FFA_VERSION", ffa_features((uint32_t)FFA_VERSION));
    tap_ok(ffa_ok(&r), "FEATURES(FFA_VERSION) after VERSION succeeds");
    return tap_done();
}
