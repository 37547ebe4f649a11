/*
 * ffa_version: the FFA_VERSION negotiation sequence, in a fixed order:
 *
 *   FFA_ID_GET before any FFA_VERSION;
 *   VERSION(2.0); VERSION(1.0 | bit 31); VERSION(1.3); VERSION(1.1);
 *   FFA_ID_GET (a non-VERSION call: locks the version under spec and Xen);
 *   VERSION(1.0); VERSION(1.2).
 *
 * What each mediator answers differs (the tests compare the trace); the TAP
 * checks here hold under every profile: an answer is a 1.x version or
 * NOT_SUPPORTED, x1-x7 come back zero, ID_GET works once negotiated.
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"
#include "tap.h"

#define GARBAGE 0xDEAD0000BEEF0000ULL

struct step {
    const char *what;
    uint32_t requested;
};

static const struct step steps_before_lock[] = {
    { "2.0", FFA_MAKE_VERSION(2, 0) },
    { "1.0|bit31", FFA_VERSION_BIT31 | FFA_MAKE_VERSION(1, 0) },
    { "1.3", FFA_MAKE_VERSION(1, 3) },
    { "1.1", FFA_MAKE_VERSION(1, 1) },
};

static const struct step steps_after_lock[] = {
    { "1.0", FFA_MAKE_VERSION(1, 0) },
    { "1.2", FFA_MAKE_VERSION(1, 2) },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define CHECKS_PER_STEP 2
#define PLAN ((COUNT(steps_before_lock) + COUNT(steps_after_lock)) * CHECKS_PER_STEP + 2)

/* FFA_VERSION with garbage in x2-x7: they must come back zero. */
static uint32_t version_step(const struct step *s)
{
    struct smccc_regs r = ffa_frame(FFA_VERSION, s->requested, GARBAGE | 2, GARBAGE | 3, GARBAGE | 4,
                                    GARBAGE | 5, GARBAGE | 6, GARBAGE | 7);
    char text[48];
    uint32_t w0;
    int zero = 1;

    smccc_call(&r);
    w0 = (uint32_t)r.x[0];
    for (int i = 1; i < 8; i++)
        zero &= r.x[i] == 0;
    tap_diag("FFA_VERSION(%s) -> %s (x0=0x%llx)", s->what, ffa_version_str(w0, text, sizeof(text)),
             (unsigned long long)r.x[0]);
    tap_ok(w0 == (uint32_t)FFA_RET_NOT_SUPPORTED ||
               (!(w0 & FFA_VERSION_BIT31) && FFA_VERSION_MAJOR_OF(w0) == 1),
           "VERSION(%s): a 1.x version or NOT_SUPPORTED", s->what);
    tap_ok(zero, "VERSION(%s): x1-x7 zero on return", s->what);
    return w0;
}

static struct smccc_regs id_get(const char *when)
{
    struct smccc_regs r = ffa_id_get();
    char text[96];

    tap_diag("FFA_ID_GET (%s) -> %s", when, ffa_describe(&r, text, sizeof(text)));
    return r;
}

int main(void)
{
    struct smccc_regs r;

    tap_plan(PLAN);
    r = id_get("before any FFA_VERSION");
    tap_ok(ffa_ok(&r) || ffa_is_error(&r), "ID_GET before VERSION: SUCCESS or ERROR");
    for (unsigned i = 0; i < COUNT(steps_before_lock); i++)
        version_step(&steps_before_lock[i]);
    r = id_get("after negotiation");
    tap_ok(ffa_ok(&r), "ID_GET after negotiation succeeds");
    for (unsigned i = 0; i < COUNT(steps_after_lock); i++)
        version_step(&steps_after_lock[i]);
    return tap_done();
}
