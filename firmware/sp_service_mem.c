/*
 * Service SP: the memory commands. The SP is a borrower done the FF-A way:
 * it maps its own RX/TX pair (SP memory in the secure RAM) with the SPMC,
 * retrieves a handle with a retrieve request in its TX buffer, reads the
 * transaction descriptor from its RX buffer (pulling further fragments with
 * FFA_MEM_FRAG_RX), works on the pages at their physical addresses (the
 * MMU is off) and relinquishes.
 *
 * It acts on a handle only for the endpoint that shared the memory with
 * it: the sender of the direct request is the sender its retrieve request
 * names, and the SPMC refuses the retrieve (DENIED) when the transaction's
 * sender is another endpoint.  A handle it holds is relinquished only when
 * the endpoint it holds it for asks.
 *
 *   MEM_CHECKSUM [handle] -> [64-bit wrapping sum of every little-endian
 *       64-bit word of every page in descriptor order, total pages]
 *   MEM_FILL [handle, pattern] -> [pages]: word i (counted across all pages
 *       in descriptor order) = pattern + i; needs RW data access, else
 *       SERVICE_ERR_DENIED
 *   MEM_RETRIEVE [handle] -> [pages], the handle stays retrieved (held)
 *   MEM_RELINQUISH [handle] -> [0], or SERVICE_ERR_NOT_HELD when the SP
 *       does not hold the handle for the requester
 *   (told that a VM is destroyed, the SP relinquishes what it holds for it,
 *   SERVICE_FORGET_BATCH handles a message, asking to be told again while
 *   more remain: sp_service_forget_vm())
 *   a failed retrieve -> [SERVICE_ERR_NO_HANDLE, the FF-A error code of the
 *       call that failed (the retrieve's DENIED for another's handle)]
 *
 * Values are 64-bit. With FN64 requests each is one payload register. An
 * SMC32 request carries 32-bit registers, so every value after the command
 * takes two registers, low half first (w4/w5 = handle, w6/w7 = pattern),
 * and so does every result (w3/w4 = first result, w5/w6 = second).
 */
#include "mem.h"

static uint8_t svc_tx[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE), section(".bss.noinit.svc_tx")));
static uint8_t svc_rx[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE), section(".bss.noinit.svc_rx")));
static bool svc_mapped;

/* The handles MEM_RETRIEVE holds, each with the endpoint it holds it for (one a transaction at most). */
struct held_handle {
	uint64_t handle;
	uint16_t owner;
	bool used;
};
static struct held_handle held[MEM_TXN_SLOTS];

#define WORDS_PER_PAGE (PAGE_SIZE / sizeof(uint64_t))
#define SERVICE_FORGET_BATCH 2U

/* ---- 64-bit values in the payload ---- */
static bool wide(const struct sp_call *call)
{
	return call->mask == ~UINT64_C(0);
}

/* Request value i (i >= 1: after the command). */
static uint64_t arg64(const struct sp_call *call, uint32_t i)
{
	if (wide(call))
		return sp_arg(call, i);
	return sp_arg(call, 2 * i - 1) | sp_arg(call, 2 * i) << 32;
}

/* Result value i (from 0). */
static void ret64(struct sp_call *call, uint32_t i, uint64_t value)
{
	if (wide(call)) {
		sp_ret(call, i, value);
		return;
	}
	sp_ret(call, 2 * i, (uint32_t)value);
	sp_ret(call, 2 * i + 1, value >> 32);
}

/* ---- calls to the SPMC ---- */
static void ffa_call(uint16_t self, struct ffa_regs *regs)
{
	struct ffa_regs resp;

	spmc_sp_call(self, regs, &resp);
	*regs = resp;
}

static void regs_set(struct ffa_regs *regs, uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3)
{
	for (uint32_t i = 0; i < FFA_REGS_COUNT; i++)
		regs->x[i] = 0;
	regs->x[0] = x0;
	regs->x[1] = x1;
	regs->x[2] = x2;
	regs->x[3] = x3;
}

/* The FF-A error code of a failed call (an unexpected answer counts as INVALID_PARAMETERS). */
static int32_t error_of(const struct ffa_regs *regs)
{
	return regs->x[0] == FFA_ERROR ? (int32_t)regs->x[2] : FFA_RET_INVALID_PARAMETERS;
}

