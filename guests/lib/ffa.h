/*
 * Small FF-A 1.2 call helpers for guests (header only).
 *
 *   struct smccc_regs r = ffa_call(FFA_ID_GET, 0, 0, 0, 0, 0, 0, 0);
 *   if (ffa_ok(&r)) ... r.x[2] ...
 *   else tap_diag("%s", ffa_describe(&r, buf, sizeof(buf)));
 *
 * Every helper goes through the conduit the device tree names for PSCI
 * (smccc_call: SMC under pKVM, HVC elsewhere), as Linux's FF-A driver does,
 * unless its name ends in _smc.  Results are the whole x0-x17 frame.  Error codes are read as (int32_t)w2: Xen and
 * the spec zero-extend the code in x2, pKVM sign-extends it.
 */
#ifndef GUEST_FFA_H
#define GUEST_FFA_H

#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "ffa_emu_abi.h"
#include "smccc.h"

/* Version words: bit 31 MBZ, major in 30:16, minor in 15:0. */
#define FFA_MAKE_VERSION(major, minor) (((uint32_t)(major) << 16) | (uint32_t)(minor))
#define FFA_VERSION_MAJOR_OF(v) ((unsigned)(((uint32_t)(v) >> 16) & 0x7fffu))
#define FFA_VERSION_MINOR_OF(v) ((unsigned)((uint32_t)(v) & 0xffffu))
#define FFA_VERSION_BIT31 (1u << 31)

/* w1 of direct messages. */
#define FFA_ENDPOINTS(sender, receiver) \
    ((((uint64_t)(uint16_t)(sender)) << 16) | (uint64_t)(uint16_t)(receiver))
#define FFA_SENDER_OF(w1) ((uint16_t)((uint32_t)(w1) >> 16))
#define FFA_RECEIVER_OF(w1) ((uint16_t)(w1))

/* FFA_FEATURES: w1 bit 31 set = a function ID. */
#define FFA_RXTX_MAP_MIN_BUF_MASK 0x3u
#define FFA_RXTX_MAP_MAX_PAGES(w2) ((unsigned)(((uint32_t)(w2) >> 16) & 0xffffu))

/* A partition info entry (the 24-byte layout; a 1.0 caller gets the first 8 bytes). */
struct ffa_partition_info {
    uint16_t id;
    uint16_t exec_contexts;
    uint32_t properties;
    uint32_t uuid[4];
};

static inline void ffa_regs_clear(struct smccc_regs *r)
{
    for (int i = 0; i < SMCCC_NUM_REGS; i++)
        r->x[i] = 0;
}

static inline struct smccc_regs ffa_frame(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3,
                                          uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7)
{
    struct smccc_regs r;

    ffa_regs_clear(&r);
    r.x[0] = fid;
    r.x[1] = a1;
    r.x[2] = a2;
    r.x[3] = a3;
    r.x[4] = a4;
    r.x[5] = a5;
    r.x[6] = a6;
    r.x[7] = a7;
    return r;
}

/* One call through the device tree's conduit: x0 = fid, x1-x7 = a1-a7, x8-x17 = 0. */
static inline struct smccc_regs ffa_call(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3,
                                         uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7)
{
    struct smccc_regs r = ffa_frame(fid, a1, a2, a3, a4, a5, a6, a7);

    smccc_call(&r);
    return r;
}

/* The same through `smc #0`. */
static inline struct smccc_regs ffa_call_smc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3,
                                             uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7)
{
    struct smccc_regs r = ffa_frame(fid, a1, a2, a3, a4, a5, a6, a7);

    smccc_smc(&r);
    return r;
}

static inline uint32_t ffa_w(const struct smccc_regs *r, int i)
{
    return (uint32_t)r->x[i];
}

static inline int ffa_is_error(const struct smccc_regs *r)
{
    return ffa_w(r, 0) == (uint32_t)FFA_ERROR;
}

static inline int ffa_ok(const struct smccc_regs *r)
{
    return ffa_w(r, 0) == (uint32_t)FFA_SUCCESS || ffa_w(r, 0) == (uint32_t)FFA_FN64_SUCCESS;
}

