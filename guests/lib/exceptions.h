/*
 * EL1 exception vectors for guests that want to survive a synchronous
 * exception (e.g. the UNDEFINED injected for `hvc #1`).
 *
 * install_vectors() points VBAR_EL1 at a 2 KiB-aligned table.  Its
 * "current EL with SPx, synchronous" entry (offset 0x200) saves x0-x18 and
 * x30, calls guest_sync_exception(esr, elr, far, spsr) and returns with eret
 * to ELR_EL1 + 4, i.e. it skips the faulting instruction.  ELR_EL1 and
 * SPSR_EL1 are saved before the hook runs and restored after it, so the hook
 * may itself take (and survive) an exception.  Every other entry prints a
 * message and powers the machine off.  Without install_vectors() VBAR_EL1 is
 * whatever the platform reset it to (0).
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

/* The 2 KiB-aligned vector table (vectors.S). */
extern char guest_vector_table[];

/* Write VBAR_EL1 = guest_vector_table and isb. */
void install_vectors(void);

/* Zero last_exception (count included). */
void exception_reset(void);

/*
 * Hook called from the synchronous-exception vector.  The default (weak)
 * definition is guest_record_exception(); a guest may define its own.
 */
void guest_sync_exception(uint64_t esr, uint64_t elr, uint64_t far,
                          uint64_t spsr);

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
#define ESR_EC_HVC64 0x16u
#define ESR_EC_SMC64 0x17u
#define ESR_EC_IABT_CUR 0x21u
#define ESR_EC_DABT_CUR 0x25u

static inline uint32_t esr_ec(uint64_t esr)
{
    return (uint32_t)(esr >> ESR_EC_SHIFT) & ESR_EC_MASK;
}

#endif /* GUEST_EXCEPTIONS_H */
