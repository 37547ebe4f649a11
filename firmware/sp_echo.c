/*
 * Echo SP: answers every payload register + ECHO_DELTA (wrapping at the
 * register width: 32 bits for SMC32 requests).
 */
#include "spmc.h"

void sp_echo_handle(struct sp_call *call)
{
	for (uint32_t i = 0; i < call->count; i++)
		call->out[i] = (call->in[i] + ECHO_DELTA) & call->mask;
}
