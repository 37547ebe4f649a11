/*
 * ffa_partinfo (and ffa_partinfo_v10, which includes this file with
 * PARTINFO_VERSION = 1.0): partition discovery.
 *
 * FFA_PARTITION_INFO_GET(nil) into the RX buffer (both stub SPs, with
 * their execution contexts, properties and, in the 24-byte form, UUIDs),
 * a second GET while the VM still owns RX, RX_RELEASE, GET by UUID, the
 * count-only flag, an unknown UUID, and FFA_PARTITION_INFO_GET_REGS
 * (entries in x3.., start index and tag checks).  Which calls succeed
 * differs per mediator; TAP checks what holds everywhere.
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"
#include "tap.h"

#ifndef PARTINFO_VERSION
#define PARTINFO_VERSION FFA_MAKE_VERSION(1, 2)
#endif

#define PLAN 20
#define REGS_SIZE_SHIFT 48
#define REGS_LAST_SHIFT 16

static uint8_t tx_buf[4096] __attribute__((aligned(4096)));
static uint8_t rx_buf[4096] __attribute__((aligned(4096)));

static const uint32_t nil_uuid[4] = { 0, 0, 0, 0 };
static const uint32_t echo_uuid[4] = { ECHO_SP_UUID_W0, ECHO_SP_UUID_W1, ECHO_SP_UUID_W2, ECHO_SP_UUID_W3 };
static const uint32_t unknown_uuid[4] = { 0x01234567, 0x89ABCDEF, 0x02468ACE, 0x13579BDF };

struct expected_sp {
    uint16_t id;
    uint16_t exec_contexts;
    uint32_t properties;
    uint32_t uuid[4];
};

static const struct expected_sp sps[STUB_PARTITION_COUNT] = {
    { ECHO_SP_ID, ECHO_SP_EXEC_CONTEXTS, ECHO_SP_PROPERTIES,
      { ECHO_SP_UUID_W0, ECHO_SP_UUID_W1, ECHO_SP_UUID_W2, ECHO_SP_UUID_W3 } },
    { SERVICE_SP_ID, SERVICE_SP_EXEC_CONTEXTS, SERVICE_SP_PROPERTIES,
      { SERVICE_SP_UUID_W0, SERVICE_SP_UUID_W1, SERVICE_SP_UUID_W2, SERVICE_SP_UUID_W3 } },
};

static struct ffa_partition_info seen[STUB_PARTITION_COUNT];
static uint64_t listed; /* entries GET(nil) returned */

static struct smccc_regs show(const char *what, struct smccc_regs r)
{
    char text[96];

    tap_diag("%s -> %s", what, ffa_describe(&r, text, sizeof(text)));
    return r;
}

static int uuid_eq(const uint32_t a[4], const uint32_t b[4])
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static void check_entries(uint32_t size)
{
    for (unsigned i = 0; i < STUB_PARTITION_COUNT; i++) {
        struct ffa_partition_info e = ffa_partition_entry(rx_buf, i, size);
        const struct expected_sp *want = &sps[i];

        seen[i] = e;
        tap_diag("entry %u: id 0x%04x, %u exec contexts, properties 0x%x, uuid %08x-%08x-%08x-%08x", i,
                 e.id, e.exec_contexts, e.properties, e.uuid[0], e.uuid[1], e.uuid[2], e.uuid[3]);
        tap_ok(e.id == want->id && e.exec_contexts == want->exec_contexts &&
                   e.properties == want->properties,
               "entry %u: id 0x%04x, contexts %u, properties 0x%x", i, want->id, want->exec_contexts,
               want->properties);
        if (size >= FFA_PARTITION_INFO_SIZE_V1_1)
            tap_ok(uuid_eq(e.uuid, want->uuid), "entry %u: UUID", i);
        else
            tap_ok(1, "entry %u: 8-byte form has no UUID", i);
    }
}

static void check_regs(void)
{
    struct smccc_regs r = show("PARTITION_INFO_GET_REGS(nil, start 0, tag 0)",
                               ffa_call(FFA_FN64_PARTITION_INFO_GET_REGS, 0, 0, 0, 0, 0, 0, 0));
    int supported = ffa_ok(&r);

    tap_ok(supported || ffa_is_error(&r), "REGS: SUCCESS or ERROR");
    if (supported) {
        uint64_t x2 = r.x[2];

        tap_diag("REGS x2 = 0x%016llx", (unsigned long long)x2);
        tap_ok((x2 >> REGS_SIZE_SHIFT) == FFA_PARTITION_INFO_SIZE_V1_1 &&
                   ((x2 >> REGS_LAST_SHIFT) & 0xffff) == listed - 1 && (x2 & 0xffff) == listed - 1,
               "REGS x2: size 24, last index and count - 1 = %u", (unsigned)listed - 1);
        for (unsigned i = 0; i < STUB_PARTITION_COUNT; i++) {
            const struct expected_sp *want = &sps[i];
            uint64_t w0 = (uint64_t)seen[i].id | (uint64_t)seen[i].exec_contexts << 16 |
                          (uint64_t)seen[i].properties << 32;
            uint64_t lo = (uint64_t)want->uuid[0] | (uint64_t)want->uuid[1] << 32;
            uint64_t hi = (uint64_t)want->uuid[2] | (uint64_t)want->uuid[3] << 32;

            tap_ok(r.x[3 + 3 * i] == w0 && r.x[4 + 3 * i] == lo && r.x[5 + 3 * i] == hi,
                   "REGS entry %u matches the RX buffer entry", i);
        }
    } else {
        tap_ok(1, "REGS not available: no x2 to check");
        for (unsigned i = 0; i < STUB_PARTITION_COUNT; i++)
            tap_ok(1, "REGS not available: entry %u not checked", i);
    }
    r = show("PARTITION_INFO_GET_REGS(start 5)", ffa_call(FFA_FN64_PARTITION_INFO_GET_REGS, 0, 0, 5, 0, 0, 0, 0));
    tap_ok(ffa_is_error(&r), "REGS with start index 5 fails");
    r = show("PARTITION_INFO_GET_REGS(tag 1)",
             ffa_call(FFA_FN64_PARTITION_INFO_GET_REGS, 0, 0, 1u << 16, 0, 0, 0, 0));
    tap_ok(ffa_is_error(&r), "REGS with a non-zero tag fails");
}

