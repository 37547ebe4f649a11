/*
 * Direct messaging: route FFA_MSG_SEND_DIRECT_REQ (SMC32 and SMC64) and
 * FFA_MSG_SEND_DIRECT_REQ2 from the normal world to the stub's SPs, and
 * frame their answers as DIRECT_RESP / DIRECT_RESP2.
 */
#include "spmc.h"

#define DIRECT_REQ_PAYLOAD_FIRST 3  /* x3-x7 */
#define DIRECT_REQ_PAYLOAD_COUNT 5
#define DIRECT_REQ2_PAYLOAD_FIRST 4 /* x4-x17 */
#define DIRECT_REQ2_PAYLOAD_COUNT 14

/*
 * Check w1 (sender << 16 | receiver): the sender must be a normal-world
 * endpoint and the receiver one of our SPs that accepts this kind of
 * message (`recv_prop`). Returns the SP, or NULL with the error in *err.
 */
static const struct sp_desc *route(uint32_t w1, uint32_t recv_prop, int32_t *err)
{
	const struct sp_desc *sp = sp_find(FFA_MSG_RECEIVER(w1));

	*err = FFA_RET_INVALID_PARAMETERS;
	if (sp == NULL || (FFA_MSG_SENDER(w1) & FFA_SECURE_ID_BIT) != 0)
		return NULL;
	if ((sp->properties & recv_prop) == 0) {
		*err = FFA_RET_DENIED;
		return NULL;
	}
	return sp;
}

/*
 * A framework message (w2 bit 31): only VM availability, w2[7:0] = VM_CREATED
 * or VM_DESTROYED, w3/w4 a handle, w5[15:0] the VM, for an SP that subscribed
 * to that type in its properties (else INVALID_PARAMETERS, as Hafnium's
 * check_vm_availability_message in src/ffa/spmc/direct_messaging.c).  The SP
 * answers DIRECT_RESP with w2 = the framework flag and the type's ACK, w3 =
 * its status.
 */
static void vm_availability(const struct ffa_regs *req, struct ffa_regs *resp, const struct sp_desc *sp)
{
	uint32_t type = (uint32_t)req->x[2] & 0xFFU;
	uint32_t subscription = type == FFA_DIRECT_MSG_VM_CREATED ? FFA_PARTITION_PROP_VM_CREATED
				: type == FFA_DIRECT_MSG_VM_DESTROYED ? FFA_PARTITION_PROP_VM_DESTROYED : 0;

	if (((uint32_t)req->x[2] & ~(FFA_DIRECT_MSG_FRAMEWORK_FLAG | 0xFFU)) != 0 ||
	    (sp->properties & subscription) == 0 || sp->vm_message == NULL) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	resp->x[0] = FFA_MSG_SEND_DIRECT_RESP;
	resp->x[1] = FFA_MSG_ENDPOINTS(FFA_MSG_RECEIVER(req->x[1]), FFA_MSG_SENDER(req->x[1]));
	resp->x[2] = FFA_DIRECT_MSG_FRAMEWORK_FLAG | (type + 1U);
	resp->x[3] = (uint32_t)sp->vm_message(type, (uint16_t)req->x[5]);
}

/*
 * FFA_MSG_SEND_DIRECT_REQ: w1 = sender << 16 | receiver, w2 = flags,
 * x3-x7 payload (w3-w7 for SMC32); with the framework flag, a VM
 * availability message (vm_availability()).
 */
void ffa_direct_req_handle(const struct ffa_regs *req, struct ffa_regs *resp, bool smc64)
{
	uint32_t w1 = (uint32_t)req->x[1];
	int32_t err;
	const struct sp_desc *sp = route(w1, FFA_PARTITION_PROP_DIRECT_REQ_RECV, &err);

	if (sp == NULL) {
		ffa_error(resp, err);
		return;
	}
	if (((uint32_t)req->x[2] & FFA_DIRECT_MSG_FRAMEWORK_FLAG) != 0) {
		vm_availability(req, resp, sp);
		return;
	}

	struct sp_call call = {
		.in = &req->x[DIRECT_REQ_PAYLOAD_FIRST],
		.out = &resp->x[DIRECT_REQ_PAYLOAD_FIRST],
		.mask = smc64 ? ~UINT64_C(0) : UINT32_MAX,
		.count = DIRECT_REQ_PAYLOAD_COUNT,
		.sender = FFA_MSG_SENDER(w1),
		.receiver = FFA_MSG_RECEIVER(w1),
		.sp = sp,
	};
	sp->handle(&call);

	resp->x[0] = smc64 ? FFA_FN64_MSG_SEND_DIRECT_RESP : FFA_MSG_SEND_DIRECT_RESP;
	resp->x[1] = FFA_MSG_ENDPOINTS(call.receiver, call.sender);
	resp->x[2] = 0;
}

/*
 * FFA_MSG_SEND_DIRECT_REQ2 (FF-A 1.2, SMC64): w1 = sender << 16 | receiver,
 * x2/x3 = the receiver's protocol UUID (Nil = any), x4-x17 payload.
 */
void ffa_direct_req2_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	uint32_t w1 = (uint32_t)req->x[1];
	int32_t err;
	const struct sp_desc *sp;

	if (!ffa_direct_req2_allowed()) {
		ffa_error(resp, FFA_RET_NOT_SUPPORTED);
		return;
	}
	sp = route(w1, FFA_PARTITION_PROP_DIRECT_REQ2_RECV, &err);
	if (sp == NULL) {
		ffa_error(resp, err);
		return;
	}
	if ((req->x[2] | req->x[3]) != 0 &&
	    (req->x[2] != ((uint64_t)sp->uuid[0] | (uint64_t)sp->uuid[1] << 32) ||
	     req->x[3] != ((uint64_t)sp->uuid[2] | (uint64_t)sp->uuid[3] << 32))) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}

	struct sp_call call = {
		.in = &req->x[DIRECT_REQ2_PAYLOAD_FIRST],
		.out = &resp->x[DIRECT_REQ2_PAYLOAD_FIRST],
		.mask = ~UINT64_C(0),
		.count = DIRECT_REQ2_PAYLOAD_COUNT,
		.sender = FFA_MSG_SENDER(w1),
		.receiver = FFA_MSG_RECEIVER(w1),
		.sp = sp,
	};
	sp->handle(&call);

	resp->x[0] = FFA_FN64_MSG_SEND_DIRECT_RESP2;
	resp->x[1] = FFA_MSG_ENDPOINTS(call.receiver, call.sender);
	resp->x[2] = 0;
	resp->x[3] = 0;
}
