/*
 * ffa_vm_to_vm: two VMs (endpoints 1 and 2, the same image) send each other
 * indirect messages (FFA_MSG_SEND2) through the mediator, as Xen's
 * CONFIG_FFA_VM_TO_VM lets them.  One "v2v: key=value" line per step:
 *
 *   listed      the VM IDs in FFA_PARTITION_INFO_GET's list once the peer is
 *               in it, or "none" if it is not there within a millisecond of
 *               the virtual counter, many scheduling quanta (then the VM
 *               stops)
 *   count       the same list's length by the count-only flag
 * VM 1:
 *   to_self     a message naming VM 1 as the receiver
 *   to_absent   a message to VM 9, which does not exist
 *   send        64 bytes 1..64 to VM 2
 *   busy        the same again at once: VM 2's RX buffer is still full
 * VM 2, once the notification pending interrupt came:
 *   irq         the INTID taken
 *   info_get    FFA_NOTIFICATION_INFO_GET_64: its first list's ID
 *   get         GET(self, the hypervisor's bitmap): w7, "RX buffer full"
 *   get_again   the same again
 *   message     the header and payload Xen wrote into our RX buffer
 *   unmap_held  RXTX_UNMAP while we hold the RX buffer
 *   release     RX_RELEASE
 *   reply       16 bytes back to VM 1
 * VM 1, once the reply's interrupt came: irq, info_get, get, message.
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "ffa.h"
#include "gic.h"
#include "timer.h"

#define GET_FROM_HYPERVISOR 0x8u
#define PEER_WAIT_PER_SECOND 1000u /* wait for the peer a millisecond */
#define ABSENT_VM 9u

static uint8_t tx_buf[4096] __attribute__((aligned(4096)));
static volatile uint8_t rx_buf[4096] __attribute__((aligned(4096)));
static uint16_t self;

void guest_irq(struct exception_frame *frame)
{
    (void)frame;
    gic_take();
}

static void report(const char *key, const struct smccc_regs *r)
{
    ffa_print_step("v2v", key, r);
}

static uint32_t ld32(const volatile uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A 1.2 header (payload at 40) from us to `receiver`, and `size` bytes first, first + 1, ... */
static struct smccc_regs send(uint16_t receiver, uint32_t size, uint8_t first)
{
    ffa_send2_header(tx_buf, self, receiver, FFA_SEND2_HEADER_V1_2, size);
    for (uint32_t i = 0; i < size; i++)
        tx_buf[FFA_SEND2_HEADER_V1_2 + i] = (uint8_t)(first + i);
    return ffa_call(FFA_MSG_SEND2, 0, 0, 0, 0, 0, 0, 0);
}

/* Poll the partition list until the peer is in it; print it (or "none"). */
static int peer_listed(uint16_t peer)
{
    static const uint32_t nil[4];
    uint64_t deadline = timer_cntvct() + timer_frequency() / PEER_WAIT_PER_SECOND;

    while (timer_cntvct() < deadline) {
        struct smccc_regs r = ffa_partition_info_get(nil, 0);
        uint32_t count, size;
        int found = 0;

        if (!ffa_ok(&r)) {
            report("listed", &r);
            return 0;
        }
        count = ffa_w(&r, 2);
        size = ffa_w(&r, 3);
        for (uint32_t i = 0; i < count; i++)
            found |= ffa_partition_entry(rx_buf, i, size).id == peer;
        if (found) {
            printf("v2v: listed=");
            for (uint32_t i = 0; i < count; i++)
                printf(i ? ",0x%x" : "0x%x", ffa_partition_entry(rx_buf, i, size).id);
            printf("\n");
        }
        ffa_rx_release();
        if (found) {
            r = ffa_partition_info_get(nil, FFA_PARTITION_INFO_FLAG_COUNT_ONLY);
            if (ffa_ok(&r))
                printf("v2v: count=%u\n", ffa_w(&r, 2));
            else
                report("count", &r);
            return 1;
        }
    }
    printf("v2v: listed=none\n");
    return 0;
}

/* Sleep until the notification pending interrupt, then collect what it announces and read the message. */
static void receive(void)
{
    struct smccc_regs r;
    uint32_t size, sum = 0;

    while (gic_taken == GIC_SPURIOUS) {
        asm volatile("wfi" : : : "memory");
        irq_unmask();
        irq_mask();
    }
    printf("v2v: irq=%u\n", gic_taken);
    gic_taken = GIC_SPURIOUS;

    r = ffa_call(FFA_FN64_NOTIFICATION_INFO_GET, 0, 0, 0, 0, 0, 0, 0);
    if (ffa_ok(&r))
        printf("v2v: info_get=0x%x\n", (uint16_t)r.x[3]);
    else
        report("info_get", &r);
    for (int again = 0; again < 2; again++) {
        r = ffa_call(FFA_NOTIFICATION_GET, self, GET_FROM_HYPERVISOR, 0, 0, 0, 0, 0);
        if (ffa_ok(&r))
            printf("v2v: %s=%u\n", again ? "get_again" : "get", ffa_w(&r, 7));
        else
            report(again ? "get_again" : "get", &r);
    }

    size = ld32(rx_buf + 16);
    for (uint32_t i = 0; i < size && FFA_SEND2_HEADER_V1_2 + i < sizeof(rx_buf); i++)
        sum += rx_buf[ld32(rx_buf + 8) + i];
    printf("v2v: message=offset:%u endpoints:0x%x size:%u sum:%u\n", ld32(rx_buf + 8), ld32(rx_buf + 12), size,
           sum);
}

int main(void)
{
    struct smccc_regs r;
    uint16_t peer;

    install_vectors();
    irq_mask();
    ffa_version(FFA_MAKE_VERSION(1, 2));
    r = ffa_id_get();
    self = (uint16_t)ffa_w(&r, 2);
    peer = self == 1 ? 2 : 1;
    r = ffa_rxtx_map((uint64_t)(uintptr_t)tx_buf, (uint64_t)(uintptr_t)rx_buf, 1);
    report("rxtx_map", &r);
    r = ffa_features(FFA_FEATURE_ID_NPI);
    if (!ffa_ok(&r)) {
        report("npi", &r);
        return 0;
    }
    gic_init();
    gic_irq_setup(ffa_w(&r, 2), 0x80);

    if (!peer_listed(peer))
        return 0;
    if (self == 1) {
        r = send(self, 64, 1);
        report("to_self", &r);
        r = send(ABSENT_VM, 64, 1);
        report("to_absent", &r);
        r = send(peer, 64, 1);
        report("send", &r);
        r = send(peer, 64, 1);
        report("busy", &r);
        receive();
    } else {
        receive();
        r = ffa_rxtx_unmap(self);
        report("unmap_held", &r);
        r = ffa_rx_release();
        report("release", &r);
        r = send(peer, 16, 100);
        report("reply", &r);
    }
    return 0;
}