int main(void)
{
    char text[48];
    struct smccc_regs r;
    uint32_t w0, effective, size, want_size;

    tap_plan(PLAN);
    w0 = ffa_version(PARTINFO_VERSION);
    effective = ffa_effective_version(PARTINFO_VERSION, w0);
    tap_diag("FFA_VERSION(%u.%u) -> %s", FFA_VERSION_MAJOR_OF(PARTINFO_VERSION),
             FFA_VERSION_MINOR_OF(PARTINFO_VERSION), ffa_version_str(w0, text, sizeof(text)));
    tap_ok(effective != 0, "VERSION answers a version");
    want_size = effective >= FFA_VERSION_1_1 ? FFA_PARTITION_INFO_SIZE_V1_1 : FFA_PARTITION_INFO_SIZE_V1_0;

    r = show("RXTX_MAP", ffa_rxtx_map((uint64_t)(uintptr_t)tx_buf, (uint64_t)(uintptr_t)rx_buf, 1));
    tap_ok(ffa_ok(&r), "RXTX_MAP succeeds");

    r = show("PARTITION_INFO_GET(nil)", ffa_partition_info_get(nil_uuid, 0));
    size = ffa_partition_info_size(ffa_w(&r, 3), effective);
    tap_ok(ffa_ok(&r), "GET(nil) succeeds");
    /* Xen lists a 1.2 caller itself after the SPs: accept that one extra, normal-world entry. */
    listed = ffa_w(&r, 2);
    tap_ok(listed == STUB_PARTITION_COUNT ||
               (listed == STUB_PARTITION_COUNT + 1 &&
                !(ffa_partition_entry(rx_buf, STUB_PARTITION_COUNT, size).id & FFA_SECURE_ID_BIT)),
           "GET(nil): the %u SPs (and at most the caller itself)", (unsigned)STUB_PARTITION_COUNT);
    expect_eq_u64(size, want_size, "GET(nil): entry size for version %u.%u", FFA_VERSION_MAJOR_OF(effective),
                  FFA_VERSION_MINOR_OF(effective));
    check_entries(size == FFA_PARTITION_INFO_SIZE_V1_1 ? size : FFA_PARTITION_INFO_SIZE_V1_0);

    r = show("PARTITION_INFO_GET(nil) without RX_RELEASE", ffa_partition_info_get(nil_uuid, 0));
    tap_ok(ffa_is_error(&r) ? ffa_error_code(&r) == FFA_RET_BUSY : ffa_w(&r, 2) == listed,
           "second GET without RX_RELEASE: BUSY, or the same list where RX ownership is not tracked");

    r = show("RX_RELEASE", ffa_rx_release());
    tap_diag("RX released: %s", ffa_ok(&r) ? "yes" : "no");

    r = show("PARTITION_INFO_GET(echo SP UUID)", ffa_partition_info_get(echo_uuid, 0));
    tap_ok((ffa_ok(&r) && ffa_w(&r, 2) == 1 && ffa_partition_entry(rx_buf, 0, size).id == ECHO_SP_ID) ||
               ffa_error_code(&r) == FFA_RET_BUSY,
           "GET(echo UUID): the echo SP alone, or BUSY while RX is held");
    if (ffa_ok(&r)) {
        struct ffa_partition_info e = ffa_partition_entry(rx_buf, 0, size);

        /* Its UUID field is zero: the caller named the UUID (the tests check this per profile). */
        tap_diag("GET(echo UUID) entry: id 0x%04x, uuid %08x-%08x-%08x-%08x", e.id, e.uuid[0], e.uuid[1],
                 e.uuid[2], e.uuid[3]);
        show("RX_RELEASE", ffa_rx_release());
    }

    r = show("PARTITION_INFO_GET(nil, count only)",
             ffa_partition_info_get(nil_uuid, FFA_PARTITION_INFO_FLAG_COUNT_ONLY));
    /* w5 is MBZ at FF-A 1.0: Xen refuses the flag from a 1.0 caller, the spec and pKVM count. */
    tap_ok(ffa_ok(&r) ? ffa_w(&r, 2) == listed
                      : effective < FFA_VERSION_1_1 && ffa_error_code(&r) == FFA_RET_INVALID_PARAMETERS,
           "GET(count only): the same count as GET(nil), or INVALID_PARAMETERS from a 1.0 caller");

    r = show("PARTITION_INFO_GET(unknown UUID)", ffa_partition_info_get(unknown_uuid, 0));
    tap_ok(ffa_is_error(&r), "GET(unknown UUID) fails");

    check_regs();

    r = show("RXTX_UNMAP", ffa_rxtx_unmap(0));
    tap_ok(ffa_ok(&r), "RXTX_UNMAP succeeds");
    return tap_done();
}
