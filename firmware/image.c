/*
 * Absolute symbols for the linker script (link.ld cannot include the
 * generated header): the image base and the secure RAM size.
 */
#include "spmc.h"

__attribute__((used, naked)) static void image_symbols(void)
{
	__asm__(".globl __secure_ram_pa\n\t.set __secure_ram_pa, %c0\n\t"
		".globl __secure_ram_size\n\t.set __secure_ram_size, %c1"
		:
		: "i"(SECURE_RAM_PA), "i"(SECURE_RAM_SIZE));
}
