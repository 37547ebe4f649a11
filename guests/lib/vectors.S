/*
 * EL1 exception vector table (see exceptions.h).
 *
 * Four entries are handled:
 *   0x200 "current EL with SPx, synchronous"
 *   0x280 "current EL with SPx, IRQ"
 *   0x400 "lower EL using AArch64, synchronous"
 *   0x480 "lower EL using AArch64, IRQ"
 * Each saves x0-x18, x30, ELR_EL1 and SPSR_EL1 in a struct exception_frame
 * on the SP_EL1 stack and calls C (exceptions.c): the synchronous entries
 * guest_sync_dispatch(frame, vector offset, esr, far), the IRQ entries
 * guest_irq_dispatch(frame, vector offset), which run the C hooks.  The eret
 * then resumes from the frame, so a hook decides where (frame->elr) and in
 * which state (frame->spsr) the guest goes on.  Every other entry calls
 * guest_unexpected_exception(), which prints a message and powers off.
 *
 * A hook may unmask IRQs (e.g. to let a higher-priority interrupt preempt an
 * IRQ handler): a nested exception builds its own frame below this one, and
 * the return path masks IRQs again before it rewrites ELR_EL1/SPSR_EL1, so
 * a late interrupt cannot clobber them between the msr and the eret.
 */

/* struct exception_frame: x0-x18, x30, ELR_EL1, SPSR_EL1 (22 slots, 176 bytes). */
#define FRAME_SIZE  176

/* Entry: make room for the frame, save x0/x1, x1 = vector offset, go on in
 * the common code (which saves the rest). */
.macro handled_entry offset, common
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x1, #\offset
    b       \common
.endm

.macro unexpected offset
    .balign 0x80
    mov     x0, #\offset
    b       unexpected_entry
.endm

    .section .text.vectors, "ax"
    .balign 2048
    .global guest_vector_table
    .type guest_vector_table, %object
guest_vector_table:
    /* current EL with SP0 */
    unexpected 0x000
    unexpected 0x080
    unexpected 0x100
    unexpected 0x180
    /* current EL with SPx */
    handled_entry 0x200, sync_common
    handled_entry 0x280, irq_common
    unexpected 0x300
    unexpected 0x380
    /* lower EL using AArch64 (SP is SP_EL1 here) */
    handled_entry 0x400, sync_common
    handled_entry 0x480, irq_common
    unexpected 0x500
    unexpected 0x580
    /* lower EL using AArch32 */
    unexpected 0x600
    unexpected 0x680
    unexpected 0x700
    unexpected 0x780
    .balign 0x80
    .size guest_vector_table, . - guest_vector_table

/* Save x2-x18, x30, ELR_EL1, SPSR_EL1 (x0/x1 are in the frame already). */
.macro save_rest
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x30, [sp, #144]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #160]
.endm

    .text
    .balign 4
/* x0 and x1 are saved at [sp], x1 = vector offset. */
    .type sync_common, %function
sync_common:
    save_rest
    mov     x0, sp
    mrs     x2, esr_el1
    mrs     x3, far_el1
    bl      guest_sync_dispatch
    b       restore_eret
    .size sync_common, . - sync_common

/* x0 and x1 are saved at [sp], x1 = vector offset. */
    .type irq_common, %function
irq_common:
    save_rest
    mov     x0, sp
    bl      guest_irq_dispatch
    b       restore_eret
    .size irq_common, . - irq_common

/* Restore everything from the frame at sp, pop it and eret. */
    .type restore_eret, %function
restore_eret:
    /* ELR/SPSR come back from the frame: the hook may have changed them,
     * and a nested exception inside the hook has overwritten the registers.
     * Mask IRQs first (a hook may have unmasked them): an interrupt taken
     * after the msr would overwrite ELR_EL1/SPSR_EL1 again.  The eret
     * restores PSTATE.I from the frame's SPSR. */
    msr     daifset, #2
    ldp     x1, x3, [sp, #160]
    msr     elr_el1, x1
    msr     spsr_el1, x3
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x30, [sp, #144]
    add     sp, sp, #FRAME_SIZE
    eret
    .size restore_eret, . - restore_eret

/* x0 = vector offset; never returns. */
    .type unexpected_entry, %function
unexpected_entry:
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    bl      guest_unexpected_exception
1:  wfi
    b       1b
    .size unexpected_entry, . - unexpected_entry
