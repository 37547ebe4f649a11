/*
 * Per-basic-block cycle accounting for Unicorn, as a UC_HOOK_BLOCK callback
 * in C.  A Python block hook slows Unicorn down about 8x; this one costs
 * next to nothing: block costs live in an open-addressing hash table keyed
 * by block address, filled the first time a block is seen.
 *
 * Costs are fixed point, BC_FRAC_BITS fractional bits: a scheduled core
 * model charges fractions of a cycle per block.  Whole cycles go to the
 * counters and the clock; the remainder carries to the engine's next block.
 * Each cached block keeps its per-instruction costs (in an arena) so that a
 * block cut short by a fault is refunded what did not run.
 *
 * The classification itself stays in Python, in one place: a block seen for
 * the first time is handed to a Python callback.  When the model costs each
 * instruction by its word alone (no pipeline to schedule a block on), the
 * words' costs are remembered here too: a block made only of words seen
 * before is costed without leaving C (most blocks, and every block seen again
 * after the guest flushed its instruction cache).  A new word whose class
 * wordclass.c can tell from its bits costs its class's cycles (given by
 * bc_set_class_costs); only the other new words go to Python (bc_learn_fn),
 * read here once.
 *
 * Each cached block also keeps a hash of its words, read as the block first
 * ran (just after Unicorn translated it).  At the guest's IC IALLU the
 * blocks whose words changed are told apart from the others (bc_revalidate):
 * only theirs go, where dropping every translation made a Linux boot
 * translate some 7,500 blocks again after patching a few of them.  That
 * holds only while every translation Unicorn keeps is a block cached here,
 * so a forget that leaves translations behind (`untracked`) makes the next
 * IC IALLU drop everything, as before.
 *
 * emu/cpu/blockcost.py holds the identical pure-Python fallback.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wordclass.h"

#define BC_FRAC_BITS 12
#define BC_FRAC_MASK ((1ull << BC_FRAC_BITS) - 1)
#define BC_MAX_INSNS 512  /* QEMU's TCG_MAX_INSNS: the most instructions a block holds */
#define BC_PROT_EXEC 4    /* UC_PROT_EXEC: read as the PE fetches */
#define BC_CLASSES 32     /* room for wordclass.c's classes (wc_class_count) */
/* Bounds on what a guest running ever new blocks makes the cache hold (then it starts again, empty): slots of
 * the table (64 bytes each, hot and cold), and per-instruction costs of the cached blocks. */
#define BC_MAX_SLOTS (1ull << 19)
#define BC_MAX_COSTS (1ull << 22)

/* Python's classifier: the block's per-instruction costs, fixed point, into costs[size / 4] and their count. */
typedef void (*bc_miss_fn)(uint64_t addr, uint32_t size, uint32_t *costs, uint32_t *insns);
/* Python's classifier, when costs are per word: each of n words' cost, fixed point, into costs[n]. */
typedef void (*bc_learn_fn)(const uint32_t *words, uint32_t n, uint32_t *costs);
typedef int (*bc_stop_fn)(void *uc);
typedef int (*bc_read_fn)(void *uc, uint64_t addr, int prot, void *buf, size_t size);  /* uc_vmem_read */
typedef int (*bc_reg_fn)(void *uc, int regid, void *value);  /* uc_reg_read */
typedef int (*bc_translate_fn)(void *uc, uint64_t addr, int prot, uint64_t *pa);  /* uc_vmem_translate */

#define BC_PSTATE_I (1u << 7)

/* What the hook reads of a cached block: kept small, as the hook looks one up for every block run. */
struct bc_entry {
    uint64_t addr;
    uint64_t cost;       /* fixed point, BC_FRAC_BITS fractional bits */
    uint32_t size;
    uint32_t insns;
};

