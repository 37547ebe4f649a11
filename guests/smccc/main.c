/*
 * smccc: TAP tests of the SMCCC 1.2 / PSCI surface of the EL2 handler,
 * through both conduits (HVC and SMC), including the register convention
 * rules (upper halves ignored for SMC32, x1-x17 preserved) and the
 * UNDEFINED injected for a non-zero hvc/smc immediate.
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "ffa_emu_abi.h"
#include "smccc.h"
#include "tap.h"

#define PLAN 46

#define SVE_HINT_BIT (1ULL << 16)
#define PSCI_MIGRATE_32 0x84000005ULL         /* not implemented */
#define UNKNOWN_SIP_SMC64 0xC2001234ULL
#define UNKNOWN_SIP_SMC32 0x82000042ULL
#define UNKNOWN_YIELDING 0x01000000ULL
#define UNKNOWN_ARCH_FID 0x80001234ULL
#define ALL_ONES 0xFFFFFFFFFFFFFFFFULL

enum conduit { HVC, SMC };

static const char *conduit_name(enum conduit c)
{
    return c == HVC ? "HVC" : "SMC";
}

static void call(enum conduit c, struct smccc_regs *r)
{
    if (c == HVC)
        smccc_hvc(r);
    else
        smccc_smc(r);
}

static uint64_t call1(enum conduit c, uint64_t fid, uint64_t a1)
{
    struct smccc_regs r;
    smccc_regs_init(&r, fid, a1, 0, 0);
    call(c, &r);
    return r.x[0];
}

/* x1..x17 = 0x1111111100000000 + i, so every register is distinct. */
static void fill_pattern(struct smccc_regs *r, uint64_t fid)
{
    r->x[0] = fid;
    for (int i = 1; i < SMCCC_NUM_REGS; i++)
        r->x[i] = 0x1111111100000000ULL + (uint64_t)i;
}

/* One test: x[first..17] still hold the pattern; the first mismatch is
 * reported as a diagnostic. */
static int check_preserved(const struct smccc_regs *r, int first,
                           const char *what)
{
    int bad = -1;
    for (int i = first; i < SMCCC_NUM_REGS && bad < 0; i++) {
        if (r->x[i] != 0x1111111100000000ULL + (uint64_t)i)
            bad = i;
    }
    int ok = tap_ok(bad < 0, "%s preserves x%d-x17", what, first);
    if (!ok)
        tap_diag("x%d = 0x%016llx, expected 0x%016llx", bad,
                 (unsigned long long)r->x[bad],
                 (unsigned long long)(0x1111111100000000ULL + (uint64_t)bad));
    return ok;
}

/* An SMC32 status in w0 with a zero upper half. */
static int expect_smc32_status(uint64_t x0, int32_t status, const char *fmt,
                               const char *arg)
{
    char name[96];
    snprintf(name, sizeof(name), fmt, arg);
    int ok = tap_ok((int32_t)(uint32_t)x0 == status && (x0 >> 32) == 0,
                    "%s == %d (SMC32, zero-extended)", name, status);
    if (!ok)
        tap_diag("x0 = 0x%016llx", (unsigned long long)x0);
    return ok;
}

static void test_version(void)
{
    expect_eq_u64(call1(HVC, SMCCC_VERSION, 0), SMCCC_VERSION_1_2,
                  "SMCCC_VERSION via HVC is 1.2");
    expect_eq_u64(call1(SMC, SMCCC_VERSION, 0), SMCCC_VERSION_1_2,
                  "SMCCC_VERSION via SMC is 1.2");

    uint64_t x0 = call1(HVC, 0xDEADBEEF00000000ULL | SMCCC_VERSION, 0);
    expect_eq_u64(x0 & 0xFFFFFFFFULL, SMCCC_VERSION_1_2,
                  "SMCCC_VERSION with garbage in x0[63:32] answers 1.2");
    expect_eq_u64(x0 >> 32, 0, "SMCCC_VERSION result x0[63:32] is zero");

    expect_eq_u64(call1(HVC, SMCCC_VERSION | SVE_HINT_BIT, 0),
                  SMCCC_VERSION_1_2,
                  "SMCCC_VERSION with the SVE hint bit set answers 1.2");
}

