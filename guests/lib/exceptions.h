/*
 * EL1 exception vectors for guests that want to survive a synchronous
 * exception (e.g. the UNDEFINED injected for `hvc #1`, or an MMU fault) or
 * take interrupts (IRQs from the GICv3, see gic.h).
 *
 * install_vectors() points VBAR_EL1 at a 2 KiB-aligned table.  Four of its
 * entries save x0-x18, x30, ELR_EL1 and SPSR_EL1 in a struct exception_frame
 * and call a C hook:
 *
 *   0x200 "current EL with SPx, synchronous": guest_sync_exception(esr, elr,
 *         far, spsr); resumes by default at ELR_EL1 + 4, i.e. it skips the
 *         faulting instruction.
 *   0x280 "current EL with SPx, IRQ" and
 *   0x480 "lower EL using AArch64, IRQ": guest_irq(frame); resumes by
 *         default at ELR_EL1 (the interrupted instruction).  The default hook
 *         reports the IRQ like an unexpected exception (prints, powers off):
 *         a guest that unmasks IRQs defines its own (see gic.h).
 *   0x400 "lower EL using AArch64, synchronous" (e.g. an svc from EL0):
 *         guest_lower_sync_exception(esr, elr, far, spsr); the default hook
 *         reports it like an unexpected exception (prints, powers off).
 *
 * The eret restores everything from the frame, so a hook may change where
 * and how the guest resumes through exception_current_frame() (or
 * exception_resume_at()).  The frame lives on the stack and ELR/SPSR are
 * restored from it, so a hook may itself take (and survive) an exception,
 * and an IRQ hook may unmask IRQs to let a higher-priority interrupt preempt
 * it.  Every other entry (SP0, FIQ, SError, AArch32) prints a message and
 * powers the machine off.  Without install_vectors() VBAR_EL1 is whatever
 * the platform reset it to (0); VBAR_EL1 is per CPU, so a secondary CPU
 * calls install_vectors() itself.
 *
 * The bookkeeping (last_exception, exception_current_frame()) is global, not
 * per CPU: with several CPUs, only one at a time may be inside a hook.
 */
#ifndef GUEST_EXCEPTIONS_H
#define GUEST_EXCEPTIONS_H

#include <stdint.h>

struct exception_record {
    uint64_t count;     /* synchronous exceptions handled so far */
    uint64_t esr;       /* ESR_EL1 of the last one */
    uint64_t elr;       /* ELR_EL1: address of the faulting instruction */
    uint64_t far;       /* FAR_EL1 (UNKNOWN unless the EC defines it) */
    uint64_t spsr;      /* SPSR_EL1 */
};

extern volatile struct exception_record last_exception;

/* What the vector saved (vectors.S builds it; the layout is fixed). */
struct exception_frame {
    uint64_t x[19];     /* x0-x18 of the interrupted context */
    uint64_t x30;
    uint64_t elr;       /* where the eret goes (the default is set before the hook) */
    uint64_t spsr;      /* the PSTATE the eret restores */
};

/*
 * Inside a hook: the frame of the exception being handled (NULL outside).
 * Changing elr/spsr/x[] changes how the eret resumes, e.g. elr = x30 to
 * come back from a faulting `blr`, or spsr = EL1h to return from EL0 code
 * into EL1 code.
 */
struct exception_frame *exception_current_frame(void);

/* Inside a hook: resume at pc instead of the default. */
void exception_resume_at(uint64_t pc);

/* The 2 KiB-aligned vector table (vectors.S). */
extern char guest_vector_table[];

/* Write VBAR_EL1 = guest_vector_table and isb. */
void install_vectors(void);

/* Zero last_exception (count included). */
void exception_reset(void);

/*
 * Hook called from the current-EL synchronous vector (elr = ELR_EL1, the
 * faulting instruction; the default resume point is elr + 4).  The default
 * (weak) definition is guest_record_exception(); a guest may define its own.
 */
void guest_sync_exception(uint64_t esr, uint64_t elr, uint64_t far,
                          uint64_t spsr);

/*
 * Hook called from the lower-EL (AArch64) synchronous vector; the default
 * resume point is ELR_EL1 unchanged (after an svc: the next instruction).
 * The default (weak) definition calls guest_unexpected_exception(), because
 * only the guest knows how to get its EL0 code going again.
 */
void guest_lower_sync_exception(uint64_t esr, uint64_t elr, uint64_t far,
                                uint64_t spsr);

/*
 * Hook called from the two IRQ vectors (current EL with SPx, lower EL
 * AArch64) with PSTATE.I set; frame->elr is where the interrupted code
 * resumes, frame->spsr its PSTATE (M[3:0] tells the EL).  A handler
 * typically acknowledges the interrupt (gic_ack()), handles it and ends it
 * (gic_eoi()).  The default (weak) definition prints and powers off.
 */
void guest_irq(struct exception_frame *frame);

/* Called by vectors.S for the handled synchronous entries; runs the right hook. */
void guest_sync_dispatch(struct exception_frame *frame, uint64_t vector_offset,
                         uint64_t esr, uint64_t far);

/* Called by vectors.S for the handled IRQ entries; runs guest_irq(). */
void guest_irq_dispatch(struct exception_frame *frame, uint64_t vector_offset);

/* Store the values in last_exception and increment its count. */
void guest_record_exception(uint64_t esr, uint64_t elr, uint64_t far,
                            uint64_t spsr);

/* Called by the other vector entries: prints and powers off. */
void __attribute__((noreturn)) guest_unexpected_exception(
    uint64_t vector_offset, uint64_t esr, uint64_t elr, uint64_t far);

/* ESR_EL1 fields. */
#define ESR_EC_SHIFT 26
#define ESR_EC_MASK 0x3fu
#define ESR_IL (1u << 25)
#define ESR_ISS_MASK 0x1ffffffu

#define ESR_EC_UNKNOWN 0x00u
#define ESR_EC_SVC64 0x15u
#define ESR_EC_HVC64 0x16u
#define ESR_EC_SMC64 0x17u
#define ESR_EC_IABT_LOW 0x20u
#define ESR_EC_IABT_CUR 0x21u
#define ESR_EC_DABT_LOW 0x24u
#define ESR_EC_DABT_CUR 0x25u

/* Abort ISS: fault status code (DFSC/IFSC) and, for data aborts, WnR. */
#define ESR_FSC_MASK 0x3fu
#define ESR_WNR (1u << 6)
#define FSC_TRANSLATION(level) (0x04u + (level))   /* levels 0-3 */
#define FSC_ACCESS_FLAG(level) (0x08u + (level))   /* levels 1-3 */
#define FSC_PERMISSION(level) (0x0cu + (level))    /* levels 1-3 */

/* Vector offsets (from VBAR_EL1) of the handled entries. */
#define VECTOR_CUR_SPX_SYNC 0x200u
#define VECTOR_CUR_SPX_IRQ 0x280u
#define VECTOR_LOWER_A64_SYNC 0x400u
#define VECTOR_LOWER_A64_IRQ 0x480u

/* SPSR_EL1.M[3:0]: the mode the exception came from (EL0t, EL1t, EL1h). */
#define SPSR_M_MASK 0xfu
#define SPSR_M_EL0T 0x0u
#define SPSR_M_EL1T 0x4u
#define SPSR_M_EL1H 0x5u

static inline uint32_t esr_ec(uint64_t esr)
{
    return (uint32_t)(esr >> ESR_EC_SHIFT) & ESR_EC_MASK;
}

#endif /* GUEST_EXCEPTIONS_H */