/* The FF-A error code of an FFA_ERROR frame (0 if the frame is not an error). */
static inline int32_t ffa_error_code(const struct smccc_regs *r)
{
    return ffa_is_error(r) ? (int32_t)ffa_w(r, 2) : 0;
}

static inline const char *ffa_error_name(int32_t code)
{
    switch (code) {
    case 0: return "OK";
    case FFA_RET_NOT_SUPPORTED: return "NOT_SUPPORTED";
    case FFA_RET_INVALID_PARAMETERS: return "INVALID_PARAMETERS";
    case FFA_RET_NO_MEMORY: return "NO_MEMORY";
    case FFA_RET_BUSY: return "BUSY";
    case FFA_RET_INTERRUPTED: return "INTERRUPTED";
    case FFA_RET_DENIED: return "DENIED";
    case FFA_RET_RETRY: return "RETRY";
    case FFA_RET_ABORTED: return "ABORTED";
    case FFA_RET_NO_DATA: return "NO_DATA";
    case FFA_RET_NOT_READY: return "NOT_READY";
    default: return "UNKNOWN_ERROR";
    }
}

/* "SUCCESS w2=... w3=...", "ERROR(NOT_SUPPORTED) x2=...", or the raw x0-x3. */
static inline const char *ffa_describe(const struct smccc_regs *r, char *buf, size_t size)
{
    if (ffa_ok(r))
        snprintf(buf, size, "%s w2=0x%x w3=0x%x", ffa_w(r, 0) == (uint32_t)FFA_SUCCESS ? "SUCCESS"
                 : "SUCCESS64", ffa_w(r, 2), ffa_w(r, 3));
    else if (ffa_is_error(r))
        snprintf(buf, size, "ERROR(%s) x2=0x%llx", ffa_error_name(ffa_error_code(r)),
                 (unsigned long long)r->x[2]);
    else
        snprintf(buf, size, "x0=0x%llx x1=0x%llx x2=0x%llx x3=0x%llx", (unsigned long long)r->x[0],
                 (unsigned long long)r->x[1], (unsigned long long)r->x[2], (unsigned long long)r->x[3]);
    return buf;
}

/* One "<prefix>: <key>=<answer>" line: OK for a success, else ffa_describe()'s words. */
static inline void ffa_print_step(const char *prefix, const char *key, const struct smccc_regs *r)
{
    char text[96];

    printf("%s: %s=%s\n", prefix, key, ffa_ok(r) ? "OK" : ffa_describe(r, text, sizeof(text)));
}

/* FFA_VERSION: w0 = a version word, or NOT_SUPPORTED (negative as int32). */
static inline uint32_t ffa_version(uint32_t requested)
{
    struct smccc_regs r = ffa_call(FFA_VERSION, requested, 0, 0, 0, 0, 0, 0);

    return ffa_w(&r, 0);
}

static inline int ffa_version_is_error(uint32_t w0)
{
    return (int32_t)w0 < 0;
}

/* "1.2" or "NOT_SUPPORTED". */
static inline const char *ffa_version_str(uint32_t w0, char *buf, size_t size)
{
    if (ffa_version_is_error(w0))
        snprintf(buf, size, "%s (0x%x)", ffa_error_name((int32_t)w0), w0);
    else
        snprintf(buf, size, "%u.%u", FFA_VERSION_MAJOR_OF(w0), FFA_VERSION_MINOR_OF(w0));
    return buf;
}

/*
 * The version the mediator uses for this caller after FFA_VERSION(requested)
 * answered w0: min(requested, w0) for a version answer (Xen answers its own
 * version but records the requested one), 0 when refused.
 */
static inline uint32_t ffa_effective_version(uint32_t requested, uint32_t w0)
{
    if (ffa_version_is_error(w0))
        return 0;
    return requested < w0 ? requested : w0;
}

static inline struct smccc_regs ffa_id_get(void)
{
    return ffa_call(FFA_ID_GET, 0, 0, 0, 0, 0, 0, 0);
}

