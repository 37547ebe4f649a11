/*
 * Memory sharing, the borrowers' side: the FF-A ABIs the stub's SPs call on
 * the SPMC. The SPs run inside the SPMC, so the "call" is spmc_sp_call(), a
 * function call that takes and returns FF-A frames as an svc would:
 *
 *   FFA_FN64_RXTX_MAP(x1 = TX, x2 = RX, w3 = 1 page): the SP's buffer pair,
 *       page-aligned SP memory inside the secure RAM.
 *   FFA_MEM_RETRIEVE_REQ(w1 = total length, w2 = fragment length, x3 = w4
 *       = 0): a retrieve request (1.1 transaction descriptor: the sender,
 *       i.e. the lender the SP retrieves from, the handle, the caller as a
 *       receiver; flags bits 4:3 = type or 0) in the TX
 *       buffer -> FFA_MEM_RETRIEVE_RESP(w1 = total length, w2 = fragment
 *       length): the stored descriptor (canonical 1.1 layout), its first
 *       PAGE_SIZE bytes in the RX buffer, which the SP then owns.
 *   FFA_MEM_FRAG_RX(w1/w2 = handle low/high, w3 = offset) ->
 *       FFA_MEM_FRAG_TX(w1/w2 = handle, w3 = fragment length): the next
 *       fragment of the response, once the SP has released its RX buffer.
 *   FFA_RX_RELEASE: the SP hands its RX buffer back.
 *   FFA_MEM_RELINQUISH: relinquish descriptor in TX (handle u64 @0, flags
 *       u32 @8, endpoint count u32 @12 = 1, endpoint u16 @16 = the caller).
 *
 * A retrieve fails with DENIED if the request names another sender than
 * the transaction's (as Hafnium's ffa_memory_retrieve_validate in
 * src/ffa_memory.c), if the SP is not a receiver or if it already holds the
 * handle (retrieved, not relinquished).
 */
#include "mem.h"

#define SP_BUF_SIZE PAGE_SIZE
#define RELINQUISH_HANDLE 0
#define RELINQUISH_COUNT 12
#define RELINQUISH_ENDPOINTS 16

struct sp_mbox {
	uint16_t id; /* 0: unused */
	bool rx_held; /* the SP owns its RX buffer */
	uint8_t *tx;
	uint8_t *rx;
};

static struct sp_mbox sp_mboxes[STUB_PARTITION_COUNT];

static struct sp_mbox *mbox_find(uint16_t id)
{
	for (uint32_t i = 0; i < STUB_PARTITION_COUNT; i++) {
		if (sp_mboxes[i].id == id)
			return &sp_mboxes[i];
	}
	return NULL;
}

static bool buffer_in_secure_ram(uint64_t pa)
{
	return (pa & (PAGE_SIZE - 1)) == 0 && pa >= SECURE_RAM_PA &&
	       pa <= SECURE_RAM_PA + SECURE_RAM_SIZE - SP_BUF_SIZE;
}

static void sp_rxtx_map(uint16_t caller, const struct ffa_regs *req, struct ffa_regs *resp)
{
	struct sp_mbox *mbox;

	if (!buffer_in_secure_ram(req->x[1]) || !buffer_in_secure_ram(req->x[2]) ||
	    req->x[1] == req->x[2] || ((uint32_t)req->x[3] & FFA_RXTX_PAGE_COUNT_MASK) != 1) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (mbox_find(caller) != NULL || (mbox = mbox_find(0)) == NULL) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	*mbox = (struct sp_mbox){
		.id = caller,
		.tx = (uint8_t *)(uintptr_t)req->x[1],
		.rx = (uint8_t *)(uintptr_t)req->x[2],
	};
	ffa_success(resp, 0, 0);
}

/* Copy the response from `offset` into the SP's RX buffer, which it then owns. */
static uint32_t send_fragment(struct sp_mbox *mbox, const struct mem_txn *txn, uint32_t offset)
{
	uint32_t len = txn->length - offset;

	if (len > SP_BUF_SIZE)
		len = SP_BUF_SIZE;
	memcpy(mbox->rx, txn->desc + offset, len);
	mbox->rx_held = true;
	return len;
}

static uint32_t txn_type(uint32_t fid)
{
	switch (fid) {
	case FFA_MEM_SHARE:
		return 1;
	case FFA_MEM_LEND:
		return 2;
	default:
		return 3;
	}
}

/* The sender, handle and type of a retrieve request, if it names the caller as a receiver. */
static int32_t parse_retrieve_req(const uint8_t *req, uint32_t length, uint16_t caller,
				  uint16_t *sender, uint64_t *handle, uint32_t *type)
{
	uint64_t emad_size, emad_offset, count;

	if (length < MEM_HDR_SIZE_V1_1)
		return FFA_RET_INVALID_PARAMETERS;
	emad_size = ld32(req, MEM_HDR_EMAD_SIZE);
	emad_offset = ld32(req, MEM_HDR_EMAD_OFFSET);
	count = ld32(req, MEM_HDR_COUNT);
	if (emad_size < MEM_EMAD_SIZE || emad_size % 16 != 0 || emad_offset < MEM_HDR_SIZE_V1_1 ||
	    emad_offset % 16 != 0 || count == 0 || emad_offset + count * emad_size > length)
		return FFA_RET_INVALID_PARAMETERS;
	*sender = ld16(req, MEM_HDR_SENDER);
	*handle = ld64(req, MEM_HDR_HANDLE);
	*type = (ld32(req, MEM_HDR_FLAGS) >> MEM_RETRIEVE_TYPE_SHIFT) & MEM_RETRIEVE_TYPE_MASK;
	for (uint64_t i = 0; i < count; i++) {
		if (ld16(req, (uint32_t)(emad_offset + i * emad_size)) == caller)
			return 0;
	}
	return FFA_RET_INVALID_PARAMETERS;
}

