/*
 * Notifications (DEN0077A chapter 10), as Hafnium v2.15's SPMC serves them
 * (src/api.c api_ffa_notification_*, src/ffa/spmc/notifications.c): one
 * bitmap of 64 global notifications per receiver, who may signal each bit
 * (its binding) and what is pending.  Receivers are the normal world's VMs
 * whose bitmap the hypervisor created (VM 0, the hypervisor or a kernel
 * without one, included) and the stub's SPs that declare notification
 * support in their properties.  Per-vCPU notifications are refused, as
 * Hafnium does since v2.14.
 *
 * Normal-world calls come through the hypervisor, which vouches for the
 * endpoint IDs in w1; an SP's calls (spmc_sp_call) must name itself.  In
 * Hafnium's order of checks:
 *
 *   BITMAP_CREATE(w1 = VM ID, w2 = vCPU count), BITMAP_DESTROY(w1): the
 *       normal world's only (NOT_SUPPORTED from an SP); a secure ID is
 *       INVALID_PARAMETERS; creating an existing bitmap is DENIED, with no
 *       free slot NO_MEMORY; destroying a missing one, or one with
 *       notifications pending, DENIED.
 *   BIND / UNBIND(w1 = sender << 16 | receiver, w2 = flags (UNBIND: ignored),
 *       w3/w4 = bitmap low/high): a flag, an endpoint pair the caller may
 *       not name (pair_allowed()), an empty bitmap or an unknown receiver
 *       is INVALID_PARAMETERS; VM 0 before its BITMAP_CREATE is
 *       NOT_SUPPORTED; a bit bound already (BIND) or bound to another
 *       sender (UNBIND), or pending, is DENIED.
 *   SET(w1 = sender << 16 | receiver, w2 = flags: bit 1 delays the schedule
 *       receiver interrupt, the rest MBZ): a flag other than the delay (and
 *       the delay from the normal world), a pair the caller may not name or
 *       an empty bitmap is INVALID_PARAMETERS, an unknown receiver too;
 *       VM 0 without a bitmap, or a bit not bound to the sender, is DENIED.
 *   GET(w1 = vCPU << 16 | receiver, w2 = bitmaps wanted: bit 0 from SPs,
 *       bit 1 from VMs, bit 2 SPM framework, bit 3 hypervisor framework) ->
 *       SUCCESS(w2/w3 from SPs, w4/w5 from VMs, w6 from the SPM framework,
 *       w7 from the hypervisor's: bit 0 "RX buffer full", msg.c):
 *       what is returned is no longer pending.  A normal-world
 *       receiver asking for the VM or hypervisor bitmap is
 *       INVALID_PARAMETERS.
 *   INFO_GET_64 (the normal world's; not the SMC32 form): the receivers with
 *       notifications pending that no INFO_GET listed yet, SPs first, one
 *       list each (just the ID: no per-vCPU lists) in x3-x7, four 16-bit IDs
 *       a register; w2 = list count in bits 11:7, each list's vCPU count
 *       (0) in two bits from bit 12, bit 0 = more pending.  Nothing new is
 *       NO_DATA.
 *
 * A successful SET sends the schedule receiver interrupt (SGI
 * SPMC_SRI_INTID, group 1 non-secure) through ICC_ASGI1R_EL1 to the core
 * that made it, whoever the receiver (Hafnium api_ffa_notification_set);
 * with the delay flag, when that core returns to the normal world: for the
 * stub, whose SPs run inside a normal-world call, at the same moment.
 */
#include "spmc.h"

#define NOTIF_BITS 64U
#define NOTIF_NWD_SLOTS 16U     /* normal-world receivers with a bitmap */
#define NOTIF_NO_SENDER 0xFFFFU /* no binding (0 is VM 0's ID, a valid sender) */

#define NOTIF_SET_DELAY_SRI (UINT32_C(1) << 1)
#define NOTIF_GET_FROM_VM (UINT32_C(1) << 1)
#define NOTIF_GET_FROM_HYP (UINT32_C(1) << 3)
#define NOTIF_GET_FROM_SP (UINT32_C(1) << 0)
#define NOTIF_GET_FROM_SPM (UINT32_C(1) << 2)
#define NOTIF_GET_MBZ UINT32_C(0xFFFFFFF0)

