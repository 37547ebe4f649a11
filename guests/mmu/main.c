/*
 * mmu: stage-1 translation at EL1 with tables the guest builds itself, and
 * the faults it gives.  4K granule, 48-bit VAs (T0SZ = T1SZ = 16).
 *
 * The variants #include this file after defining MMU_GRANULE_SHIFT,
 * MMU_VA_BITS, MMU_GUEST_NAME and the expected fault levels (LEVEL_*): the
 * table builder and the tests are granule-generic, only the levels at which
 * walks stop differ.
 *
 * Layout (the same VAs for every granule):
 *   TTBR0  0x4000_0000 +128 MiB  RAM identity map, Normal WB, EL1 RW (EL1
 *                                code runs here, so not PXN; UXN)
 *          0x0900_0000 +2 MiB    UART and friends, Device-nGnRnE, XN
 *          0xC000_0000 pages:    +0 EL0 code (RO at EL0/EL1, PXN)
 *                                +1 EL0 stack (RW at EL0/EL1, XN)
 *                                +2 read-only view of ro_page (EL1 RO)
 *                                +3 ro_page again, Access Flag clear
 *                                +4 nothing: a hole inside a level-3 table
 *   TTBR1  ALIAS_OFFSET + the RAM identity map: a high-half alias of RAM
 *          (0xFFFF_0000_4000_0000 with 48-bit VAs)
 * The builder uses the largest block the granule allows: 4K maps RAM with
 * 2 MiB level-2 blocks, 16K with 32 MiB level-2 blocks, 64K (512 MiB blocks
 * do not fit 128 MiB) with 64K level-3 pages.
 *
 * Tests: the alias (execute through it, read and write through it), data
 * aborts for holes at each level of the walk, a permission fault (write to
 * a read-only page), an access flag fault, instruction aborts (branch to a
 * hole, branch to a PXN page), and a trip to EL0: an svc #7 that comes back
 * through the lower-EL vector, and an EL0 load from EL1-only memory.
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "smccc.h"
#include "tap.h"

#ifndef MMU_GRANULE_SHIFT
#define MMU_GRANULE_SHIFT 12
#define MMU_VA_BITS 48
#define MMU_GUEST_NAME "mmu"
/* 4K granule, 48 bits: a four-level walk, level 0 (bits 47:39) to 3. */
#define LEVEL_TOP_HOLE 0    /* 0x0000_8000_0000_0000: L0[256] is empty */
#define LEVEL_GAP_HOLE 1    /* 0x8000_0000: L1[2] is empty (L1[1] = RAM, L1[3] = pages) */
#define LEVEL_AFTER_RAM 2   /* 0x4800_0000: L2[64] of RAM's level-2 table is empty */
#define LEVEL_RAM_LEAF 2    /* RAM is mapped by 2 MiB level-2 blocks */
#endif

/* ---- translation regime parameters ------------------------------------- */

#define GRANULE (1ULL << MMU_GRANULE_SHIFT)
#define BITS_PER_LEVEL (MMU_GRANULE_SHIFT - 3)      /* 8-byte descriptors */
#define ENTRIES (1u << BITS_PER_LEVEL)
#define LEVELS ((MMU_VA_BITS - MMU_GRANULE_SHIFT + BITS_PER_LEVEL - 1) / BITS_PER_LEVEL)
#define START_LEVEL (4 - LEVELS)
#define LEVEL_SHIFT(level) (MMU_GRANULE_SHIFT + (3 - (level)) * BITS_PER_LEVEL)
#define VA_MASK ((1ULL << MMU_VA_BITS) - 1)
#define TXSZ (64 - MMU_VA_BITS)
/* TTBR1 translates VAs whose top 64 - VA_BITS bits are all ones. */
#define ALIAS_OFFSET (~0ULL << MMU_VA_BITS)

#if MMU_GRANULE_SHIFT == 12
#define TG0 0u
#define TG1 2u
#define GRANULE_NAME "4K"
#elif MMU_GRANULE_SHIFT == 14
#define TG0 2u
#define TG1 1u
#define GRANULE_NAME "16K"
#elif MMU_GRANULE_SHIFT == 16
#define TG0 1u
#define TG1 3u
#define GRANULE_NAME "64K"
#else
#error "MMU_GRANULE_SHIFT must be 12, 14 or 16"
#endif

