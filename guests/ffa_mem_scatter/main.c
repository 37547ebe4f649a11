/*
 * ffa_mem_scatter: scattered pages in one descriptor, and a descriptor too
 * large for one fragment.
 *
 *  1. 64 single pages, every other page from MEM_DATA_IPA, plus 8 pages
 *     crossing the 2 MiB boundary at MEM_DATA_IPA + 2 MiB (where the
 *     emulator's stage 2 breaks physical contiguity): 65 constituents,
 *     72 pages, one fragment. CHECKSUM equals the guest's sum; FILL's
 *     words run on across every page in descriptor order, across the
 *     boundary too (the mediator translated page by page); RECLAIM.
 *  2. 300 single pages (every other page from BIG_IPA): a 4880-byte
 *     descriptor sent in 1000-byte fragments (MEM_SHARE, then FRAG_TX at
 *     each FRAG_RX offset). The spec and pKVM take fragments (the mediator
 *     forwards it to the SPMC in fragments too, being over 4 KiB): the
 *     checksum matches, RECLAIM. Xen takes one fragment only: its answer is
 *     NOT_SUPPORTED, the profile's documented one.
 */
#include "../ffa_mem_share/mem_guest.h"

#define SCATTER_PAGES 64
#define CROSS_IPA (MEM_DATA_IPA + 0x200000ULL - 4 * FFA_MEM_PAGE_SIZE) /* 4 pages each side */
#define CROSS_PAGES 8
#define BIG_IPA (MEM_DATA_IPA + 0x400000ULL)
#define BIG_RANGES 300
#define BIG_FRAGMENT 1000
#define FILL_PATTERN 0x5CA7000000000000ULL
#define PLAN 16

static struct ffa_mem_range ranges[BIG_RANGES];

static uint64_t ranges_checksum(const struct ffa_mem_range *r, uint32_t n)
{
    uint64_t sum = 0;

    for (uint32_t i = 0; i < n; i++)
        sum += ffa_mem_checksum(MEM_PAGE(r[i].address), r[i].pages);
    return sum;
}

/* Word k, counted across the ranges in order, must be base + k. */
static int ranges_check_fill(const struct ffa_mem_range *r, uint32_t n, uint64_t base)
{
    for (uint32_t i = 0; i < n; i++) {
        if (!mem_check_fill(r[i].address, r[i].pages, base))
            return 0;
        base += (uint64_t)r[i].pages * MEM_WORDS;
    }
    return 1;
}

static void scattered(void)
{
    struct smccc_regs r;
    uint64_t handle, sum;
    unsigned fragments;

    for (uint32_t i = 0; i < SCATTER_PAGES; i++) {
        ranges[i] = (struct ffa_mem_range){ MEM_DATA_IPA + 2ULL * i * FFA_MEM_PAGE_SIZE, 1 };
        mem_pattern(ranges[i].address, 1, (uint64_t)(i + 1) << 40, i + 1);
    }
    ranges[SCATTER_PAGES] = (struct ffa_mem_range){ CROSS_IPA, CROSS_PAGES };
    mem_pattern(CROSS_IPA, CROSS_PAGES, 0xC805500000000000ULL, 3);
    sum = ranges_checksum(ranges, SCATTER_PAGES + 1);
    tap_diag("scattered: %u constituents, %u pages, guest checksum 0x%llx", SCATTER_PAGES + 1,
             SCATTER_PAGES + CROSS_PAGES, (unsigned long long)sum);
    r = mem_show("MEM_SHARE of the scattered pages",
                 mem_send_ranges(FFA_FN64_MEM_SHARE, FFA_MEM_DATA_RW, ranges, SCATTER_PAGES + 1, 0, &fragments));
    tap_ok(ffa_ok(&r) && fragments == 1, "scattered MEM_SHARE in one fragment succeeds");
    handle = ffa_mem_handle(&r);
    r = mem_show("CHECKSUM of the scattered pages", ffa_service_mem(mem_self, SERVICE_CMD_MEM_CHECKSUM, handle, 0));
    expect_eq_u64(r.x[3], sum, "scattered: the SP's checksum equals the guest's");
    expect_eq_u64(r.x[4], SCATTER_PAGES + CROSS_PAGES, "scattered: the SP saw every page");
    r = mem_show("FILL of the scattered pages", ffa_service_mem(mem_self, SERVICE_CMD_MEM_FILL, handle, FILL_PATTERN));
    expect_eq_u64(r.x[3], SCATTER_PAGES + CROSS_PAGES, "scattered: FILL filled every page");
    tap_ok(ranges_check_fill(ranges, SCATTER_PAGES + 1, FILL_PATTERN),
           "scattered: the fill runs on in descriptor order, across the 2 MiB boundary too");
    tap_ok(mem_check_fill(CROSS_IPA, CROSS_PAGES, FILL_PATTERN + (uint64_t)SCATTER_PAGES * MEM_WORDS),
           "scattered: the pages either side of the 2 MiB boundary hold consecutive words");
    r = mem_show("RECLAIM of the scattered pages", ffa_mem_reclaim(handle, 0));
    tap_ok(ffa_ok(&r), "scattered: RECLAIM succeeds");
}