/* The rest of a cached block, at the same index of a parallel array. */
struct bc_cold {
    uint64_t costs;      /* its per-instruction costs: an offset into the arena */
    uint64_t hash;       /* bc_words_hash of the words [addr, addr + span) when it first ran */
    uint64_t pa;         /* where addr was then: its translation is Unicorn's for that address only */
    uint32_t span;       /* bytes hashed: the block's, or more where a longer translation at addr stays */
    uint32_t hashed;     /* 0: its words (or where they are) could not be read */
};

struct bc_word {
    uint32_t word;
    uint32_t cost;       /* fixed point */
    uint32_t full;       /* 0: an empty slot */
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
    /* What each block is checked against: stop_at, or 0 while `unmask` is set (every block looks at PSTATE). */
    uint64_t gate;
    uint32_t unmask;     /* also stop before a block once PSTATE.I is clear (an IRQ waits for it) */
    int32_t pstate_reg;  /* UC_ARM64_REG_PSTATE */
    bc_reg_fn reg_read;
    bc_miss_fn miss;
    bc_learn_fn learn;   /* NULL unless costs are per word */
    bc_stop_fn stop;
    bc_read_fn read;     /* NULL: blocks are neither hashed nor costed from their words here */
    bc_translate_fn translate;
    uint64_t mask;
    uint64_t used;
    struct bc_entry *table;
    struct bc_cold *cold;
    uint32_t untracked;  /* translations may stay of blocks not cached here: revalidation cannot tell */
    uint32_t *arena;     /* the cached blocks' per-instruction costs, back to back */
    uint64_t arena_used;
    uint64_t arena_size;
    uint64_t arena_live; /* of arena_used, what cached blocks still refer to */
    struct bc_word *words;  /* word -> cost, when costs are per word */
    uint64_t words_mask;
    uint64_t words_used;
    uint32_t class_costs[BC_CLASSES];  /* a word class's cost (fixed point), when classes_set */
    uint32_t classes_set;
    uint32_t code[BC_MAX_INSNS];
    uint32_t fresh[BC_MAX_INSNS];        /* a block's words not seen before ... */
    uint32_t fresh_at[BC_MAX_INSNS];     /* ... their slots in the block ... */
    uint32_t fresh_costs[BC_MAX_INSNS];  /* ... and their costs, from Python */
};

static uint64_t bc_hash(uint64_t key)
{
    return (key * 0x9E3779B97F4A7C15ull) >> 20;
}

static uint64_t bc_index(const struct bc_entry *table, uint64_t mask, uint64_t addr)
{
    uint64_t i = bc_hash(addr >> 2) & mask;
    while (table[i].size && table[i].addr != addr)
        i = (i + 1) & mask;
    return i;
}

/* FNV-1a over 32-bit words, finished with a shift: tells rewritten code from the code a block was costed from. */
static uint64_t bc_words_hash(const uint32_t *words, uint32_t n)
{
    uint64_t h = 0xCBF29CE484222325ull ^ n;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ words[i]) * 0x100000001B3ull;
    return h ^ (h >> 29);
}

static struct bc_word *bc_word_slot(struct bc_word *words, uint64_t mask, uint32_t word)
{
    uint64_t i = bc_hash(word) & mask;
    while (words[i].full && words[i].word != word)
        i = (i + 1) & mask;
    return &words[i];
}

/* The cached blocks moved into fresh arrays of new_mask + 1 slots (open addressing cannot leave holes in a
 * probe chain, so a table that lost blocks is rebuilt too); -1, and nothing changed, if memory runs out. */
static int bc_rehash(struct bc_state *s, uint64_t new_mask)
{
    struct bc_entry *table = calloc(new_mask + 1, sizeof(*table));
    struct bc_cold *cold = malloc((new_mask + 1) * sizeof(*cold));
    if (!table || !cold) {
        free(table);
        free(cold);
        return -1;
    }
    for (uint64_t i = 0; i <= s->mask; i++)
        if (s->table[i].size) {
            uint64_t j = bc_index(table, new_mask, s->table[i].addr);
            table[j] = s->table[i];
            cold[j] = s->cold[i];
        }
    free(s->table);
    free(s->cold);
    s->table = table;
    s->cold = cold;
    s->mask = new_mask;
    return 0;
}