/* Without FEAT_LPA2, blocks exist at level 2 for every granule and at
 * level 1 only for 4K. */
#define BLOCK_ALLOWED(level) ((level) == 2 || ((level) == 1 && MMU_GRANULE_SHIFT == 12))

#define RAM_BASE 0x40000000ULL
#define RAM_SIZE (128ULL << 20)
#define DEVICE_BASE 0x09000000ULL
#define DEVICE_SIZE (2ULL << 20)
#define PAGES_VA 0xC0000000ULL
#define PAGE_VA(n) (PAGES_VA + (n) * GRANULE)

/* Unmapped VAs for the aborts (see LEVEL_* for where each walk stops). */
#define VA_TOP_HOLE 0x0000800000000000ULL
#define VA_GAP_HOLE 0x80000000ULL
#define VA_AFTER_RAM (RAM_BASE + RAM_SIZE)

/* ---- descriptors -------------------------------------------------------- */

#define DESC_VALID 1ULL
#define DESC_TABLE 3ULL                 /* levels 0-2: next-level table */
#define DESC_BLOCK 1ULL                 /* levels 1-2 */
#define DESC_PAGE 3ULL                  /* level 3 */
#define DESC_ADDR_MASK (((1ULL << 48) - 1) & ~(GRANULE - 1))

#define PTE_ATTRINDX(i) ((uint64_t)(i) << 2)
#define PTE_AP_EL1_RW (0ULL << 6)
#define PTE_AP_ALL_RW (1ULL << 6)
#define PTE_AP_EL1_RO (2ULL << 6)
#define PTE_AP_ALL_RO (3ULL << 6)
#define PTE_SH_INNER (3ULL << 8)
#define PTE_AF (1ULL << 10)
#define PTE_PXN (1ULL << 53)
#define PTE_UXN (1ULL << 54)

/* MAIR_EL1: attribute 0 Device-nGnRnE, attribute 1 Normal WB RW-allocate. */
#define ATTR_DEVICE 0
#define ATTR_NORMAL 1
#define MAIR_VALUE ((0x00ULL << (8 * ATTR_DEVICE)) | (0xffULL << (8 * ATTR_NORMAL)))

#define NORMAL (PTE_ATTRINDX(ATTR_NORMAL) | PTE_SH_INNER)
#define MEM_KERNEL (NORMAL | PTE_AF | PTE_AP_EL1_RW | PTE_UXN)
#define MEM_DEVICE (PTE_ATTRINDX(ATTR_DEVICE) | PTE_AF | PTE_AP_EL1_RW | PTE_PXN | PTE_UXN)
/* EL0 code: executable at EL0 only; read-only everywhere. */
#define MEM_USER_CODE (NORMAL | PTE_AF | PTE_AP_ALL_RO | PTE_PXN)
#define MEM_USER_DATA (NORMAL | PTE_AF | PTE_AP_ALL_RW | PTE_PXN | PTE_UXN)
#define MEM_KERNEL_RO (NORMAL | PTE_AF | PTE_AP_EL1_RO | PTE_PXN | PTE_UXN)
#define MEM_NO_AF (NORMAL | PTE_AP_EL1_RW | PTE_PXN | PTE_UXN)

/* ---- system registers --------------------------------------------------- */

#define TCR_VALUE(ips)                                                       \
    ((uint64_t)TXSZ | 1ULL << 8 | 1ULL << 10 | 3ULL << 12 |  /* WBWA, inner */ \
     (uint64_t)TG0 << 14 | (uint64_t)TXSZ << 16 |                            \
     1ULL << 24 | 1ULL << 26 | 3ULL << 28 | (uint64_t)TG1 << 30 |            \
     (uint64_t)(ips) << 32)

#define SCTLR_M (1ULL << 0)
#define SCTLR_A (1ULL << 1)
#define SCTLR_C (1ULL << 2)
#define SCTLR_I (1ULL << 12)
#define SCTLR_WXN (1ULL << 19)

#define SPSR_EL1H_MASKED 0x3c5ULL       /* EL1h, DAIF masked */

