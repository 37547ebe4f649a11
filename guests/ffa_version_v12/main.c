/*
 * ffa_version_v12 (and ffa_version_v10, which includes this file with
 * REQUESTED_VERSION = 1.0): negotiate one version first thing, then
 * FFA_ID_GET, map RX/TX and read the partition list, whose entry size
 * shows which version the mediator kept for this VM: 8 bytes for 1.0,
 * 24 from 1.1.  Meant to run two at once (one VM of each) to compare
 * per-VM (Xen, spec) and host-wide (pKVM) negotiation.
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"
#include "tap.h"

#ifndef REQUESTED_VERSION
#define REQUESTED_VERSION FFA_MAKE_VERSION(1, 2)
#endif

#define PLAN 7

static uint8_t tx_buf[4096] __attribute__((aligned(4096)));
static uint8_t rx_buf[4096] __attribute__((aligned(4096)));

int main(void)
{
    static const uint32_t nil_uuid[4] = { 0, 0, 0, 0 };
    char text[96];
    struct smccc_regs r;
    uint32_t w0, effective, size;

    tap_plan(PLAN);
    w0 = ffa_version(REQUESTED_VERSION);
    effective = ffa_effective_version(REQUESTED_VERSION, w0);
    tap_diag("FFA_VERSION(%u.%u) -> %s", FFA_VERSION_MAJOR_OF(REQUESTED_VERSION),
             FFA_VERSION_MINOR_OF(REQUESTED_VERSION), ffa_version_str(w0, text, sizeof(text)));
    tap_ok(w0 == (uint32_t)FFA_RET_NOT_SUPPORTED || FFA_VERSION_MAJOR_OF(w0) == 1,
           "VERSION answers 1.x or NOT_SUPPORTED");

    r = ffa_id_get();
    tap_diag("FFA_ID_GET -> %s", ffa_describe(&r, text, sizeof(text)));
    tap_ok(ffa_ok(&r), "ID_GET succeeds");

    r = ffa_rxtx_map((uint64_t)(uintptr_t)tx_buf, (uint64_t)(uintptr_t)rx_buf, 1);
    tap_ok(ffa_ok(&r), "RXTX_MAP succeeds");

    r = ffa_partition_info_get(nil_uuid, 0);
    size = ffa_partition_info_size(ffa_w(&r, 3), effective);
    tap_diag("PARTITION_INFO_GET(nil) -> %s: entry size %u", ffa_describe(&r, text, sizeof(text)), size);
    /* Xen also lists a 1.2 caller itself, after the SPs. */
    tap_ok(ffa_ok(&r) && (ffa_w(&r, 2) == STUB_PARTITION_COUNT || ffa_w(&r, 2) == STUB_PARTITION_COUNT + 1),
           "PARTITION_INFO_GET: the %u SPs (and at most the caller)", (unsigned)STUB_PARTITION_COUNT);
    if (effective) {
        tap_diag("negotiated %u.%u: expecting %u-byte entries", FFA_VERSION_MAJOR_OF(effective),
                 FFA_VERSION_MINOR_OF(effective),
                 effective >= FFA_VERSION_1_1 ? (unsigned)FFA_PARTITION_INFO_SIZE_V1_1
                                              : (unsigned)FFA_PARTITION_INFO_SIZE_V1_0);
        expect_eq_u64(size, effective >= FFA_VERSION_1_1 ? FFA_PARTITION_INFO_SIZE_V1_1
                                                         : FFA_PARTITION_INFO_SIZE_V1_0,
                      "entry size matches the negotiated version");
    } else {
        tap_ok(size == FFA_PARTITION_INFO_SIZE_V1_0 || size == FFA_PARTITION_INFO_SIZE_V1_1,
               "VERSION refused: entry size is 8 or 24");
    }
    if (ffa_ok(&r) && size >= FFA_PARTITION_INFO_SIZE_V1_0) {
        struct ffa_partition_info e = ffa_partition_entry(rx_buf, 0, size);
        expect_eq_u64(e.id, ECHO_SP_ID, "first entry is the echo SP");
    } else {
        tap_ok(0, "first entry is the echo SP");
    }

    /* Diagnostic only: the tests check it per profile. */
    r = ffa_rx_release();
    tap_diag("RX_RELEASE -> %s", ffa_describe(&r, text, sizeof(text)));
    r = ffa_rxtx_unmap(0);
    tap_ok(ffa_ok(&r), "RXTX_UNMAP succeeds");
    return tap_done();
}