static void bc_learn_word(struct bc_state *s, uint32_t word, uint32_t cost)
{
    if ((s->words_used + 1) * 4 > (s->words_mask + 1) * 3) {
        uint64_t new_mask = s->words_mask * 2 + 1;
        struct bc_word *fresh = calloc(new_mask + 1, sizeof(*fresh));
        if (!fresh)
            return;  /* remembered words are only a shortcut */
        for (uint64_t i = 0; i <= s->words_mask; i++)
            if (s->words[i].full)
                *bc_word_slot(fresh, new_mask, s->words[i].word) = s->words[i];
        free(s->words);
        s->words = fresh;
        s->words_mask = new_mask;
    }
    struct bc_word *w = bc_word_slot(s->words, s->words_mask, word);
    if (!w->full)
        s->words_used++;
    w->word = word;
    w->cost = cost;
    w->full = 1;
}

/* Copy the live blocks' costs to the front of a fresh arena (dropped blocks leave holes). */
static int bc_compact(struct bc_state *s)
{
    uint64_t size = s->arena_live > BC_MAX_INSNS ? s->arena_live * 2 : BC_MAX_INSNS * 2;
    uint32_t *fresh = malloc(size * sizeof(*fresh));
    if (!fresh)
        return -1;
    uint64_t used = 0;
    for (uint64_t i = 0; i <= s->mask; i++) {
        struct bc_entry *e = &s->table[i];
        if (e->size) {
            memcpy(fresh + used, s->arena + s->cold[i].costs, e->insns * sizeof(*fresh));
            s->cold[i].costs = used;
            used += e->insns;
        }
    }
    free(s->arena);
    s->arena = fresh;
    s->arena_used = used;
    s->arena_size = size;
    return 0;
}

/* Room for n more costs at the arena's end, or NULL when memory runs out. */
static uint32_t *bc_arena_reserve(struct bc_state *s, uint64_t n)
{
    if (s->arena_live + n > BC_MAX_COSTS)
        return NULL;
    if (s->arena_used + n <= s->arena_size)
        return s->arena + s->arena_used;
    if (s->arena_used > 2 * s->arena_live + BC_MAX_INSNS && bc_compact(s) == 0 && s->arena_used + n <= s->arena_size)
        return s->arena + s->arena_used;
    uint64_t size = (s->arena_used + n) * 2;
    uint32_t *grown = realloc(s->arena, size * sizeof(*grown));
    if (!grown)
        return NULL;
    s->arena = grown;
    s->arena_size = size;
    return s->arena + s->arena_used;
}

/* read and translate: uc_vmem_read and uc_vmem_translate, or both NULL (no revalidation then); learn: set when
 * costs are per word (read must be too). */
struct bc_state *bc_create(bc_miss_fn miss, bc_stop_fn stop, uint64_t *clock, bc_read_fn read,
                           bc_translate_fn translate, bc_learn_fn learn)
{
    struct bc_state *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->mask = 1023;
    s->table = calloc(s->mask + 1, sizeof(*s->table));
    s->cold = malloc((s->mask + 1) * sizeof(*s->cold));
    s->arena_size = 8 * BC_MAX_INSNS;
    s->arena = malloc(s->arena_size * sizeof(*s->arena));
    s->words_mask = learn ? 4095 : 0;
    s->words = learn ? calloc(s->words_mask + 1, sizeof(*s->words)) : NULL;
    if (!s->table || !s->cold || !s->arena || (learn && !s->words)) {
        free(s->table);
        free(s->cold);
        free(s->arena);
        free(s->words);
        free(s);
        return NULL;
    }
    s->miss = miss;
    s->learn = learn;
    s->stop = stop;
    s->read = read;
    s->translate = translate;
    s->clock = clock;
    s->stop_at = s->gate = UINT64_MAX;
    return s;
}

