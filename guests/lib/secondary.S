/*
 * Entry point of a secondary CPU started by PSCI CPU_ON.
 *
 * PSCI starts the CPU at the caller's exception level (EL1 here) at this
 * address with x0 = the context ID given to CPU_ON, the MMU off and
 * PSTATE.DAIF all masked; everything else is the CPU's reset state (VBAR_EL1,
 * CPACR_EL1, SP).  lib/start.S is for the boot CPU only (it zeroes .bss and
 * calls main), so a secondary gets this entry: the context ID is the top of
 * its own stack (16-byte aligned, in .bss, set up by the CPU that called
 * CPU_ON).  It sets SP_EL1 to it, allows FP/SIMD like start.S and calls
 * secondary_main(context_id), which must not return (it ends with CPU_OFF);
 * if it does, the CPU parks in a WFI loop.  A guest that starts no secondary
 * CPU defines no secondary_main: the weak one below parks the CPU.  (smp.h)
 */

#define CPACR_EL1_FPEN_SHIFT    20

    .text
    .balign 4
    .global secondary_entry
    .type secondary_entry, %function
secondary_entry:
    mov     sp, x0
    mov     x1, #(3 << CPACR_EL1_FPEN_SHIFT)
    msr     cpacr_el1, x1
    isb
    bl      secondary_main
1:  wfi
    b       1b
    .size secondary_entry, . - secondary_entry

    .weak secondary_main
    .type secondary_main, %function
secondary_main:
1:  wfi
    b       1b
    .size secondary_main, . - secondary_main
