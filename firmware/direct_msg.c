/*
 * Direct messaging: route FFA_MSG_SEND_DIRECT_REQ (SMC32 and SMC64) and
 * FFA_MSG_SEND_DIRECT_REQ2 from the normal world to the stub's SPs, and
 * frame their answers as DIRECT_RESP / DIRECT_RESP2.
 *
 * An SP may give the CPU back before it answers: it yields, and the caller
 * gets FFA_YIELD(w1 = SP << 16 | vCPU 0, w2/w3 = 0: no timeout), or it is
 * preempted by a normal-world interrupt, and the caller gets
 * FFA_INTERRUPT(w1 = SP << 16 | vCPU 0, w2 = 0) to go and handle it.  The SP
 * stays blocked in that request (another direct request to it is BUSY), and
 * FFA_RUN(w1 = SP << 16 | vCPU) resumes it; FFA_RUN is then answered as the
 * request would have been.  FFA_RUN of an unknown SP or vCPU is
 * INVALID_PARAMETERS, of an SP with nothing to resume DENIED.
 */
#include "spmc.h"

#define DIRECT_REQ_PAYLOAD_FIRST 3  /* x3-x7 */
#define DIRECT_REQ_PAYLOAD_COUNT 5
#define DIRECT_REQ2_PAYLOAD_FIRST 4 /* x4-x17 */
#define DIRECT_REQ2_PAYLOAD_COUNT 14

/* The one direct request an SP gave the CPU back in, until FFA_RUN sees it answered. */
static struct {
	bool active;
	const struct sp_desc *sp;
	uint16_t sender;
	uint32_t resp_fid; /* how the answer is framed: DIRECT_RESP (either width) or DIRECT_RESP2 */
	uint64_t mask;
} blocked;

static const uint64_t no_payload[DIRECT_REQ2_PAYLOAD_COUNT];

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
	if (blocked.active && blocked.sp == sp) {
		*err = FFA_RET_BUSY;
		return NULL;
	}
	return sp;
}

/*
 * Run the SP on `call` (or resume it) and frame what comes back: its answer
 * as `resp_fid`, or FFA_YIELD / FFA_INTERRUPT.
 */
static void run_sp(struct sp_call *call, uint32_t resp_fid, struct ffa_regs *resp, bool resume)
{
	call->stopped = 0;
	if (resume)
		call->sp->resume(call);
	else
		call->sp->handle(call);
	if (call->stopped != 0) {
		blocked.active = true;
		blocked.sp = call->sp;
		blocked.sender = call->sender;
		blocked.resp_fid = resp_fid;
		blocked.mask = call->mask;
		for (uint32_t i = 0; i < call->count; i++)
			call->out[i] = 0;
		resp->x[0] = call->stopped;
		resp->x[1] = (uint32_t)call->sp->id << 16;
		return;
	}
	blocked.active = false;
	resp->x[0] = resp_fid;
	resp->x[1] = FFA_MSG_ENDPOINTS(call->receiver, call->sender);
	resp->x[2] = 0;
	if (resp_fid == FFA_FN64_MSG_SEND_DIRECT_RESP2)
		resp->x[3] = 0;
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
	run_sp(&call, smc64 ? FFA_FN64_MSG_SEND_DIRECT_RESP : FFA_MSG_SEND_DIRECT_RESP, resp, false);
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
	run_sp(&call, FFA_FN64_MSG_SEND_DIRECT_RESP2, resp, false);
}

void ffa_run_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	uint32_t w1 = (uint32_t)req->x[1];
	const struct sp_desc *sp = sp_find(FFA_MSG_SENDER(w1));
	bool req2 = blocked.resp_fid == FFA_FN64_MSG_SEND_DIRECT_RESP2;

	if (sp == NULL || (w1 & 0xFFFFU) >= sp->exec_contexts) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (!blocked.active || blocked.sp != sp) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}

	struct sp_call call = {
		.in = no_payload,
		.out = &resp->x[req2 ? DIRECT_REQ2_PAYLOAD_FIRST : DIRECT_REQ_PAYLOAD_FIRST],
		.mask = blocked.mask,
		.count = req2 ? DIRECT_REQ2_PAYLOAD_COUNT : DIRECT_REQ_PAYLOAD_COUNT,
		.sender = blocked.sender,
		.receiver = sp->id,
		.sp = sp,
	};
	run_sp(&call, blocked.resp_fid, resp, true);
}
