/*
 * EL1 exception vector table (see exceptions.h).
 *
 * Two entries are handled: "current EL with SPx, synchronous" (0x200) and
 * "lower EL using AArch64, synchronous" (0x400).  Both save x0-x18, x30,
 * ELR_EL1 and SPSR_EL1 in a struct exception_frame on the SP_EL1 stack and
 * call guest_sync_dispatch(frame, vector offset, esr, far) (exceptions.c),
 * which runs the C hook; the eret then resumes from the frame, so the hook
 * decides where (frame->elr) and in which state (frame->spsr) the guest goes
 * on.  Every other entry calls guest_unexpected_exception(), which prints a
 * message and powers off.
 */

/* struct exception_frame: x0-x18, x30, ELR_EL1, SPSR_EL1 (22 slots, 176 bytes). */
#define FRAME_SIZE  176

    .section .text.vectors, "ax"
    .balign 2048
    .global guest_vector_table
    .type guest_vector_table, %object
guest_vector_table:
    .balign 0x80
    mov     x0, #0x000
    b       unexpected_entry
    .balign 0x80
    mov     x0, #0x080
    b       unexpected_entry
    .balign 0x80
    mov     x0, #0x100
    b       unexpected_entry
    .balign 0x80
    mov     x0, #0x180
    b       unexpected_entry
    /* 0x200: current EL with SPx, synchronous */
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x1, #0x200
    b       sync_common
    .balign 0x80
    mov     x0, #0x280
    b       unexpected_entry
    .balign 0x80
    mov     x0, #0x300
    b       unexpected_entry
    .balign 0x80
    mov     x0, #0x380
    b       unexpected_entry
    /* 0x400: lower EL using AArch64, synchronous (SP is SP_EL1 here) */
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x1, #0x400
    b       sync_common
    .balign 0x80
    mov     x0, #0x480
    b       unexpected_entry
    .balign 0x80
    mov     x0, #0x500
    b       unexpected_entry
    .balign 0x80
    mov     x0, #0x580
    b       unexpected_entry
    .balign 0x80
    mov     x0, #0x600
    b       unexpected_entry
    .balign 0x80
    mov     x0, #0x680
    b       unexpected_entry
    .balign 0x80
    mov     x0, #0x700
    b       unexpected_entry
    .balign 0x80
    mov     x0, #0x780
    b       unexpected_entry
    .balign 0x80
    .size guest_vector_table, . - guest_vector_table

    .text
    .balign 4
/* x0 and x1 are saved at [sp], x1 = vector offset. */
    .type sync_common, %function
sync_common:
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
    mov     x0, sp
    mrs     x2, esr_el1
    mrs     x3, far_el1
    bl      guest_sync_dispatch
    /* ELR/SPSR come back from the frame: the hook may have changed them,
     * and a nested exception inside the hook has overwritten the registers. */
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
    .size sync_common, . - sync_common

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
