/*
 * ffa_mem_errors: every misuse of MEM_SHARE / FRAG_TX / RECLAIM gets the
 * spec's error and leaves nothing behind; a final valid share and reclaim
 * prove it. Each case starts from a valid one-page RW descriptor (1.2
 * layout) and corrupts one thing. Errors the mediator answers are the same
 * in every profile, except where a profile refuses the whole ABI first
 * (Xen: fragments -> NOT_SUPPORTED); the tests pin each answer per profile.
 */
#include "../ffa_mem_share/mem_guest.h"

#define PAGE_IPA (MEM_DATA_IPA + 0x100000ULL)
#define OUTSIDE_RAM_IPA 0x20000000ULL
#define RAM_END (GUEST_RAM_IPA + 0x8000000ULL) /* the tests run with the default 128 MiB */
#define NOT_AN_SP 0x0002u
#define MISSING_SP 0x8009u
#define PLAN 30
#define TWO_FRAG_IPA (PAGE_IPA + 0x10000ULL)

enum mutation {
    OUTSIDE_RAM, PAST_RAM_END, COMPOSITE_OUTSIDE, WRONG_SENDER, RECEIVER_NOT_SP, RECEIVER_MISSING_SP,
    ZERO_PAGES, PAGES_MISMATCH, UNALIGNED, EMAD_SIZE_0, DUPLICATE_RECEIVER, HANDLE_SET, SHARE_TX, SHARE_RX,
    PAGE_TWICE, OVERLAP,
};

