/*
 * SPMC stub entry point and exception vectors (Secure EL1, MMU off).
 *
 * Boot contract: the SPMD enters at _start with x0 = the FF-A version to
 * implement (0 = build default) and every other register zero.
 */

	.section .text.boot, "ax"
	.globl _start
	.type _start, %function
_start:
	mov	x19, x0				/* boot FF-A version */

	adrp	x1, __stack_top
	add	x1, x1, :lo12:__stack_top
	mov	sp, x1

	/*
	 * Do not trap FP/SIMD (CPACR_EL1.FPEN = 0b11): the compiler may use
	 * q registers for struct copies and loops even with
	 * -mgeneral-regs-only (zig cc's -mcpu feature list re-enables NEON).
	 */
	mov	x1, #(3 << 20)
	msr	cpacr_el1, x1
	isb

	/* Exception vectors: any unexpected exception answers FFA_ERROR. */
	adrp	x1, spmc_vectors
	add	x1, x1, :lo12:spmc_vectors
	msr	vbar_el1, x1
	isb

	/* Zero .bss (the stack lives in its own NOLOAD section). */
	adrp	x1, __bss_start
	add	x1, x1, :lo12:__bss_start
	adrp	x2, __bss_end
	add	x2, x2, :lo12:__bss_end
1:	cmp	x1, x2
	b.hs	2f
	stp	xzr, xzr, [x1], #16
	b	1b
2:
	mov	x0, x19
	bl	spmc_main
3:	b	3b				/* spmc_main never returns */
	.size _start, . - _start

/*
 * Vector table: 16 entries of 128 bytes. Every entry reports the fault to
 * spmc_fault(), which answers the pending request with FFA_ERROR(ABORTED)
 * on a fresh stack and resumes the dispatch loop.
 */
	.macro	vector_entry, index
	.balign	128
	mrs	x0, esr_el1
	mrs	x1, elr_el1
	mov	x2, #\index
	b	spmc_vector_common
	.endm

	.section .text.vectors, "ax"
	.balign	2048
	.globl spmc_vectors
spmc_vectors:
	vector_entry 0
	vector_entry 1
	vector_entry 2
	vector_entry 3
	vector_entry 4
	vector_entry 5
	vector_entry 6
	vector_entry 7
	vector_entry 8
	vector_entry 9
	vector_entry 10
	vector_entry 11
	vector_entry 12
	vector_entry 13
	vector_entry 14
	vector_entry 15

spmc_vector_common:
	/* Back to EL1h with interrupts masked, a fresh stack, then C. */
	msr	spsel, #1
	msr	daifset, #0xf
	adrp	x3, __stack_top
	add	x3, x3, :lo12:__stack_top
	mov	sp, x3
	bl	spmc_fault
4:	b	4b				/* spmc_fault never returns */
