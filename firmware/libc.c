/*
 * The two libc routines the compiler may emit calls to (struct copies and
 * zeroing). The image runs with the MMU off, where unaligned accesses must
 * be avoided: 8-byte accesses only when both sides are 8-byte aligned.
 * `volatile` keeps the compiler from turning the loops back into calls.
 */
#include "spmc.h"

void *memset(void *dst, int c, size_t n)
{
	volatile unsigned char *d = dst;

	if ((((uintptr_t)d) & 7) == 0) {
		uint64_t word = (unsigned char)c * UINT64_C(0x0101010101010101);
		volatile uint64_t *w = (volatile uint64_t *)d;

		for (; n >= 8; n -= 8)
			*w++ = word;
		d = (volatile unsigned char *)w;
	}
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	volatile unsigned char *d = dst;
	const volatile unsigned char *s = src;

	if (((((uintptr_t)d) | ((uintptr_t)s)) & 7) == 0) {
		volatile uint64_t *wd = (volatile uint64_t *)d;
		const volatile uint64_t *ws = (const volatile uint64_t *)s;

		for (; n >= 8; n -= 8)
			*wd++ = *ws++;
		d = (volatile unsigned char *)wd;
		s = (const volatile unsigned char *)ws;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}
