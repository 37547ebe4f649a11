/*
 * What the ffa_mem_* guests share (included by each guest's main.c; the
 * other folders include it as "../ffa_mem_share/mem_guest.h"): the RX/TX
 * pair and the memory they share live at fixed IPAs well clear of the image
 * (which, with its stack, ends below GUEST_RAM_IPA + 1 MiB), so traces and
 * tests can name them.
 */
#ifndef MEM_GUEST_H
#define MEM_GUEST_H

#include <stdint.h>

#include "console.h"
#include "ffa.h"
#include "tap.h"

#define MEM_TX_IPA (GUEST_RAM_IPA + 0x400000ULL)
#define MEM_RX_IPA (MEM_TX_IPA + FFA_MEM_PAGE_SIZE)
#define MEM_TX ((volatile uint8_t *)(uintptr_t)MEM_TX_IPA)
#define MEM_DATA_IPA (GUEST_RAM_IPA + 0x1000000ULL) /* first page the guests share */
#define MEM_PAGE(ipa) ((volatile uint64_t *)(uintptr_t)(ipa))
#define MEM_WORDS (FFA_MEM_PAGE_SIZE / 8)
#define MEM_V12 FFA_MAKE_VERSION(1, 2)

static uint8_t mem_desc[16384] __attribute__((aligned(16), unused));
/* The endpoint ID the guest names as sender (descriptors and direct requests). */
static uint16_t mem_self __attribute__((unused));

static inline struct smccc_regs mem_show(const char *what, struct smccc_regs r)
{
    char text[96];

    if (ffa_is_direct_resp(&r))
        tap_diag("%s -> DIRECT_RESP x3=0x%llx x4=0x%llx", what, (unsigned long long)r.x[3],
                 (unsigned long long)r.x[4]);
    else if (ffa_ok(&r) && ffa_mem_handle(&r) != 0)
        tap_diag("%s -> SUCCESS handle=0x%llx", what, (unsigned long long)ffa_mem_handle(&r));
    else
        tap_diag("%s -> %s", what, ffa_describe(&r, text, sizeof(text)));
    return r;
}

/*
 * FFA_VERSION(1.2), FFA_ID_GET, RXTX_MAP of one page each: three TAP results.
 * The ID FFA_ID_GET answers is the sender of every descriptor (under pKVM it
 * is the host's, 0, for every VM).
 */
static inline void mem_setup(void)
{
    struct smccc_regs r;
    uint32_t w0 = ffa_version(MEM_V12);

    tap_ok(!ffa_version_is_error(w0) && FFA_VERSION_MAJOR_OF(w0) == 1, "FFA_VERSION(1.2) answers a 1.x version");
    r = ffa_id_get();
    tap_ok(ffa_ok(&r), "FFA_ID_GET succeeds");
    mem_self = (uint16_t)ffa_w(&r, 2);
    tap_diag("own endpoint ID 0x%04x", mem_self);
    r = mem_show("RXTX_MAP", ffa_rxtx_map(MEM_TX_IPA, MEM_RX_IPA, 1));
    tap_ok(ffa_ok(&r), "RXTX_MAP of one page each");
}

/* Send a descriptor of `nranges` ranges to the service SP with `perms`, in fragments of `frag` bytes. */
static inline struct smccc_regs mem_send_ranges(uint64_t fid, uint8_t perms, const struct ffa_mem_range *ranges,
                                         uint32_t nranges, uint32_t frag, unsigned *fragments)
{
    struct ffa_mem_receiver rx = { (uint16_t)SERVICE_SP_ID, perms, 0 };
    uint32_t len = ffa_mem_desc_build(mem_desc, MEM_V12, mem_self, FFA_MEM_NORMAL_WB_INNER, 0, &rx, 1, ranges,
                                      nranges);

    return ffa_mem_send(fid, MEM_TX, FFA_MEM_PAGE_SIZE, mem_desc, len, frag, fragments);
}

/* One RW page (or `pages` contiguous ones) to the service SP in one fragment. */
static inline struct smccc_regs mem_send_one(uint64_t fid, uint64_t ipa, uint32_t pages)
{
    struct ffa_mem_range range = { ipa, pages };

    return mem_send_ranges(fid, FFA_MEM_DATA_RW, &range, 1, 0, 0);
}

/* Word i of the pages = base + i * step. */
static inline void mem_pattern(uint64_t ipa, uint32_t pages, uint64_t base, uint64_t step)
{
    volatile uint64_t *p = MEM_PAGE(ipa);

    for (uint64_t i = 0; i < (uint64_t)pages * MEM_WORDS; i++)
        p[i] = base + i * step;
}

/* Whether word i of the pages = base + i (counting from `first`). */
static inline int mem_check_fill(uint64_t ipa, uint32_t pages, uint64_t base)
{
    volatile uint64_t *p = MEM_PAGE(ipa);

    for (uint64_t i = 0; i < (uint64_t)pages * MEM_WORDS; i++) {
        if (p[i] != base + i) {
            tap_diag("word %llu at 0x%llx is 0x%llx, expected 0x%llx", (unsigned long long)i,
                     (unsigned long long)(ipa + 8 * i), (unsigned long long)p[i], (unsigned long long)(base + i));
            return 0;
        }
    }
    return 1;
}

static inline int mem_is_error(const struct smccc_regs *r, int32_t code)
{
    return ffa_is_error(r) && ffa_error_code(r) == code;
}

#endif /* MEM_GUEST_H */