static void test_arch_features(void)
{
    expect_eq_u64(call1(HVC, SMCCC_ARCH_FEATURES, SMCCC_VERSION), 0,
                  "ARCH_FEATURES(SMCCC_VERSION) == 0");
    expect_eq_u64(call1(HVC, SMCCC_ARCH_FEATURES, SMCCC_ARCH_FEATURES), 0,
                  "ARCH_FEATURES(SMCCC_ARCH_FEATURES) == 0");

    static const struct {
        uint64_t fid;
        const char *name;
    } workarounds[] = {
        { SMCCC_ARCH_WORKAROUND_1, "SMCCC_ARCH_WORKAROUND_1" },
        { SMCCC_ARCH_WORKAROUND_2, "SMCCC_ARCH_WORKAROUND_2" },
        { SMCCC_ARCH_WORKAROUND_3, "SMCCC_ARCH_WORKAROUND_3" },
    };
    for (unsigned i = 0; i < sizeof(workarounds) / sizeof(workarounds[0]); i++)
        expect_smc32_status(call1(HVC, SMCCC_ARCH_FEATURES, workarounds[i].fid),
                            SMCCC_RET_NOT_REQUIRED, "ARCH_FEATURES(%s)",
                            workarounds[i].name);

    expect_eq_i32(call1(HVC, SMCCC_ARCH_FEATURES, SMCCC_ARCH_SOC_ID),
                  SMCCC_RET_NOT_SUPPORTED,
                  "ARCH_FEATURES(SMCCC_ARCH_SOC_ID) == NOT_SUPPORTED");
    expect_eq_i32(call1(HVC, SMCCC_ARCH_FEATURES, UNKNOWN_ARCH_FID),
                  SMCCC_RET_NOT_SUPPORTED,
                  "ARCH_FEATURES(0x%llx) == NOT_SUPPORTED",
                  (unsigned long long)UNKNOWN_ARCH_FID);
    expect_eq_u64(call1(HVC, SMCCC_ARCH_FEATURES,
                        0xFFFFFFFF00000000ULL | SMCCC_VERSION),
                  0,
                  "ARCH_FEATURES ignores x1[63:32] (SMC32)");
}

static void test_std_queries(enum conduit c, const char *prefix,
                             uint64_t count_fid, uint64_t uid_fid,
                             uint64_t rev_fid, const uint32_t uid[4],
                             uint32_t major, uint32_t minor)
{
    const char *cn = conduit_name(c);
    struct smccc_regs r;

    smccc_regs_init(&r, count_fid, 0, 0, 0);
    call(c, &r);
    uint32_t n = (uint32_t)r.x[0];
    tap_diag("%s-call-count %u", prefix, n);
    tap_ok(n > 0 && n != 0xFFFFFFFFu, "%s call count via %s is plausible",
           prefix, cn);

    smccc_regs_init(&r, uid_fid, 0, 0, 0);
    call(c, &r);
    int ok = tap_ok((uint32_t)r.x[0] == uid[0] && (uint32_t)r.x[1] == uid[1] &&
                        (uint32_t)r.x[2] == uid[2] && (uint32_t)r.x[3] == uid[3],
                    "%s UID via %s", prefix, cn);
    if (!ok)
        tap_diag("got %08x-%08x-%08x-%08x, expected %08x-%08x-%08x-%08x",
                 (uint32_t)r.x[0], (uint32_t)r.x[1], (uint32_t)r.x[2],
                 (uint32_t)r.x[3], uid[0], uid[1], uid[2], uid[3]);

    smccc_regs_init(&r, rev_fid, 0, 0, 0);
    call(c, &r);
    ok = tap_ok((uint32_t)r.x[0] == major && (uint32_t)r.x[1] == minor,
                "%s revision via %s is %u.%u", prefix, cn, major, minor);
    if (!ok)
        tap_diag("got w0 = 0x%08x, w1 = 0x%08x", (uint32_t)r.x[0],
                 (uint32_t)r.x[1]);
}

static void test_std_services(void)
{
    static const uint32_t svc_uid[4] = { STD_SVC_UID_W0, STD_SVC_UID_W1,
                                         STD_SVC_UID_W2, STD_SVC_UID_W3 };
    static const uint32_t hyp_uid[4] = { STD_HYP_UID_W0, STD_HYP_UID_W1,
                                         STD_HYP_UID_W2, STD_HYP_UID_W3 };

    test_std_queries(HVC, "std-svc", STD_SVC_CALL_COUNT, STD_SVC_UID,
                     STD_SVC_REVISION, svc_uid, STD_SVC_REVISION_MAJOR,
                     STD_SVC_REVISION_MINOR);
    test_std_queries(HVC, "std-hyp", STD_HYP_CALL_COUNT, STD_HYP_UID,
                     STD_HYP_REVISION, hyp_uid, STD_HYP_REVISION_MAJOR,
                     STD_HYP_REVISION_MINOR);
    test_std_queries(SMC, "std-svc", STD_SVC_CALL_COUNT, STD_SVC_UID,
                     STD_SVC_REVISION, svc_uid, STD_SVC_REVISION_MAJOR,
                     STD_SVC_REVISION_MINOR);
}

