/*
 * The HVC/SMC trap entry in C, as Unicorn's UC_HOOK_INTR callback.
 *
 * Every crossing from Python into libunicorn through ctypes costs about a
 * microsecond, more than the work it does.  On a trap this hook reads x0-x17
 * and the PC in one batch and fetches the trapping instruction word (for its
 * immediate) before it calls Python once; Python reads them from the state,
 * and when it set `dirty` the hook writes x0-x17 back after it returns.
 * Other exceptions go to Python as they are.  An engine whose traps only end
 * its run (the SPMC's SMC is its answer) sets `stop_at_traps`: the hook then
 * records the trap in `trapped` and stops the engine without calling Python.
 *
 * Fixed answers: a call whose answer never changes (SMCCC_VERSION, PSCI_VERSION,
 * ...) is answered here, without Python, once Python has answered it from the
 * same site (conduit, x0, PC and instruction word) and taught the hook with
 * te_fast_add.  The hook then writes the answer's registers, moves the cycle
 * clock by the call's fixed cost and logs the call (its index, the clock at
 * entry, the frame as the guest left it) for Python to trace later: before
 * Python sees the next exception it calls `flush`, and Python takes the log
 * at the end of a run.  A log that cannot grow sends calls back to Python.
 *
 * emu/cpu/trapentry.py holds the identical pure-Python path.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TE_REGS 19         /* x0-x17, then the PC */
#define TE_FRAME_REGS 18   /* what is written back: x0-x17 */
#define TE_PROT_EXEC 4     /* UC_PROT_EXEC */

typedef int (*te_batch_fn)(void *uc, int *ids, void **values, int count);
typedef int (*te_vmem_fn)(void *uc, uint64_t address, int prot, void *buf, size_t size);
typedef void (*te_python_fn)(uint32_t intno);
typedef int (*te_stop_fn)(void *uc);
typedef void (*te_flush_fn)(void);

#define TE_FAST_SLOTS 1024  /* sites answered here, at most three quarters of them */
#define TE_LOG_MAX 65536    /* calls logged before Python must take them (10 MiB) */

struct te_fast {
    uint64_t x0, pc;       /* the frame's x0 and the PC past the HVC/SMC */
    uint32_t insn, intno;  /* the trapping word and the exception number (the conduit) */
    uint32_t index;        /* what Python calls this site (its descriptor) */
    uint32_t count;        /* the answer's registers: x0 .. x(count - 1); 0: an empty slot */
    uint64_t cycles;       /* what the call costs, all of it EL2's */
    uint64_t answer[TE_FRAME_REGS];
};

struct te_log_entry {
    uint64_t start;        /* the clock at entry */
    uint32_t index, pad;
    uint64_t frame[TE_FRAME_REGS];  /* x0-x17 as the guest left them */
};

struct te_state {
    uint64_t regs[TE_REGS];  /* at a trap: x0-x17 and the PC (past the HVC/SMC); x0-x17 written back if dirty */
    uint32_t insn;           /* the word at PC - 4, fetched through the guest's translation; 0 if unreadable */
    uint32_t dirty;
    uint32_t trap_a, trap_b; /* the exception numbers that are traps (EXCP_HVC, EXCP_SMC) */
    int ids[TE_REGS];
    void *values[TE_REGS];
    te_batch_fn read_batch, write_batch;
    te_vmem_fn vmem_read;
    te_python_fn python;
    te_stop_fn emu_stop;
    uint32_t stop_at_traps;  /* a trap stops the engine (no Python call) */
    uint32_t trapped;        /* with stop_at_traps: a trap stopped the engine (cleared by Python) */
    uint64_t *clock;         /* the machine's cycle clock */
    te_flush_fn flush;       /* Python takes the log (called before Python sees an exception) */
    struct te_fast *fast;    /* TE_FAST_SLOTS sites answered here, or NULL */
    uint32_t fast_used;
    uint32_t log_len, log_cap;
    struct te_log_entry *log;
    uint64_t log_cycles;     /* the logged calls' cycles, all together */
};

static uint64_t te_fast_hash(uint64_t x0, uint64_t pc)
{
    return ((x0 ^ pc * 0x9E3779B97F4A7C15ull) * 0x9E3779B97F4A7C15ull) >> 40;
}

