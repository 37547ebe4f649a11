/*
 * Indirect messaging: FFA_MSG_SEND2 from the normal world to an SP, as
 * Hafnium v2.15 serves it (src/api.c api_ffa_msg_send2).
 *
 * w1[31:16] names the sender: the hypervisor speaks for a VM whose pair it
 * registered (0: its own pair); w2 = flags, which a normal-world sender
 * must leave zero.  The message is in the sender's TX buffer, behind a
 * header: flags u32 @0, reserved u32 @4, payload offset u32 @8, receiver
 * u16 @12, sender u16 @14, payload size u32 @16 (FF-A 1.1: 20 bytes;
 * FF-A 1.2 adds a reserved word and a UUID: 40).  In Hafnium's order:
 *
 *   no such sender, or one without a TX buffer        DENIED
 *   the header's sender is not the sender, or its
 *   receiver is the sender, or flags are set          INVALID_PARAMETERS
 *   the receiver is no SP                              INVALID_PARAMETERS
 *   the SP takes no indirect messages                  DENIED
 *   the SP's RX buffer is not free (or not mapped)     BUSY
 *   the offset below the header of the version in
 *   effect, or offset + size past the buffer           INVALID_PARAMETERS
 *
 * Delivery copies offset + size bytes, the sender's header as it is, into
 * the SP's RX buffer, which the SP then owns until FFA_RX_RELEASE, and makes
 * the "RX buffer full" framework notification pending for it (from the
 * normal world: bit 32, read as w7 bit 0 of FFA_NOTIFICATION_GET), which sends
 * the schedule receiver interrupt.
 */
#include "spmc.h"

#define SEND2_HDR_OFFSET 8
#define SEND2_HDR_ENDPOINTS 12
#define SEND2_HDR_SIZE 16
#define SEND2_HEADER_V1_1 20U
#define SEND2_HEADER_V1_2 40U
#define NOTIF_HYP_RX_BUFFER_FULL 32U

void ffa_msg_send2_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	uint16_t sender = FFA_MSG_SENDER(req->x[1]);
	struct nwd_mailbox *mbox = nwd_mailbox_of(sender);
	const uint8_t *tx;
	uint32_t endpoints, offset, size, limit;
	const struct sp_desc *sp;
	uint8_t *rx;

	if (mbox == NULL) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	tx = (const uint8_t *)(uintptr_t)mbox->tx_pa;
	endpoints = ld32(tx, SEND2_HDR_ENDPOINTS);
	if (FFA_MSG_SENDER(endpoints) != sender || FFA_MSG_RECEIVER(endpoints) == sender ||
	    (uint32_t)req->x[2] != 0) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	sp = sp_find(FFA_MSG_RECEIVER(endpoints));
	if (sp == NULL) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if ((sp->properties & FFA_PARTITION_PROP_INDIRECT_MSG) == 0) {
		ffa_error(resp, FFA_RET_DENIED);
		return;
	}
	rx = sp_rx_free(sp->id);
	if (rx == NULL) {
		ffa_error(resp, FFA_RET_BUSY);
		return;
	}
	offset = ld32(tx, SEND2_HDR_OFFSET);
	size = ld32(tx, SEND2_HDR_SIZE);
	limit = PAGE_SIZE;
	if (offset < (spmc_at_least(FFA_VERSION_1_2) ? SEND2_HEADER_V1_2 : SEND2_HEADER_V1_1) || offset > limit ||
	    size > limit - offset) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	memcpy(rx, tx, offset + size);
	sp_rx_hand_over(sp->id);
	notif_framework_set(sp->id, NOTIF_HYP_RX_BUFFER_FULL);
	ffa_success(resp, 0, 0);
}