static void test_preservation(void)
{
    struct smccc_regs r;

    fill_pattern(&r, SMCCC_VERSION);
    smccc_hvc(&r);
    expect_eq_u64(r.x[0], SMCCC_VERSION_1_2,
                  "SMCCC_VERSION with x1-x17 patterned answers 1.2");
    check_preserved(&r, 1, "SMCCC_VERSION");

    fill_pattern(&r, SMCCC_ARCH_FEATURES);
    r.x[1] = SMCCC_VERSION;
    smccc_hvc(&r);
    expect_eq_u64(r.x[0], 0, "ARCH_FEATURES(SMCCC_VERSION) with x2-x17 patterned == 0");
    check_preserved(&r, 2, "SMCCC_ARCH_FEATURES");
}

static void test_psci(void)
{
    expect_eq_u64(call1(HVC, PSCI_VERSION, 0), PSCI_VERSION_1_1,
                  "PSCI_VERSION is 1.1");
    expect_eq_u64(call1(HVC, PSCI_FEATURES, PSCI_SYSTEM_OFF), 0,
                  "PSCI_FEATURES(SYSTEM_OFF) == 0");
    expect_eq_u64(call1(HVC, PSCI_FEATURES, PSCI_VERSION), 0,
                  "PSCI_FEATURES(PSCI_VERSION) == 0");
    expect_eq_i32(call1(HVC, PSCI_FEATURES, PSCI_MIGRATE_32),
                  SMCCC_RET_NOT_SUPPORTED,
                  "PSCI_FEATURES(MIGRATE) == NOT_SUPPORTED");
}

static void test_unknown(void)
{
    static const uint64_t fids[] = { UNKNOWN_SIP_SMC64, UNKNOWN_SIP_SMC32,
                                     UNKNOWN_YIELDING };

    for (int c = HVC; c <= SMC; c++) {
        for (unsigned i = 0; i < sizeof(fids) / sizeof(fids[0]); i++)
            expect_eq_u64(call1((enum conduit)c, fids[i], 0), ALL_ONES,
                          "unknown function 0x%08llx via %s returns -1",
                          (unsigned long long)fids[i],
                          conduit_name((enum conduit)c));
    }

    struct smccc_regs r;
    fill_pattern(&r, UNKNOWN_SIP_SMC64);
    smccc_hvc(&r);
    expect_eq_u64(r.x[0], ALL_ONES,
                  "unknown function with x1-x17 patterned returns -1");
    check_preserved(&r, 1, "unknown function");
}

/*
 * Execute `hvc #1` / `smc #5`: the hypervisor must inject an UNDEFINED
 * exception (EC 0) at the instruction; our vector skips it.  x0-x17 are
 * declared clobbered in case a broken hypervisor treats it as a call.
 */
#define TRAP_INSN(insn, addr, after)                                         \
    asm volatile("adr %0, 1f\n\t"                                            \
                 "mov %1, #0\n"                                              \
                 "1:\t" insn "\n\t"                                          \
                 "mov %1, #1\n"                                              \
                 : "=&r"(addr), "=&r"(after)                                 \
                 :                                                           \
                 : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8",     \
                   "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16",    \
                   "x17", "cc", "memory")

/* insn names the instruction in TAP output (no '#': it starts a directive). */
static void check_trap(const char *insn, uint64_t addr, uint64_t after)
{
    uint64_t count = last_exception.count;
    uint64_t esr = last_exception.esr;
    uint64_t elr = last_exception.elr;

    expect_eq_u64(count, 1, "%s raises exactly one synchronous exception", insn);
    expect_eq_u64(esr_ec(esr), ESR_EC_UNKNOWN,
                  "%s exception has EC 0 (unknown reason)", insn);
    expect_eq_u64(elr, addr, "%s exception ELR is the trapping instruction",
                  insn);
    expect_eq_u64(after, 1, "execution continues after %s", insn);
    if (count)
        tap_diag("%s: esr=0x%08llx elr=0x%016llx spsr=0x%08llx", insn,
                 (unsigned long long)esr, (unsigned long long)elr,
                 (unsigned long long)last_exception.spsr);
}

static void test_nonzero_immediate(void)
{
    uint64_t addr, after;

    install_vectors();

    exception_reset();
    TRAP_INSN("hvc #1", addr, after);
    check_trap("hvc imm 1", addr, after);

    exception_reset();
    TRAP_INSN("smc #5", addr, after);
    check_trap("smc imm 5", addr, after);
}

int main(void)
{
    tap_plan(PLAN);
    test_version();
    test_arch_features();
    test_std_services();
    test_preservation();
    test_psci();
    test_unknown();
    test_nonzero_immediate();
    tap_done();
    return 0;
}
