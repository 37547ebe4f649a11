/*
 * ffa_mem_huge: memory sharing calls that claim far more than the guest has
 * or than a mediator buffers. Each must be refused (the error depends on the
 * profile: tests/test_hostile_sizes.py names them) at the cost of the bytes
 * sent, and nothing may be left shared or half-sent.
 *
 *  - 8192 constituents each naming the whole RAM (268M pages claimed), in
 *    one fragment when the mediator maps a 33-page TX buffer (spec), else
 *    in fragments;
 *  - 250 of them in one page;
 *  - one constituent of 0xffffffff pages (16 TiB) from the RAM's start;
 *  - the whole RAM, its own RX/TX buffers included;
 *  - a fragmented send announcing a total length of 4 GiB, then FRAG_TX
 *    with the provisional handle it would have had;
 *  - a 40-range descriptor in 16-byte fragments (spec: past Hafnium's 20);
 *  - afterwards a one-page share and its reclaim still work.
 */
#include "../ffa_mem_share/mem_guest.h"

#define RAM_BYTES (128ULL << 20) /* the default guest RAM */
#define RAM_PAGES ((uint32_t)(RAM_BYTES / FFA_MEM_PAGE_SIZE))
#define BIG_PAGES 33u            /* a TX buffer holding 8192 constituents */
#define CLAIMS 8192u
#define SMALL_FRAGMENTS 40u
#define PAGE_IPA (MEM_DATA_IPA + 0x400000ULL)
#define PLAN 16

static struct ffa_mem_range ranges[CLAIMS];
static uint8_t desc[CLAIMS * 16 + 256] __attribute__((aligned(16)));
static uint32_t tx_size;

static int refused(const struct smccc_regs *r)
{
    return mem_is_error(r, FFA_RET_NO_MEMORY) || mem_is_error(r, FFA_RET_DENIED) ||
           mem_is_error(r, FFA_RET_INVALID_PARAMETERS) || mem_is_error(r, FFA_RET_NOT_SUPPORTED);
}

static uint32_t build(uint32_t nranges)
{
    struct ffa_mem_receiver rx = { (uint16_t)SERVICE_SP_ID, FFA_MEM_DATA_RW, 0 };

    return ffa_mem_desc_build(desc, MEM_V12, mem_self, FFA_MEM_NORMAL_WB_INNER, 0, &rx, 1, ranges, nranges);
}

static struct smccc_regs send(uint32_t len, uint32_t frag)
{
    return ffa_mem_send(FFA_FN64_MEM_SHARE, MEM_TX, tx_size, desc, len, frag, 0);
}

static void claim_whole_ram(uint32_t count, const char *what)
{
    struct smccc_regs r;
    uint32_t len;

    for (uint32_t i = 0; i < count; i++)
        ranges[i] = (struct ffa_mem_range){ GUEST_RAM_IPA, RAM_PAGES };
    len = build(count);
    r = mem_show(what, send(len, 0));
    tap_ok(refused(&r), "%s (%u bytes): refused", what, len);
}

int main(void)
{
    struct smccc_regs r;
    uint32_t w0, len;
    uint64_t handle;

    tap_plan(PLAN);
    w0 = ffa_version(MEM_V12);
    tap_ok(!ffa_version_is_error(w0), "FFA_VERSION(1.2)");
    r = ffa_id_get();
    tap_ok(ffa_ok(&r), "FFA_ID_GET");
    mem_self = (uint16_t)ffa_w(&r, 2);
    r = mem_show("RXTX_MAP of 33 pages", ffa_rxtx_map(MEM_TX_IPA, MEM_TX_IPA + BIG_PAGES * FFA_MEM_PAGE_SIZE,
                                                      BIG_PAGES));
    tx_size = BIG_PAGES * FFA_MEM_PAGE_SIZE;
    if (!ffa_ok(&r)) {
        r = mem_show("RXTX_MAP of one page", ffa_rxtx_map(MEM_TX_IPA, MEM_RX_IPA, 1));
        tx_size = FFA_MEM_PAGE_SIZE;
    }
    tap_ok(ffa_ok(&r), "RXTX_MAP (%u pages)", tx_size / FFA_MEM_PAGE_SIZE);

    claim_whole_ram(CLAIMS, "8192 constituents, each the whole RAM");
    claim_whole_ram(250, "250 constituents in one page, each the whole RAM");
    claim_whole_ram(1, "the whole RAM, RX/TX buffers included");
    ranges[0] = (struct ffa_mem_range){ GUEST_RAM_IPA, 0xFFFFFFFFu };
    len = build(1);
    r = mem_show("0xffffffff pages from the RAM's start", send(len, 0));
    tap_ok(refused(&r), "one constituent of 16 TiB: refused");

    /* A total of 4 GiB announced: nothing may be buffered for it. */
    ranges[0] = (struct ffa_mem_range){ PAGE_IPA, 1 };
    len = build(1);
    for (uint32_t i = 0; i < len; i++)
        MEM_TX[i] = desc[i];
    r = mem_show("MEM_SHARE announcing 4 GiB", ffa_call(FFA_FN64_MEM_SHARE, 0xFFFFFFFFu, len, 0, 0, 0, 0, 0));
    tap_ok(mem_is_error(&r, FFA_RET_NO_MEMORY) || mem_is_error(&r, FFA_RET_NOT_SUPPORTED),
           "a 4 GiB descriptor: NO_MEMORY (NOT_SUPPORTED without fragments)");
    r = mem_show("FRAG_TX after it", ffa_call(FFA_MEM_FRAG_TX, 1, 0x80000000u, len, 0, 0, 0, 0));
    tap_ok(mem_is_error(&r, FFA_RET_INVALID_PARAMETERS) || mem_is_error(&r, FFA_RET_NOT_SUPPORTED),
           "no transaction is pending for it");

    /* Many tiny fragments. */
    for (uint32_t i = 0; i < SMALL_FRAGMENTS; i++)
        ranges[i] = (struct ffa_mem_range){ PAGE_IPA + 2 * i * FFA_MEM_PAGE_SIZE, 1 };
    len = build(SMALL_FRAGMENTS);
    r = mem_show("40 ranges in 16-byte fragments", send(len, 16));
    tap_ok(ffa_ok(&r) || refused(&r), "16-byte fragments: taken, or refused (a fragment bound)");
    if (ffa_ok(&r)) {
        r = mem_show("RECLAIM of it", ffa_mem_reclaim(ffa_mem_handle(&r), 0));
        tap_ok(ffa_ok(&r), "and reclaimed");
    } else {
        tap_ok(1, "nothing to reclaim");
    }

    /* Nothing leaked. */
    for (unsigned round = 0; round < 2; round++) {
        r = mem_show("MEM_SHARE of one page", mem_send_one(FFA_FN64_MEM_SHARE, PAGE_IPA, 1));
        tap_ok(ffa_ok(&r), "a one-page share works");
        handle = ffa_mem_handle(&r);
        r = mem_show("RECLAIM", ffa_mem_reclaim(handle, 0));
        tap_ok(ffa_ok(&r), "and its reclaim");
    }
    r = ffa_rxtx_unmap(0);
    tap_ok(ffa_ok(&r), "RXTX_UNMAP");
    return tap_done();
}