#define INFO_MORE_PENDING UINT32_C(1)
#define INFO_LIST_COUNT_SHIFT 7U
#define INFO_MAX_IDS 20U /* x3-x7, four IDs each */

struct notif_bitmap {
	bool created;
	uint16_t id;
	uint16_t vcpus;
	uint16_t sender[NOTIF_BITS]; /* who may set each bit, or NOTIF_NO_SENDER */
	uint64_t from_sp;            /* pending, set by SPs */
	uint64_t from_vm;            /* pending, set by normal-world endpoints (SP receivers) */
	uint64_t framework;          /* pending framework notifications: SPM's in bits 31:0, hypervisor's above */
	bool listed;                 /* INFO_GET reported what is pending */
};

static struct notif_bitmap nwd_bitmaps[NOTIF_NWD_SLOTS];
static struct notif_bitmap sp_bitmaps[STUB_PARTITION_COUNT];

static bool is_secure(uint16_t id)
{
	return (id & FFA_SECURE_ID_BIT) != 0;
}

static uint64_t bitmap_arg(const struct ffa_regs *req)
{
	return (uint32_t)req->x[3] | (uint64_t)(uint32_t)req->x[4] << 32;
}

static void bitmap_init(struct notif_bitmap *b, uint16_t id, uint16_t vcpus)
{
	*b = (struct notif_bitmap){ .created = true, .id = id, .vcpus = vcpus };
	memset(b->sender, 0xFF, sizeof(b->sender));
}

/* The bitmap of receiver `id`: a normal-world one that was created, or an SP's that supports notifications. */
static struct notif_bitmap *bitmap_of(uint16_t id)
{
	if (is_secure(id)) {
		const struct sp_desc *sp = sp_find(id);

		if (sp == NULL || (sp->properties & FFA_PARTITION_PROP_NOTIFICATIONS) == 0)
			return NULL;
		for (uint32_t i = 0; i < STUB_PARTITION_COUNT; i++) {
			struct notif_bitmap *b = &sp_bitmaps[i];

			if (!b->created)
				bitmap_init(b, id, sp->exec_contexts);
			if (b->id == id)
				return b;
		}
		return NULL;
	}
	for (uint32_t i = 0; i < NOTIF_NWD_SLOTS; i++) {
		if (nwd_bitmaps[i].created && nwd_bitmaps[i].id == id)
			return &nwd_bitmaps[i];
	}
	return NULL;
}

/*
 * A receiver the calls name but that has no bitmap: VM 0 (the other world
 * itself, which always exists) is only not enabled yet; any other endpoint is
 * unknown.
 */
static int32_t missing_receiver(uint16_t id, int32_t not_enabled)
{
	return id == FFA_HYP_ID ? not_enabled : FFA_RET_INVALID_PARAMETERS;
}

static void bitmap_create(const struct ffa_regs *req, struct ffa_regs *resp)
{
	uint16_t id = (uint16_t)req->x[1];

	if (is_secure(id)) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (bitmap_of(id) != NULL) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	for (uint32_t i = 0; i < NOTIF_NWD_SLOTS; i++) {
		if (!nwd_bitmaps[i].created) {
			bitmap_init(&nwd_bitmaps[i], id, (uint16_t)req->x[2]);
			ffa_success(resp, 0, 0);
			return;
		}
	}
	ffa_error(resp, FFA_RET_NO_MEMORY);
}

static void bitmap_destroy(const struct ffa_regs *req, struct ffa_regs *resp)
{
	uint16_t id = (uint16_t)req->x[1];
	struct notif_bitmap *b;

	if (is_secure(id)) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	b = bitmap_of(id);
	if (b == NULL || (b->from_sp | b->from_vm) != 0) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	b->created = false;
	ffa_success(resp, 0, 0);
}

/*
 * May the caller name this pair?  `local` is the endpoint the caller speaks
 * for (the receiver of BIND/UNBIND, the sender of SET), `other` the far end.
 * From the normal world the local endpoint is a normal-world one and the far
 * end an SP; from an SP the local endpoint is the SP itself.
 */