void bc_destroy(struct bc_state *s)
{
    if (s) {
        free(s->table);
        free(s->cold);
        free(s->arena);
        free(s->words);
        free(s);
    }
}

/* The cost (fixed point) of each of wordclass.c's n classes, by index: words of a class wc_class tells are
 * costed here from then on.  Returns -1 (and changes nothing) unless n is wc_class_count(). */
int bc_set_class_costs(struct bc_state *s, const uint32_t *costs, uint32_t n)
{
    if (n != (uint32_t)wc_class_count() || n > BC_CLASSES)
        return -1;
    memcpy(s->class_costs, costs, n * sizeof(*costs));
    s->classes_set = 1;
    return 0;
}

/* Forget every block.  translations_dropped: Unicorn's translations went too; else they stay untracked. */
void bc_clear(struct bc_state *s, int translations_dropped)
{
    s->untracked = translations_dropped ? 0 : s->untracked || s->used;
    for (uint64_t i = 0; i <= s->mask; i++)
        s->table[i].size = 0;
    s->used = 0;
    s->arena_used = s->arena_live = 0;
}

static void bc_drop(struct bc_state *s, struct bc_entry *e)
{
    e->size = 0;
    s->arena_live -= e->insns;
    s->used--;
}

/* After blocks were dropped: the table rebuilt (or, if that cannot be allocated, every block forgotten). */
static void bc_close_holes(struct bc_state *s)
{
    if (bc_rehash(s, s->mask))
        bc_clear(s, 0);
}

/*
 * Forget the blocks overlapping [start, end) (their code was rewritten);
 * returns how many.  translations_dropped: as bc_clear's.
 */
uint64_t bc_invalidate_range(struct bc_state *s, uint64_t start, uint64_t end, int translations_dropped)
{
    uint64_t removed = 0;
    for (uint64_t i = 0; i <= s->mask; i++) {
        struct bc_entry *e = &s->table[i];
        if (e->size && e->addr < end && e->addr + e->size > start) {
            bc_drop(s, e);
            removed++;
        }
    }
    if (removed) {
        s->untracked |= !translations_dropped;
        bc_close_holes(s);
    }
    return removed;
}

/*
 * The guest's IC IALLU: forget the blocks whose words are no longer those
 * they were costed from, and return how many, their (address, size) pairs
 * into out (room for max pairs).  Returns -1, and forgets nothing, when that
 * cannot be told: untracked translations, no reader, more than max blocks,
 * or a block whose address no longer leads where it did (its translation,
 * Unicorn's for the old place, cannot be checked or dropped through it).
 * Then every translation must go, and bc_clear(s, 1).
 */
int64_t bc_revalidate(struct bc_state *s, void *uc, uint64_t *out, uint64_t max)
{
    if (s->untracked || !s->read || !s->translate)
        return -1;
    uint64_t changed = 0;
    for (uint64_t i = 0; i <= s->mask; i++) {
        const struct bc_entry *e = &s->table[i];
        const struct bc_cold *c = &s->cold[i];
        uint64_t pa;
        if (!e->size)
            continue;
        if (!c->hashed || s->translate(uc, e->addr, BC_PROT_EXEC, &pa) || pa != c->pa)
            return -1;
        if (!s->read(uc, e->addr, BC_PROT_EXEC, s->code, c->span) && bc_words_hash(s->code, c->span / 4) == c->hash)
            continue;
        if (changed == max)
            return -1;
        out[2 * changed] = e->addr;
        out[2 * changed + 1] = i;  /* its slot, until it is dropped: a lookup would stop at the holes drops leave */
        changed++;
    }
    for (uint64_t k = 0; k < changed; k++) {
        struct bc_entry *e = &s->table[out[2 * k + 1]];
        uint32_t span = s->cold[out[2 * k + 1]].span;
        out[2 * k + 1] = span > e->size ? span : e->size;
        bc_drop(s, e);
    }
    if (changed)
        bc_close_holes(s);
    return (int64_t)changed;
}