static void fragmented(void)
{
    struct smccc_regs r;
    uint64_t handle, sum;
    unsigned fragments;

    for (uint32_t i = 0; i < BIG_RANGES; i++) {
        ranges[i] = (struct ffa_mem_range){ BIG_IPA + 2ULL * i * FFA_MEM_PAGE_SIZE, 1 };
        mem_pattern(ranges[i].address, 1, 0xB16000000000ULL * (i + 1), 7 * i + 1);
    }
    sum = ranges_checksum(ranges, BIG_RANGES);
    tap_diag("fragmented: %u constituents, %u-byte descriptor, %u-byte fragments, guest checksum 0x%llx",
             BIG_RANGES, ffa_mem_desc_size(MEM_V12, 1, BIG_RANGES), BIG_FRAGMENT, (unsigned long long)sum);
    r = mem_show("MEM_SHARE of 300 pages in fragments",
                 mem_send_ranges(FFA_FN64_MEM_SHARE, FFA_MEM_DATA_RW, ranges, BIG_RANGES, BIG_FRAGMENT, &fragments));
    tap_diag("fragments sent: %u", fragments);
    tap_ok(ffa_ok(&r) || mem_is_error(&r, FFA_RET_NOT_SUPPORTED),
           "fragmented MEM_SHARE: SUCCESS, or NOT_SUPPORTED where the profile takes one fragment only");
    if (!ffa_ok(&r)) {
        tap_diag("fragmented MEM_SHARE refused: the profile's documented answer");
        tap_ok(fragments == 1, "refused at the first fragment");
        for (int i = 0; i < 4; i++)
            tap_ok(1, "fragmented share refused: nothing to check (%d)", i);
        return;
    }
    tap_ok(fragments == 5, "5 fragments of at most 1000 bytes");
    handle = ffa_mem_handle(&r);
    tap_ok(!(handle & FFA_MEM_HANDLE_HYPERVISOR), "the final handle is the SPMC's, not the provisional one");
    r = mem_show("CHECKSUM of 300 pages", ffa_service_mem(mem_self, SERVICE_CMD_MEM_CHECKSUM, handle, 0));
    expect_eq_u64(r.x[3], sum, "fragmented: the SP's checksum equals the guest's");
    expect_eq_u64(r.x[4], BIG_RANGES, "fragmented: the SP saw 300 pages");
    r = mem_show("RECLAIM of 300 pages", ffa_mem_reclaim(handle, 0));
    tap_ok(ffa_ok(&r), "fragmented: RECLAIM succeeds");
}

int main(void)
{
    tap_plan(PLAN);
    mem_setup();
    scattered();
    fragmented();
    return tap_done();
}
