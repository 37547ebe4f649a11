/*
 * rmm_versions: TAP tests of RMI_VERSION and RSI_VERSION (smc #0) against an
 * RMM that supports exactly 1.0 and 2.0 (run with --rmm-revisions 1.0,2.0).
 *
 * Each case is asked through both calls: the requested revision supported
 * (1.0, 2.0), only an older one supported (1.1, 3.0), only newer ones (0.1),
 * and a request with reserved bits 63:32 set, which is never supported.
 * Every answer must also have lower <= higher.
 */
#include <stdint.h>

#include "console.h"
#include "ffa_emu_abi.h"
#include "smccc.h"
#include "rmm.h"
#include "tap.h"


/* The RMM's supported set this guest is written against. */
#define RMM_OLDEST REVISION(1, 0)
#define RMM_HIGHEST REVISION(2, 0)

#define RESERVED_BIT_32 (1ULL << 32)


struct rmm_case {
    const char *what;
    uint64_t requested;
    int supported;  /* expect SUCCESS, else ERROR_INPUT */
    uint64_t lower;
    uint64_t higher;
};

static const struct rmm_case cases[] = {
    { "oldest supported", REVISION(1, 0), 1, REVISION(1, 0), RMM_HIGHEST },
    { "highest supported", REVISION(2, 0), 1, REVISION(2, 0), RMM_HIGHEST },
    { "between, older supported", REVISION(1, 1), 0, RMM_OLDEST, RMM_HIGHEST },
    { "above all, older supported", REVISION(3, 0), 0, RMM_HIGHEST, RMM_HIGHEST },
    { "below all, only newer", REVISION(0, 1), 0, RMM_HIGHEST, RMM_HIGHEST },
    { "reserved bit 32 set", RESERVED_BIT_32 | RMM_OLDEST, 0, RMM_HIGHEST, RMM_HIGHEST },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define CHECKS_PER_CASE 4
#define PLAN (COUNT(rmm_calls) * COUNT(cases) * CHECKS_PER_CASE)

static void check_case(const struct rmm_call *call, const struct rmm_case *c)
{
    struct smccc_regs r;

    smccc_regs_init(&r, call->fid, c->requested, 0, 0);
    smccc_smc(&r);
    tap_diag("%s(0x%llx) -> status %llu lower %u.%u higher %u.%u", call->name,
             (unsigned long long)c->requested, (unsigned long long)r.x[0],
             REVISION_MAJOR(r.x[1]), REVISION_MINOR(r.x[1]),
             REVISION_MAJOR(r.x[2]), REVISION_MINOR(r.x[2]));
    expect_eq_u64(r.x[0], c->supported ? call->success : call->error_input,
                  "%s %s: status", call->name, c->what);
    expect_eq_u64(r.x[1], c->lower, "%s %s: lower", call->name, c->what);
    expect_eq_u64(r.x[2], c->higher, "%s %s: higher", call->name, c->what);
    tap_ok(r.x[1] <= r.x[2], "%s %s: lower <= higher", call->name, c->what);
}

int main(void)
{
    tap_plan(PLAN);
    for (unsigned i = 0; i < COUNT(cases); i++) {
        for (unsigned j = 0; j < COUNT(rmm_calls); j++)
            check_case(&rmm_calls[j], &cases[i]);
    }
    return tap_done();
}
