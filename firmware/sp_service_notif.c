/*
 * Service SP: the notification commands.  The SP speaks for itself; the
 * other endpoint is always the direct request's sender.  A bitmap travels as
 * two 32-bit halves so the commands read the same over SMC32 and SMC64.
 *
 *   NOTIF_BIND [lo, hi, flags]: FFA_NOTIFICATION_BIND(sender = requester,
 *       receiver = this SP) -> [status]
 *   NOTIF_SET [lo, hi, flags]: FFA_NOTIFICATION_SET(sender = this SP,
 *       receiver = requester) -> [status]
 *   NOTIF_GET: FFA_NOTIFICATION_GET of this SP's vCPU 0, from SPs and VMs
 *       -> [status, from VMs low, from VMs high, from SPs low, from SPs high]
 *
 * status: 0, or the FF-A error code the SPMC answered (as 32 bits).
 */
#include "spmc.h"

static uint32_t notif_call(const struct sp_call *call, uint32_t fid, uint32_t w1, uint32_t w2,
			   struct ffa_regs *resp)
{
	struct ffa_regs req = { .x = { fid, w1, w2, (uint32_t)sp_arg(call, 1), (uint32_t)sp_arg(call, 2) } };

	spmc_sp_call(call->sp->id, &req, resp);
	return resp->x[0] == FFA_SUCCESS ? 0 : (uint32_t)resp->x[2];
}

void service_cmd_notif_bind(struct sp_call *call)
{
	struct ffa_regs resp;

	sp_ret(call, 0, notif_call(call, FFA_NOTIFICATION_BIND, FFA_MSG_ENDPOINTS(call->sender, call->sp->id),
				   (uint32_t)sp_arg(call, 3), &resp));
}

void service_cmd_notif_set(struct sp_call *call)
{
	struct ffa_regs resp;

	sp_ret(call, 0, notif_call(call, FFA_NOTIFICATION_SET, FFA_MSG_ENDPOINTS(call->sp->id, call->sender),
				   (uint32_t)sp_arg(call, 3), &resp));
}

void service_cmd_notif_get(struct sp_call *call)
{
	struct ffa_regs req = { .x = { FFA_NOTIFICATION_GET, call->sp->id, 3 } };
	struct ffa_regs resp;

	spmc_sp_call(call->sp->id, &req, &resp);
	if (resp.x[0] != FFA_SUCCESS) {
		sp_ret(call, 0, (uint32_t)resp.x[2]);
		return;
	}
	sp_ret(call, 0, 0);
	sp_ret(call, 1, (uint32_t)resp.x[4]);
	sp_ret(call, 2, (uint32_t)resp.x[5]);
	sp_ret(call, 3, (uint32_t)resp.x[2]);
	sp_ret(call, 4, (uint32_t)resp.x[3]);
}
