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
 * emu/cpu/trapentry.py holds the identical pure-Python path.
 */
#include <stddef.h>
#include <stdint.h>

#define TE_REGS 19         /* x0-x17, then the PC */
#define TE_FRAME_REGS 18   /* what is written back: x0-x17 */
#define TE_PROT_EXEC 4     /* UC_PROT_EXEC */

typedef int (*te_batch_fn)(void *uc, int *ids, void **values, int count);
typedef int (*te_vmem_fn)(void *uc, uint64_t address, int prot, void *buf, size_t size);
typedef void (*te_python_fn)(uint32_t intno);
typedef int (*te_stop_fn)(void *uc);

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
};

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
        if (s->read_batch(uc, s->ids, s->values, TE_REGS) == 0 &&
            s->vmem_read(uc, s->regs[TE_REGS - 1] - 4, TE_PROT_EXEC, &s->insn, 4) != 0)
            s->insn = 0;
        if (s->stop_at_traps) {
            s->trapped = 1;
            s->emu_stop(uc);
            return;
        }
        s->python(intno);
        if (s->dirty)
            s->write_batch(uc, s->ids, s->values, TE_FRAME_REGS);
        return;
    }
    s->python(intno);
}
