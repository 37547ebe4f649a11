/*
 * pkvm_host_pages: the pKVM host's page ownership, as its KVM hypercalls
 * (HVC, x0 = 0xC6000000 | n) and FF-A memory sharing see it.  One
 * "pages: key=value" line per step; a hypercall prints x1, its result (0 or
 * -errno), or "unknown" when x0 came back -1:
 *
 *   share_hyp        __pkvm_host_share_hyp(page A)
 *   share_hyp_again  the same again
 *   ffa_share_hyp    FFA_MEM_SHARE of page A to the service SP
 *   unshare_hyp      __pkvm_host_unshare_hyp(page A)
 *   ffa_share        FFA_MEM_SHARE of page A again
 *   share_hyp_ffa    __pkvm_host_share_hyp(page A), shared through FF-A
 *   unshare_hyp_ffa  __pkvm_host_unshare_hyp(page A)
 *   share_guest      __pkvm_host_share_guest(page A, gfn 0x100, 1 page, RW)
 *   reclaim          FFA_MEM_RECLAIM of that share
 *   share_hyp_back   __pkvm_host_share_hyp(page A) once reclaimed
 *   lend             FFA_MEM_LEND of page B, then __pkvm_host_share_hyp(B)
 *   share_hyp_tx     __pkvm_host_share_hyp(TX buffer page)
 *   unshare_hyp_tx   __pkvm_host_unshare_hyp(TX buffer page)
 *   rxtx_map_shared  RXTX_UNMAP, then RXTX_MAP with page A (shared with the
 *                    hypervisor) as the TX buffer
 *   share_hyp_mmio   __pkvm_host_share_hyp(the UART's page: not memory)
 *   prot_finalize    __pkvm_prot_finalize
 *   init             __pkvm_init (a set-up call)
 *   past_table       0xC6000023 (past the last hypercall)
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"

#define HCALL(n) (0xC6000000ull | (n))
#define PROT_FINALIZE 7u
#define SHARE_HYP 8u
#define UNSHARE_HYP 9u
#define SHARE_GUEST 10u
#define KVM_PGTABLE_PROT_RW 0x6u /* KVM_PGTABLE_PROT_W | KVM_PGTABLE_PROT_R */
#define UART_PFN (0x09000000u >> 12)

static uint8_t tx_buf[4096] __attribute__((aligned(4096)));
static uint8_t rx_buf[4096] __attribute__((aligned(4096)));
static uint8_t page_a[4096] __attribute__((aligned(4096)));
static uint8_t page_b[4096] __attribute__((aligned(4096)));
static uint8_t desc[256];
static uint16_t self;

static uint64_t pfn(const void *page)
{
    return (uint64_t)(uintptr_t)page >> 12;
}

static void hcall(const char *key, uint32_t number, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
    struct smccc_regs r = ffa_frame(HCALL(number), a1, a2, a3, a4, 0, 0, 0);

    smccc_hvc(&r);
    if (r.x[0] != 0)
        printf("pages: %s=unknown\n", key);
    else
        printf("pages: %s=%lld\n", key, (long long)r.x[1]);
}

static struct smccc_regs mem_send(uint64_t fid, const void *page)
{
    struct ffa_mem_receiver receiver = { SERVICE_SP_ID, FFA_MEM_DATA_RW, 0 };
    struct ffa_mem_range range = { (uint64_t)(uintptr_t)page, 1 };
    uint32_t len = ffa_mem_desc_build(desc, FFA_MAKE_VERSION(1, 2), self, FFA_MEM_NORMAL_WB_INNER, 0, &receiver,
                                      1, &range, 1);

    return ffa_mem_send(fid, tx_buf, sizeof(tx_buf), desc, len, 0, 0);
}

static void report(const char *key, const struct smccc_regs *r)
{
    ffa_print_step("pages", key, r);
}

int main(void)
{
    struct smccc_regs r;
    uint64_t handle = 0;

    ffa_version(FFA_MAKE_VERSION(1, 2));
    r = ffa_id_get();
    self = (uint16_t)ffa_w(&r, 2);
    r = ffa_rxtx_map((uint64_t)(uintptr_t)tx_buf, (uint64_t)(uintptr_t)rx_buf, 1);
    report("rxtx_map", &r);

    hcall("share_hyp", SHARE_HYP, pfn(page_a), 1, 0, 0);
    hcall("share_hyp_again", SHARE_HYP, pfn(page_a), 1, 0, 0);
    r = mem_send(FFA_FN64_MEM_SHARE, page_a);
    report("ffa_share_hyp", &r);
    hcall("unshare_hyp", UNSHARE_HYP, pfn(page_a), 1, 0, 0);
    r = mem_send(FFA_FN64_MEM_SHARE, page_a);
    if (ffa_ok(&r))
        handle = ffa_mem_handle(&r);
    report("ffa_share", &r);
    hcall("share_hyp_ffa", SHARE_HYP, pfn(page_a), 1, 0, 0);
    hcall("unshare_hyp_ffa", UNSHARE_HYP, pfn(page_a), 1, 0, 0);
    hcall("share_guest", SHARE_GUEST, pfn(page_a), 0x100, 1, KVM_PGTABLE_PROT_RW);
    r = ffa_mem_reclaim(handle, 0);
    report("reclaim", &r);
    hcall("share_hyp_back", SHARE_HYP, pfn(page_a), 1, 0, 0);

    r = mem_send(FFA_FN64_MEM_LEND, page_b);
    report("lend", &r);
    hcall("share_hyp_lent", SHARE_HYP, pfn(page_b), 1, 0, 0);

    hcall("share_hyp_tx", SHARE_HYP, pfn(tx_buf), 1, 0, 0);
    hcall("unshare_hyp_tx", UNSHARE_HYP, pfn(tx_buf), 1, 0, 0);
    r = ffa_rxtx_unmap(self);
    report("rxtx_unmap", &r);
    r = ffa_rxtx_map((uint64_t)(uintptr_t)page_a, (uint64_t)(uintptr_t)rx_buf, 1);
    report("rxtx_map_shared", &r);

    hcall("share_hyp_mmio", SHARE_HYP, UART_PFN, 1, 0, 0);
    hcall("prot_finalize", PROT_FINALIZE, 0, 0, 0, 0);
    hcall("init", 1, 0, 0, 0, 0);
    hcall("past_table", 0x23, 0, 0, 0, 0);
    return 0;
}
