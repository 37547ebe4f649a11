#include "exceptions.h"

#include "console.h"
#include "smccc.h"

volatile struct exception_record last_exception;

/* The frame being handled; saved and restored around each hook so that an
 * exception taken inside a hook does not lose the outer one. */
static struct exception_frame *current_frame;

void install_vectors(void)
{
    asm volatile("msr vbar_el1, %0\n\tisb" : : "r"(guest_vector_table) : "memory");
}

void exception_reset(void)
{
    last_exception.count = 0;
    last_exception.esr = 0;
    last_exception.elr = 0;
    last_exception.far = 0;
    last_exception.spsr = 0;
}

void guest_record_exception(uint64_t esr, uint64_t elr, uint64_t far,
                            uint64_t spsr)
{
    last_exception.esr = esr;
    last_exception.elr = elr;
    last_exception.far = far;
    last_exception.spsr = spsr;
    last_exception.count = last_exception.count + 1;
}

__attribute__((weak)) void guest_sync_exception(uint64_t esr, uint64_t elr,
                                                uint64_t far, uint64_t spsr)
{
    guest_record_exception(esr, elr, far, spsr);
}

__attribute__((weak)) void guest_lower_sync_exception(uint64_t esr,
                                                      uint64_t elr,
                                                      uint64_t far,
                                                      uint64_t spsr)
{
    (void)spsr;
    guest_unexpected_exception(VECTOR_LOWER_A64_SYNC, esr, elr, far);
}

struct exception_frame *exception_current_frame(void)
{
    return current_frame;
}

void exception_resume_at(uint64_t pc)
{
    if (current_frame)
        current_frame->elr = pc;
}

void guest_sync_dispatch(struct exception_frame *frame, uint64_t vector_offset,
                         uint64_t esr, uint64_t far)
{
    struct exception_frame *outer = current_frame;
    uint64_t elr = frame->elr;

    current_frame = frame;
    if (vector_offset == VECTOR_CUR_SPX_SYNC) {
        frame->elr = elr + 4;   /* skip the faulting instruction */
        guest_sync_exception(esr, elr, far, frame->spsr);
    } else {
        guest_lower_sync_exception(esr, elr, far, frame->spsr);
    }
    current_frame = outer;
}

__attribute__((weak)) void guest_irq(struct exception_frame *frame)
{
    uint64_t vector_offset = (frame->spsr & SPSR_M_MASK) == SPSR_M_EL0T
                                 ? VECTOR_LOWER_A64_IRQ
                                 : VECTOR_CUR_SPX_IRQ;

    printf("\nunexpected exception: IRQ (vector 0x%03llx, no guest_irq hook) "
           "elr=0x%016llx spsr=0x%08llx\n",
           (unsigned long long)vector_offset, (unsigned long long)frame->elr,
           (unsigned long long)frame->spsr);
    guest_system_off(-1);
}

void guest_irq_dispatch(struct exception_frame *frame, uint64_t vector_offset)
{
    struct exception_frame *outer = current_frame;

    (void)vector_offset;    /* frame->spsr tells the hook where it came from */
    current_frame = frame;
    guest_irq(frame);
    current_frame = outer;
}

static const char *const vector_names[4] = {
    "current EL with SP0",
    "current EL with SPx",
    "lower EL using AArch64",
    "lower EL using AArch32",
};

static const char *const kind_names[4] = {
    "synchronous", "IRQ", "FIQ", "SError",
};

void guest_unexpected_exception(uint64_t vector_offset, uint64_t esr,
                                uint64_t elr, uint64_t far)
{
    unsigned group = (unsigned)(vector_offset >> 9) & 3;
    unsigned kind = (unsigned)(vector_offset >> 7) & 3;

    printf("\nunexpected exception: %s, %s (vector 0x%03llx) "
           "esr=0x%08llx (EC 0x%02x) elr=0x%016llx far=0x%016llx\n",
           vector_names[group], kind_names[kind],
           (unsigned long long)vector_offset, (unsigned long long)esr,
           esr_ec(esr), (unsigned long long)elr, (unsigned long long)far);
    guest_system_off(-1);
}

_Static_assert(sizeof(struct exception_frame) == 176,
               "struct exception_frame must match FRAME_SIZE in vectors.S");
