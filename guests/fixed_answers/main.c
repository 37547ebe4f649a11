/*
 * fixed_answers: calls whose answer never changes, made again and again from
 * the same sites (which the native trap hook then answers without Python),
 * interleaved with calls Python must answer every time, through both
 * conduits.  Each answer is checked, and so is every register the answer
 * does not name (x1-x17 as the guest left them: SMCCC 1.2 preserves them).
 */
#include <stdint.h>

#include "console.h"
#include "ffa_emu_abi.h"
#include "smccc.h"
#include "tap.h"

#define ROUNDS 40
#define PSCI_MIGRATE_32 0x84000005ULL      /* not implemented: PSCI_FEATURES says NOT_SUPPORTED */
#define PSCI_NOT_SUPPORTED_W0 0xFFFFFFFFULL /* -1, as an SMC32 result: w0 zero-extended */
#define UPPER_GARBAGE 0xDEAD000000000000ULL /* SMC32: the upper half of x0 is not part of the ID */

/* x1..x17 = 0x2222222200000000 + round * 0x100 + i: distinct registers, a different frame each round. */
static void fill(struct smccc_regs *r, uint64_t fid, unsigned round)
{
    r->x[0] = fid;
    for (int i = 1; i < SMCCC_NUM_REGS; i++)
        r->x[i] = 0x2222222200000000ULL + round * 0x100u + (uint64_t)i;
}

/* x[first..17] still hold what fill() put there. */
static int preserved(const struct smccc_regs *r, int first, unsigned round)
{
    for (int i = first; i < SMCCC_NUM_REGS; i++)
        if (r->x[i] != 0x2222222200000000ULL + round * 0x100u + (uint64_t)i)
            return 0;
    return 1;
}

int main(void)
{
    unsigned bad_version = 0, bad_uid = 0, bad_psci = 0, bad_features = 0, bad_smc = 0, bad_regs = 0;
    struct smccc_regs r;

    tap_plan(6);
    for (unsigned round = 0; round < ROUNDS; round++) {
        fill(&r, SMCCC_VERSION, round);
        smccc_hvc(&r);
        bad_version += r.x[0] != SMCCC_VERSION_1_2;
        bad_regs += !preserved(&r, 1, round);

        fill(&r, STD_SVC_UID, round);
        smccc_hvc(&r);
        bad_uid += r.x[0] != STD_SVC_UID_W0 || r.x[1] != STD_SVC_UID_W1 || r.x[2] != STD_SVC_UID_W2 ||
                   r.x[3] != STD_SVC_UID_W3;
        bad_regs += !preserved(&r, 4, round);

        fill(&r, UPPER_GARBAGE | PSCI_VERSION, round);
        smccc_hvc(&r);
        bad_psci += r.x[0] != PSCI_VERSION_1_1;
        bad_regs += !preserved(&r, 1, round);

        /* Not a fixed answer: Python answers it every round, between the others. */
        fill(&r, PSCI_FEATURES, round);
        r.x[1] = round & 1 ? SMCCC_VERSION : PSCI_MIGRATE_32;
        smccc_hvc(&r);
        bad_features += r.x[0] != (round & 1 ? 0 : PSCI_NOT_SUPPORTED_W0);

        fill(&r, SMCCC_VERSION, round);
        smccc_smc(&r);
        bad_smc += r.x[0] != SMCCC_VERSION_1_2;
        bad_regs += !preserved(&r, 1, round);
    }
    expect_eq_u64(bad_version, 0, "SMCCC_VERSION through hvc, %u rounds", ROUNDS);
    expect_eq_u64(bad_uid, 0, "STD_SVC_UID's four words");
    expect_eq_u64(bad_psci, 0, "PSCI_VERSION with garbage in x0's upper half");
    expect_eq_u64(bad_features, 0, "PSCI_FEATURES (answered by Python every time) in between");
    expect_eq_u64(bad_smc, 0, "SMCCC_VERSION through smc");
    expect_eq_u64(bad_regs, 0, "x1-x17 beyond each answer preserved");
    return tap_done();
}
