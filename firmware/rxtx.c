/*
 * The normal world's RX/TX buffer pair (one pair, the hypervisor's).
 *
 * The SPMC runs with the MMU off, so "mapping" only records the physical
 * addresses; the SPMC reads TX and writes RX at those addresses directly.
 * RX ownership: the producer (the SPMC) owns the RX buffer until it writes
 * a message into it; the consumer (the normal world) then owns it until
 * FFA_RX_RELEASE.
 */
#include "spmc.h"

struct nwd_mailbox nwd_mbox;

void rxtx_init(void)
{
	nwd_mbox = (struct nwd_mailbox){ 0 };
}

static bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
	return a < b + b_size && b < a + a_size;
}

/* A buffer of `size` bytes at `pa`: aligned, below the PA limit, not secure. */
static bool buffer_valid(uint64_t pa, uint64_t size)
{
	if (pa == 0 || (pa & (PAGE_SIZE - 1)) != 0)
		return false;
	if (pa >= PA_LIMIT || size > PA_LIMIT - pa)
		return false;
	return !ranges_overlap(pa, size, SECURE_RAM_PA, SECURE_RAM_SIZE);
}

/*
 * FFA_RXTX_MAP / FFA_FN64_RXTX_MAP: x1 = TX, x2 = RX (w1/w2 for SMC32),
 * w3[5:0] = page count.
 */
void ffa_rxtx_map_handle(const struct ffa_regs *req, struct ffa_regs *resp, bool smc64)
{
	uint64_t tx = smc64 ? req->x[1] : (uint32_t)req->x[1];
	uint64_t rx = smc64 ? req->x[2] : (uint32_t)req->x[2];
	uint32_t pages = (uint32_t)req->x[3] & FFA_RXTX_PAGE_COUNT_MASK;
	uint64_t size = (uint64_t)pages * PAGE_SIZE;

	if (pages == 0 || pages > SPMC_RXTX_MAX_PAGES) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (!buffer_valid(tx, size) || !buffer_valid(rx, size) ||
	    ranges_overlap(tx, size, rx, size)) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (nwd_mbox.mapped) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	nwd_mbox.tx_pa = tx;
	nwd_mbox.rx_pa = rx;
	nwd_mbox.pages = pages;
	nwd_mbox.mapped = true;
	nwd_mbox.rx_consumer_owned = false;
	ffa_success(resp, 0, 0);
}

/* FFA_RXTX_UNMAP(w1[31:16] = endpoint ID): only the hypervisor's own pair. */
void ffa_rxtx_unmap_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	uint16_t id = (uint16_t)((uint32_t)req->x[1] >> 16);

	if (id != FFA_HYP_ID || !nwd_mbox.mapped) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	rxtx_init();
	ffa_success(resp, 0, 0);
}

/* FFA_RX_RELEASE: the consumer hands the RX buffer back to the producer. */
void ffa_rx_release_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	(void)req;
	if (!nwd_mbox.mapped || !nwd_mbox.rx_consumer_owned) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	nwd_mbox.rx_consumer_owned = false;
	ffa_success(resp, 0, 0);
}

/*
 * FFA_RX_ACQUIRE (FF-A 1.1+): the hypervisor takes ownership of the RX
 * buffer from the SPMC (the producer) so that the SPMC will not write it.
 */
void ffa_rx_acquire_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	(void)req;
	if (!spmc_at_least(FFA_VERSION_1_1)) {
		ffa_error(resp, FFA_RET_NOT_SUPPORTED);
		return;
	}
	if (!nwd_mbox.mapped) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (nwd_mbox.rx_consumer_owned) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	nwd_mbox.rx_consumer_owned = true;
	ffa_success(resp, 0, 0);
}