static const struct {
    enum mutation m;
    int32_t error;
    const char *what;
    int32_t also; /* another answer the spec allows (0: none) */
} cases[] = {
    { OUTSIDE_RAM, FFA_RET_INVALID_PARAMETERS, "pages outside the VM's RAM (IPA 0x20000000)", 0 },
    { PAST_RAM_END, FFA_RET_INVALID_PARAMETERS, "a range running past the end of RAM", 0 },
    { COMPOSITE_OUTSIDE, FFA_RET_INVALID_PARAMETERS, "composite offset outside the descriptor and TX buffer", 0 },
    { WRONG_SENDER, FFA_RET_INVALID_PARAMETERS, "a sender ID other than the caller's", 0 },
    { RECEIVER_NOT_SP, FFA_RET_INVALID_PARAMETERS, "a receiver that is not an SP (0x0002)", 0 },
    { RECEIVER_MISSING_SP, FFA_RET_INVALID_PARAMETERS, "a receiver SP that does not exist (0x8009)", 0 },
    { ZERO_PAGES, FFA_RET_INVALID_PARAMETERS, "a constituent of zero pages", 0 },
    { PAGES_MISMATCH, FFA_RET_INVALID_PARAMETERS, "total page count not the constituents' sum", 0 },
    { UNALIGNED, FFA_RET_INVALID_PARAMETERS, "an unaligned constituent address", 0 },
    { EMAD_SIZE_0, FFA_RET_INVALID_PARAMETERS, "EMAD size 0", 0 },
    { DUPLICATE_RECEIVER, FFA_RET_INVALID_PARAMETERS, "the same receiver twice", 0 },
    { HANDLE_SET, FFA_RET_INVALID_PARAMETERS, "a non-zero handle in the header", 0 },
    { SHARE_TX, FFA_RET_DENIED, "sharing its own TX buffer", 0 },
    { SHARE_RX, FFA_RET_DENIED, "sharing its own RX buffer", 0 },
    { PAGE_TWICE, FFA_RET_DENIED, "the same page twice in one descriptor", FFA_RET_INVALID_PARAMETERS },
    { OVERLAP, FFA_RET_DENIED, "pages overlapping an existing share", 0 },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* A valid descriptor, then one corruption; returns its length. */
static uint32_t build(enum mutation m)
{
    struct ffa_mem_receiver rx[2] = { { (uint16_t)SERVICE_SP_ID, FFA_MEM_DATA_RW, 0 },
                                      { (uint16_t)SERVICE_SP_ID, FFA_MEM_DATA_RW, 0 } };
    struct ffa_mem_range ranges[2] = { { PAGE_IPA, 1 }, { PAGE_IPA, 1 } };
    uint32_t nrx = 1, nranges = 1, len, c0 = ffa_mem_constituent_offset(MEM_V12, 1, 0);
    uint16_t sender = mem_self;

    switch (m) {
    case OUTSIDE_RAM: ranges[0].address = OUTSIDE_RAM_IPA; break;
    case PAST_RAM_END: ranges[0] = (struct ffa_mem_range){ RAM_END - FFA_MEM_PAGE_SIZE, 2 }; break;
    case WRONG_SENDER: sender = (uint16_t)(mem_self + 1); break;
    case RECEIVER_NOT_SP: rx[0].id = NOT_AN_SP; break;
    case RECEIVER_MISSING_SP: rx[0].id = MISSING_SP; break;
    case DUPLICATE_RECEIVER: nrx = 2; break;
    case SHARE_TX: ranges[0].address = MEM_TX_IPA; break;
    case SHARE_RX: ranges[0].address = MEM_RX_IPA; break;
    case PAGE_TWICE: nranges = 2; break;
    case OVERLAP: ranges[0] = (struct ffa_mem_range){ PAGE_IPA - FFA_MEM_PAGE_SIZE, 3 }; break;
    default: break;
    }
    len = ffa_mem_desc_build(mem_desc, MEM_V12, sender, FFA_MEM_NORMAL_WB_INNER, 0, rx, nrx, ranges, nranges);
    switch (m) {
    case COMPOSITE_OUTSIDE:
        ffa_put_le(mem_desc, ffa_mem_header_size(MEM_V12) + FFA_MEM_EMAD_COMPOSITE, 0x2000, 4);
        break;
    case ZERO_PAGES:
        ffa_put_le(mem_desc, c0 + FFA_MEM_CONS_PAGES, 0, 4);
        ffa_put_le(mem_desc, ffa_mem_composite_offset(MEM_V12, 1) + FFA_MEM_COMP_TOTAL_PAGES, 0, 4);
        break;
    case PAGES_MISMATCH:
        ffa_put_le(mem_desc, ffa_mem_composite_offset(MEM_V12, 1) + FFA_MEM_COMP_TOTAL_PAGES, 2, 4);
        break;
    case UNALIGNED: ffa_put_le(mem_desc, c0 + FFA_MEM_CONS_ADDRESS, PAGE_IPA + 0x800, 8); break;
    case EMAD_SIZE_0: ffa_put_le(mem_desc, FFA_MEM_HDR_EMAD_SIZE, 0, 4); break;
    case HANDLE_SET: ffa_put_le(mem_desc, FFA_MEM_HDR_HANDLE, 0x53504D4300000001ULL, 8); break;
    default: break;
    }
    return len;
}

static struct smccc_regs send(enum mutation m)
{
    uint32_t len = build(m);

    return ffa_mem_send(FFA_FN64_MEM_SHARE, MEM_TX, FFA_MEM_PAGE_SIZE, mem_desc, len, 0, 0);
}

static void registers(void)
{
    struct smccc_regs r;
    uint32_t len = build(OVERLAP + 1);

    for (uint32_t i = 0; i < len; i++)
        MEM_TX[i] = mem_desc[i];
    r = mem_show("MEM_SHARE with a buffer address in x3", ffa_call(FFA_FN64_MEM_SHARE, len, len, MEM_TX_IPA, 1, 0, 0, 0));
    tap_ok(mem_is_error(&r, FFA_RET_INVALID_PARAMETERS), "descriptor outside the TX buffer (x3/w4 set): INVALID_PARAMETERS");
    r = mem_show("MEM_SHARE with fragment length 0", ffa_call(FFA_FN64_MEM_SHARE, len, 0, 0, 0, 0, 0, 0));
    tap_ok(mem_is_error(&r, FFA_RET_INVALID_PARAMETERS), "fragment length 0: INVALID_PARAMETERS");
    r = mem_show("MEM_SHARE with fragment > total", ffa_call(FFA_FN64_MEM_SHARE, len, len + 16, 0, 0, 0, 0, 0));
    tap_ok(mem_is_error(&r, FFA_RET_INVALID_PARAMETERS), "fragment longer than the total: INVALID_PARAMETERS");
    r = mem_show("MEM_SHARE with fragment > TX buffer", ffa_call(FFA_FN64_MEM_SHARE, 8192, 8192, 0, 0, 0, 0, 0));
    tap_ok(mem_is_error(&r, FFA_RET_INVALID_PARAMETERS), "fragment longer than the TX buffer: INVALID_PARAMETERS");
    r = mem_show("FRAG_TX of an unknown handle", ffa_call(FFA_MEM_FRAG_TX, 0x1234, 0x80000000u, 16, 0, 0, 0, 0));
    tap_ok(mem_is_error(&r, FFA_RET_INVALID_PARAMETERS) || mem_is_error(&r, FFA_RET_NOT_SUPPORTED),
           "FRAG_TX of an unknown handle: INVALID_PARAMETERS (NOT_SUPPORTED where FRAG_TX is refused)");
}

/* A descriptor in two fragments although it fits one: Xen takes one fragment only. */
static void two_fragments(void)
{
    struct smccc_regs r;
    unsigned fragments;
    uint32_t len = build(OVERLAP + 1);

    ffa_put_le(mem_desc, ffa_mem_constituent_offset(MEM_V12, 1, 0) + FFA_MEM_CONS_ADDRESS, TWO_FRAG_IPA, 8);
    r = mem_show("MEM_SHARE in two fragments",
                 ffa_mem_send(FFA_FN64_MEM_SHARE, MEM_TX, FFA_MEM_PAGE_SIZE, mem_desc, len, 48, &fragments));
    tap_ok((ffa_ok(&r) && fragments == 2) || (mem_is_error(&r, FFA_RET_NOT_SUPPORTED) && fragments == 1),
           "total length > fragment length: SUCCESS after FRAG_TX, or NOT_SUPPORTED (one fragment only)");
    if (ffa_ok(&r))
        r = mem_show("RECLAIM of the two-fragment share", ffa_mem_reclaim(ffa_mem_handle(&r), 0));
    tap_ok(ffa_ok(&r) || mem_is_error(&r, FFA_RET_NOT_SUPPORTED), "nothing of it is left shared");
}

int main(void)
{
    struct smccc_regs r, held;
    uint64_t handle;

    tap_plan(PLAN);
    mem_setup();
    held = mem_show("MEM_SHARE of the page the overlap case hits", send(OVERLAP + 1));
    tap_ok(ffa_ok(&held), "a valid share to overlap with succeeds");
    for (unsigned i = 0; i < NCASES; i++) {
        char text[96];

        snprintf(text, sizeof(text), "MEM_SHARE: %s", cases[i].what);
        r = mem_show(text, send(cases[i].m));
        tap_ok(mem_is_error(&r, cases[i].error) || (cases[i].also && mem_is_error(&r, cases[i].also)), "%s: %s",
               cases[i].what, ffa_error_name(cases[i].error));
    }
    registers();
    two_fragments();
    r = mem_show("RECLAIM of the held share", ffa_mem_reclaim(ffa_mem_handle(&held), 0));
    tap_ok(ffa_ok(&r), "RECLAIM of the held share: SUCCESS");
    /* Nothing leaked: the same page, and the pages around it, share and reclaim cleanly. */
    r = mem_show("MEM_SHARE of the overlap range, now free", send(OVERLAP));
    handle = ffa_mem_handle(&r);
    tap_ok(ffa_ok(&r), "the range the overlap case named can be shared now");
    r = mem_show("RECLAIM", ffa_mem_reclaim(handle, 0));
    tap_ok(ffa_ok(&r), "and reclaimed");
    return tap_done();
}
