/*
 * rmm_retry: a caller that supports revisions 1.0 and 2.0 negotiates with an
 * RMM that supports exactly 1.0 and 2.0 (run with --rmm-revisions 1.0,2.0),
 * through RMI_VERSION and RSI_VERSION (smc #0).
 *
 * It first asks for 1.1, which the RMM does not support: the answer is
 * ERROR_INPUT with lower 1.0 and higher 2.0.  Higher is one of its own
 * revisions, so it retries with 2.0, which succeeds.
 */
#include <stdint.h>

#include "console.h"
#include "ffa_emu_abi.h"
#include "smccc.h"
#include "rmm.h"
#include "tap.h"

/* printf arguments for "%u.%u" */
#define MAJOR_MINOR(rev) REVISION_MAJOR(rev), REVISION_MINOR(rev)

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* What this caller implements, and what it asks for first. */
static const uint64_t local_revisions[] = { REVISION(1, 0), REVISION(2, 0) };
#define FIRST_REQUEST REVISION(1, 1)

/* What the RMM (supporting 1.0 and 2.0) must answer, and the outcome. */
#define EXPECT_FIRST_LOWER REVISION(1, 0)
#define EXPECT_FIRST_HIGHER REVISION(2, 0)
#define EXPECT_NEGOTIATED REVISION(2, 0)

#define CHECKS_PER_CALL 6
#define PLAN (COUNT(rmm_calls) * CHECKS_PER_CALL)


static int is_local(uint64_t rev)
{
    for (unsigned i = 0; i < COUNT(local_revisions); i++) {
        if (local_revisions[i] == rev)
            return 1;
    }
    return 0;
}

static void version_call(const struct rmm_call *call, uint64_t requested,
                         struct smccc_regs *r)
{
    smccc_regs_init(r, call->fid, requested, 0, 0);
    smccc_smc(r);
    tap_diag("%s(%u.%u) -> status %llu lower %u.%u higher %u.%u", call->name,
             MAJOR_MINOR(requested), (unsigned long long)r->x[0],
             MAJOR_MINOR(r->x[1]), MAJOR_MINOR(r->x[2]));
}

static void negotiate(const struct rmm_call *call)
{
    struct smccc_regs first, retry;

    version_call(call, FIRST_REQUEST, &first);
    expect_eq_u64(first.x[0], call->error_input, "%s(%u.%u) is ERROR_INPUT",
                  call->name, MAJOR_MINOR(FIRST_REQUEST));
    expect_eq_u64(first.x[1], EXPECT_FIRST_LOWER, "%s(%u.%u) lower is %u.%u",
                  call->name, MAJOR_MINOR(FIRST_REQUEST),
                  MAJOR_MINOR(EXPECT_FIRST_LOWER));
    expect_eq_u64(first.x[2], EXPECT_FIRST_HIGHER, "%s(%u.%u) higher is %u.%u",
                  call->name, MAJOR_MINOR(FIRST_REQUEST),
                  MAJOR_MINOR(EXPECT_FIRST_HIGHER));
    uint64_t retry_with = first.x[2];
    tap_ok(is_local(retry_with), "%s higher %u.%u is a local revision",
           call->name, MAJOR_MINOR(retry_with));

    version_call(call, retry_with, &retry);
    expect_eq_u64(retry.x[0], call->success, "%s(%u.%u) succeeds", call->name,
                  MAJOR_MINOR(retry_with));
    expect_eq_u64(retry.x[1], EXPECT_NEGOTIATED, "%s negotiated %u.%u",
                  call->name, MAJOR_MINOR(EXPECT_NEGOTIATED));
    if (retry.x[0] == call->success)
        printf("%s negotiated %u.%u\n", call->name, MAJOR_MINOR(retry.x[1]));
}

int main(void)
{
    tap_plan(PLAN);
    for (unsigned i = 0; i < COUNT(rmm_calls); i++)
        negotiate(&rmm_calls[i]);
    return tap_done();
}
