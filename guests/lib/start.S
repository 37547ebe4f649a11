/*
 * Guest entry point.
 *
 * The emulator starts the guest at EL1h, at the ELF entry, with DAIF masked,
 * the MMU off and every general register zero.  We set up the stack, allow
 * FP/SIMD access, zero .bss, run main() and then power the machine off with
 * PSCI SYSTEM_OFF (guest_system_off, through the device tree's conduit).
 * main()'s return value is passed along in x1 (PSCI ignores it; an emulator
 * may report it).
 *
 * x0 at entry is the device tree address under the Linux boot protocol (a
 * loader that provides none leaves it zero).  It is moved to x19 before
 * anything else touches x0 and stored in boot_dtb (boot.h) once .bss, where
 * boot_dtb lives, has been zeroed.  (A .data variable would add a loadable
 * segment to every image.)
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
    bl      guest_system_off
    .size _start, . - _start

    .bss
    .balign 8
    .global boot_dtb
    .type boot_dtb, %object
boot_dtb:
    .skip   8
    .size boot_dtb, . - boot_dtb
