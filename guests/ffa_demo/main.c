/*
 * ffa_demo: a short tour of FF-A through the mediator, for `make run`.
 *
 * Negotiate FF-A 1.2, learn our endpoint ID, map an RX/TX buffer pair,
 * list the secure partitions, send a DIRECT_REQ2 to the echo SP, PING the
 * service SP, unmap.  Each step prints one line; TAP sums up at the end.
 * Steps a mediator does not offer (pKVM has no DIRECT_REQ2) are reported,
 * not failed.
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"
#include "tap.h"

static uint8_t tx_buf[4096] __attribute__((aligned(4096)));
static uint8_t rx_buf[4096] __attribute__((aligned(4096)));

static int ok_version, ok_id, ok_map, ok_list, ok_req2, ok_ping, ok_unmap;

int main(void)
{
    static const uint32_t nil_uuid[4] = { 0, 0, 0, 0 };
    char text[96];
    struct smccc_regs r;
    uint16_t self = 0;
    uint32_t w0, count = 0, size = 0, found = 0;

    printf("FF-A demo: talking to the secure world through the hypervisor\n");

    w0 = ffa_version(FFA_MAKE_VERSION(1, 2));
    ok_version = !ffa_version_is_error(w0) && FFA_VERSION_MAJOR_OF(w0) == 1;
    printf("1. FFA_VERSION: we speak 1.2, the hypervisor answers %s\n", ffa_version_str(w0, text, sizeof(text)));

    r = ffa_id_get();
    ok_id = ffa_ok(&r);
    self = (uint16_t)ffa_w(&r, 2);
    printf("2. FFA_ID_GET: our endpoint ID is 0x%04x\n", self);

    r = ffa_rxtx_map((uint64_t)(uintptr_t)tx_buf, (uint64_t)(uintptr_t)rx_buf, 1);
    ok_map = ffa_ok(&r);
    printf("3. FFA_RXTX_MAP: TX at 0x%llx, RX at 0x%llx: %s\n", (unsigned long long)(uintptr_t)tx_buf,
           (unsigned long long)(uintptr_t)rx_buf, ffa_describe(&r, text, sizeof(text)));

    r = ffa_partition_info_get(nil_uuid, 0);
    if (ffa_ok(&r)) {
        count = ffa_w(&r, 2);
        size = ffa_w(&r, 3);
        printf("4. FFA_PARTITION_INFO_GET: %u partitions (%u-byte entries)\n", count, size);
        for (uint32_t i = 0; i < count && i < 8; i++) {
            struct ffa_partition_info e = ffa_partition_entry(rx_buf, i, size);

            printf("   - 0x%04x: %u execution context(s), properties 0x%03x, UUID %08x-%08x-%08x-%08x (%s)\n",
                   e.id, e.exec_contexts, e.properties, e.uuid[0], e.uuid[1], e.uuid[2], e.uuid[3],
                   e.id == ECHO_SP_ID ? "echo SP" : e.id == SERVICE_SP_ID ? "service SP"
                   : e.id & FFA_SECURE_ID_BIT ? "?" : "this VM");
            found += e.id == ECHO_SP_ID || e.id == SERVICE_SP_ID;
        }
        ok_list = found == STUB_PARTITION_COUNT;
        ffa_rx_release();
    } else {
        printf("4. FFA_PARTITION_INFO_GET: %s\n", ffa_describe(&r, text, sizeof(text)));
    }

    {
        uint64_t v[14];

        for (int i = 0; i < 14; i++)
            v[i] = 100 * (uint64_t)(i + 1);
        r = ffa_direct_req2_frame(self, ECHO_SP_ID, 0, 0, v);
        smccc_call(&r);
        if (ffa_is_direct_resp2(&r)) {
            int good = 1;

            for (int i = 0; i < 14; i++)
                good &= r.x[4 + i] == v[i] + ECHO_DELTA;
            ok_req2 = good;
            printf("5. DIRECT_REQ2 to the echo SP: sent 100, 200 ... 1400 in x4-x17, got %llu, %llu ... %llu back\n",
                   (unsigned long long)r.x[4], (unsigned long long)r.x[5], (unsigned long long)r.x[17]);
        } else {
            ok_req2 = ffa_error_code(&r) == FFA_RET_NOT_SUPPORTED;
            printf("5. DIRECT_REQ2 to the echo SP: %s (this hypervisor does not offer it)\n",
                   ffa_describe(&r, text, sizeof(text)));
        }
    }

    {
        uint64_t ping[5] = { SERVICE_CMD_PING, 0, 0, 0, 0 };

        r = ffa_direct_req(FFA_MSG_SEND_DIRECT_REQ, self, SERVICE_SP_ID, ping);
        ok_ping = ffa_is_direct_resp(&r) && ffa_w(&r, 3) == SERVICE_PING_MAGIC;
        if (ok_ping)
            printf("6. PING the service SP: it answers \"%c%c%c%c\" and has served %u request(s)\n",
                   (char)(ffa_w(&r, 3) >> 24), (char)(ffa_w(&r, 3) >> 16), (char)(ffa_w(&r, 3) >> 8),
                   (char)ffa_w(&r, 3), ffa_w(&r, 4));
        else
            printf("6. PING the service SP: %s\n", ffa_describe(&r, text, sizeof(text)));
    }

    r = ffa_rxtx_unmap(0);
    ok_unmap = ffa_ok(&r);
    printf("7. FFA_RXTX_UNMAP: %s\n", ffa_describe(&r, text, sizeof(text)));

    tap_plan(7);
    tap_ok(ok_version, "version negotiated");
    tap_ok(ok_id, "endpoint ID");
    tap_ok(ok_map, "RX/TX buffers mapped");
    tap_ok(ok_list, "both secure partitions listed");
    tap_ok(ok_req2, "DIRECT_REQ2 echoed (or not offered)");
    tap_ok(ok_ping, "service SP answered PING");
    tap_ok(ok_unmap, "RX/TX buffers unmapped");
    return tap_done();
}