/* Map the SP's RX/TX pair once; 0 or the FF-A error code. */
static int32_t map_buffers(uint16_t self)
{
	struct ffa_regs regs;

	if (svc_mapped)
		return 0;
	regs_set(&regs, FFA_FN64_RXTX_MAP, (uintptr_t)svc_tx, (uintptr_t)svc_rx, 1);
	ffa_call(self, &regs);
	svc_mapped = regs.x[0] == FFA_SUCCESS;
	return svc_mapped ? 0 : error_of(&regs);
}

static void rx_release(uint16_t self)
{
	struct ffa_regs regs;

	regs_set(&regs, FFA_RX_RELEASE, 0, 0, 0);
	ffa_call(self, &regs);
}

static bool relinquish(uint16_t self, uint64_t handle)
{
	struct ffa_regs regs;

	st64(svc_tx, 0, handle);
	st32(svc_tx, 8, 0);  /* flags */
	st32(svc_tx, 12, 1); /* endpoint count */
	st64(svc_tx, 16, self);
	regs_set(&regs, FFA_MEM_RELINQUISH, 0, 0, 0);
	ffa_call(self, &regs);
	return regs.x[0] == FFA_SUCCESS;
}

/* ---- a retrieved transaction, read fragment by fragment (struct sp_retrieved: mem.h) ---- */

void sp_mem_end(struct sp_retrieved *m, bool do_relinquish)
{
	if (m->rx_held)
		rx_release(m->self);
	m->rx_held = false;
	if (do_relinquish)
		relinquish(m->self, m->handle);
}

/* The header, our EMAD and the composite, from the first fragment. */
static bool parse_response(struct sp_retrieved *m)
{
	const uint8_t *d = svc_rx;
	uint64_t emad_size, emad_offset, count, composite = 0;
	bool found = false;

	if (m->frag_len < MEM_HDR_SIZE_V1_1 || ld64(d, MEM_HDR_HANDLE) != m->handle)
		return false;
	emad_size = ld32(d, MEM_HDR_EMAD_SIZE);
	emad_offset = ld32(d, MEM_HDR_EMAD_OFFSET);
	count = ld32(d, MEM_HDR_COUNT);
	if (emad_size < MEM_EMAD_SIZE || emad_size % 16 != 0 || emad_offset % 16 != 0 ||
	    emad_offset + count * emad_size > m->frag_len)
		return false;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *emad = d + emad_offset + i * emad_size;

		if (ld16(emad, MEM_EMAD_RECEIVER) == m->self) {
			m->perms = emad[MEM_EMAD_PERMS];
			composite = ld32(emad, MEM_EMAD_COMPOSITE);
			found = true;
		}
	}
	if (!found || composite % 16 != 0 || composite + MEM_COMP_SIZE > m->frag_len)
		return false;
	m->total_pages = ld32(d, (uint32_t)composite + MEM_COMP_TOTAL_PAGES);
	m->range_count = ld32(d, (uint32_t)composite + MEM_COMP_RANGE_COUNT);
	m->first = (uint32_t)composite + MEM_COMP_SIZE;
	return (uint64_t)m->first + (uint64_t)m->range_count * MEM_CONS_SIZE == m->length;
}

/*
 * Retrieve `handle` as shared by `sender`; 0 (the first fragment is in
 * svc_rx) or the FF-A error code of the call that failed.
 */
int32_t sp_mem_retrieve(uint16_t self, uint16_t sender, uint64_t handle, struct sp_retrieved *m)
{
	struct ffa_regs regs;
	uint32_t len = MEM_CANON_FIRST(1) - MEM_COMP_SIZE; /* header + one EMAD */
	int32_t ret;

	*m = (struct sp_retrieved){ .handle = handle, .self = self };
	ret = map_buffers(self);
	if (ret != 0)
		return ret;
	for (uint32_t off = 0; off < len; off += 8)
		st64(svc_tx, off, 0);
	st16(svc_tx, MEM_HDR_SENDER, sender);
	st64(svc_tx, MEM_HDR_HANDLE, handle);
	st32(svc_tx, MEM_HDR_EMAD_SIZE, MEM_EMAD_SIZE);
	st32(svc_tx, MEM_HDR_COUNT, 1);
	st32(svc_tx, MEM_HDR_EMAD_OFFSET, MEM_HDR_SIZE_V1_1);
	st16(svc_tx, MEM_HDR_SIZE_V1_1 + MEM_EMAD_RECEIVER, self);
	regs_set(&regs, FFA_MEM_RETRIEVE_REQ, len, len, 0);
	ffa_call(self, &regs);
	if (regs.x[0] != FFA_MEM_RETRIEVE_RESP)
		return error_of(&regs);
	m->rx_held = true;
	m->length = (uint32_t)regs.x[1];
	m->frag_len = (uint32_t)regs.x[2];
	if (!parse_response(m)) {
		sp_mem_end(m, true);
		return FFA_RET_INVALID_PARAMETERS;
	}
	return 0;
}

