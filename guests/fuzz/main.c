/*
 * fuzz: a hostile guest.  Issues `fuzz_calls` random SMCCC calls (FF-A,
 * SMCCC, PSCI, RMI/RSI, random IDs) through hvc/smc, with registers mixing
 * valid and invalid arguments, random memory descriptors in its TX buffer
 * and random RX/TX ownership sequences, then powers off.
 *
 * Randomness: xorshift64* seeded from `fuzz_seed`.  Both parameters are
 * ordinary initialised globals (in .data, named in the ELF symbol table), so
 * a campaign (python -m emu.fuzz) writes other values at their addresses
 * through stage 2 before the run starts: the image never changes.
 *
 * The guest only hands the mediator pages of its `arena` (or addresses that
 * are not its RAM at all), so sharing, lending or donating them never takes
 * away its own code, data or stack; it writes only its currently mapped TX
 * buffer, which the mediator never lets it lend.  Non-zero hvc/smc
 * immediates get an UNDEFINED injected, which the installed vectors skip.
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "ffa.h"
#include "smccc.h"

#define ARENA_PAGES 64
#define PAGE 4096u

volatile uint64_t fuzz_seed = 0x9E3779B97F4A7C15ULL;
volatile uint64_t fuzz_calls = 1000;

static uint8_t arena[ARENA_PAGES][PAGE] __attribute__((aligned(4096)));

static uint64_t rng_state;
static uint16_t my_id = 1;
static uint32_t my_version = FFA_MAKE_VERSION(1, 2);
static uint64_t tx_buf, rx_buf; /* IPAs of the mapped pair, 0 when none */
static uint32_t buf_pages;
static uint64_t handles[8];
static uint64_t calls_made;
static uint64_t pending_handle; /* a fragmented send the mediator is still collecting */

