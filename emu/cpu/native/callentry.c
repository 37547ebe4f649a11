/*
 * The SPMC entered for one forwarded call in one crossing from Python.
 *
 * Each ctypes call costs more than the work behind it, and entering the SPMC
 * took three (x0-x17 written, the journal's eager pages saved, the engine
 * started), besides the Python around them.  ce_enter makes the same calls in
 * the same order; ce_resume starts the engine again within the call.  Both
 * pass emu_start's status through the TLB fill hook's filter when the stores
 * are watched through the TLB (tlbfill.c).
 *
 * emu/cpu/callentry.py holds the identical pure-Python path.
 */
#include "emustart.h"
#include "journal.h"
#include "tlbfill.h"

#define CE_FRAME_REGS 18   /* x0-x17 */

typedef int (*ce_batch_fn)(void *uc, int *ids, void **values, int count);

struct ce_state {
    void *uc;
    ce_batch_fn write_batch;   /* uc_reg_write_batch */
    int *ids;                  /* x0-x17's register ids */
    void **values;             /* where the request's words are */
    struct pj_state *journal;  /* the keeping journal of secure RAM */
    struct es_state *start;    /* the engine's start, from its PC */
    struct tf_state *tlb;      /* NULL when write hooks watch the stores */
};

int ce_resume(struct ce_state *s)
{
    int status = es_start(s->start);
    return s->tlb ? tf_status(s->tlb, status) : status;
}

int ce_enter(struct ce_state *s)
{
    int status = s->write_batch(s->uc, s->ids, s->values, CE_FRAME_REGS);
    if (status)
        return status;
    pj_begin(s->journal);
    return ce_resume(s);
}
