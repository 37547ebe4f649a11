/*
 * uc_emu_start from the engine's current PC, in one call from Python.
 *
 * Python would otherwise cross into libunicorn twice per run (uc_reg_read of
 * the PC, then uc_emu_start), each crossing costing more than the work; a
 * forwarded FF-A call starts the SPMC once.  Same calls, same order, same
 * status: emu/cpu/emustart.py holds the identical pure-Python path.
 */
#include "emustart.h"

int es_start(struct es_state *s)
{
    int status = s->reg_read(s->uc, s->pc_id, &s->pc);
    if (status)
        return status;
    return s->emu_start(s->uc, s->pc, s->until, 0, 0);
}
