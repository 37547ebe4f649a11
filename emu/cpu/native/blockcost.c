/*
 * Per-basic-block cycle accounting for Unicorn, as a UC_HOOK_BLOCK callback
 * in C.  A Python block hook slows Unicorn down about 8x; this one costs
 * next to nothing: block costs live in an open-addressing hash table keyed
 * by block address, filled by a Python callback the first time a block is
 * seen (the classification itself stays in Python, in one place).
 *
 * Costs are fixed point, BC_FRAC_BITS fractional bits: a scheduled core
 * model charges fractions of a cycle per block.  Whole cycles go to the
 * counters and the clock; the remainder carries to the engine's next block.
 *
 * emu/cpu/blockcost.py holds the identical pure-Python fallback.
 */
#include <stdint.h>
#include <stdlib.h>

#define BC_FRAC_BITS 12
#define BC_FRAC_MASK ((1ull << BC_FRAC_BITS) - 1)

typedef void (*bc_miss_fn)(uint64_t addr, uint32_t size, uint64_t *cost, uint32_t *insns);
typedef int (*bc_stop_fn)(void *uc);

struct bc_entry {
    uint64_t addr;
    uint64_t cost;       /* fixed point, BC_FRAC_BITS fractional bits */
    uint32_t size;
    uint32_t insns;
};

struct bc_state {
    uint64_t cycles;     /* cycles charged to this engine */
    uint64_t insns;      /* instructions charged to this engine */
    uint64_t stop_at;    /* stop before a block once the machine clock >= stop_at */
    uint64_t *clock;     /* the machine-wide cycle clock, shared by all engines */
    uint64_t last_addr;  /* the block most recently charged (to refund a fault's unrun tail) */
    uint32_t last_size;
    uint32_t stopped;    /* set when the budget stopped the engine */
    uint64_t frac;       /* fraction of a cycle charged but not yet counted (fixed point) */
    bc_miss_fn miss;
    bc_stop_fn stop;
    uint64_t mask;
    uint64_t used;
    struct bc_entry *table;
};

static struct bc_entry *bc_slot(struct bc_entry *table, uint64_t mask, uint64_t addr)
{
    uint64_t h = (addr >> 2) * 0x9E3779B97F4A7C15ull;
    uint64_t i = (h >> 20) & mask;
    while (table[i].size && table[i].addr != addr)
        i = (i + 1) & mask;
    return &table[i];
}

static int bc_grow(struct bc_state *s)
{
    uint64_t new_mask = s->mask * 2 + 1;
    struct bc_entry *fresh = calloc(new_mask + 1, sizeof(*fresh));
    if (!fresh)
        return -1;
    for (uint64_t i = 0; i <= s->mask; i++)
        if (s->table[i].size)
            *bc_slot(fresh, new_mask, s->table[i].addr) = s->table[i];
    free(s->table);
    s->table = fresh;
    s->mask = new_mask;
    return 0;
}

struct bc_state *bc_create(bc_miss_fn miss, bc_stop_fn stop, uint64_t *clock)
{
    struct bc_state *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->mask = 1023;
    s->table = calloc(s->mask + 1, sizeof(*s->table));
    if (!s->table) {
        free(s);
        return NULL;
    }
    s->miss = miss;
    s->stop = stop;
    s->clock = clock;
    s->stop_at = UINT64_MAX;
    return s;
}

void bc_destroy(struct bc_state *s)
{
    if (s) {
        free(s->table);
        free(s);
    }
}

void bc_clear(struct bc_state *s)
{
    for (uint64_t i = 0; i <= s->mask; i++)
        s->table[i].size = 0;
    s->used = 0;
}

/*
 * Forget the blocks overlapping [start, end) (their code was rewritten);
 * returns how many.  Open addressing cannot leave holes in a probe chain, so
 * the survivors are rehashed into a fresh table of the same size (or, if
 * that cannot be allocated, every block is forgotten: slower, still right).
 */
uint64_t bc_invalidate_range(struct bc_state *s, uint64_t start, uint64_t end)
{
    uint64_t removed = 0;
    for (uint64_t i = 0; i <= s->mask; i++) {
        struct bc_entry *e = &s->table[i];
        if (e->size && e->addr < end && e->addr + e->size > start) {
            e->size = 0;
            removed++;
        }
    }
    if (!removed)
        return 0;
    struct bc_entry *fresh = calloc(s->mask + 1, sizeof(*fresh));
    if (!fresh) {
        bc_clear(s);
        return removed;
    }
    for (uint64_t i = 0; i <= s->mask; i++)
        if (s->table[i].size)
            *bc_slot(fresh, s->mask, s->table[i].addr) = s->table[i];
    free(s->table);
    s->table = fresh;
    s->used -= removed;
    return removed;
}

void bc_hook(void *uc, uint64_t addr, uint32_t size, struct bc_state *s)
{
    if (*s->clock >= s->stop_at) {
        /* Out of budget: the block does not run now and is charged when it does. */
        s->stopped = 1;
        s->stop(uc);
        return;
    }
    struct bc_entry *e = bc_slot(s->table, s->mask, addr);
    if (e->size != size) {
        uint64_t cost = 0;
        uint32_t insns = 0;
        if (!e->size && (s->used + 1) * 4 > (s->mask + 1) * 3) {
            if (bc_grow(s) == 0)
                e = bc_slot(s->table, s->mask, addr);
        }
        s->miss(addr, size, &cost, &insns);
        if (!e->size)
            s->used++;
        e->addr = addr;
        e->size = size;
        e->cost = cost;
        e->insns = insns;
    }
    uint64_t owed = s->frac + e->cost;
    s->frac = owed & BC_FRAC_MASK;
    s->cycles += owed >> BC_FRAC_BITS;
    s->insns += e->insns;
    *s->clock += owed >> BC_FRAC_BITS;
    s->last_addr = addr;
    s->last_size = size;
}