static bool pair_allowed(bool from_sp, uint16_t caller, uint16_t local, uint16_t other)
{
	if (local == other)
		return false;
	if (!from_sp)
		return !is_secure(local) && sp_find(other) != NULL;
	return local == caller && (!is_secure(other) || sp_find(other) != NULL);
}

static void bind(bool from_sp, uint16_t caller, const struct ffa_regs *req, struct ffa_regs *resp, bool is_bind)
{
	uint32_t w1 = (uint32_t)req->x[1];
	uint16_t sender = FFA_MSG_SENDER(w1), receiver = FFA_MSG_RECEIVER(w1);
	uint32_t flags = is_bind ? (uint32_t)req->x[2] : 0;
	uint64_t bits = bitmap_arg(req);
	struct notif_bitmap *b;

	if (flags != 0 || !pair_allowed(from_sp, caller, receiver, sender) || bits == 0) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	b = bitmap_of(receiver);
	if (b == NULL) {
		ffa_error(resp, missing_receiver(receiver, FFA_RET_NOT_SUPPORTED));
		return;
	}
	for (uint32_t n = 0; n < NOTIF_BITS; n++) {
		uint16_t expected = is_bind ? NOTIF_NO_SENDER : sender;

		if ((bits >> n & 1) != 0 && b->sender[n] != expected) {
			ffa_error(resp, FFA_RET_DENIED);
			return;
		}
	}
	if (((b->from_sp | b->from_vm) & bits) != 0) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	for (uint32_t n = 0; n < NOTIF_BITS; n++) {
		if ((bits >> n & 1) != 0)
			b->sender[n] = is_bind ? sender : NOTIF_NO_SENDER;
	}
	ffa_success(resp, 0, 0);
}

/* Signal the schedule receiver interrupt to the normal world on this core (ICC_ASGI1R_EL1: INTID, TargetList). */
static void sri_send(void)
{
	uint64_t sgi = (uint64_t)SPMC_SRI_INTID << 24 | 1U;

	__asm__ volatile("msr S3_0_C12_C11_6, %0" : : "r"(sgi));
}

static void set(bool from_sp, uint16_t caller, const struct ffa_regs *req, struct ffa_regs *resp)
{
	uint32_t w1 = (uint32_t)req->x[1];
	uint16_t sender = FFA_MSG_SENDER(w1), receiver = FFA_MSG_RECEIVER(w1);
	uint32_t flags = (uint32_t)req->x[2];
	uint64_t bits = bitmap_arg(req);
	struct notif_bitmap *b;

	if ((flags & ~NOTIF_SET_DELAY_SRI) != 0 || !pair_allowed(from_sp, caller, sender, receiver) || bits == 0 ||
	    (!from_sp && (flags & NOTIF_SET_DELAY_SRI) != 0)) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	b = bitmap_of(receiver);
	if (b == NULL) {
		ffa_error(resp, missing_receiver(receiver, FFA_RET_DENIED));
		return;
	}
	for (uint32_t n = 0; n < NOTIF_BITS; n++) {
		if ((bits >> n & 1) != 0 && b->sender[n] != sender) {
			ffa_error(resp, FFA_RET_DENIED);
			return;
		}
	}
	if (is_secure(sender))
		b->from_sp |= bits;
	else
		b->from_vm |= bits;
	b->listed = false;
	sri_send();
	ffa_success(resp, 0, 0);
}