/* Constituent i (in order), pulling the next fragment when needed. */
bool sp_mem_constituent(struct sp_retrieved *m, uint32_t i, uint64_t *address, uint32_t *pages)
{
	uint32_t off = m->first + i * MEM_CONS_SIZE;

	if (off + MEM_CONS_SIZE > m->frag_start + m->frag_len) {
		struct ffa_regs regs;
		uint32_t next = m->frag_start + m->frag_len;

		rx_release(m->self);
		m->rx_held = false;
		regs_set(&regs, FFA_MEM_FRAG_RX, (uint32_t)m->handle, (uint32_t)(m->handle >> 32), next);
		ffa_call(m->self, &regs);
		if (regs.x[0] != FFA_MEM_FRAG_TX)
			return false;
		m->rx_held = true;
		m->frag_start = next;
		m->frag_len = (uint32_t)regs.x[3];
		if (off < m->frag_start || off + MEM_CONS_SIZE > m->frag_start + m->frag_len)
			return false;
	}
	*address = ld64(svc_rx, off - m->frag_start + MEM_CONS_ADDRESS);
	*pages = ld32(svc_rx, off - m->frag_start + MEM_CONS_PAGES);
	return true;
}

/* ---- work on the pages ---- */
/* Work on `words` 64-bit words at `p`, carrying `acc` from one range to the next. */
typedef void (*range_work)(uint64_t *p, uint64_t words, uint64_t *acc);

/* Add the words up into *sum. */
static void sum_words(uint64_t *p, uint64_t words, uint64_t *sum)
{
	uint64_t a = 0, b = 0, c = 0, d = 0;

	for (; words != 0; words -= 4, p += 4) {
		a += p[0];
		b += p[1];
		c += p[2];
		d += p[3];
	}
	*sum += a + b + c + d;
}

/* Write *next, *next + 1, ... and leave *next after the last value written. */
static void fill_words(uint64_t *p, uint64_t words, uint64_t *next)
{
	uint64_t value = *next;

	for (uint64_t n = words; n != 0; n -= 2, p += 2, value += 2) {
		p[0] = value;
		p[1] = value + 1;
	}
	*next += words;
}

/* Run `work` over every constituent of `m` in descriptor order; false when one cannot be read. */
static bool each_range(struct sp_retrieved *m, range_work work, uint64_t *acc)
{
	uint64_t address;
	uint32_t pages;

	for (uint32_t i = 0; i < m->range_count; i++) {
		if (!sp_mem_constituent(m, i, &address, &pages))
			return false;
		work((uint64_t *)(uintptr_t)address, (uint64_t)pages * WORDS_PER_PAGE, acc);
	}
	return true;
}

static uint16_t self_id(const struct sp_call *call)
{
	return call->sp->id;
}

/* Retrieve the handle in the request for its sender; on failure answer the error. */
static bool retrieve_for(struct sp_call *call, struct sp_retrieved *m)
{
	int32_t ret = sp_mem_retrieve(self_id(call), call->sender, arg64(call, 1), m);

	if (ret != 0) {
		ret64(call, 0, SERVICE_ERR_NO_HANDLE);
		ret64(call, 1, (uint32_t)ret);
	}
	return ret == 0;
}

void service_cmd_mem_checksum(struct sp_call *call)
{
	struct sp_retrieved m;
	uint64_t sum = 0;
	bool read;

	if (!retrieve_for(call, &m))
		return;
	read = each_range(&m, sum_words, &sum);
	sp_mem_end(&m, true);
	if (!read) {
		ret64(call, 0, SERVICE_ERR_NO_HANDLE);
		return;
	}
	ret64(call, 0, sum);
	ret64(call, 1, m.total_pages);
}

