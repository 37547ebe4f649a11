/*
 * OP-TEE SP (--spmc-flavour optee): the part of OP-TEE's FF-A ABI that a
 * normal-world driver needs to probe, answered by a trusted OS that holds no
 * trusted applications.  The ABI is the one Linux's OP-TEE driver speaks
 * (drivers/tee/optee/optee_ffa.h, the OPTEE_FFA_* service IDs in w3 of an
 * SMC32 direct request; optee_msg.h for the message argument):
 *
 *   GET_API_VERSION -> w3 = 1, w4 = 0 (OP-TEE's FF-A ABI 1.0)
 *   GET_OS_VERSION -> w3 = w4 = w5 = 0 (this is not an OP-TEE release)
 *   EXCHANGE_CAPABILITIES -> w3 = 0 (success), w4 = 0 RPC parameters,
 *       w5 = 0 capabilities (no argument offset, no asynchronous
 *       notification), w6 = 0 (the driver's default notification count)
 *   UNREGISTER_SHM [w4/w5 handle] -> w3 = 0
 *   YIELDING_CALL_WITH_ARG [w4/w5 handle, w6 offset] -> the SP retrieves the
 *       shared memory the driver registered (FFA_MEM_RETRIEVE_REQ, naming
 *       the request's sender), reads the struct optee_msg_arg at its start
 *       and answers in it: OPEN_SESSION gets TEEC_ERROR_ITEM_NOT_FOUND (no
 *       such trusted application), every other command
 *       TEEC_ERROR_NOT_SUPPORTED, both with origin TEEC_ORIGIN_TEE; then it
 *       relinquishes and returns w3 = 0, w4 = RETURN_DONE.  A handle it
 *       cannot retrieve, or one shared read-only, is w3 = FFA_INVALID_PARAMETERS.
 *   anything else -> w3 = FFA_NOT_SUPPORTED
 */
#include "mem.h"

#define OPTEE_FFA_GET_API_VERSION 0U
#define OPTEE_FFA_GET_OS_VERSION 1U
#define OPTEE_FFA_EXCHANGE_CAPABILITIES 2U
#define OPTEE_FFA_UNREGISTER_SHM 3U
#define OPTEE_FFA_YIELDING_CALL_WITH_ARG 0x80000000U
#define OPTEE_FFA_YIELDING_CALL_RETURN_DONE 0U
#define OPTEE_FFA_API_MAJOR 1U
#define OPTEE_FFA_API_MINOR 0U

/* struct optee_msg_arg: cmd u32 @0, func u32 @4, session u32 @8, cancel_id u32 @12, pad u32 @16,
 * ret u32 @20, ret_origin u32 @24, num_params u32 @28, then the parameters. */
#define OPTEE_MSG_ARG_CMD 0
#define OPTEE_MSG_ARG_RET 20
#define OPTEE_MSG_ARG_RET_ORIGIN 24
#define OPTEE_MSG_CMD_OPEN_SESSION 0U
#define TEEC_ERROR_ITEM_NOT_FOUND 0xFFFF0008U
#define TEEC_ERROR_NOT_SUPPORTED 0xFFFF000AU
#define TEEC_ORIGIN_TEE 3U

static void call_with_arg(struct sp_call *call)
{
	uint64_t handle = sp_arg(call, 1) | sp_arg(call, 2) << 32;
	struct sp_retrieved m;
	uint64_t address;
	uint32_t pages;
	volatile uint32_t *arg;

	if (sp_arg(call, 3) != 0 || sp_mem_retrieve(call->sp->id, call->sender, handle, &m) != 0) {
		sp_ret(call, 0, (uint32_t)FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if ((m.perms & MEM_PERM_DATA_MASK) != MEM_PERM_DATA_RW || !sp_mem_constituent(&m, 0, &address, &pages) ||
	    pages == 0) {
		sp_mem_end(&m, true);
		sp_ret(call, 0, (uint32_t)FFA_RET_INVALID_PARAMETERS);
		return;
	}
	/* The MMU is off: the SP reaches the page at its physical address. */
	arg = (volatile uint32_t *)(uintptr_t)address;
	arg[OPTEE_MSG_ARG_RET / 4] = arg[OPTEE_MSG_ARG_CMD / 4] == OPTEE_MSG_CMD_OPEN_SESSION ? TEEC_ERROR_ITEM_NOT_FOUND
											      : TEEC_ERROR_NOT_SUPPORTED;
	arg[OPTEE_MSG_ARG_RET_ORIGIN / 4] = TEEC_ORIGIN_TEE;
	sp_mem_end(&m, true);
	sp_ret(call, 0, 0);
	sp_ret(call, 1, OPTEE_FFA_YIELDING_CALL_RETURN_DONE);
}

void sp_optee_handle(struct sp_call *call)
{
	switch ((uint32_t)sp_arg(call, 0)) {
	case OPTEE_FFA_GET_API_VERSION:
		sp_ret(call, 0, OPTEE_FFA_API_MAJOR);
		sp_ret(call, 1, OPTEE_FFA_API_MINOR);
		return;
	case OPTEE_FFA_GET_OS_VERSION:
	case OPTEE_FFA_EXCHANGE_CAPABILITIES:
	case OPTEE_FFA_UNREGISTER_SHM:
		return; /* the answer is all zeros (the router zeroed it) */
	case OPTEE_FFA_YIELDING_CALL_WITH_ARG:
		call_with_arg(call);
		return;
	default:
		sp_ret(call, 0, (uint32_t)FFA_RET_NOT_SUPPORTED);
		return;
	}
}