static struct te_fast *te_fast_slot(struct te_fast *fast, uint64_t x0, uint64_t pc, uint32_t insn, uint32_t intno)
{
    uint64_t i = te_fast_hash(x0, pc) % TE_FAST_SLOTS;
    while (fast[i].count && !(fast[i].x0 == x0 && fast[i].pc == pc && fast[i].insn == insn &&
                              fast[i].intno == intno))
        i = (i + 1) % TE_FAST_SLOTS;
    return &fast[i];
}

/* Answer the call at this site from now on (answer: x0 .. x(count - 1)); 0, or -1 when the table is full. */
int te_fast_add(struct te_state *s, uint32_t intno, uint64_t x0, uint64_t pc, uint32_t insn, uint32_t index,
                const uint64_t *answer, uint32_t count, uint64_t cycles)
{
    if (count == 0 || count > TE_FRAME_REGS)
        return -1;
    if (!s->fast && !(s->fast = calloc(TE_FAST_SLOTS, sizeof(*s->fast))))
        return -1;
    struct te_fast *f = te_fast_slot(s->fast, x0, pc, insn, intno);
    if (!f->count) {
        if ((s->fast_used + 1) * 4 > TE_FAST_SLOTS * 3)
            return -1;
        s->fast_used++;
    }
    f->x0 = x0;
    f->pc = pc;
    f->insn = insn;
    f->intno = intno;
    f->index = index;
    f->cycles = cycles;
    memcpy(f->answer, answer, count * sizeof(*answer));
    f->count = count;
    return 0;
}

/* Forget every site (the log stays). */
void te_fast_clear(struct te_state *s)
{
    if (s->fast)
        memset(s->fast, 0, TE_FAST_SLOTS * sizeof(*s->fast));
    s->fast_used = 0;
}

/* Empty the log (Python has copied it). */
void te_log_reset(struct te_state *s)
{
    s->log_len = 0;
    s->log_cycles = 0;
}

void te_destroy(struct te_state *s)
{
    free(s->fast);
    free(s->log);
    s->fast = NULL;
    s->log = NULL;
    s->fast_used = s->log_len = s->log_cap = 0;
}

/* Answer the trap in s->regs here if its site is known: 1 if it was. */
static int te_answer(void *uc, uint32_t intno, struct te_state *s)
{
    struct te_fast *f = te_fast_slot(s->fast, s->regs[0], s->regs[TE_REGS - 1], s->insn, intno);
    if (!f->count)
        return 0;
    if (s->log_len >= TE_LOG_MAX)
        return 0;  /* Python takes the log first, then this call: the log's memory stays bounded */
    if (s->log_len == s->log_cap) {
        uint32_t cap = s->log_cap ? s->log_cap * 2 : 1024;
        struct te_log_entry *grown = cap > s->log_cap ? realloc(s->log, (size_t)cap * sizeof(*grown)) : NULL;
        if (!grown)
            return 0;
        s->log = grown;
        s->log_cap = cap;
    }
    struct te_log_entry *e = &s->log[s->log_len++];
    e->start = *s->clock;
    e->index = f->index;
    e->pad = 0;
    memcpy(e->frame, s->regs, sizeof(e->frame));
    *s->clock += f->cycles;
    s->log_cycles += f->cycles;
    memcpy(s->regs, f->answer, f->count * sizeof(*f->answer));
    s->write_batch(uc, s->ids, s->values, (int)f->count);
    return 1;
}

void te_init(struct te_state *s)
{
    for (int i = 0; i < TE_REGS; i++)
        s->values[i] = &s->regs[i];
}

void te_intr_hook(void *uc, uint32_t intno, struct te_state *s)
{
    if (intno == s->trap_a || intno == s->trap_b) {
        s->dirty = 0;
        s->insn = 0;
        int read = s->read_batch(uc, s->ids, s->values, TE_REGS) == 0;
        if (read && s->vmem_read(uc, s->regs[TE_REGS - 1] - 4, TE_PROT_EXEC, &s->insn, 4) != 0)
            s->insn = 0;
        if (s->stop_at_traps) {
            s->trapped = 1;
            s->emu_stop(uc);
            return;
        }
        if (read && s->fast && te_answer(uc, intno, s))
            return;
        if (s->log_len)
            s->flush();
        s->python(intno);
        if (s->dirty)
            s->write_batch(uc, s->ids, s->values, TE_FRAME_REGS);
        return;
    }
    if (s->log_len)
        s->flush();
    s->python(intno);
}
