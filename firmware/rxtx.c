/*
 * The normal world's RX/TX buffer pairs: the hypervisor's own, and those of
 * its VMs that it registers (FF-A 1.1: FFA_RXTX_MAP with x1-x3 zero and an
 * endpoint RX/TX descriptor in its TX buffer, as Xen's ffa_rxtx.c does so that
 * the SPMC reads a VM's FFA_MSG_SEND2 from the VM's own TX buffer).
 *
 * The SPMC runs with the MMU off, so "mapping" only records the physical
 * addresses; the SPMC reads TX and writes RX at those addresses directly.
 * RX ownership: the producer (the SPMC) owns the RX buffer until it writes
 * a message into it; the consumer (the normal world) then owns it until
 * FFA_RX_RELEASE.  The hypervisor names a VM's pair in w1 of RXTX_UNMAP
 * (bits 31:16), RX_ACQUIRE and RX_RELEASE (bits 15:0); 0 is its own.
 */
#include "spmc.h"

#define VM_MAILBOXES 16U
/* Endpoint RX/TX descriptor: endpoint u16 @0, RX and TX composite descriptor offsets u32 @4 and @8. */
#define EP_DESC_ID 0
#define EP_DESC_RX 4
#define EP_DESC_TX 8
/* A composite: total pages u32 @0, range count u32 @4; its constituent (address u64, pages u32) at +16. */
#define EP_COMPOSITE_SIZE 32U

struct nwd_mailbox nwd_mbox;
static struct nwd_mailbox vm_mboxes[VM_MAILBOXES];

void rxtx_init(void)
{
	nwd_mbox = (struct nwd_mailbox){ 0 };
}

struct nwd_mailbox *nwd_mailbox_of(uint16_t id)
{
	if (id == FFA_HYP_ID)
		return nwd_mbox.mapped ? &nwd_mbox : NULL;
	for (uint32_t i = 0; i < VM_MAILBOXES; i++) {
		if (vm_mboxes[i].mapped && vm_mboxes[i].id == id)
			return &vm_mboxes[i];
	}
	return NULL;
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

/* One page-aligned range from the composite at `offset` of the descriptor; false if it is not that. */
static bool composite_range(const uint8_t *desc, uint32_t offset, uint64_t *pa, uint32_t *pages)
{
	const uint8_t *c = desc + offset;

	if (offset % 8 != 0 || offset > PAGE_SIZE - EP_COMPOSITE_SIZE || ld32(c, 4) != 1)
		return false;
	*pa = ld64(c, 16);
	*pages = ld32(c, 24);
	return *pages == ld32(c, 0) && *pages != 0 && *pages <= SPMC_RXTX_MAX_PAGES;
}

/*
 * The hypervisor registers a VM's pair: the endpoint RX/TX descriptor in its
 * own TX buffer names the VM (a normal-world ID other than its own) and one
 * range for each buffer, of the same size.
 */
static void register_vm_pair(struct ffa_regs *resp)
{
	const uint8_t *desc = (const uint8_t *)(uintptr_t)nwd_mbox.tx_pa;
	uint16_t id;
	uint64_t rx, tx;
	uint32_t rx_pages, tx_pages;

	if (!nwd_mbox.mapped) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	id = ld16(desc, EP_DESC_ID);
	if (id == FFA_HYP_ID || (id & FFA_SECURE_ID_BIT) != 0 ||
	    !composite_range(desc, ld32(desc, EP_DESC_RX), &rx, &rx_pages) ||
	    !composite_range(desc, ld32(desc, EP_DESC_TX), &tx, &tx_pages) || rx_pages != tx_pages ||
	    !buffer_valid(rx, (uint64_t)rx_pages * PAGE_SIZE) || !buffer_valid(tx, (uint64_t)tx_pages * PAGE_SIZE) ||
	    ranges_overlap(tx, (uint64_t)tx_pages * PAGE_SIZE, rx, (uint64_t)rx_pages * PAGE_SIZE)) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (nwd_mailbox_of(id) != NULL) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	for (uint32_t i = 0; i < VM_MAILBOXES; i++) {
		if (!vm_mboxes[i].mapped) {
			vm_mboxes[i] = (struct nwd_mailbox){ .id = id, .tx_pa = tx, .rx_pa = rx, .pages = rx_pages,
							     .mapped = true };
			ffa_success(resp, 0, 0);
			return;
		}
	}
	ffa_error(resp, FFA_RET_NO_MEMORY);
}

/*
 * FFA_RXTX_MAP / FFA_FN64_RXTX_MAP: x1 = TX, x2 = RX (w1/w2 for SMC32),
 * w3[5:0] = page count; all three zero: a VM's pair (register_vm_pair()).
 */
void ffa_rxtx_map_handle(const struct ffa_regs *req, struct ffa_regs *resp, bool smc64)
{
	uint64_t tx = smc64 ? req->x[1] : (uint32_t)req->x[1];
	uint64_t rx = smc64 ? req->x[2] : (uint32_t)req->x[2];
	uint32_t pages = (uint32_t)req->x[3] & FFA_RXTX_PAGE_COUNT_MASK;
	uint64_t size = (uint64_t)pages * PAGE_SIZE;

	if ((tx | rx | (uint32_t)req->x[3]) == 0 && spmc_at_least(FFA_VERSION_1_1)) {
		register_vm_pair(resp);
		return;
	}
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

/* FFA_RXTX_UNMAP(w1[31:16] = endpoint ID): the hypervisor's own pair, or a VM's it registered. */
void ffa_rxtx_unmap_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	struct nwd_mailbox *mbox = nwd_mailbox_of((uint16_t)((uint32_t)req->x[1] >> 16));

	if (mbox == NULL) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	*mbox = (struct nwd_mailbox){ 0 };
	ffa_success(resp, 0, 0);
}

/* FFA_RX_RELEASE(w1[15:0] = endpoint ID): the consumer hands the RX buffer back to the producer. */
void ffa_rx_release_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	struct nwd_mailbox *mbox = nwd_mailbox_of((uint16_t)req->x[1]);

	if (mbox == NULL || !mbox->rx_consumer_owned) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	mbox->rx_consumer_owned = false;
	ffa_success(resp, 0, 0);
}

/*
 * FFA_RX_ACQUIRE (FF-A 1.1+): the hypervisor takes ownership of the RX
 * buffer from the SPMC (the producer) so that the SPMC will not write it.
 */
void ffa_rx_acquire_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	struct nwd_mailbox *mbox = nwd_mailbox_of((uint16_t)req->x[1]);

	if (!spmc_at_least(FFA_VERSION_1_1)) {
		ffa_error(resp, FFA_RET_NOT_SUPPORTED);
		return;
	}
	if (mbox == NULL) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (mbox->rx_consumer_owned) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	mbox->rx_consumer_owned = true;
	ffa_success(resp, 0, 0);
}
