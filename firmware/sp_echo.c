/*
 * Echo SP: answers every payload register + ECHO_DELTA (wrapping at the
 * register width: 32 bits for SMC32 requests).
 */
#include "spmc.h"

void sp_echo_handle(struct sp_call *call)
{
	const uint64_t *restrict in = call->in;
	uint64_t *restrict out = call->out;
	uint64_t mask = call->mask;
	uint32_t count = call->count;

	/* Plain scalar loop: vectorising 5-14 registers only adds overhead. */
#pragma clang loop vectorize(disable) interleave(disable)
	for (uint32_t i = 0; i < count; i++)
		out[i] = (in[i] + ECHO_DELTA) & mask;
}
