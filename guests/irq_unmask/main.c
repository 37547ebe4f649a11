/*
 * irq_unmask: an IRQ that becomes pending while IRQs are masked is taken
 * right after the instruction that unmasks them, however long the masked
 * stretch before it.  SGI 6 is sent to this CPU with PSTATE.I set, the CPU
 * then works through many blocks still masked, and `msr daifclr, #2`
 * unmasks: the handler must see ELR_EL1 at the instruction after it (QEMU
 * ends a translation block after a write to DAIF), and exactly one IRQ.
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "gic.h"
#include "tap.h"

#define SGI 6u
#define MASKED_ROUNDS 20000u

static volatile struct {
    unsigned count;
    uint32_t intid;
    uint64_t elr;
} seen;

void guest_irq(struct exception_frame *frame)
{
    uint32_t intid = gic_ack();

    if (intid == GIC_SPURIOUS)
        return;
    seen.count++;
    seen.intid = intid;
    seen.elr = frame->elr;
    gic_eoi(intid);
}

int main(void)
{
    volatile unsigned work = 0;
    uint64_t after_unmask;

    install_vectors();
    irq_mask();
    tap_plan(5);
    expect_eq_u64(gic_init(), 0, "GIC initialised");
    gic_irq_setup(SGI, 0x80);
    gic_send_sgi(SGI, gic_read_mpidr());
    tap_ok((read_isr_el1() & ISR_EL1_I) != 0, "SGI %u pending while IRQs are masked", SGI);
    for (unsigned i = 0; i < MASKED_ROUNDS; i++)
        work = work + i;  /* a block per round, all masked */
    expect_eq_u64(seen.count, 0, "not taken in %u masked rounds", MASKED_ROUNDS);
    asm volatile("adr %0, 1f\n\tmsr daifclr, #2\n1:\tnop" : "=r"(after_unmask) : : "memory");
    irq_mask();
    expect_eq_u64(seen.count, 1, "taken once unmasked (INTID %u)", seen.intid);
    expect_eq_u64(seen.elr, after_unmask, "at the instruction after msr daifclr");
    return tap_done();
}