/* The cached block at addr: its instruction count, its costs copied to out (room for BC_MAX_INSNS); -1 if none. */
int64_t bc_block_costs(struct bc_state *s, uint64_t addr, uint32_t *out)
{
    uint64_t i = bc_index(s->table, s->mask, addr);
    if (!s->table[i].size)
        return -1;
    memcpy(out, s->arena + s->cold[i].costs, s->table[i].insns * sizeof(*out));
    return s->table[i].insns;
}

/* The cached blocks' addresses, up to max of them into out; returns how many blocks are cached. */
uint64_t bc_blocks(struct bc_state *s, uint64_t *out, uint64_t max)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i <= s->mask; i++)
        if (s->table[i].size) {
            if (n < max)
                out[n] = s->table[i].addr;
            n++;
        }
    return n;
}

/* costs[] of the block's words (in s->code): remembered, told by their class, or learnt from Python. */
static void bc_costs_from_words(struct bc_state *s, uint32_t n, uint32_t *costs)
{
    uint32_t fresh = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct bc_word *w = bc_word_slot(s->words, s->words_mask, s->code[i]);
        int cls;
        if (w->full) {
            costs[i] = w->cost;
        } else if (s->classes_set && (cls = wc_class(s->code[i])) != WC_UNKNOWN) {
            costs[i] = s->class_costs[cls];
            bc_learn_word(s, s->code[i], costs[i]);
        } else {
            s->fresh[fresh] = s->code[i];
            s->fresh_at[fresh++] = i;
        }
    }
    if (!fresh)
        return;
    memset(s->fresh_costs, 0, fresh * sizeof(*s->fresh_costs));
    s->learn(s->fresh, fresh, s->fresh_costs);
    for (uint32_t j = 0; j < fresh; j++) {
        costs[s->fresh_at[j]] = s->fresh_costs[j];
        bc_learn_word(s, s->fresh[j], s->fresh_costs[j]);
    }
}

/*
 * Cost the block at addr, seen for the first time (or at a new size), into
 * slot i: returns its entry.  Its words are hashed as they are now, just
 * translated.  A block cached at addr with another size stands for a
 * translation Unicorn keeps: while that block's words are unchanged the hash
 * spans both, else that translation is stale and no longer tracked.
 */
static struct bc_entry *bc_miss(struct bc_state *s, void *uc, uint64_t i, uint64_t addr, uint32_t size)
{
    uint32_t n = size / 4;
    if (n > BC_MAX_INSNS)
        n = BC_MAX_INSNS;
    uint32_t *costs = bc_arena_reserve(s, n);
    if (!costs) {  /* out of memory, or at BC_MAX_COSTS: start again from an empty cache */
        bc_clear(s, 0);
        i = bc_index(s->table, s->mask, addr);
        costs = s->arena;
    }
    struct bc_entry *e = &s->table[i];
    struct bc_cold *c = &s->cold[i];
    uint32_t span = n * sizeof(uint32_t);
    if (e->size) {
        if (c->hashed && !s->read(uc, addr, BC_PROT_EXEC, s->code, c->span)
                && bc_words_hash(s->code, c->span / 4) == c->hash) {
            if (c->span > span)
                span = c->span;
        } else {
            s->untracked = 1;
        }
    }
    uint64_t pa = 0;
    int read = s->read && !s->read(uc, addr, BC_PROT_EXEC, s->code, span);
    int hashed = read && !s->translate(uc, addr, BC_PROT_EXEC, &pa);
    if (!hashed)
        s->untracked = 1;
    uint32_t insns = n;
    if (read && s->learn) {
        bc_costs_from_words(s, n, costs);
    } else {
        memset(costs, 0, n * sizeof(*costs));
        insns = 0;
        s->miss(addr, size, costs, &insns);
        if (insns > n)
            insns = n;
    }
    uint64_t cost = 0;
    for (uint32_t k = 0; k < insns; k++)
        cost += costs[k];
    if (!e->size)
        s->used++;
    else
        s->arena_live -= e->insns;
    e->addr = addr;
    e->size = size;
    e->cost = cost;
    e->insns = insns;
    c->costs = s->arena_used;
    c->hash = hashed ? bc_words_hash(s->code, span / 4) : 0;
    c->pa = pa;
    c->span = span;
    c->hashed = hashed;
    s->arena_used += insns;
    s->arena_live += insns;
    return e;
}

