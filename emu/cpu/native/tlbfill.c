/*
 * The SPMC's stores seen through Unicorn's TLB instead of write hooks.
 *
 * With a UC_HOOK_MEM_WRITE installed Unicorn sends every load and store of
 * the engine down its slow path, and a store the hook sees costs some 1,000
 * host instructions.  The SPMC runs with its MMU off, so its translation is
 * one to one: in Unicorn's virtual TLB mode this fill hook gives it, without
 * write on the pages a journal or the tracker has not seen written in this
 * call.  The first store to such a page fills again as a store: the hook
 * journals and records the page, then grants write, and later accesses to the
 * page run at full speed.  When the journals forget their pages, the caller
 * flushes the TLB (tlbfill.py) to withhold write again.
 *
 * Execute is granted only on the pages the PE has fetched from: Unicorn keeps
 * every store to a page whose TLB entry allows fetches on its slow path
 * (notdirty_write in its cputlb.c never lets such an entry go dirty), so a
 * stack or a buffer filled with execute costs some 500 host instructions a
 * store.  A page's first fetch fills again as a fetch, and the page keeps
 * execute from then on.
 *
 * What only the CPU's own translation answers (its MMU on, or an address at
 * or above PAMax, which faults with the MMU off) is refused: the engine stops
 * before the access, and tlbfill.py moves it back to the CPU's translation
 * and the write hooks for good.
 */
#include "tlbfill.h"

#define TF_PROT_ALL 7      /* UC_PROT_ALL */
#define TF_PROT_WRITE 2    /* UC_PROT_WRITE */
#define TF_PROT_EXEC 4     /* UC_PROT_EXEC */
#define TF_MEM_WRITE 17    /* UC_MEM_WRITE */
#define TF_MEM_FETCH 18    /* UC_MEM_FETCH */
#define TF_SCTLR_M 1u
#define TF_ERR_EXCEPTION 21 /* UC_ERR_EXCEPTION */

struct tf_entry {          /* uc_tlb_entry */
    uint64_t paddr;
    int perms;
};

struct tf_cp_reg {         /* uc_arm64_cp_reg */
    uint32_t crn, crm, op0, op1, op2;
    uint64_t val;
};

/* The permissions of the page at pa if it is j's (else -1): execute once fetched from (``fetched``, a byte per
 * page of j), write once journalled (now, on its first store, or before, or eager). */
static int tf_perms(struct tf_state *s, struct pj_state *j, uint8_t *fetched, uint64_t pa, int type)
{
    if (pa < j->lo || (pa - j->lo) / PJ_PAGE >= j->pages)
        return -1;
    uint64_t page = (pa - j->lo) / PJ_PAGE;
    if (type == TF_MEM_FETCH)
        fetched[page] = 1;
    int perms = fetched[page] ? TF_PROT_ALL : TF_PROT_ALL & ~TF_PROT_EXEC;
    if (j->dirty[page] != PJ_CLEAN)
        return perms;
    if (type != TF_MEM_WRITE)
        return perms & ~TF_PROT_WRITE;
    pj_touch(j, page);
    s->granted = 1;
    if (j == s->vm)
        wt_record(s->tracker, pa >> WT_PAGE_SHIFT);
    return perms;
}

static bool tf_mmu_on(void *uc, struct tf_state *s)
{
    struct tf_cp_reg sctlr = {.crn = 1, .crm = 0, .op0 = 3, .op1 = 0, .op2 = 0, .val = 0}; /* SCTLR_EL1 */
    return s->reg_read(uc, s->cp_reg_id, &sctlr) != 0 || (sctlr.val & TF_SCTLR_M);
}

/*
 * Whether a fetch fill comes from Unicorn itself, after the run: emu_start ends by invalidating the code at
 * its "until" address less one, which looks that page up (the CPU's translation faults there, and Unicorn
 * ignores the fault).  A fetch the PE makes has its PC in the page.
 */
static bool tf_exit_fill(void *uc, uint64_t vaddr, int type, struct tf_state *s)
{
    uint64_t pc;
    return type == TF_MEM_FETCH && vaddr == s->exit_page && s->reg_read(uc, s->pc_id, &pc) == 0 &&
           (pc < vaddr || pc - vaddr >= s->page_size);
}

int tf_status(struct tf_state *s, int status)
{
    if (!s->exit_fill || s->refused)
        return status;
    s->exit_fill = 0;
    return status == TF_ERR_EXCEPTION ? 0 : status;
}

bool tf_fill(void *uc, uint64_t vaddr, int type, struct tf_entry *e, struct tf_state *s)
{
    if (vaddr >= s->limit && tf_exit_fill(uc, vaddr, type, s)) {
        s->exit_fill = 1; /* refused as the CPU's translation does, not cached, and not the PE's */
        return false;
    }
    if (vaddr >= s->limit || tf_mmu_on(uc, s)) {
        s->refused = 1;
        return false;
    }
    int perms = tf_perms(s, s->secure, s->secure_fetched, vaddr, type);
    if (perms < 0)
        perms = tf_perms(s, s->vm, s->vm_fetched, vaddr, type);
    e->paddr = vaddr;
    e->perms = perms < 0 ? TF_PROT_ALL : perms;
    return true;
}
