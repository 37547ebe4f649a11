/*
 * smp_code: code one CPU rewrites and another runs (run with two CPUs).
 * The architecture asks the writer for `dc cvau; dsb ish; ic ivau; dsb ish`
 * and the runner for an `isb`; IC IVAU (like IC IALLUIS) reaches every PE of
 * the inner shareable domain, so CPU 1 must then run the new code, though
 * it ran the old one before and CPU 0's stores never went through it.
 *
 *   - CPU 1 calls patched() (`mov w0, #1; ret`): 1;
 *   - CPU 0 rewrites its first instruction to `mov w0, #2`, cleans it to the
 *     point of unification and invalidates it (IC IVAU), and lets CPU 1 go;
 *     CPU 1 (after an isb) calls it again: 2;
 *   - the same with `mov w0, #3` and IC IALLUIS: 3.
 */
#include <stdint.h>

#include "console.h"
#include "ffa_emu_abi.h"
#include "smccc.h"
#include "smp.h"
#include "tap.h"

#define MOVZ_W0(imm) (0x52800000u | (uint32_t)(imm) << 5)
#define STEPS 3

int patched(void);
asm(".text\n"
    ".balign 64\n"
    ".global patched\n"
    ".type patched, %function\n"
    "patched:\n"
    "    mov w0, #1\n"
    "    ret\n"
    ".size patched, . - patched\n");

static uint8_t cpu1_stack[16384] __attribute__((aligned(16)));
static volatile int seen[STEPS];
static volatile unsigned step_done; /* CPU 1: the steps it has run */
static volatile unsigned step_go;   /* CPU 0: the steps CPU 1 may run */

void secondary_main(uint64_t context)
{
    (void)context;
    for (unsigned step = 0; step < STEPS; step++) {
        while (step_go <= step)
            asm volatile("dmb ish" : : : "memory");
        asm volatile("isb" : : : "memory");
        seen[step] = patched();
        asm volatile("dmb ish" : : : "memory");
        step_done = step + 1;
    }
    for (;;)
        asm volatile("wfi");
}

static void release(unsigned step)
{
    asm volatile("dmb ish" : : : "memory");
    step_go = step + 1;
    while (step_done <= step)
        asm volatile("dmb ish" : : : "memory");
}

static void rewrite(int value, int broadcast_all)
{
    volatile uint32_t *insn = (volatile uint32_t *)(uintptr_t)patched;

    *insn = MOVZ_W0(value);
    asm volatile("dc cvau, %0\n\tdsb ish" : : "r"(insn) : "memory");
    if (broadcast_all)
        asm volatile("ic ialluis\n\tdsb ish" : : : "memory");
    else
        asm volatile("ic ivau, %0\n\tdsb ish" : : "r"(insn) : "memory");
}

int main(void)
{
    struct smccc_regs r;

    tap_plan(STEPS + 1);
    smccc_regs_init(&r, PSCI_CPU_ON64, CPU1_MPIDR, (uint64_t)(uintptr_t)secondary_entry,
                    (uint64_t)(uintptr_t)(cpu1_stack + sizeof(cpu1_stack)));
    smccc_call(&r);
    expect_eq_i64((int32_t)r.x[0], 0, "CPU_ON(1) returns SUCCESS");
    release(0);
    expect_eq_i64(seen[0], 1, "CPU 1 runs patched(): 1");
    rewrite(2, 0);
    release(1);
    expect_eq_i64(seen[1], 2, "CPU 0 rewrote it and did IC IVAU: CPU 1 runs the new code");
    rewrite(3, 1);
    release(2);
    expect_eq_i64(seen[2], 3, "CPU 0 rewrote it and did IC IALLUIS: CPU 1 runs the new code");
    return 0;
}
