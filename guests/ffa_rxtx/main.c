/*
 * ffa_rxtx: FFA_RXTX_MAP / FFA_RXTX_UNMAP / FFA_RX_RELEASE error cases and
 * the valid map, after negotiating FF-A 1.2.  A map of TX == RX and an unmap
 * naming ID 1 in w1 fail, or succeed where the mediator does not check them
 * (Xen), and are then undone.  Maps use the 64-bit form
 * (FFA_FN64_RXTX_MAP); the 32-bit form of a valid map is made last, as a
 * diagnostic only (pKVM refuses it), as is a two-page map (only the spec
 * profile allows more than one page).  TX and RX are adjacent pages, so a
 * 63-page map overlaps them whatever the mediator's page limit.
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"
#include "tap.h"

#define OUTSIDE_RAM_IPA 0x20000000ULL

static uint8_t tx_buf[4096] __attribute__((aligned(4096)));
static uint8_t rx_buf[4096] __attribute__((aligned(4096)));
static uint8_t tx2_buf[2 * 4096] __attribute__((aligned(4096)));
static uint8_t rx2_buf[2 * 4096] __attribute__((aligned(4096)));

#define PLAN 12

static struct smccc_regs step(const char *what, struct smccc_regs r)
{
    char text[96];

    tap_diag("%s -> %s", what, ffa_describe(&r, text, sizeof(text)));
    return r;
}

static void must_fail(const char *what, struct smccc_regs r)
{
    r = step(what, r);
    tap_ok(ffa_is_error(&r) && ffa_error_code(&r) < 0, "%s fails", what);
}

int main(void)
{
    uint64_t tx = (uint64_t)(uintptr_t)tx_buf, rx = (uint64_t)(uintptr_t)rx_buf;
    struct smccc_regs r;
    uint32_t w0;
    int ok;
    char text[48];

    tap_plan(PLAN);
    w0 = ffa_version(FFA_MAKE_VERSION(1, 2));
    tap_diag("FFA_VERSION(1.2) -> %s", ffa_version_str(w0, text, sizeof(text)));
    tap_ok(rx == tx + 4096, "RX follows TX (0x%llx, 0x%llx)", (unsigned long long)tx,
           (unsigned long long)rx);

    must_fail("RXTX_MAP TX unaligned", ffa_rxtx_map(tx + 0x800, rx, 1));
    must_fail("RXTX_MAP page count 0", ffa_rxtx_map(tx, rx, 0));
    must_fail("RXTX_MAP page count 63", ffa_rxtx_map(tx, rx, 63));
    must_fail("RXTX_MAP TX outside RAM", ffa_rxtx_map(OUTSIDE_RAM_IPA, rx, 1));
    /* Xen checks no overlap (ffa_rxtx.c ffa_handle_rxtx_map): the pair is mapped, so unmap it again. */
    r = step("RXTX_MAP TX == RX", ffa_rxtx_map(rx, rx, 1));
    ok = ffa_error_code(&r) < 0;
    if (ffa_ok(&r)) {
        r = step("RXTX_UNMAP after TX == RX", ffa_rxtx_unmap(0));
        ok = ffa_ok(&r);
    }
    tap_ok(ok, "RXTX_MAP TX == RX fails, or maps where overlap is not checked (and unmaps)");

    r = step("RXTX_MAP valid", ffa_rxtx_map(tx, rx, 1));
    tap_ok(ffa_ok(&r), "RXTX_MAP of one page pair succeeds");
    must_fail("RXTX_MAP again", ffa_rxtx_map(tx, rx, 1));
    must_fail("RX_RELEASE not owning RX", ffa_rx_release());
    /* Xen ignores w1 (ffa_rxtx.c ffa_handle_rxtx_unmap): the pair is unmapped, so map it again. */
    r = step("RXTX_UNMAP with ID 1 in w1[31:16]", ffa_rxtx_unmap(1));
    ok = ffa_error_code(&r) < 0;
    if (ffa_ok(&r)) {
        r = step("RXTX_MAP again after the unmap", ffa_rxtx_map(tx, rx, 1));
        ok = ffa_ok(&r);
    }
    tap_ok(ok, "RXTX_UNMAP with ID 1 in w1[31:16] fails, or unmaps where w1 is ignored (and maps again)");
    r = step("RXTX_UNMAP", ffa_rxtx_unmap(0));
    tap_ok(ffa_ok(&r), "RXTX_UNMAP succeeds");
    must_fail("RXTX_UNMAP again", ffa_rxtx_unmap(0));

    /* Two-page buffers: within spec's limit, beyond Xen's and pKVM's single page. */
    r = step("RXTX_MAP two pages", ffa_rxtx_map((uint64_t)(uintptr_t)tx2_buf, (uint64_t)(uintptr_t)rx2_buf, 2));
    if (ffa_ok(&r))
        step("RXTX_UNMAP after the two-page map", ffa_rxtx_unmap(0));

    r = step("RXTX_MAP (32-bit form) valid", ffa_call(FFA_RXTX_MAP, tx, rx, 1, 0, 0, 0, 0));
    if (ffa_ok(&r))
        step("RXTX_UNMAP after the 32-bit map", ffa_rxtx_unmap(0));
    return tap_done();
}
