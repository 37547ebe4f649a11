/*
 * The TLB fill hook's state (tlbfill.c), shared with the SPMC's call entry
 * (callentry.c), which filters emu_start's status through it.
 */
#ifndef TF_TLBFILL_H
#define TF_TLBFILL_H

#include <stdbool.h>
#include <stdint.h>

#include "journal.h"
#include "writetrack.h"

typedef int (*tf_reg_read_fn)(void *uc, int regid, void *value);

struct tf_state {
    uint64_t limit;            /* addresses below translate one to one (2^PAMax) */
    struct pj_state *secure;   /* the keeping journal of secure RAM */
    struct pj_state *vm;       /* the listing journal of VM RAM */
    struct wt_state *tracker;  /* VM RAM pages for the VMs' code caches: the vm journal's range */
    uint8_t *secure_fetched;   /* a byte per page of the secure journal: 1 once the PE fetched from it */
    uint8_t *vm_fetched;       /* the same for the vm journal's pages */
    tf_reg_read_fn reg_read;   /* uc_reg_read */
    int cp_reg_id;             /* UC_ARM64_REG_CP_REG */
    int pc_id;                 /* UC_ARM64_REG_PC */
    uint64_t exit_page;        /* the page of emu_start's "until" address less one */
    uint64_t page_size;        /* Unicorn's */
    uint32_t granted;          /* a page became writable by being journalled: flush at commit */
    uint32_t refused;          /* a fill was left to the CPU's own translation */
    uint32_t exit_fill;        /* the fill after the run refused: emu_start's error is no error */
};

/* emu_start's ``status`` as the CPU's translation would have left it: 0 for the error of the fill Unicorn makes
 * after the run (refused as the CPU's translation refuses it, which Unicorn ignores). */
int tf_status(struct tf_state *s, int status);

#endif