static inline struct smccc_regs ffa_features(uint32_t id)
{
    return ffa_call(FFA_FEATURES, id, 0, 0, 0, 0, 0, 0);
}

/* FFA_FN64_RXTX_MAP(x1 = TX, x2 = RX, w3 = pages). */
static inline struct smccc_regs ffa_rxtx_map(uint64_t tx, uint64_t rx, uint32_t pages)
{
    return ffa_call(FFA_FN64_RXTX_MAP, tx, rx, pages, 0, 0, 0, 0);
}

static inline struct smccc_regs ffa_rxtx_unmap(uint16_t id)
{
    return ffa_call(FFA_RXTX_UNMAP, (uint64_t)id << 16, 0, 0, 0, 0, 0, 0);
}

static inline struct smccc_regs ffa_rx_release(void)
{
    return ffa_call(FFA_RX_RELEASE, 0, 0, 0, 0, 0, 0, 0);
}

/* FFA_PARTITION_INFO_GET(w1-w4 = UUID words, w5 = flags). */
static inline struct smccc_regs ffa_partition_info_get(const uint32_t uuid[4], uint32_t flags)
{
    return ffa_call(FFA_PARTITION_INFO_GET, uuid[0], uuid[1], uuid[2], uuid[3], flags, 0, 0);
}

/*
 * The entry size of a PARTITION_INFO_GET answer for a caller at `version`:
 * w3, except at FF-A 1.0, where w3 is reserved (MBZ) and the 8-byte entry is
 * implied (Xen leaves w3 = 0 for a 1.0 caller; the spec and pKVM pass 8).
 */
static inline uint32_t ffa_partition_info_size(uint32_t w3, uint32_t version)
{
    return w3 == 0 && version < FFA_VERSION_1_1 ? (uint32_t)FFA_PARTITION_INFO_SIZE_V1_0 : w3;
}

