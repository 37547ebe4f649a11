/*
 * SPMC stub: boot and the dispatch loop.
 *
 * The SPMC answers every request from the SPMD with exactly one smc: the
 * response frame is zeroed before each request is handled, so every
 * register a response does not define is zero (MBZ).
 */
#include "spmc.h"

struct spmc_state spmc;

/* The frames exchanged with the SPMD; static so a fault can reuse them. */
static struct ffa_regs spmc_req;
static struct ffa_regs spmc_resp;

static void dispatch(const struct ffa_regs *req, struct ffa_regs *resp)
{
	/* SMCCC: the function ID is w0; bit 16 is a hint, not part of the ID. */
	uint32_t fid = (uint32_t)req->x[0] & ~SMCCC_FUNCID_SVE_HINT;

	switch (fid) {
	case FFA_FN64_MSG_SEND_DIRECT_REQ2:
		ffa_direct_req2_handle(req, resp);
		return;
	case FFA_MSG_SEND_DIRECT_REQ:
		ffa_direct_req_handle(req, resp, false);
		return;
	case FFA_FN64_MSG_SEND_DIRECT_REQ:
		ffa_direct_req_handle(req, resp, true);
		return;
	case FFA_VERSION:
		ffa_version_handle(req, resp);
		return;
	case FFA_FEATURES:
		ffa_features_handle(req, resp);
		return;
	case FFA_ID_GET:
		ffa_id_get_handle(req, resp);
		return;
	case FFA_SPM_ID_GET:
		ffa_spm_id_get_handle(req, resp);
		return;
	case FFA_RXTX_MAP:
		ffa_rxtx_map_handle(req, resp, false);
		return;
	case FFA_FN64_RXTX_MAP:
		ffa_rxtx_map_handle(req, resp, true);
		return;
	case FFA_RXTX_UNMAP:
		ffa_rxtx_unmap_handle(req, resp);
		return;
	case FFA_RX_RELEASE:
		ffa_rx_release_handle(req, resp);
		return;
	case FFA_RX_ACQUIRE:
		ffa_rx_acquire_handle(req, resp);
		return;
	case FFA_PARTITION_INFO_GET:
		ffa_partition_info_get_handle(req, resp);
		return;
	case FFA_FN64_PARTITION_INFO_GET_REGS:
		ffa_partition_info_get_regs_handle(req, resp);
		return;
	case FFA_RUN:
		ffa_run_handle(req, resp);
		return;
	case FFA_MSG_SEND2:
		if (spmc_at_least(FFA_VERSION_1_1))
			ffa_msg_send2_handle(req, resp);
		else
			ffa_error(resp, FFA_RET_NOT_SUPPORTED);
		return;
	default:
		/* Memory sharing: kept out of the switch so the hot paths stay as they are. */
		if (ffa_mem_handle(fid, req, resp) || ffa_notif_handle(false, 0, fid, req, resp))
			return;
		/* MSG_WAIT, RUN, YIELD, CONSOLE_LOG, ... and any garbage. */
		ffa_error(resp, FFA_RET_NOT_SUPPORTED);
		return;
	}
}

/* Zero a frame (written out so the compiler emits stores, not a call). */
static inline void regs_clear(struct ffa_regs *regs)
{
	for (uint32_t i = 0; i < FFA_REGS_COUNT; i += 2) {
		regs->x[i] = 0;
		regs->x[i + 1] = 0;
	}
}

/* Send `spmc_resp`, then serve requests forever. */
static __attribute__((noreturn)) void spmc_loop(void)
{
	for (;;) {
		smc_exchange(&spmc_resp, &spmc_req);
		regs_clear(&spmc_resp);
		dispatch(&spmc_req, &spmc_resp);
	}
}

void spmc_main(uint64_t boot_version)
{
	ffa_version_init(boot_version);
	rxtx_init();
	sp_service_init();

	/* Initialised: tell the SPMD we wait for messages. */
	regs_clear(&spmc_resp);
	spmc_resp.x[0] = FFA_MSG_WAIT;
	spmc_loop();
}

/*
 * Called from the exception vectors on a fresh stack: a handler (or the
 * boot code) took an unexpected exception. Answer the request in flight
 * with FFA_ERROR(ABORTED) and keep serving.
 */
void spmc_fault(uint64_t esr, uint64_t elr, uint64_t vector)
{
	(void)esr;
	(void)elr;
	(void)vector;
	regs_clear(&spmc_resp);
	ffa_error(&spmc_resp, FFA_RET_ABORTED);
	spmc_loop();
}
