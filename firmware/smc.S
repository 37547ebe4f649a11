/*
 * void smc_exchange(const struct ffa_regs *out, struct ffa_regs *in);
 *
 * Hands x0-x17 (loaded from *out) to the SPMD with `smc #0`; when the SPMD
 * resumes us, x0-x17 hold the next request, stored into *in. x19-x30 and sp
 * survive the smc (SMCCC: only x0-x17 carry the message).
 */
	.section .text.smc_exchange, "ax"
	.globl smc_exchange
	.type smc_exchange, %function
	.balign 16
smc_exchange:
	stp	x19, x20, [sp, #-16]!
	mov	x19, x1				/* where the reply goes */
	mov	x20, x0
	ldp	x0, x1, [x20, #0]
	ldp	x2, x3, [x20, #16]
	ldp	x4, x5, [x20, #32]
	ldp	x6, x7, [x20, #48]
	ldp	x8, x9, [x20, #64]
	ldp	x10, x11, [x20, #80]
	ldp	x12, x13, [x20, #96]
	ldp	x14, x15, [x20, #112]
	ldp	x16, x17, [x20, #128]
	smc	#0
	stp	x0, x1, [x19, #0]
	stp	x2, x3, [x19, #16]
	stp	x4, x5, [x19, #32]
	stp	x6, x7, [x19, #48]
	stp	x8, x9, [x19, #64]
	stp	x10, x11, [x19, #80]
	stp	x12, x13, [x19, #96]
	stp	x14, x15, [x19, #112]
	stp	x16, x17, [x19, #128]
	ldp	x19, x20, [sp], #16
	ret
	.size smc_exchange, . - smc_exchange
