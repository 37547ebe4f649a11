/*
 * uc_emu_start from the engine's current PC, in one call from Python.
 *
 * Python would otherwise cross into libunicorn twice per run (uc_reg_read of
 * the PC, then uc_emu_start), each crossing costing more than the work; a
 * forwarded FF-A call starts the SPMC once.  Same calls, same order, same
 * status: emu/cpu/emustart.py holds the identical pure-Python path.
 */
#include <stddef.h>
#include <stdint.h>

typedef int (*es_reg_read_fn)(void *uc, int regid, void *value);
typedef int (*es_emu_start_fn)(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count);

struct es_state {
    void *uc;
    es_reg_read_fn reg_read;
    es_emu_start_fn emu_start;
    int pc_id;        /* UC_ARM64_REG_PC */
    uint64_t until;   /* emu_start's "until" address */
    uint64_t pc;      /* where the last start began */
};

int es_start(struct es_state *s)
{
    int status = s->reg_read(s->uc, s->pc_id, &s->pc);
    if (status)
        return status;
    return s->emu_start(s->uc, s->pc, s->until, 0, 0);
}
