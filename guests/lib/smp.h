/*
 * Secondary CPUs: PSCI CPU_ON(target, secondary_entry, context) starts one
 * at secondary_entry (secondary.S) with the context ID, which it takes as
 * the top of its stack, and calls the guest's secondary_main(context).
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdint.h>

#define CPU1_MPIDR 1u /* the second CPU's affinity (Aff0 = 1 on QEMU virt): PSCI CPU_ON's target */

extern char secondary_entry[];
void secondary_main(uint64_t context);

#endif /* GUEST_SMP_H */
