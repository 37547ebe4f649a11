/*
 * The engine start's state (emustart.c), shared with the SPMC's call entry
 * (callentry.c), which starts the engine the same way.
 */
#ifndef ES_EMUSTART_H
#define ES_EMUSTART_H

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

int es_start(struct es_state *s);

#endif