void service_cmd_mem_fill(struct sp_call *call)
{
	struct sp_retrieved m;
	uint64_t next = arg64(call, 2);
	bool written;

	if (!retrieve_for(call, &m))
		return;
	if ((m.perms & MEM_PERM_DATA_MASK) != MEM_PERM_DATA_RW) {
		sp_mem_end(&m, true);
		ret64(call, 0, SERVICE_ERR_DENIED);
		return;
	}
	written = each_range(&m, fill_words, &next);
	sp_mem_end(&m, true);
	ret64(call, 0, written ? m.total_pages : SERVICE_ERR_NO_HANDLE);
}

/* The entry holding `handle` for `owner`, or NULL. */
static struct held_handle *held_by(uint64_t handle, uint16_t owner)
{
	for (uint32_t i = 0; i < MEM_TXN_SLOTS; i++) {
		if (held[i].used && held[i].handle == handle && held[i].owner == owner)
			return &held[i];
	}
	return NULL;
}

static struct held_handle *held_free(void)
{
	for (uint32_t i = 0; i < MEM_TXN_SLOTS; i++) {
		if (!held[i].used)
			return &held[i];
	}
	return NULL;
}

void service_cmd_mem_retrieve(struct sp_call *call)
{
	struct sp_retrieved m;
	struct held_handle *slot = held_free();

	if (slot == NULL) { /* an entry a transaction: full only if the SPMC broke its own slot limit */
		ret64(call, 0, SERVICE_ERR_NO_HANDLE);
		ret64(call, 1, (uint32_t)FFA_RET_NO_MEMORY);
		return;
	}
	if (!retrieve_for(call, &m))
		return;
	sp_mem_end(&m, false);
	*slot = (struct held_handle){ .handle = m.handle, .owner = call->sender, .used = true };
	ret64(call, 0, m.total_pages);
}

void service_cmd_mem_relinquish(struct sp_call *call)
{
	uint16_t self = self_id(call);
	struct held_handle *h = held_by(arg64(call, 1), call->sender);

	if (h == NULL || map_buffers(self) != 0 || !relinquish(self, h->handle)) {
		ret64(call, 0, SERVICE_ERR_NOT_HELD);
		return;
	}
	h->used = false;
	ret64(call, 0, 0);
}

bool sp_service_forget_vm(uint16_t vm)
{
	uint32_t batch = 0;

	for (uint32_t i = 0; i < MEM_TXN_SLOTS; i++) {
		if (!held[i].used || held[i].owner != vm)
			continue;
		if (batch == SERVICE_FORGET_BATCH)
			return false;
		if (map_buffers(SERVICE_SP_ID) == 0 && relinquish(SERVICE_SP_ID, held[i].handle))
			held[i].used = false;
		batch++;
	}
	return true;
}

/* ---- indirect messages ---- */
void sp_service_init(void)
{
	if (sp_find(SERVICE_SP_ID) != NULL)
		map_buffers(SERVICE_SP_ID); /* ready for FFA_MSG_SEND2 from the start, as an SP maps at its init */
}

/*
 * MSG_READ -> [payload size, sender, byte sum of the payload, 1 if the "RX
 * buffer full" notification from the hypervisor's framework was pending],
 * then hands the RX buffer back; SERVICE_ERR_NO_MESSAGE if the SP does not
 * own its RX buffer (no message).  The header is the sender's (msg.c).
 */
void service_cmd_msg_read(struct sp_call *call)
{
	uint16_t self = call->sp->id;
	struct ffa_regs regs;
	uint32_t offset, size, sum = 0;

	if (!svc_mapped || sp_rx_free(self) != NULL) {
		sp_ret(call, 0, SERVICE_ERR_NO_MESSAGE);
		return;
	}
	offset = ld32(svc_rx, 8);
	size = ld32(svc_rx, 16);
	for (uint32_t i = 0; i < size && offset + i < PAGE_SIZE; i++)
		sum += svc_rx[offset + i];
	sp_ret(call, 0, size);
	sp_ret(call, 1, (uint16_t)(ld32(svc_rx, 12) >> 16));
	sp_ret(call, 2, sum);
	regs_set(&regs, FFA_NOTIFICATION_GET, self, 0x8, 0); /* the hypervisor framework's bitmap */
	ffa_call(self, &regs);
	sp_ret(call, 3, regs.x[0] == FFA_SUCCESS && (regs.x[7] & 1) != 0);
	rx_release(self);
}
