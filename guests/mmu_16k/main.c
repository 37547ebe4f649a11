/*
 * mmu_16k: the mmu guest with a 16K granule and 48-bit VAs (T0SZ = T1SZ =
 * 16).  The walk has four levels: level 0 resolves VA bit 47 only (two
 * entries), level 1 bits 46:36 (64 GiB each), level 2 bits 35:25 (32 MiB,
 * the only block size), level 3 bits 24:14 (16K pages).
 *
 * The 16K granule is optional (ID_AA64MMFR0_EL1.TGran16): Cortex-A72 lacks
 * it, so there the guest prints a TAP skip-all plan; run it on a CPU that
 * has it (QEMU: -cpu cortex-a76 or max).
 */
#define MMU_GRANULE_SHIFT 14
#define MMU_VA_BITS 48
#define MMU_GUEST_NAME "mmu_16k"
#define LEVEL_TOP_HOLE 0    /* 0x0000_8000_0000_0000: L0[1] is empty */
#define LEVEL_GAP_HOLE 2    /* 0x8000_0000: under L1[0] (the low 64 GiB), L2[64] is empty */
#define LEVEL_AFTER_RAM 2   /* 0x4800_0000: L2[36] is empty */
#define LEVEL_RAM_LEAF 2    /* RAM is mapped by 32 MiB level-2 blocks */
#include "../mmu/main.c"