static void get(bool from_sp, uint16_t caller, const struct ffa_regs *req, struct ffa_regs *resp)
{
	uint32_t w1 = (uint32_t)req->x[1];
	uint16_t receiver = FFA_MSG_RECEIVER(w1);
	uint32_t vcpu = w1 >> 16;
	uint32_t flags = (uint32_t)req->x[2];
	bool allowed = from_sp ? receiver == caller
			       : !is_secure(receiver) && (flags & (NOTIF_GET_FROM_VM | NOTIF_GET_FROM_HYP)) == 0;
	struct notif_bitmap *b = allowed && (flags & NOTIF_GET_MBZ) == 0 ? bitmap_of(receiver) : NULL;
	uint64_t sps = 0, vms = 0, framework = 0;

	if (b == NULL || (receiver != FFA_HYP_ID && vcpu >= b->vcpus)) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if ((flags & NOTIF_GET_FROM_SP) != 0) {
		sps = b->from_sp;
		b->from_sp = 0;
	}
	if ((flags & NOTIF_GET_FROM_VM) != 0) {
		vms = b->from_vm;
		b->from_vm = 0;
	}
	if ((flags & NOTIF_GET_FROM_SPM) != 0)
		framework |= b->framework & UINT32_MAX;
	if ((flags & NOTIF_GET_FROM_HYP) != 0)
		framework |= b->framework & ~(uint64_t)UINT32_MAX;
	b->framework &= ~framework;
	resp->x[6] = (uint32_t)framework;
	resp->x[7] = framework >> 32;
	resp->x[0] = FFA_SUCCESS;
	resp->x[2] = (uint32_t)sps;
	resp->x[3] = sps >> 32;
	resp->x[4] = (uint32_t)vms;
	resp->x[5] = vms >> 32;
}

void notif_framework_set(uint16_t id, uint32_t bit)
{
	struct notif_bitmap *b = bitmap_of(id);

	if (b == NULL)
		return;
	b->framework |= UINT64_C(1) << bit;
	b->listed = false;
	sri_send();
}

/* INFO_GET_64: list one receiver (its ID as the next 16-bit slot from x3); false when the answer is full. */
static bool info_list(struct ffa_regs *resp, uint32_t *ids, struct notif_bitmap *b)
{
	if (!b->created || b->listed || (b->from_sp | b->from_vm | b->framework) == 0)
		return true;
	if (*ids == INFO_MAX_IDS)
		return false;
	resp->x[3 + *ids / 4] |= (uint64_t)b->id << (16U * (*ids % 4));
	(*ids)++;
	b->listed = true;
	return true;
}

static void info_get(struct ffa_regs *resp)
{
	uint32_t ids = 0;
	bool complete = true;

	for (uint32_t i = 0; complete && i < STUB_PARTITION_COUNT; i++)
		complete = info_list(resp, &ids, &sp_bitmaps[i]);
	for (uint32_t i = 0; complete && i < NOTIF_NWD_SLOTS; i++)
		complete = info_list(resp, &ids, &nwd_bitmaps[i]);
	if (ids == 0) {
		ffa_error(resp, FFA_RET_NO_DATA);
		return;
	}
	resp->x[0] = FFA_FN64_SUCCESS;
	resp->x[2] = (complete ? 0 : INFO_MORE_PENDING) | ids << INFO_LIST_COUNT_SHIFT;
}

bool ffa_notif_supported(uint32_t fid)
{
	switch (fid) {
	case FFA_NOTIFICATION_BITMAP_CREATE:
	case FFA_NOTIFICATION_BITMAP_DESTROY:
	case FFA_NOTIFICATION_BIND:
	case FFA_NOTIFICATION_UNBIND:
	case FFA_NOTIFICATION_SET:
	case FFA_NOTIFICATION_GET:
	case FFA_FN64_NOTIFICATION_INFO_GET:
		return spmc_at_least(FFA_VERSION_1_1);
	default:
		return false;
	}
}

bool ffa_notif_handle(bool from_sp, uint16_t caller, uint32_t fid, const struct ffa_regs *req,
		      struct ffa_regs *resp)
{
	if (!ffa_notif_supported(fid))
		return false;
	switch (fid) {
	case FFA_NOTIFICATION_BIND:
	case FFA_NOTIFICATION_UNBIND:
		bind(from_sp, caller, req, resp, fid == FFA_NOTIFICATION_BIND);
		return true;
	case FFA_NOTIFICATION_SET:
		set(from_sp, caller, req, resp);
		return true;
	case FFA_NOTIFICATION_GET:
		get(from_sp, caller, req, resp);
		return true;
	default:
		break;
	}
	if (from_sp) /* the normal world's ABIs */
		ffa_error(resp, FFA_RET_NOT_SUPPORTED);
	else if (fid == FFA_NOTIFICATION_BITMAP_CREATE)
		bitmap_create(req, resp);
	else if (fid == FFA_NOTIFICATION_BITMAP_DESTROY)
		bitmap_destroy(req, resp);
	else
		info_get(resp);
	return true;
}