static uint64_t rnd(void)
{
    uint64_t x = rng_state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t below(uint32_t n)
{
    return (uint32_t)((rnd() >> 32) % n);
}

static uint64_t arena_ipa(uint32_t page)
{
    return (uint64_t)(uintptr_t)arena[page % ARENA_PAGES];
}

static const uint64_t ffa_ids[] = {
    FFA_ERROR, FFA_SUCCESS, FFA_FN64_SUCCESS, FFA_INTERRUPT, FFA_VERSION, FFA_FEATURES, FFA_RX_RELEASE,
    FFA_RXTX_MAP, FFA_FN64_RXTX_MAP, FFA_RXTX_UNMAP, FFA_PARTITION_INFO_GET, FFA_ID_GET, FFA_MSG_POLL,
    FFA_MSG_WAIT, FFA_YIELD, FFA_RUN, FFA_MSG_SEND, FFA_MSG_SEND_DIRECT_REQ, FFA_FN64_MSG_SEND_DIRECT_REQ,
    FFA_MSG_SEND_DIRECT_RESP, FFA_FN64_MSG_SEND_DIRECT_RESP, FFA_MEM_DONATE, FFA_FN64_MEM_DONATE,
    FFA_MEM_LEND, FFA_FN64_MEM_LEND, FFA_MEM_SHARE, FFA_FN64_MEM_SHARE, FFA_MEM_RETRIEVE_REQ,
    FFA_FN64_MEM_RETRIEVE_REQ, FFA_MEM_RETRIEVE_RESP, FFA_MEM_RELINQUISH, FFA_MEM_RECLAIM, FFA_MEM_FRAG_RX,
    FFA_MEM_FRAG_TX, FFA_NORMAL_WORLD_RESUME, FFA_NOTIFICATION_BITMAP_CREATE, FFA_NOTIFICATION_SET,
    FFA_NOTIFICATION_GET, FFA_NOTIFICATION_INFO_GET, FFA_FN64_NOTIFICATION_INFO_GET, FFA_RX_ACQUIRE,
    FFA_SPM_ID_GET, FFA_MSG_SEND2, FFA_FN64_SECONDARY_EP_REGISTER, FFA_MEM_PERM_GET, FFA_MEM_PERM_SET,
    FFA_CONSOLE_LOG, FFA_FN64_CONSOLE_LOG, FFA_FN64_PARTITION_INFO_GET_REGS, FFA_EL3_INTR_HANDLE,
    FFA_FN64_MSG_SEND_DIRECT_REQ2, FFA_FN64_MSG_SEND_DIRECT_RESP2,
};

static const uint64_t other_ids[] = {
    SMCCC_VERSION, SMCCC_ARCH_FEATURES, SMCCC_ARCH_SOC_ID, SMCCC_ARCH_WORKAROUND_1, SMCCC_ARCH_WORKAROUND_2,
    SMCCC_ARCH_WORKAROUND_3, 0x8400FF00, 0x8400FF01, 0x8400FF03, 0x8500FF00, 0x8500FF01, 0x8500FF03,
    PSCI_VERSION, PSCI_FEATURES, 0x84000005, 0xC4000003, 0xC4000004, 0x8400000C, RMI_VERSION, RSI_VERSION,
    0x84000150, 0x86000000, 0xC7000000, 0x0,
};

static uint64_t pick_fid(void)
{
    uint32_t c = below(100);
    uint64_t fid;

    if (c < 70)
        fid = ffa_ids[below(sizeof(ffa_ids) / sizeof(ffa_ids[0]))];
    else if (c < 88)
        fid = other_ids[below(sizeof(other_ids) / sizeof(other_ids[0]))];
    else if (c < 94)
        fid = 0x84000000u | (0x60 + below(0x30)) | (below(2) ? 0x40000000u : 0);  /* the FF-A range */
    else
        fid = (uint32_t)rnd();
    if (below(20) == 0)
        fid |= 1u << 16;                 /* SVE hint */
    if (below(20) == 0)
        fid |= rnd() << 32;              /* garbage above w0 */
    if (below(50) == 0)
        fid |= (uint64_t)below(0x7F) << 17;   /* reserved bits */
    return fid;
}

/* Calls that end the VM or stop the calling vCPU (CPU_OFF, and CPU_SUSPEND with nothing to wake it). */
static int powers_off(uint64_t fid)
{
    uint32_t w0 = (uint32_t)fid & ~(1u << 16);

    return w0 == (uint32_t)PSCI_SYSTEM_OFF || w0 == (uint32_t)PSCI_SYSTEM_RESET || w0 == 0x84000002u ||
           (w0 & ~0x40000000u) == 0x84000001u;
}

static uint64_t arg(void)
{
    switch (below(12)) {
    case 0:
        return 0;
    case 1:
        return rnd();
    case 2:
        return (uint32_t)rnd();
    case 3:
        return arena_ipa(below(ARENA_PAGES));
    case 4:
        return arena_ipa(below(ARENA_PAGES)) + below(PAGE);       /* unaligned */
    case 5: {
        static const uint64_t endpoints[] = { 0x8001, 0x8002, 0x8000, 0x8003, 0, 1, 2, 0x7fff, 0xffff };
        uint64_t ep = endpoints[below(sizeof(endpoints) / sizeof(endpoints[0]))];
        return below(2) ? ((uint64_t)my_id << 16 | ep) : ep;
    }
    case 6: {
        static const uint64_t versions[] = { 0x10000, 0x10001, 0x10002, 0x10003, 0x20000, 0x80010002, 0xffffffff };
        return versions[below(sizeof(versions) / sizeof(versions[0]))];
    }
    case 7:
        return below(70);
    case 8:
        return tx_buf ? tx_buf : arena_ipa(0);
    case 9:
        return handles[below(8)];
    case 10:
        return ffa_ids[below(sizeof(ffa_ids) / sizeof(ffa_ids[0]))];
    default:
        return 0x48000000ULL + (uint64_t)below(1024) * PAGE;          /* past the end of RAM */
    }
}

/* A memory transaction descriptor in the TX buffer, mostly valid, sometimes bent. */
static uint32_t write_descriptor(void)
{
    uint8_t *tx = (uint8_t *)(uintptr_t)tx_buf;
    uint32_t version = below(3) ? my_version : FFA_MAKE_VERSION(1, below(3));
    struct ffa_mem_receiver receivers[3];
    struct ffa_mem_range ranges[4];
    uint32_t nrecv = 1 + (below(4) == 0), nranges = 1 + below(3);
    static const uint16_t sps[] = { 0x8001, 0x8002 };

    for (uint32_t i = 0; i < nrecv; i++) {
        receivers[i].id = below(10) ? sps[(i + below(2)) % 2] : (uint16_t)rnd();
        receivers[i].perms = below(8) ? (uint8_t)(1 + below(2)) : (uint8_t)below(16);
        receivers[i].flags = 0;
    }
    for (uint32_t i = 0; i < nranges; i++) {
        uint32_t page = below(ARENA_PAGES - 4);
        ranges[i].address = below(12) ? arena_ipa(page) : arena_ipa(page) + below(2) * 8 + (below(2) ? 0 : rnd() << 40);
        ranges[i].pages = below(12) ? 1 + below(3) : (uint32_t)rnd();
    }
    uint32_t len = ffa_mem_desc_build(tx, version, below(12) ? my_id : (uint16_t)rnd(),
                                      below(6) ? FFA_MEM_NORMAL_WB_INNER : (uint16_t)below(256), 0,
                                      receivers, nrecv, ranges, nranges);
    /* Corrupt the header and the receivers only: a flipped byte in a range could turn it into one of this
     * guest's own pages outside the arena (its stack), and lending those stops the guest, as it should. */
    uint32_t before_ranges = len - nranges * 16;
    for (uint32_t flips = below(4) == 0 ? 1 + below(3) : 0; flips; flips--)
        tx[below(before_ranges)] = (uint8_t)rnd();
    return len;
}

static void issue(struct smccc_regs *r)
{
    switch (below(200)) {
    case 0:
        SMCCC_CALL_ASM_("hvc #1", r);
        break;
    case 1:
        SMCCC_CALL_ASM_("smc #0xffff", r);
        break;
    default:
        if (below(2))
            smccc_hvc(r);
        else
            smccc_smc(r);
    }
    calls_made++;
}

static void note_result(uint64_t fid, const struct smccc_regs *in, const struct smccc_regs *out)
{
    uint32_t w0 = (uint32_t)fid & ~(1u << 16);
    uint32_t r0 = (uint32_t)out->x[0];

    if (fid >> 32 && (w0 & 0x40000000u) == 0)
        w0 = (uint32_t)fid;  /* the upper half is not part of the ID */
    if (w0 == (uint32_t)FFA_VERSION && !(r0 >> 31))
        my_version = (uint32_t)in->x[1] < r0 ? (uint32_t)in->x[1] : r0;
    if (w0 == (uint32_t)FFA_ID_GET && r0 == (uint32_t)FFA_SUCCESS)
        my_id = (uint16_t)out->x[2];
    if ((w0 == (uint32_t)FFA_RXTX_MAP || w0 == (uint32_t)FFA_FN64_RXTX_MAP) && r0 == (uint32_t)FFA_SUCCESS) {
        tx_buf = w0 == (uint32_t)FFA_RXTX_MAP ? (uint32_t)in->x[1] : in->x[1];
        rx_buf = w0 == (uint32_t)FFA_RXTX_MAP ? (uint32_t)in->x[2] : in->x[2];
        buf_pages = (uint32_t)in->x[3] & 0x3f;
    }
    if (w0 == (uint32_t)FFA_RXTX_UNMAP && r0 == (uint32_t)FFA_SUCCESS)
        tx_buf = rx_buf = 0;
    if (r0 == (uint32_t)FFA_SUCCESS && (((w0 & 0xbfffffffu) >= (uint32_t)FFA_MEM_DONATE &&
        (w0 & 0xbfffffffu) <= (uint32_t)FFA_MEM_SHARE) || w0 == (uint32_t)FFA_MEM_FRAG_TX))
        handles[below(8)] = (uint32_t)out->x[2] | out->x[3] << 32;
    if (r0 == (uint32_t)FFA_MEM_FRAG_RX)
        pending_handle = (uint32_t)out->x[1] | out->x[2] << 32;
    else if (w0 == (uint32_t)FFA_MEM_FRAG_TX || r0 == (uint32_t)FFA_SUCCESS)
        pending_handle = 0;
}

/* Map a fresh RX/TX pair inside the arena (or try to, with bad arguments now and then). */
static void map_buffers(void)
{
    uint32_t pages = below(4) ? 1 : 1 + below(4);
    uint32_t page = below(ARENA_PAGES - 2 * pages);
    uint64_t fid = below(3) ? FFA_FN64_RXTX_MAP : FFA_RXTX_MAP;
    struct smccc_regs r = ffa_frame(fid, arena_ipa(page), arena_ipa(page + pages), pages, 0, 0, 0, 0);
    struct smccc_regs in = r;

    issue(&r);
    note_result(fid, &in, &r);
}

static void send_memory(void)
{
    static const uint64_t sends[] = { FFA_MEM_SHARE, FFA_FN64_MEM_SHARE, FFA_MEM_LEND, FFA_FN64_MEM_LEND,
                                      FFA_MEM_DONATE, FFA_FN64_MEM_DONATE };
    uint64_t fid = sends[below(below(4) ? 4 : 6)];
    uint32_t len = write_descriptor();
    uint32_t frag = below(5) ? len : 1 + below(len);
    struct smccc_regs r = ffa_frame(fid, len, frag, below(20) ? 0 : arg(), below(20) ? 0 : arg(), 0, 0, 0);
    struct smccc_regs in = r;

    issue(&r);
    note_result(fid, &in, &r);
    while ((uint32_t)r.x[0] == (uint32_t)FFA_MEM_FRAG_RX && below(8)) {
        /* The rest, in one fragment: the bytes past what was received, moved to the TX start. */
        uint8_t *tx = (uint8_t *)(uintptr_t)tx_buf;
        uint32_t got = (uint32_t)r.x[3];
        uint32_t rest = got < len ? len - got : 1 + below(64);
        for (uint32_t i = 0; i < rest && got + i < len; i++)
            tx[i] = tx[got + i];
        struct smccc_regs f = ffa_frame(FFA_MEM_FRAG_TX, r.x[1], r.x[2], below(8) ? rest : arg(), 0, 0, 0, 0);
        in = f;
        issue(&f);
        note_result(FFA_MEM_FRAG_TX, &in, &f);
        r = f;
        len = got + rest;
    }
}

static void random_call(void)
{
    uint64_t fid = pick_fid();
    struct smccc_regs r;

    if (powers_off(fid))
        fid = FFA_VERSION;
    r.x[0] = fid;
    for (int i = 1; i < SMCCC_NUM_REGS; i++)
        r.x[i] = below(3) ? arg() : 0;
    struct smccc_regs in = r;
    issue(&r);
    note_result(fid, &in, &r);
}

int main(void)
{
    install_vectors();
    rng_state = fuzz_seed ? fuzz_seed : 1;
    if (below(10)) {
        static const uint32_t versions[] = { 0x10000, 0x10001, 0x10002, 0x10002 };
        struct smccc_regs r = ffa_frame(FFA_VERSION, versions[below(4)], 0, 0, 0, 0, 0, 0);
        struct smccc_regs in = r;
        issue(&r);
        note_result(FFA_VERSION, &in, &r);
        r = ffa_frame(FFA_ID_GET, 0, 0, 0, 0, 0, 0, 0);
        in = r;
        issue(&r);
        note_result(FFA_ID_GET, &in, &r);
    }
    while (calls_made < fuzz_calls) {
        uint32_t c = below(100);

        if (pending_handle && c < 50) {
            /* Give up on a half-sent descriptor: a bad fragment aborts it. */
            struct smccc_regs r = ffa_frame(FFA_MEM_FRAG_TX, (uint32_t)pending_handle, pending_handle >> 32,
                                            below(2) ? 0 : 0x100000, 0, 0, 0, 0);
            struct smccc_regs in = r;
            issue(&r);
            note_result(FFA_MEM_FRAG_TX, &in, &r);
        } else if (c < 3 || (!tx_buf && c < 20))
            map_buffers();
        else if (c < 30 && tx_buf)
            send_memory();
        else if (c < 36) {
            uint64_t h = handles[below(8)];
            struct smccc_regs r = ffa_frame(FFA_MEM_RECLAIM, (uint32_t)h, h >> 32, below(4) ? 0 : arg(), 0, 0, 0, 0);
            struct smccc_regs in = r;
            issue(&r);
            note_result(FFA_MEM_RECLAIM, &in, &r);
        } else
            random_call();
    }
    printf("fuzz: seed 0x%llx, %llu calls, %llu exceptions\n", (unsigned long long)fuzz_seed,
           (unsigned long long)calls_made, (unsigned long long)last_exception.count);
    return 0;
}