#define READ_SYSREG(name)                                                    \
    ({                                                                       \
        uint64_t v_;                                                         \
        asm volatile("mrs %0, " #name : "=r"(v_));                           \
        v_;                                                                  \
    })

#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- assembly helpers ---------------------------------------------------
 * File-scope asm rather than a .S file so the variants get it by including
 * this file.
 *
 * mmu_where_am_i returns its own address as the PC sees it: through the
 * TTBR1 alias, the high VA.
 *
 * mmu_run_at_el0(entry, sp, arg) erets to entry at EL0t with SP_EL0 = sp
 * and x0 = arg.  EL0 never returns by itself: its next exception reaches
 * the lower-EL hook, which resumes at mmu_el0_return in EL1h on the same
 * SP_EL1, and that returns EL0's x0 to the caller.
 *
 * The EL0 code lives alone at the start of a granule-aligned page so that
 * it can be mapped for EL0 without exposing anything else.
 */
asm(".text\n"
    ".global mmu_where_am_i\n"
    ".type mmu_where_am_i, %function\n"
    "mmu_where_am_i:\n"
    "    adr     x0, mmu_where_am_i\n"
    "    ret\n"
    ".size mmu_where_am_i, . - mmu_where_am_i\n"
    "\n"
    ".global mmu_run_at_el0\n"
    ".type mmu_run_at_el0, %function\n"
    "mmu_run_at_el0:\n"
    "    stp     x29, x30, [sp, #-96]!\n"
    "    stp     x19, x20, [sp, #16]\n"
    "    stp     x21, x22, [sp, #32]\n"
    "    stp     x23, x24, [sp, #48]\n"
    "    stp     x25, x26, [sp, #64]\n"
    "    stp     x27, x28, [sp, #80]\n"
    "    msr     elr_el1, x0\n"
    "    msr     sp_el0, x1\n"
    "    mov     x0, #0x3c0\n"              /* EL0t, DAIF masked */
    "    msr     spsr_el1, x0\n"
    "    mov     x0, x2\n"
    "    eret\n"
    ".global mmu_el0_return\n"
    "mmu_el0_return:\n"
    "    ldp     x19, x20, [sp, #16]\n"
    "    ldp     x21, x22, [sp, #32]\n"
    "    ldp     x23, x24, [sp, #48]\n"
    "    ldp     x25, x26, [sp, #64]\n"
    "    ldp     x27, x28, [sp, #80]\n"
    "    ldp     x29, x30, [sp], #96\n"
    "    ret\n"
    ".size mmu_run_at_el0, . - mmu_run_at_el0\n"
    "\n"
    ".section .text.el0, \"ax\"\n"
    ".balign (1 << " STR(MMU_GRANULE_SHIFT) ")\n"
    ".global mmu_el0_page\n"
    "mmu_el0_page:\n"
    ".global mmu_el0_svc\n"
    "mmu_el0_svc:\n"
    "    mov     x0, #0xe10\n"
    "    str     x0, [sp, #-16]!\n"         /* the EL0 stack is writable */
    "    svc     #7\n"
    "    b       .\n"
    ".global mmu_el0_load\n"
    "mmu_el0_load:\n"
    "    ldr     x0, [x0]\n"
    "    b       .\n"
    ".text\n");

uint64_t mmu_where_am_i(void);
uint64_t mmu_run_at_el0(uint64_t entry, uint64_t sp, uint64_t arg);
extern char mmu_el0_return[];
extern char mmu_el0_page[], mmu_el0_svc[], mmu_el0_load[];
/* Where an EL0 routine is in the EL0 view of its page. */
#define EL0_VA(sym) (PAGE_VA(0) + (uint64_t)((sym) - mmu_el0_page))
#define EL0_SVC_X0 0xe10
#define EL0_SVC_IMM 7

/* ---- table builder ------------------------------------------------------ */

/* Tables are whole granules, granule-aligned (a start level with fewer
 * entries just leaves the rest unused).  The layout takes 9 with 4K (two L0,
 * two L1, four L2, one L3), 8 with 16K, 6 with 64K. */
#define POOL_TABLES 10
static uint64_t pool[POOL_TABLES][ENTRIES] __attribute__((aligned(GRANULE)));
static unsigned pool_used;

static uint64_t ro_page[GRANULE / 8] __attribute__((aligned(GRANULE)));
static uint8_t el0_stack[GRANULE] __attribute__((aligned(GRANULE)));

#define RO_PAGE_VALUE 0x45474150204f52ULL   /* "RO PAGE" */
#define ALIAS_VALUE 0x5341494c41ULL         /* "ALIAS" */
#define SENTINEL 0x5e5e5e5e5e5e5e5eULL

static volatile uint64_t alias_target = ALIAS_VALUE;

static void __attribute__((noreturn)) fail(const char *what)
{
    printf("%s: %s\n", MMU_GUEST_NAME, what);
    guest_system_off(1);
}

static uint64_t *table_alloc(void)
{
    if (pool_used == POOL_TABLES)
        fail("out of translation tables");
    return pool[pool_used++];   /* .bss: already zero, i.e. all invalid */
}

/* Map [va, va + size) to pa with leaf attributes attrs, using the largest
 * block that fits at each step.  va is the full VA (either half). */
static void map_range(uint64_t *root, uint64_t va, uint64_t pa, uint64_t size,
                      uint64_t attrs)
{
    while (size) {
        uint64_t *table = root;
        for (int level = START_LEVEL;; level++) {
            unsigned shift = LEVEL_SHIFT(level);
            uint64_t block = 1ULL << shift;
            uint64_t *entry = &table[((va & VA_MASK) >> shift) & (ENTRIES - 1)];

            if (level == 3 || (BLOCK_ALLOWED(level) && size >= block &&
                               ((va | pa) & (block - 1)) == 0)) {
                *entry = pa | attrs | (level == 3 ? DESC_PAGE : DESC_BLOCK);
                va += block;
                pa += block;
                size -= block;
                break;
            }
            if (!(*entry & DESC_VALID))
                *entry = (uint64_t)(uintptr_t)table_alloc() | DESC_TABLE;
            else if ((*entry & DESC_TABLE) != DESC_TABLE)
                fail("mapping overlaps a block");
            table = (uint64_t *)(uintptr_t)(*entry & DESC_ADDR_MASK);
        }
    }
}

static int granule_supported(uint64_t mmfr0)
{
    unsigned tgran4 = (unsigned)(mmfr0 >> 28) & 0xf;
    unsigned tgran64 = (unsigned)(mmfr0 >> 24) & 0xf;
    unsigned tgran16 = (unsigned)(mmfr0 >> 20) & 0xf;

    if (MMU_GRANULE_SHIFT == 12)
        return tgran4 != 0xf;
    if (MMU_GRANULE_SHIFT == 16)
        return tgran64 != 0xf;
    return tgran16 != 0;
}

static void mmu_enable(void)
{
    uint64_t *root0 = table_alloc(), *root1 = table_alloc();
    uint64_t el0_code = (uint64_t)(uintptr_t)mmu_el0_page;

    map_range(root0, RAM_BASE, RAM_BASE, RAM_SIZE, MEM_KERNEL);
    map_range(root0, DEVICE_BASE, DEVICE_BASE, DEVICE_SIZE, MEM_DEVICE);
    map_range(root0, PAGE_VA(0), el0_code, GRANULE, MEM_USER_CODE);
    map_range(root0, PAGE_VA(1), (uint64_t)(uintptr_t)el0_stack, GRANULE, MEM_USER_DATA);
    map_range(root0, PAGE_VA(2), (uint64_t)(uintptr_t)ro_page, GRANULE, MEM_KERNEL_RO);
    map_range(root0, PAGE_VA(3), (uint64_t)(uintptr_t)ro_page, GRANULE, MEM_NO_AF);
    map_range(root1, ALIAS_OFFSET + RAM_BASE, RAM_BASE, RAM_SIZE, MEM_KERNEL);

    /* IPS: as many output address bits as the CPU has (52-bit needs LPA). */
    uint64_t parange = READ_SYSREG(id_aa64mmfr0_el1) & 0xf;
    uint64_t ips = parange > 5 ? 5 : parange;
    uint64_t sctlr = READ_SYSREG(sctlr_el1);
    sctlr = (sctlr | SCTLR_M | SCTLR_C | SCTLR_I) & ~(SCTLR_A | SCTLR_WXN);

    /*
     * The tables were written with the MMU off (non-cacheable), so the
     * walker, which reads them through the cache once it is on, finds them
     * in memory.  dsb: the writes are complete before the walker may look;
     * tlbi: nothing from an earlier regime survives; isb after the SCTLR
     * write: the next fetch is translated.  Everything we run from is
     * identity-mapped, so the PC stays valid across the switch.
     */
    asm volatile("dsb ish\n\t"
                 "msr mair_el1, %0\n\t"
                 "msr tcr_el1, %1\n\t"
                 "msr ttbr0_el1, %2\n\t"
                 "msr ttbr1_el1, %3\n\t"
                 "isb\n\t"
                 "tlbi vmalle1\n\t"
                 "ic iallu\n\t"
                 "dsb ish\n\t"
                 "isb\n\t"
                 "msr sctlr_el1, %4\n\t"
                 "isb"
                 :
                 : "r"(MAIR_VALUE), "r"(TCR_VALUE(ips)),
                   "r"((uint64_t)(uintptr_t)root0),
                   "r"((uint64_t)(uintptr_t)root1), "r"(sctlr)
                 : "memory");
}

/* ---- exception hooks ---------------------------------------------------- */

void guest_sync_exception(uint64_t esr, uint64_t elr, uint64_t far,
                          uint64_t spsr)
{
    guest_record_exception(esr, elr, far, spsr);
    /* Instruction aborts come from probe_fetch's blr: skipping "the
     * faulting instruction" makes no sense there, go back to the caller. */
    if (esr_ec(esr) == ESR_EC_IABT_CUR)
        exception_resume_at(exception_current_frame()->x30);
}

void guest_lower_sync_exception(uint64_t esr, uint64_t elr, uint64_t far,
                                uint64_t spsr)
{
    struct exception_frame *frame = exception_current_frame();

    guest_record_exception(esr, elr, far, spsr);
    /* Whatever EL0 did, the trip is over: back to mmu_run_at_el0's caller. */
    frame->elr = (uint64_t)(uintptr_t)mmu_el0_return;
    frame->spsr = SPSR_EL1H_MASKED;
}

/* ---- probes ------------------------------------------------------------- */

/* Load from va; *pc = the load's address.  A faulting load is skipped by
 * the handler and leaves the SENTINEL in place. */
static uint64_t probe_load(uint64_t va, uint64_t *pc)
{
    uint64_t v = SENTINEL, at;
    asm volatile("adr %1, 1f\n"
                 "1:\tldr %0, [%2]"
                 : "+r"(v), "=&r"(at)
                 : "r"(va)
                 : "memory");
    *pc = at;
    return v;
}

static void probe_store(uint64_t va, uint64_t value, uint64_t *pc)
{
    uint64_t at;
    asm volatile("adr %0, 1f\n"
                 "1:\tstr %1, [%2]"
                 : "=&r"(at)
                 : "r"(value), "r"(va)
                 : "memory");
    *pc = at;
}

/* Branch-and-link to target, which must fault on the fetch; the hook
 * resumes at the return address, *ret = that address. */
static void probe_fetch(uint64_t target, uint64_t *ret)
{
    uint64_t at;
    asm volatile("adr %0, 1f\n\t"
                 "blr %1\n"
                 "1:"
                 : "=&r"(at)
                 : "r"(target)
                 : "x30", "memory");
    *ret = at;
}

static const char *fsc_name(unsigned fsc)
{
    switch (fsc & 0x3c) {
    case 0x04: return "translation fault";
    case 0x08: return "access flag fault";
    case 0x0c: return "permission fault";
    default: return "fault";
    }
}

struct data_probe {
    const char *what;
    uint64_t va;
    int write;
    unsigned fsc;
};

static const struct data_probe data_probes[] = {
    { "load from 0x0000800000000000 (top-level hole)", VA_TOP_HOLE, 0,
      FSC_TRANSLATION(LEVEL_TOP_HOLE) },
    { "load from 0x80000000 (hole between mappings)", VA_GAP_HOLE, 0,
      FSC_TRANSLATION(LEVEL_GAP_HOLE) },
    { "load just past RAM", VA_AFTER_RAM, 0, FSC_TRANSLATION(LEVEL_AFTER_RAM) },
    { "load from a TTBR1 hole", ALIAS_OFFSET + VA_GAP_HOLE, 0,
      FSC_TRANSLATION(LEVEL_GAP_HOLE) },
    { "load from an unmapped page", PAGE_VA(4), 0, FSC_TRANSLATION(3) },
    { "store to a read-only page", PAGE_VA(2), 1, FSC_PERMISSION(3) },
    { "load from a page with AF clear", PAGE_VA(3), 0, FSC_ACCESS_FLAG(3) },
};
#define N_DATA_PROBES (sizeof(data_probes) / sizeof(data_probes[0]))
#define TESTS_PER_DATA_PROBE 6

static void check_data_abort(const struct data_probe *p)
{
    uint64_t pc, got = SENTINEL;
    unsigned level = p->fsc & 3;

    exception_reset();
    if (p->write)
        probe_store(p->va, ~RO_PAGE_VALUE, &pc);
    else
        got = probe_load(p->va, &pc);

    uint64_t esr = last_exception.esr;
    tap_ok(last_exception.count == 1 && got == SENTINEL &&
               ro_page[0] == RO_PAGE_VALUE,
           "%s: one exception, access not done, resumed after it", p->what);
    expect_eq_u64(esr_ec(esr), ESR_EC_DABT_CUR,
                  "%s: EC 0x25 (data abort, same EL)", p->what);
    expect_eq_u64(esr & ESR_FSC_MASK, p->fsc, "%s: DFSC 0x%02x (%s, level %u)",
                  p->what, p->fsc, fsc_name(p->fsc), level);
    expect_eq_u64((esr & ESR_WNR) != 0, (uint64_t)p->write, "%s: WnR %d",
                  p->what, p->write);
    expect_eq_u64(last_exception.far, p->va, "%s: FAR_EL1 is the address", p->what);
    expect_eq_u64(last_exception.elr, pc, "%s: ELR_EL1 is the access", p->what);
    tap_diag("ESR_EL1 = 0x%08llx", (unsigned long long)esr);
}

struct fetch_probe {
    const char *what;
    uint64_t va;
    unsigned fsc;
};

static const struct fetch_probe fetch_probes[] = {
    { "branch to 0x80000000 (hole)", VA_GAP_HOLE, FSC_TRANSLATION(LEVEL_GAP_HOLE) },
    { "branch to a PXN page", PAGE_VA(1), FSC_PERMISSION(3) },
};
#define N_FETCH_PROBES (sizeof(fetch_probes) / sizeof(fetch_probes[0]))
#define TESTS_PER_FETCH_PROBE 5

static void check_prefetch_abort(const struct fetch_probe *p)
{
    uint64_t ret;

    exception_reset();
    probe_fetch(p->va, &ret);

    uint64_t esr = last_exception.esr;
    tap_ok(last_exception.count == 1, "%s: one exception, back at the caller",
           p->what);
    expect_eq_u64(esr_ec(esr), ESR_EC_IABT_CUR,
                  "%s: EC 0x21 (instruction abort, same EL)", p->what);
    expect_eq_u64(esr & ESR_FSC_MASK, p->fsc, "%s: IFSC 0x%02x (%s, level %u)",
                  p->what, p->fsc, fsc_name(p->fsc), p->fsc & 3);
    expect_eq_u64(last_exception.far, p->va, "%s: FAR_EL1 is the target", p->what);
    expect_eq_u64(last_exception.elr, p->va, "%s: ELR_EL1 is the target", p->what);
    tap_diag("ESR_EL1 = 0x%08llx", (unsigned long long)esr);
}

/* ---- tests -------------------------------------------------------------- */

#define BASIC_TESTS 6
#define EL0_TESTS 8

static void test_basics(void)
{
    uint64_t sctlr = READ_SYSREG(sctlr_el1);
    tap_ok((sctlr & (SCTLR_M | SCTLR_C | SCTLR_I)) == (SCTLR_M | SCTLR_C | SCTLR_I),
           "SCTLR_EL1.M, C and I are set (0x%llx)", (unsigned long long)sctlr);
    expect_eq_u64(alias_target, ALIAS_VALUE,
                  "a global written before the MMU was on reads back through the identity map");

    uint64_t (*high)(void) =
        (uint64_t(*)(void))((uintptr_t)mmu_where_am_i + ALIAS_OFFSET);
    expect_eq_u64(high(), (uint64_t)(uintptr_t)high,
                  "a function called through the TTBR1 alias runs at its high VA");

    volatile uint64_t *alias = (volatile uint64_t *)((uintptr_t)&alias_target + ALIAS_OFFSET);
    expect_eq_u64(*alias, ALIAS_VALUE, "a read through the TTBR1 alias sees the identity value");
    *alias = ~ALIAS_VALUE;
    expect_eq_u64(alias_target, ~ALIAS_VALUE,
                  "a write through the TTBR1 alias shows through the identity map");

    expect_eq_u64(*(volatile uint64_t *)(uintptr_t)PAGE_VA(2), RO_PAGE_VALUE,
                  "the read-only page is readable");
}

static void test_el0(void)
{
    uint64_t el0_sp = PAGE_VA(1) + GRANULE;

    exception_reset();
    uint64_t x0 = mmu_run_at_el0(EL0_VA(mmu_el0_svc), el0_sp, 0);
    uint64_t esr = last_exception.esr;
    tap_ok(last_exception.count == 1 && (READ_SYSREG(CurrentEL) >> 2) == 1,
           "EL0 svc: one exception, back at EL1");
    expect_eq_u64(esr_ec(esr), ESR_EC_SVC64, "EL0 svc: EC 0x15 (SVC from AArch64)");
    expect_eq_u64(esr & 0xffff, EL0_SVC_IMM, "EL0 svc: ISS imm16 is 7");
    expect_eq_u64(last_exception.spsr & 0xf, 0, "EL0 svc: SPSR_EL1.M is EL0t");
    expect_eq_u64(x0, EL0_SVC_X0, "EL0 svc: x0 set at EL0 reaches EL1");
    tap_diag("ESR_EL1 = 0x%08llx ELR_EL1 = 0x%llx", (unsigned long long)esr,
             (unsigned long long)last_exception.elr);

    /* EL0 reads an EL1-only RAM page: a permission fault at the level of
     * RAM's leaf, taken to EL1 from the lower EL. */
    uint64_t target = (uint64_t)(uintptr_t)&alias_target;
    exception_reset();
    mmu_run_at_el0(EL0_VA(mmu_el0_load), el0_sp, target);
    esr = last_exception.esr;
    expect_eq_u64(esr_ec(esr), ESR_EC_DABT_LOW,
                  "EL0 load from EL1 memory: EC 0x24 (data abort, lower EL)");
    expect_eq_u64(esr & ESR_FSC_MASK, FSC_PERMISSION(LEVEL_RAM_LEAF),
                  "EL0 load from EL1 memory: DFSC 0x%02x (permission fault, level %u)",
                  FSC_PERMISSION(LEVEL_RAM_LEAF), LEVEL_RAM_LEAF);
    expect_eq_u64(last_exception.far, target,
                  "EL0 load from EL1 memory: FAR_EL1 is the address");
    tap_diag("ESR_EL1 = 0x%08llx", (unsigned long long)esr);
}

int main(void)
{
    uint64_t mmfr0 = READ_SYSREG(id_aa64mmfr0_el1);

    printf("%s: %s granule, %u-bit VA, walk starts at level %d, TTBR1 alias at 0x%llx\n",
           MMU_GUEST_NAME, GRANULE_NAME, MMU_VA_BITS, START_LEVEL,
           (unsigned long long)(ALIAS_OFFSET + RAM_BASE));
    if (!granule_supported(mmfr0)) {
        printf("1..0 # SKIP %s granule not supported (ID_AA64MMFR0_EL1 = 0x%llx)\n",
               GRANULE_NAME, (unsigned long long)mmfr0);
        return 0;
    }

    ro_page[0] = RO_PAGE_VALUE;
    install_vectors();
    mmu_enable();
    printf("%s: MMU on, %u translation tables\n", MMU_GUEST_NAME, pool_used);

    tap_plan(BASIC_TESTS + N_DATA_PROBES * TESTS_PER_DATA_PROBE +
             N_FETCH_PROBES * TESTS_PER_FETCH_PROBE + EL0_TESTS);
    test_basics();
    for (unsigned i = 0; i < N_DATA_PROBES; i++)
        check_data_abort(&data_probes[i]);
    for (unsigned i = 0; i < N_FETCH_PROBES; i++)
        check_prefetch_abort(&fetch_probes[i]);
    test_el0();
    return tap_done();
}
