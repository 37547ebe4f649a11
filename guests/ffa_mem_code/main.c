/*
 * ffa_mem_code: code that someone else rewrites must run as rewritten, and be
 * charged as what runs.
 *
 *  - its own code: the guest writes `add x0, x0, #1; ret` into a page, runs
 *    it, rewrites it as `mul x0, x0, x0; ret` (same address, same size)
 *    with `dc cvau; ic ivau; dsb; isb`, runs it; then REWRITES more times,
 *    alternating `udiv x0, x0, x1` and `add x0, x0, #1` (a divide costs
 *    twelve ALU operations: a cost cache keyed by address and size would
 *    charge the wrong one every time);
 *  - the service SP's writes: the guest shares a page (RW) holding its own
 *    `add` code, runs it, has the SP FILL it with a pattern whose first
 *    word is `mul x0, x0, x0; ret`, and runs it again;
 *  - the mediator's writes: the guest puts `mov x0, #42; ret` at the start
 *    of its RX buffer, runs it, calls PARTITION_INFO_GET (the mediator
 *    writes the partition entries there) and runs it again: the first entry
 *    (echo SP 0x8001, 4 execution contexts: the word 0x00048001) is an
 *    undefined instruction, taken at the RX buffer's address.
 * Every profile supports it all (one RW normal page, one borrower).
 */
#include "../ffa_mem_share/mem_guest.h"
#include "exceptions.h"

#define CODE_IPA (MEM_DATA_IPA + 0x300000ULL) /* the guest's own code page, never shared */
#define SHARED_IPA (MEM_DATA_IPA + 0x310000ULL)
#define INSN_ADD_X0_1 0x91000400u         /* add x0, x0, #1 */
#define INSN_MUL_X0 0x9B007C00u           /* mul x0, x0, x0 */
#define INSN_UDIV_X0_X1 0x9AC10800u       /* udiv x0, x0, x1 */
#define INSN_MOV_X0_42 0xD2800540u        /* mov x0, #42 */
#define INSN_RET 0xD65F03C0u              /* ret */
#define FILL_MUL_RET ((uint64_t)INSN_RET << 32 | INSN_MUL_X0) /* word 0 of the FILL: mul; ret */
#define ECHO_ENTRY_WORD 0x00048001u       /* echo SP ID | 4 execution contexts << 16 */
#define REWRITES 400
#define PLAN 15

typedef uint64_t (*code_fn)(uint64_t x0, uint64_t x1);

/* Write `first; ret` at ipa and make it visible to instruction fetch, as the architecture asks. */
static void put_code(uint64_t ipa, uint32_t first)
{
    volatile uint32_t *code = (volatile uint32_t *)(uintptr_t)ipa;

    code[0] = first;
    code[1] = INSN_RET;
    asm volatile("dc cvau, %0\n\tdsb ish\n\tic ivau, %0\n\tdsb ish\n\tisb" : : "r"(ipa) : "memory");
}

/* Code written by another agent: invalidate the instruction cache line, as the architecture asks. */
static void sync_code(uint64_t ipa)
{
    asm volatile("ic ivau, %0\n\tdsb ish\n\tisb" : : "r"(ipa) : "memory");
}

static uint64_t run(uint64_t ipa, uint64_t x0, uint64_t x1)
{
    return ((code_fn)(uintptr_t)ipa)(x0, x1);
}

/* The undefined instruction in the RX buffer: recorded, then return from the call that reached it. */
void guest_sync_exception(uint64_t esr, uint64_t elr, uint64_t far, uint64_t spsr)
{
    guest_record_exception(esr, elr, far, spsr);
    if (elr == MEM_RX_IPA)
        exception_resume_at(exception_current_frame()->x30);
}

int main(void)
{
    struct smccc_regs r;
    uint64_t handle, sum = 0, expected = 0;
    static const uint32_t nil_uuid[4];

    tap_plan(PLAN);
    install_vectors();
    mem_setup();

    /* -- its own code ------------------------------------------------------------------------------ */
    put_code(CODE_IPA, INSN_ADD_X0_1);
    expect_eq_u64(run(CODE_IPA, 5, 0), 6, "own code: add x0, x0, #1 runs");
    put_code(CODE_IPA, INSN_MUL_X0);
    expect_eq_u64(run(CODE_IPA, 5, 0), 25, "own code rewritten (dc cvau; ic ivau): mul x0, x0, x0 runs");
    for (uint64_t i = 0; i < REWRITES; i++) {
        uint64_t x0 = 1000 + i;

        put_code(CODE_IPA, i & 1 ? INSN_ADD_X0_1 : INSN_UDIV_X0_X1);
        sum += run(CODE_IPA, x0, 3);
        expected += i & 1 ? x0 + 1 : x0 / 3;
    }
    expect_eq_u64(sum, expected, "own code rewritten 400 times: each version runs");

    /* -- the service SP's writes ------------------------------------------------------------------ */
    put_code(SHARED_IPA, INSN_ADD_X0_1);
    expect_eq_u64(run(SHARED_IPA, 5, 0), 6, "shared page: the guest's add runs");
    r = mem_show("MEM_SHARE of the code page", mem_send_one(FFA_FN64_MEM_SHARE, SHARED_IPA, 1));
    tap_ok(ffa_ok(&r), "MEM_SHARE of the code page succeeds");
    handle = ffa_mem_handle(&r);
    r = mem_show("FILL with mul; ret", ffa_service_mem(mem_self, SERVICE_CMD_MEM_FILL, handle, FILL_MUL_RET));
    expect_eq_u64(r.x[3], 1, "the SP filled the page");
    sync_code(SHARED_IPA);
    expect_eq_u64(run(SHARED_IPA, 7, 0), 49, "the SP's code runs: mul x0, x0, x0");
    r = mem_show("RECLAIM", ffa_mem_reclaim(handle, 0));
    tap_ok(ffa_ok(&r), "RECLAIM of the code page");

    /* -- the mediator's writes ---------------------------------------------------------------------- */
    put_code(MEM_RX_IPA, INSN_MOV_X0_42);
    expect_eq_u64(run(MEM_RX_IPA, 0, 0), 42, "RX buffer: the guest's mov x0, #42 runs");
    r = mem_show("PARTITION_INFO_GET", ffa_partition_info_get(nil_uuid, 0));
    tap_ok(ffa_ok(&r) && *(volatile uint32_t *)(uintptr_t)MEM_RX_IPA == ECHO_ENTRY_WORD,
           "PARTITION_INFO_GET wrote the echo SP's entry over it");
    sync_code(MEM_RX_IPA);
    exception_reset();
    run(MEM_RX_IPA, 0, 0);
    tap_ok(last_exception.count == 1 && last_exception.elr == MEM_RX_IPA &&
           esr_ec(last_exception.esr) == ESR_EC_UNKNOWN,
           "the entry runs: an undefined instruction at the RX buffer (elr 0x%llx, esr 0x%llx)",
           (unsigned long long)last_exception.elr, (unsigned long long)last_exception.esr);
    r = ffa_rx_release();
    tap_ok(ffa_ok(&r) || mem_is_error(&r, FFA_RET_DENIED), "RX_RELEASE");
    return tap_done();
}
