/*
 * mmu_64k_39bit: the mmu guest with a 64K granule and 39-bit VAs (T0SZ =
 * T1SZ = 25).  64K tables resolve 13 bits per level, so 39 - 16 = 23 bits
 * take two levels: the walk starts at level 2 (bits 38:29, 1024 entries of
 * 512 MiB) and ends at level 3 (bits 28:16, 64K pages).  A 512 MiB block
 * cannot map 128 MiB of RAM, so RAM is 2048 level-3 pages.  TTBR1 covers
 * 0xFFFF_FF80_0000_0000 and up: the RAM alias is at 0xFFFF_FF80_4000_0000.
 */
#define MMU_GRANULE_SHIFT 16
#define MMU_VA_BITS 39
#define MMU_GUEST_NAME "mmu_64k_39bit"
/* 0x0000_8000_0000_0000 is in neither half of a 39-bit address space (bits
 * 63:39 are neither all zeros nor all ones): no walk at all, and the Arm ARM
 * reports that as a translation fault at level 0. */
#define LEVEL_TOP_HOLE 0
#define LEVEL_GAP_HOLE 2    /* 0x8000_0000: L2[4] is empty */
#define LEVEL_AFTER_RAM 3   /* 0x4800_0000: L2[2] is RAM's level-3 table, entry 2048 is empty */
#define LEVEL_RAM_LEAF 3    /* RAM is mapped by 64K level-3 pages */
#include "../mmu/main.c"
