/*
 * bench_mem_share: N MEM_SHARE + MEM_RECLAIM pairs of a 64-page scattered
 * region (every other page: 64 constituents, a 1104-byte descriptor) with
 * the service SP; measures the mediator's descriptor path (copy, parse,
 * validate, translate page by page, ownership ledger, forward, SPMC
 * validation and store) and the reclaim path. Prints
 * `bench_mem_share transactions=N errors=E`.
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"

#define TRANSACTIONS 200u
#define PAGES 64u
#define TX_IPA (GUEST_RAM_IPA + 0x400000ULL)
#define RX_IPA (TX_IPA + FFA_MEM_PAGE_SIZE)
#define DATA_IPA (GUEST_RAM_IPA + 0x1000000ULL)

static uint8_t desc[4096] __attribute__((aligned(16)));
static struct ffa_mem_range ranges[PAGES];

int main(void)
{
    struct ffa_mem_receiver rx = { (uint16_t)SERVICE_SP_ID, FFA_MEM_DATA_RW, 0 };
    struct smccc_regs r;
    unsigned errors = 0;
    uint16_t self;
    uint32_t len;

    if (ffa_version(FFA_MAKE_VERSION(1, 2)) != FFA_MAKE_VERSION(1, 2))
        errors++;
    r = ffa_id_get();
    self = ffa_ok(&r) && ffa_w(&r, 2) != 0 ? (uint16_t)ffa_w(&r, 2) : 1; /* pKVM forwards ID_GET: 0 */
    r = ffa_rxtx_map(TX_IPA, RX_IPA, 1);
    if (!ffa_ok(&r))
        errors++;
    for (uint32_t i = 0; i < PAGES; i++)
        ranges[i] = (struct ffa_mem_range){ DATA_IPA + 2ULL * i * FFA_MEM_PAGE_SIZE, 1 };
    len = ffa_mem_desc_build(desc, FFA_MAKE_VERSION(1, 2), self, FFA_MEM_NORMAL_WB_INNER, 0, &rx, 1, ranges, PAGES);
    for (unsigned i = 0; i < TRANSACTIONS; i++) {
        r = ffa_mem_send(FFA_FN64_MEM_SHARE, (volatile uint8_t *)(uintptr_t)TX_IPA, FFA_MEM_PAGE_SIZE, desc, len,
                         0, 0);
        if (!ffa_ok(&r)) {
            errors++;
            continue;
        }
        r = ffa_mem_reclaim(ffa_mem_handle(&r), 0);
        if (!ffa_ok(&r))
            errors++;
    }
    printf("bench_mem_share transactions=%u errors=%u\n", TRANSACTIONS, errors);
    return 0;
}
