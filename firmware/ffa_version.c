/*
 * FF-A version: the version this SPMC implements (chosen at boot) and the
 * version the normal world negotiated with FFA_VERSION.
 */
#include "spmc.h"

static bool version_valid(uint64_t version)
{
	return version == FFA_VERSION_1_0 || version == FFA_VERSION_1_1 ||
	       version == FFA_VERSION_1_2;
}

void ffa_version_init(uint64_t boot_version)
{
	/* 0 (or anything this build cannot implement) = the build default. */
	spmc.version = (uint32_t)(version_valid(boot_version) ? boot_version : SPMC_FFA_VERSION);
	/* Until the normal world calls FFA_VERSION it is assumed to match. */
	spmc.caller_version = spmc.version;
}

/*
 * FFA_VERSION(w1 = requested): bit 31 set or a major other than ours is
 * NOT_SUPPORTED; otherwise answer our version. A requested minor up to ours
 * is recorded as the caller's version; a newer one records nothing.
 */
void ffa_version_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	uint32_t requested = (uint32_t)req->x[1];

	if ((requested & FFA_VERSION_MBZ) != 0 ||
	    FFA_VERSION_MAJOR(requested) != FFA_VERSION_MAJOR(spmc.version)) {
		resp->x[0] = (uint32_t)FFA_RET_NOT_SUPPORTED;
		return;
	}
	if (FFA_VERSION_MINOR(requested) <= FFA_VERSION_MINOR(spmc.version))
		spmc.caller_version = requested;
	resp->x[0] = spmc.version;
}

/* DIRECT_REQ2 needs FF-A 1.2 on both sides. */
bool ffa_direct_req2_allowed(void)
{
	return spmc_at_least(FFA_VERSION_1_2);
}