/* Read entry `i` of `size` bytes (8 or 24) from an RX buffer. */
static inline struct ffa_partition_info ffa_partition_entry(const volatile void *rx, uint32_t i,
                                                            uint32_t size)
{
    const volatile uint8_t *p = (const volatile uint8_t *)rx + (uint64_t)i * size;
    struct ffa_partition_info e;

    e.id = (uint16_t)(p[0] | p[1] << 8);
    e.exec_contexts = (uint16_t)(p[2] | p[3] << 8);
    e.properties = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
    for (int w = 0; w < 4; w++) {
        const volatile uint8_t *q = p + 8 + 4 * w;

        e.uuid[w] = size >= FFA_PARTITION_INFO_SIZE_V1_1
                        ? (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24
                        : 0;
    }
    return e;
}

/* A direct request (SMC32 or SMC64 form by fid) with payload x3-x7 and flags 0. */
static inline struct smccc_regs ffa_direct_req(uint64_t fid, uint16_t sender, uint16_t receiver,
                                               const uint64_t payload[5])
{
    return ffa_call(fid, FFA_ENDPOINTS(sender, receiver), 0, payload[0], payload[1], payload[2],
                    payload[3], payload[4]);
}

/* FFA_FN64_MSG_SEND_DIRECT_REQ2: x2/x3 = protocol UUID (0 = any), x4-x17 payload. */
static inline struct smccc_regs ffa_direct_req2_frame(uint16_t sender, uint16_t receiver,
                                                      uint64_t uuid_lo, uint64_t uuid_hi,
                                                      const uint64_t payload[14])
{
    struct smccc_regs r;

    ffa_regs_clear(&r);
    r.x[0] = FFA_FN64_MSG_SEND_DIRECT_REQ2;
    r.x[1] = FFA_ENDPOINTS(sender, receiver);
    r.x[2] = uuid_lo;
    r.x[3] = uuid_hi;
    for (int i = 0; i < 14; i++)
        r.x[4 + i] = payload[i];
    return r;
}

static inline int ffa_is_direct_resp(const struct smccc_regs *r)
{
    return ffa_w(r, 0) == (uint32_t)FFA_MSG_SEND_DIRECT_RESP ||
           ffa_w(r, 0) == (uint32_t)FFA_FN64_MSG_SEND_DIRECT_RESP;
}

static inline int ffa_is_direct_resp2(const struct smccc_regs *r)
{
    return ffa_w(r, 0) == (uint32_t)FFA_FN64_MSG_SEND_DIRECT_RESP2;
}

/* ---- Memory sharing (FFA_MEM_SHARE / LEND / DONATE, FRAG_TX, RECLAIM) ----
 *
 *   struct ffa_mem_receiver rx = { SERVICE_SP_ID, FFA_MEM_DATA_RW, 0 };
 *   struct ffa_mem_range range = { 0x41000000, 1 };
 *   uint32_t len = ffa_mem_desc_build(desc, FFA_MAKE_VERSION(1, 2), self, FFA_MEM_NORMAL_WB_INNER, 0,
 *                                     &rx, 1, &range, 1);
 *   r = ffa_mem_send(FFA_FN64_MEM_SHARE, tx, PAGE_SIZE, desc, len, 0, NULL);
 *   if (ffa_ok(&r)) handle = ffa_mem_handle(&r);
 *
 * Descriptors are built byte by byte (guests run with the MMU off and
 * -mstrict-align), in the 1.0 layout for a 1.0 version, else the 1.1+ one.
 */
#define FFA_MEM_DATA_RO 1u
#define FFA_MEM_DATA_RW 2u
/* Normal memory (type 2, bits 5:4), write-back (3, bits 3:2), inner shareable (3, bits 1:0). */
#define FFA_MEM_NORMAL_WB_INNER 0x2fu
#define FFA_MEM_PAGE_SIZE 4096u

/* Field offsets: header (both layouts unless noted), EMAD, composite, constituent. */
#define FFA_MEM_HDR_SENDER 0
#define FFA_MEM_HDR_ATTRS 2
#define FFA_MEM_HDR_FLAGS 4
#define FFA_MEM_HDR_HANDLE 8
#define FFA_MEM_HDR_TAG 16
#define FFA_MEM_HDR_EMAD_SIZE 24   /* 1.1+ */
#define FFA_MEM_HDR_COUNT 28
#define FFA_MEM_HDR_EMAD_OFFSET 32 /* 1.1+ */
#define FFA_MEM_EMAD_RECEIVER 0
#define FFA_MEM_EMAD_PERMS 2
#define FFA_MEM_EMAD_COMPOSITE 4
#define FFA_MEM_COMP_TOTAL_PAGES 0
#define FFA_MEM_COMP_RANGE_COUNT 4
#define FFA_MEM_CONS_ADDRESS 0
#define FFA_MEM_CONS_PAGES 8

struct ffa_mem_receiver {
    uint16_t id;
    uint8_t perms; /* FFA_MEM_DATA_RO / FFA_MEM_DATA_RW (bits 1:0) */
    uint8_t flags;
};

struct ffa_mem_range {
    uint64_t address; /* IPA, page aligned */
    uint32_t pages;
};

static inline void ffa_put_le(uint8_t *p, uint32_t off, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[off + i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t ffa_get_le(const uint8_t *p, uint32_t off, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)p[off + i] << (8 * i);
    return v;
}

/* ---- Indirect messages (FFA_MSG_SEND2) ---- */
#define FFA_SEND2_HEADER_V1_1 20u
#define FFA_SEND2_HEADER_V1_2 40u /* a reserved word and the UUID follow */

/* A 1.2-sized FFA_MSG_SEND2 header at buf: flags 0, the payload at `offset`, receiver | sender << 16, `size`
 * payload bytes; the reserved words and the UUID zero. */
static inline void ffa_send2_header(uint8_t *buf, uint16_t sender, uint16_t receiver, uint32_t offset,
                                    uint32_t size)
{
    for (uint32_t i = 0; i < FFA_SEND2_HEADER_V1_2; i++)
        buf[i] = 0;
    ffa_put_le(buf, 8, offset, 4);
    ffa_put_le(buf, 12, (uint32_t)sender << 16 | receiver, 4);
    ffa_put_le(buf, 16, size, 4);
}

/* Header size of the descriptor layout a caller of `version` uses (32 for 1.0, 48 from 1.1). */
static inline uint32_t ffa_mem_header_size(uint32_t version)
{
    return version < FFA_MAKE_VERSION(1, 1) ? (uint32_t)FFA_MEM_TRANSACTION_DESC_SIZE_V1_0
                                            : (uint32_t)FFA_MEM_TRANSACTION_DESC_SIZE_V1_1;
}

/* Offset of the composite descriptor (right after the 16-byte EMADs) in a built descriptor. */
static inline uint32_t ffa_mem_composite_offset(uint32_t version, uint32_t receivers)
{
    return ffa_mem_header_size(version) + receivers * (uint32_t)FFA_MEM_ACCESS_DESC_SIZE_V1_1;
}

/* Offset of constituent i in a built descriptor. */
static inline uint32_t ffa_mem_constituent_offset(uint32_t version, uint32_t receivers, uint32_t i)
{
    return ffa_mem_composite_offset(version, receivers) + (uint32_t)FFA_COMPOSITE_DESC_SIZE +
           i * (uint32_t)FFA_CONSTITUENT_SIZE;
}

/* Length of the descriptor ffa_mem_desc_build() writes. */
static inline uint32_t ffa_mem_desc_size(uint32_t version, uint32_t receivers, uint32_t ranges)
{
    return ffa_mem_constituent_offset(version, receivers, ranges);
}

/*
 * Write a memory transaction descriptor (handle 0) into buf: header, one
 * EMAD per receiver all pointing at one composite, the composite (total
 * pages = the sum of the ranges) and the constituents. Returns its length.
 */
static inline uint32_t ffa_mem_desc_build(uint8_t *buf, uint32_t version, uint16_t sender, uint16_t attributes,
                                          uint32_t flags, const struct ffa_mem_receiver *receivers,
                                          uint32_t nreceivers, const struct ffa_mem_range *ranges,
                                          uint32_t nranges)
{
    uint32_t header = ffa_mem_header_size(version);
    uint32_t composite = ffa_mem_composite_offset(version, nreceivers);
    uint32_t length = ffa_mem_desc_size(version, nreceivers, nranges);
    uint32_t total = 0;

    for (uint32_t i = 0; i < length; i++)
        buf[i] = 0;
    ffa_put_le(buf, FFA_MEM_HDR_SENDER, sender, 2);
    if (header == (uint32_t)FFA_MEM_TRANSACTION_DESC_SIZE_V1_0) {
        buf[FFA_MEM_HDR_ATTRS] = (uint8_t)attributes;
    } else {
        ffa_put_le(buf, FFA_MEM_HDR_ATTRS, attributes, 2);
        ffa_put_le(buf, FFA_MEM_HDR_EMAD_SIZE, FFA_MEM_ACCESS_DESC_SIZE_V1_1, 4);
        ffa_put_le(buf, FFA_MEM_HDR_EMAD_OFFSET, header, 4);
    }
    ffa_put_le(buf, FFA_MEM_HDR_FLAGS, flags, 4);
    ffa_put_le(buf, FFA_MEM_HDR_COUNT, nreceivers, 4);
    for (uint32_t i = 0; i < nreceivers; i++) {
        uint32_t emad = header + i * (uint32_t)FFA_MEM_ACCESS_DESC_SIZE_V1_1;

        ffa_put_le(buf, emad + FFA_MEM_EMAD_RECEIVER, receivers[i].id, 2);
        buf[emad + FFA_MEM_EMAD_PERMS] = receivers[i].perms;
        buf[emad + FFA_MEM_EMAD_PERMS + 1] = receivers[i].flags;
        ffa_put_le(buf, emad + FFA_MEM_EMAD_COMPOSITE, composite, 4);
    }
    for (uint32_t i = 0; i < nranges; i++) {
        uint32_t c = ffa_mem_constituent_offset(version, nreceivers, i);

        ffa_put_le(buf, c + FFA_MEM_CONS_ADDRESS, ranges[i].address, 8);
        ffa_put_le(buf, c + FFA_MEM_CONS_PAGES, ranges[i].pages, 4);
        total += ranges[i].pages;
    }
    ffa_put_le(buf, composite + FFA_MEM_COMP_TOTAL_PAGES, total, 4);
    ffa_put_le(buf, composite + FFA_MEM_COMP_RANGE_COUNT, nranges, 4);
    return length;
}

/* The 64-bit handle of a SUCCESS (w2 low, w3 high) or FRAG_RX (w1 low, w2 high) frame. */
static inline uint64_t ffa_mem_handle(const struct smccc_regs *r)
{
    if (ffa_w(r, 0) == (uint32_t)FFA_MEM_FRAG_RX)
        return (uint64_t)ffa_w(r, 1) | (uint64_t)ffa_w(r, 2) << 32;
    return (uint64_t)ffa_w(r, 2) | (uint64_t)ffa_w(r, 3) << 32;
}

/*
 * MEM_SHARE / LEND / DONATE (fid, SMC32 or FN64) of `len` descriptor bytes
 * through the TX buffer, in fragments of at most `frag` bytes (0: as large
 * as the TX buffer allows): the first with `fid`, the rest with FRAG_TX at
 * the offset each FRAG_RX asks for. Returns the last answer: SUCCESS (the
 * handle in w2/w3), an ERROR, or an unexpected frame. *fragments (if not
 * NULL) counts the fragments sent.
 */
static inline struct smccc_regs ffa_mem_send(uint64_t fid, volatile uint8_t *tx, uint32_t tx_size,
                                             const uint8_t *desc, uint32_t len, uint32_t frag,
                                             unsigned *fragments)
{
    uint32_t step = frag == 0 || frag > tx_size ? tx_size : frag;
    uint32_t chunk = len < step ? len : step;
    struct smccc_regs r;
    unsigned sent = 1;

    for (uint32_t i = 0; i < chunk; i++)
        tx[i] = desc[i];
    r = ffa_call(fid, len, chunk, 0, 0, 0, 0, 0);
    while (ffa_w(&r, 0) == (uint32_t)FFA_MEM_FRAG_RX) {
        uint32_t offset = ffa_w(&r, 3);

        if (offset >= len)
            break;
        chunk = len - offset < step ? len - offset : step;
        for (uint32_t i = 0; i < chunk; i++)
            tx[i] = desc[offset + i];
        r = ffa_call(FFA_MEM_FRAG_TX, ffa_w(&r, 1), ffa_w(&r, 2), chunk, 0, 0, 0, 0);
        sent++;
    }
    if (fragments)
        *fragments = sent;
    return r;
}

static inline struct smccc_regs ffa_mem_reclaim(uint64_t handle, uint32_t flags)
{
    return ffa_call(FFA_MEM_RECLAIM, (uint32_t)handle, (uint32_t)(handle >> 32), flags, 0, 0, 0, 0);
}

/*
 * A service SP memory command (SERVICE_CMD_MEM_*) through FN64 DIRECT_REQ:
 * x3 = command, x4 = handle, x5 = argument (FILL's pattern). The results
 * come back in x3 (and x4) of the DIRECT_RESP.
 */
static inline struct smccc_regs ffa_service_mem(uint16_t self, uint64_t cmd, uint64_t handle, uint64_t arg)
{
    return ffa_call(FFA_FN64_MSG_SEND_DIRECT_REQ, FFA_ENDPOINTS(self, SERVICE_SP_ID), 0, cmd, handle, arg, 0, 0);
}

/* What SERVICE_CMD_MEM_CHECKSUM computes: the wrapping sum of every 64-bit word of the pages. */
static inline uint64_t ffa_mem_checksum(const volatile uint64_t *p, uint64_t pages)
{
    uint64_t sum = 0;

    for (uint64_t i = 0; i < pages * (FFA_MEM_PAGE_SIZE / 8); i++)
        sum += p[i];
    return sum;
}

#endif /* GUEST_FFA_H */