static inline void bc_charge(struct bc_state *s, const struct bc_entry *e, uint64_t addr, uint32_t size)
{
    uint64_t owed = s->frac + e->cost;
    s->frac = owed & BC_FRAC_MASK;
    s->cycles += owed >> BC_FRAC_BITS;
    s->insns += e->insns;
    *s->clock += owed >> BC_FRAC_BITS;
    s->last_addr = addr;
    s->last_size = size;
}

/*
 * The cached block at addr of this size, or costed afresh (growing the table
 * first if it is full).  A block found further along than its home slot
 * trades places with the block there, which stays on its own probe path (the
 * slots between were full): a block run again is then where the hook looks.
 */
static struct bc_entry *bc_lookup(struct bc_state *s, void *uc, uint64_t addr, uint32_t size)
{
    uint64_t i = bc_index(s->table, s->mask, addr);
    if (s->table[i].size == size) {
        uint64_t home = bc_hash(addr >> 2) & s->mask;
        if (i != home) {
            struct bc_entry e = s->table[home];
            struct bc_cold c = s->cold[home];
            s->table[home] = s->table[i];
            s->cold[home] = s->cold[i];
            s->table[i] = e;
            s->cold[i] = c;
        }
        return &s->table[home];
    }
    if (!s->table[i].size && (s->used + 1) * 4 > (s->mask + 1) * 3) {
        if (s->mask + 1 >= BC_MAX_SLOTS)
            bc_clear(s, 0);  /* at its bound: start again from an empty cache */
        else
            bc_rehash(s, s->mask * 2 + 1);
        i = bc_index(s->table, s->mask, addr);
    }
    return bc_miss(s, uc, i, addr, size);
}

/* Whether the engine stops before this block: out of budget, or (while `unmask`) IRQs no longer masked. */
static int bc_stops(void *uc, struct bc_state *s)
{
    if (*s->clock >= s->stop_at)
        return 1;
    uint64_t pstate = BC_PSTATE_I;
    return s->unmask && s->reg_read(uc, s->pstate_reg, &pstate) == 0 && !(pstate & BC_PSTATE_I);
}

/*
 * Every case but a cached block in its home slot with the clock short of
 * the gate.  If the engine stops before the block, the block runs, and is
 * charged, when it starts again; Unicorn has just translated it, so it is
 * cached now, while its words are those translated (revalidation knows every
 * translation).  Out of the hook's line, and reached by a tail call, so that
 * the common case saves no registers.
 */
static __attribute__((noinline)) void bc_hook_slow(void *uc, uint64_t addr, uint32_t size, struct bc_state *s)
{
    struct bc_entry *e = bc_lookup(s, uc, addr, size);
    if (*s->clock >= s->gate && bc_stops(uc, s)) {
        s->stopped = 1;
        s->stop(uc);
        return;
    }
    bc_charge(s, e, addr, size);
}

void bc_hook(void *uc, uint64_t addr, uint32_t size, struct bc_state *s)
{
    uint64_t *clock = s->clock;
    uint64_t now = *clock;
    const struct bc_entry *e = &s->table[bc_hash(addr >> 2) & s->mask];
    if (__builtin_expect(now >= s->gate || e->addr != addr || e->size != size, 0)) {
        bc_hook_slow(uc, addr, size, s);
        return;
    }
    uint64_t owed = s->frac + e->cost;
    uint64_t whole = owed >> BC_FRAC_BITS;
    s->frac = owed & BC_FRAC_MASK;
    s->cycles += whole;
    s->insns += e->insns;
    *clock = now + whole;
    s->last_addr = addr;
    s->last_size = size;
}