static void sp_retrieve_req(uint16_t caller, const struct ffa_regs *req, struct ffa_regs *resp)
{
	struct sp_mbox *mbox = mbox_find(caller);
	uint32_t total = (uint32_t)req->x[1];
	uint32_t type;
	uint16_t sender;
	uint64_t handle;
	struct mem_txn *txn;
	int32_t ret;
	int index;

	if (mbox == NULL) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	if (total == 0 || total > SP_BUF_SIZE || (uint32_t)req->x[2] != total || req->x[3] != 0 ||
	    (uint32_t)req->x[4] != 0) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (mbox->rx_held) {
		ffa_error(resp, FFA_RET_BUSY);
		return;
	}
	ret = parse_retrieve_req(mbox->tx, total, caller, &sender, &handle, &type);
	if (ret != 0) {
		ffa_error(resp, ret);
		return;
	}
	txn = mem_txn_committed(handle);
	if (txn == NULL || (type != 0 && type != txn_type(txn->fid))) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	index = mem_txn_receiver(txn, caller);
	if (sender != txn->info.sender || index < 0 || txn->retrieved[index]) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	txn->retrieved[index] = true;
	txn->retrievals++;
	if (txn->fid == FFA_MEM_DONATE)
		txn->donated = true;
	resp->x[0] = FFA_MEM_RETRIEVE_RESP;
	resp->x[1] = txn->length;
	resp->x[2] = send_fragment(mbox, txn, 0);
}

/* The transaction `handle` if the caller has retrieved it, else NULL. */
static struct mem_txn *held_txn(uint16_t caller, uint64_t handle, int *index)
{
	struct mem_txn *txn = mem_txn_committed(handle);

	if (txn == NULL)
		return NULL;
	*index = mem_txn_receiver(txn, caller);
	return *index >= 0 && txn->retrieved[*index] ? txn : NULL;
}

static void sp_frag_rx(uint16_t caller, const struct ffa_regs *req, struct ffa_regs *resp)
{
	struct sp_mbox *mbox = mbox_find(caller);
	uint64_t handle = (uint64_t)(uint32_t)req->x[1] | (uint64_t)(uint32_t)req->x[2] << 32;
	uint32_t offset = (uint32_t)req->x[3];
	int index;
	struct mem_txn *txn = held_txn(caller, handle, &index);

	if (mbox == NULL || txn == NULL || offset == 0 || offset >= txn->length) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (mbox->rx_held) {
		ffa_error(resp, FFA_RET_BUSY);
		return;
	}
	resp->x[0] = FFA_MEM_FRAG_TX;
	resp->x[1] = (uint32_t)handle;
	resp->x[2] = (uint32_t)(handle >> 32);
	resp->x[3] = send_fragment(mbox, txn, offset);
}

static void sp_rx_release(uint16_t caller, struct ffa_regs *resp)
{
	struct sp_mbox *mbox = mbox_find(caller);

	if (mbox == NULL || !mbox->rx_held) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	mbox->rx_held = false;
	ffa_success(resp, 0, 0);
}

static void sp_relinquish(uint16_t caller, struct ffa_regs *resp)
{
	struct sp_mbox *mbox = mbox_find(caller);
	struct mem_txn *txn;
	int index;

	if (mbox == NULL) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	if (ld32(mbox->tx, RELINQUISH_COUNT) != 1 || ld16(mbox->tx, RELINQUISH_ENDPOINTS) != caller) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	txn = held_txn(caller, ld64(mbox->tx, RELINQUISH_HANDLE), &index);
	if (txn == NULL) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	txn->retrieved[index] = false;
	ffa_success(resp, 0, 0);
}

uint8_t *sp_rx_free(uint16_t id)
{
	struct sp_mbox *mbox = id == 0 ? NULL : mbox_find(id);

	return mbox == NULL || mbox->rx_held ? NULL : mbox->rx;
}

void sp_rx_hand_over(uint16_t id)
{
	struct sp_mbox *mbox = mbox_find(id);

	if (mbox != NULL)
		mbox->rx_held = true;
}

void spmc_sp_call(uint16_t caller, const struct ffa_regs *req, struct ffa_regs *resp)
{
	for (uint32_t i = 0; i < FFA_REGS_COUNT; i++)
		resp->x[i] = 0;
	if (sp_find(caller) == NULL) { /* only the stub's SPs (0 marks a free mailbox) */
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	switch ((uint32_t)req->x[0]) {
	case FFA_FN64_RXTX_MAP:
		sp_rxtx_map(caller, req, resp);
		return;
	case FFA_MEM_RETRIEVE_REQ:
		sp_retrieve_req(caller, req, resp);
		return;
	case FFA_MEM_FRAG_RX:
		sp_frag_rx(caller, req, resp);
		return;
	case FFA_RX_RELEASE:
		sp_rx_release(caller, resp);
		return;
	case FFA_MEM_RELINQUISH:
		sp_relinquish(caller, resp);
		return;
	default:
		if (!ffa_notif_handle(true, caller, (uint32_t)req->x[0], req, resp))
			ffa_error(resp, FFA_RET_NOT_SUPPORTED);
		return;
	}
}
