/*
 * Discovery ABIs: FFA_FEATURES, FFA_ID_GET, FFA_SPM_ID_GET.
 */
#include "spmc.h"

/* Properties (w2) FFA_FEATURES reports for FFA_RXTX_MAP. */
static uint32_t rxtx_map_properties(void)
{
	uint32_t props = FFA_RXTX_MAP_MIN_BUF_4K;

	if (spmc_at_least(FFA_VERSION_1_2))
		props |= (uint32_t)SPMC_RXTX_MAX_PAGES << FFA_RXTX_MAP_MAX_PAGES_SHIFT;
	return props;
}

/*
 * Is `fid` an ABI the normal world can call on this SPMC at its version?
 * Sets *props to the w2 properties of a supported one.
 */
static bool abi_supported(uint32_t fid, uint32_t *props)
{
	*props = 0;
	switch (fid) {
	case FFA_VERSION:
	case FFA_FEATURES:
	case FFA_ID_GET:
	case FFA_RX_RELEASE:
	case FFA_RXTX_UNMAP:
	case FFA_PARTITION_INFO_GET:
	case FFA_MSG_SEND_DIRECT_REQ:
	case FFA_FN64_MSG_SEND_DIRECT_REQ:
	case FFA_RUN:
		return true;
	/* Memory sharing (w2 = 0: no dynamic buffers, only the TX buffer). */
	case FFA_MEM_LEND:
	case FFA_FN64_MEM_LEND:
		return spmc_flavour != SPMC_FLAVOUR_OPTEE; /* OP-TEE's SPMC lends nothing */
	case FFA_MEM_SHARE:
	case FFA_FN64_MEM_SHARE:
	case FFA_MEM_DONATE:
	case FFA_FN64_MEM_DONATE:
	case FFA_MEM_RETRIEVE_REQ:
	case FFA_FN64_MEM_RETRIEVE_REQ:
	case FFA_MEM_RECLAIM:
	case FFA_MEM_FRAG_TX:
	case FFA_MEM_FRAG_RX:
		return true;
	case FFA_RXTX_MAP:
	case FFA_FN64_RXTX_MAP:
		*props = rxtx_map_properties();
		return true;
	case FFA_SPM_ID_GET:
	case FFA_RX_ACQUIRE:
	case FFA_MSG_SEND2:
		return spmc_at_least(FFA_VERSION_1_1);
	case FFA_FN64_PARTITION_INFO_GET_REGS:
		return spmc_at_least(FFA_VERSION_1_2);
	case FFA_FN64_MSG_SEND_DIRECT_REQ2:
		return ffa_direct_req2_allowed();
	default:
		return ffa_notif_supported(fid);
	}
}

/*
 * FFA_FEATURES(w1): bit 31 set = a function ID, clear = a feature ID. Of the
 * feature IDs the normal world has the schedule receiver interrupt (w2 = its
 * SGI), with notifications; the notification pending and managed exit
 * interrupts are for partitions. Input properties (w2) are ignored.
 */
void ffa_features_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	uint32_t id = (uint32_t)req->x[1];
	uint32_t props;

	if ((id & FFA_FEATURES_FUNC_ID) != 0 && abi_supported(id, &props)) {
		ffa_success(resp, props, 0);
		return;
	}
	if (id == FFA_FEATURE_ID_SRI && ffa_notif_supported(FFA_FN64_NOTIFICATION_INFO_GET)) {
		ffa_success(resp, SPMC_SRI_INTID, 0);
		return;
	}
	ffa_error(resp, FFA_RET_NOT_SUPPORTED);
}

/* FFA_ID_GET: every request comes through the hypervisor (endpoint 0). */
void ffa_id_get_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	(void)req;
	ffa_success(resp, FFA_HYP_ID, 0);
}

/* FFA_SPM_ID_GET (FF-A 1.1+): the SPMC's own endpoint ID. */
void ffa_spm_id_get_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	(void)req;
	if (!spmc_at_least(FFA_VERSION_1_1)) {
		ffa_error(resp, FFA_RET_NOT_SUPPORTED);
		return;
	}
	ffa_success(resp, FFA_SPMC_ID, 0);
}
