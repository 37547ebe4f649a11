/*
 * Memory sharing, the lender's side: the transaction store and the normal
 * world's ABIs FFA_MEM_SHARE / LEND / DONATE (SMC32 and FN64),
 * FFA_MEM_FRAG_TX and FFA_MEM_RECLAIM. The lender is always the normal
 * world; the borrowers are the stub's SPs (mem_retrieve.c).
 *
 * A descriptor arrives in the normal world's TX buffer, whole or in
 * fragments. It is copied into a transaction slot; once complete it is
 * validated (mem_desc.c), rewritten in the canonical 1.1 layout and
 * committed. Handles are allocated by the SPMC: MEM_HANDLE_BASE + a counter
 * that starts at 1 and is never reused within a run (bit 63 is clear: not
 * a hypervisor handle).
 */
#include "mem.h"

static struct mem_txn txns[MEM_TXN_SLOTS];
/* The descriptor buffers need no zeroing at boot: lengths say what is valid. */
static uint8_t txn_desc[MEM_TXN_SLOTS][MEM_DESC_BUF_SIZE]
	__attribute__((aligned(16), section(".bss.noinit.mem_desc")));
static uint64_t handles_allocated;

static uint64_t handle_alloc(void)
{
	return MEM_HANDLE_BASE + ++handles_allocated;
}

static struct mem_txn *txn_find(uint64_t handle, enum mem_txn_state state)
{
	for (uint32_t i = 0; i < MEM_TXN_SLOTS; i++) {
		if (txns[i].state == state && txns[i].handle == handle)
			return &txns[i];
	}
	return NULL;
}

struct mem_txn *mem_txn_committed(uint64_t handle)
{
	return txn_find(handle, MEM_TXN_COMMITTED);
}

int mem_txn_receiver(const struct mem_txn *txn, uint16_t id)
{
	for (uint32_t i = 0; i < txn->info.receiver_count; i++) {
		if (txn->info.receivers[i].id == id)
			return (int)i;
	}
	return -1;
}

static struct mem_txn *txn_alloc(void)
{
	for (uint32_t i = 0; i < MEM_TXN_SLOTS; i++) {
		struct mem_txn *txn = &txns[i];

		if (txn->state == MEM_TXN_FREE) {
			*txn = (struct mem_txn){ .desc = txn_desc[i] };
			return txn;
		}
	}
	return NULL;
}

static void txn_free(struct mem_txn *txn)
{
	txn->state = MEM_TXN_FREE;
	txn->handle = 0;
}

static uint64_t tx_size(void)
{
	return (uint64_t)nwd_mbox.pages * PAGE_SIZE;
}

/* Append `len` bytes from the normal world's TX buffer (checked by the caller). */
static void txn_append(struct mem_txn *txn, uint32_t len)
{
	memcpy(txn->desc + txn->length, (const void *)(uintptr_t)nwd_mbox.tx_pa, len);
	txn->length += len;
}

static uint32_t handle_lo(uint64_t handle)
{
	return (uint32_t)handle;
}

static uint32_t handle_hi(uint64_t handle)
{
	return (uint32_t)(handle >> 32);
}

/* The handle in w1 (low) / w2 (high) of a request. */
static uint64_t req_handle(const struct ffa_regs *req)
{
	return (uint64_t)(uint32_t)req->x[1] | (uint64_t)(uint32_t)req->x[2] << 32;
}

/*
 * The descriptor is complete: validate and commit, answering SUCCESS(handle);
 * on an error the transaction is dropped. A fragmented transaction already
 * has its handle; a single-fragment one gets it now.
 */
static void txn_complete(struct mem_txn *txn, struct ffa_regs *resp)
{
	int32_t ret = mem_desc_validate(txn->desc, txn->length, txn->v1_0, txn->fid, &txn->info);

	if (ret != 0) {
		txn_free(txn);
		ffa_error(resp, ret);
		return;
	}
	if (txn->handle == 0)
		txn->handle = handle_alloc();
	txn->length = mem_desc_canonicalise(txn->desc, &txn->info, txn->handle);
	txn->state = MEM_TXN_COMMITTED;
	ffa_success(resp, handle_lo(txn->handle), handle_hi(txn->handle));
}

