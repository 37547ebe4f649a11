/*
 * Guest entry point.
 *
 * The emulator starts the guest at EL1h, at the ELF entry, with DAIF masked,
 * the MMU off and every general register zero.  We set up the stack, allow
 * FP/SIMD access, zero .bss, run main() and then power the machine off with
 * PSCI SYSTEM_OFF.  main()'s return value is passed along in x1 (PSCI ignores
 * it; an emulator may report it).
 *
 * x0 at entry is the device tree address under the Linux boot protocol (a
 * loader that provides none leaves it zero).  It is moved to x19 before
 * anything else touches x0 and stored in boot_dtb (boot.h) once .bss, where
 * boot_dtb lives, has been zeroed.  (A .data variable would add a loadable
 * segment to every image.)
 *
 * The constants of ffa_emu_abi.h carry C integer suffixes (ULL) which the
 * assembler does not accept, so the SYSTEM_OFF function ID is taken from a C
 * object (guest_psci_system_off_fid, defined in smccc.c).
 */

#define CPACR_EL1_FPEN_SHIFT    20

    .section .text.start, "ax"
    .global _start
    .type _start, %function
_start:
    mov     x19, x0

    adrp    x0, __stack_top
    add     x0, x0, :lo12:__stack_top
    mov     sp, x0

    mov     x0, #(3 << CPACR_EL1_FPEN_SHIFT)
    msr     cpacr_el1, x0
    isb

    adrp    x0, __bss_start
    add     x0, x0, :lo12:__bss_start
    adrp    x1, __bss_end
    add     x1, x1, :lo12:__bss_end
1:  cmp     x0, x1
    b.hs    2f
    str     xzr, [x0], #8
    b       1b
2:
    adrp    x0, boot_dtb
    str     x19, [x0, :lo12:boot_dtb]

    bl      main
    sxtw    x1, w0
    adrp    x0, guest_psci_system_off_fid
    ldr     x0, [x0, :lo12:guest_psci_system_off_fid]
    hvc     #0
3:  wfi
    b       3b
    .size _start, . - _start

    .bss
    .balign 8
    .global boot_dtb
    .type boot_dtb, %object
boot_dtb:
    .skip   8
    .size boot_dtb, . - boot_dtb
