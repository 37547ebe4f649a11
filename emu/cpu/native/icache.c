/*
 * The instruction cache maintenance the code cache must see, as a
 * UC_HOOK_INSN (SYS) callback in C.  The hook runs for every SYS
 * instruction (DC, TLBI, AT, IC...); a kernel issues tens of thousands of
 * them while it boots, and only IC IVAU and IC IALLU/IALLUIS matter here, so
 * the rest return at once instead of crossing into Python.
 *
 * emu/cpu/codecache.py holds the Python hook that does the same filtering.
 */
#include <stdint.h>

struct ic_cp_reg {
    uint32_t crn, crm, op0, op1, op2;
    uint64_t val;
};

/* (which: 0 for IC IVAU, 1 for IC IALLU, 2 for IC IALLUIS; the address) -> nothing. */
typedef void (*ic_python_fn)(uint32_t which, uint64_t address);

uint32_t ic_sys_hook(void *uc, int reg, const struct ic_cp_reg *cp, ic_python_fn python)
{
    (void)uc;
    (void)reg;
    if (cp->op0 != 1 || cp->crn != 7)
        return 0;
    if (cp->op1 == 3 && cp->crm == 5 && cp->op2 == 1)  /* IC IVAU */
        python(0, cp->val);
    else if (cp->op1 == 0 && cp->op2 == 0 && cp->crm == 5)  /* IC IALLU */
        python(1, 0);
    else if (cp->op1 == 0 && cp->op2 == 0 && cp->crm == 1)  /* IC IALLUIS */
        python(2, 0);
    return 0;  /* the instruction itself runs as usual */
}