/* More fragments to come: FFA_MEM_FRAG_RX(handle, bytes received so far). */
static void frag_rx(const struct mem_txn *txn, struct ffa_regs *resp)
{
	resp->x[0] = FFA_MEM_FRAG_RX;
	resp->x[1] = handle_lo(txn->handle);
	resp->x[2] = handle_hi(txn->handle);
	resp->x[3] = txn->length;
}

/*
 * FFA_MEM_SHARE / LEND / DONATE: w1 = total length, w2 = fragment length,
 * x3 (w3 for SMC32) / w4 = buffer address / page count: 0, the TX buffer.
 */
static void mem_send(uint32_t fid, const struct ffa_regs *req, struct ffa_regs *resp, bool smc64)
{
	uint32_t total = (uint32_t)req->x[1];
	uint32_t frag = (uint32_t)req->x[2];
	uint64_t address = smc64 ? req->x[3] : (uint32_t)req->x[3];
	uint32_t pages = (uint32_t)req->x[4];
	struct mem_txn *txn;

	if (address != 0 || pages != 0) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (!nwd_mbox.mapped) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	if (frag == 0 || frag > total || frag > tx_size()) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (total > MEM_DESC_MAX || (txn = txn_alloc()) == NULL) {
		ffa_error(resp, FFA_RET_NO_MEMORY);
		return;
	}
	txn->fid = fid;
	txn->total = total;
	txn->v1_0 = spmc.caller_version < FFA_VERSION_1_1;
	txn_append(txn, frag);
	if (frag == total) {
		txn_complete(txn, resp);
		return;
	}
	txn->state = MEM_TXN_FRAGMENTING;
	txn->handle = handle_alloc();
	frag_rx(txn, resp);
}

/*
 * FFA_MEM_FRAG_TX: w1/w2 = handle low/high, w3 = fragment length (in the
 * TX buffer). Any error drops the transaction.
 */
static void mem_frag_tx(const struct ffa_regs *req, struct ffa_regs *resp)
{
	struct mem_txn *txn = txn_find(req_handle(req), MEM_TXN_FRAGMENTING);
	uint32_t frag = (uint32_t)req->x[3];

	if (txn == NULL) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (!nwd_mbox.mapped) {
		txn_free(txn);
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	if (frag == 0 || frag > tx_size() || frag > txn->total - txn->length) {
		txn_free(txn);
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	txn_append(txn, frag);
	if (txn->length == txn->total) {
		txn_complete(txn, resp);
		return;
	}
	frag_rx(txn, resp);
}

/*
 * FFA_MEM_RECLAIM: w1/w2 = handle low/high, w3 = flags (ignored). DENIED
 * while a borrower holds the memory, or for good once a donation was
 * retrieved.
 */
static void mem_reclaim(const struct ffa_regs *req, struct ffa_regs *resp)
{
	struct mem_txn *txn = mem_txn_committed(req_handle(req));

	if (txn == NULL) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (txn->donated) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	for (uint32_t i = 0; i < txn->info.receiver_count; i++) {
		if (txn->retrieved[i]) {
			ffa_error(resp, FFA_RET_DENIED);
			return;
		}
	}
	txn_free(txn);
	ffa_success(resp, 0, 0);
}

bool ffa_mem_handle(uint32_t fid, const struct ffa_regs *req, struct ffa_regs *resp)
{
	if ((fid == FFA_MEM_LEND || fid == FFA_FN64_MEM_LEND) && spmc_flavour == SPMC_FLAVOUR_OPTEE) {
		ffa_error(resp, FFA_RET_NOT_SUPPORTED);
		return true;
	}
	switch (fid) {
	case FFA_MEM_SHARE:
	case FFA_MEM_LEND:
	case FFA_MEM_DONATE:
		mem_send(fid, req, resp, false);
		return true;
	case FFA_FN64_MEM_SHARE:
		mem_send(FFA_MEM_SHARE, req, resp, true);
		return true;
	case FFA_FN64_MEM_LEND:
		mem_send(FFA_MEM_LEND, req, resp, true);
		return true;
	case FFA_FN64_MEM_DONATE:
		mem_send(FFA_MEM_DONATE, req, resp, true);
		return true;
	case FFA_MEM_FRAG_TX:
		mem_frag_tx(req, resp);
		return true;
	case FFA_MEM_RECLAIM:
		mem_reclaim(req, resp);
		return true;
	default:
		return false;
	}
}
