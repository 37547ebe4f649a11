/*
 * ffa_msg_send2: indirect messages (FFA_MSG_SEND2) from this VM to the
 * service SP, whatever the mediator makes of them.  One "send2: key=value"
 * line per step (the test compares them with each mediator's source):
 *
 *   features     FFA_FEATURES(FFA_MSG_SEND2)
 *   send         a 1.2 header (payload at 40) and 64 payload bytes 1..64
 *   read         the SP's MSG_READ: size, sender, byte sum, "RX buffer full"
 *                notification pending (or the SP's error)
 *   busy         two messages in a row: the second finds the SP's RX full
 *   spoofed      a header naming another sender
 *   short_offset a 1.1-sized header (payload at 20) after negotiating 1.2
 *   to_a_vm      a header naming VM 2 as the receiver
 *   partinfo_release  PARTITION_INFO_GET then RX_RELEASE (the RX buffer's
 *                round trip, which Xen passes on to the SPMC)
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"

#define PAYLOAD 64u

static uint8_t tx_buf[4096] __attribute__((aligned(4096)));
static uint8_t rx_buf[4096] __attribute__((aligned(4096)));
static uint16_t self;

/* The header, then the payload. */
static void write_message(uint16_t sender, uint16_t receiver, uint32_t offset)
{
    ffa_send2_header(tx_buf, sender, receiver, offset, PAYLOAD);
    for (uint32_t i = 0; i < PAYLOAD; i++)
        tx_buf[offset + i] = (uint8_t)(i + 1);
}

static void report(const char *key, const struct smccc_regs *r)
{
    ffa_print_step("send2", key, r);
}

static struct smccc_regs send(uint16_t sender, uint16_t receiver, uint32_t offset)
{
    write_message(sender, receiver, offset);
    return ffa_call(FFA_MSG_SEND2, 0, 0, 0, 0, 0, 0, 0);
}

static void read_message(void)
{
    struct smccc_regs r = ffa_call(FFA_MSG_SEND_DIRECT_REQ, FFA_ENDPOINTS(self, SERVICE_SP_ID), 0,
                                   SERVICE_CMD_MSG_READ, 0, 0, 0, 0);

    if (ffa_w(&r, 3) == SERVICE_ERR_NO_MESSAGE)
        printf("send2: read=none\n");
    else
        printf("send2: read=size:%u sender:0x%x sum:%u rx_full:%u\n", ffa_w(&r, 3), ffa_w(&r, 4), ffa_w(&r, 5),
               ffa_w(&r, 6));
}

int main(void)
{
    struct smccc_regs r;

    ffa_version(FFA_MAKE_VERSION(1, 2));
    r = ffa_id_get();
    self = (uint16_t)ffa_w(&r, 2);
    r = ffa_rxtx_map((uint64_t)(uintptr_t)tx_buf, (uint64_t)(uintptr_t)rx_buf, 1);
    report("rxtx_map", &r);
    r = ffa_features(FFA_MSG_SEND2);
    report("features", &r);

    r = send(self, SERVICE_SP_ID, FFA_SEND2_HEADER_V1_2);
    report("send", &r);
    read_message();

    send(self, SERVICE_SP_ID, FFA_SEND2_HEADER_V1_2);
    r = send(self, SERVICE_SP_ID, FFA_SEND2_HEADER_V1_2);
    report("busy", &r);
    read_message();

    r = send(self + 1, SERVICE_SP_ID, FFA_SEND2_HEADER_V1_2);
    report("spoofed", &r);
    r = send(self, SERVICE_SP_ID, FFA_SEND2_HEADER_V1_1);
    report("short_offset", &r);
    r = send(self, 2, FFA_SEND2_HEADER_V1_2);
    report("to_a_vm", &r);

    r = ffa_call(FFA_PARTITION_INFO_GET, 0, 0, 0, 0, 0, 0, 0);
    if (ffa_ok(&r))
        r = ffa_rx_release();
    report("partinfo_release", &r);
    return 0;
}
