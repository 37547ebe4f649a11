/*
 * Memory sharing: what mem_share.c (the transaction store and the normal
 * world's ABIs), mem_desc.c (descriptor parsing and validation) and
 * mem_retrieve.c (the SPMC's ABIs for the stub's SPs) share.
 *
 * Descriptor layouts (little-endian; emu/ffa/descriptors.py is the
 * reference):
 *   1.0 header (32): sender u16 @0, attributes u8 @2, reserved u8 @3,
 *       flags u32 @4, handle u64 @8, tag u64 @16, reserved u32 @24,
 *       receiver count u32 @28; the EMADs follow at 32, 16 bytes each.
 *   1.1 header (48): sender u16 @0, attributes u16 @2, flags u32 @4,
 *       handle u64 @8, tag u64 @16, EMAD size u32 @24, receiver count
 *       u32 @28, EMAD offset u32 @32, 12 reserved bytes.
 *   EMAD (16): receiver u16 @0, permissions u8 @2, flags u8 @3,
 *       composite offset u32 @4, reserved u64 @8.
 *   Composite (16): total pages u32 @0, range count u32 @4, reserved u64;
 *       the constituents (16: address u64 @0, pages u32 @8, reserved u32)
 *       follow it and end exactly at the descriptor's length.
 *
 * A committed transaction is stored in the canonical 1.1 layout: EMADs of
 * 16 bytes at 48, the composite right after them, then the constituents,
 * with the SPMC's handle in the header. That is what a retrieve returns.
 */
#ifndef MEM_H
#define MEM_H

#include "spmc.h"

/* Transaction store. */
#define MEM_TXN_SLOTS SPMC_TXN_SLOTS
#define MEM_DESC_MAX (16U * 1024U) /* longest descriptor (total length) accepted */
/* A 1.0 descriptor grows by at most 16 bytes when stored in the 1.1 layout. */
#define MEM_DESC_BUF_SIZE (MEM_DESC_MAX + 16U)
/* Receivers are distinct stub SPs, so no transaction has more than this. */
#define MEM_MAX_RECEIVERS STUB_PARTITION_COUNT

/* Handles: "SPMC" in bits 62:32, a run-wide counter (from 1) below; bit 63 clear. */
#define MEM_HANDLE_BASE UINT64_C(0x53504D4300000000)

#define MEM_MAX_RANGES (UINT32_C(1) << 16)

/* Header fields (both layouts unless noted). */
#define MEM_HDR_SENDER 0
#define MEM_HDR_ATTRS 2
#define MEM_HDR_FLAGS 4
#define MEM_HDR_HANDLE 8
#define MEM_HDR_TAG 16
#define MEM_HDR_EMAD_SIZE 24 /* 1.1 */
#define MEM_HDR_COUNT 28
#define MEM_HDR_EMAD_OFFSET 32 /* 1.1 */
#define MEM_EMAD_RECEIVER 0
#define MEM_EMAD_PERMS 2
#define MEM_EMAD_FLAGS 3
#define MEM_EMAD_COMPOSITE 4
#define MEM_COMP_TOTAL_PAGES 0
#define MEM_COMP_RANGE_COUNT 4
#define MEM_CONS_ADDRESS 0
#define MEM_CONS_PAGES 8

#define MEM_EMAD_SIZE ((uint32_t)FFA_MEM_ACCESS_DESC_SIZE_V1_1)
#define MEM_HDR_SIZE_V1_0 ((uint32_t)FFA_MEM_TRANSACTION_DESC_SIZE_V1_0)
#define MEM_HDR_SIZE_V1_1 ((uint32_t)FFA_MEM_TRANSACTION_DESC_SIZE_V1_1)
#define MEM_COMP_SIZE ((uint32_t)FFA_COMPOSITE_DESC_SIZE)
#define MEM_CONS_SIZE ((uint32_t)FFA_CONSTITUENT_SIZE)

/* EMAD permissions: data access in bits 1:0. */
#define MEM_PERM_DATA_MASK 0x3U
#define MEM_PERM_DATA_RO 1U
#define MEM_PERM_DATA_RW 2U

/* Retrieve request flags bits 4:3: the transaction type (0 = any). */
#define MEM_RETRIEVE_TYPE_SHIFT 3
#define MEM_RETRIEVE_TYPE_MASK 0x3U

/* Canonical (stored) layout offsets for `count` receivers. */
#define MEM_CANON_COMPOSITE(count) (MEM_HDR_SIZE_V1_1 + (count) * MEM_EMAD_SIZE)
#define MEM_CANON_FIRST(count) (MEM_CANON_COMPOSITE(count) + MEM_COMP_SIZE)

/* ---- mem_desc.c ---- */
struct mem_receiver {
	uint16_t id;
	uint8_t perms;
	uint8_t flags;
};

/* What validation learnt from a complete descriptor (any layout). */
struct mem_desc_info {
	uint16_t sender;
	uint16_t attributes;
	uint32_t flags;
	uint64_t tag;
	uint32_t receiver_count;
	struct mem_receiver receivers[MEM_MAX_RECEIVERS];
	uint32_t first_constituent; /* offset of constituent 0 */
	uint32_t range_count;
	uint32_t total_pages;
};

/*
 * Validate a complete descriptor of `length` bytes in the 1.0 (`v1_0`) or
 * 1.1+ layout for transaction `fid` (FFA_MEM_SHARE/LEND/DONATE, SMC32 ID):
 * the checks of descriptors.parse() plus the SPMC's own (normal-world
 * sender, receivers are stub SPs, no secure memory, one receiver for a
 * donate). Returns 0 or an FF-A error code.
 */
int32_t mem_desc_validate(const uint8_t *desc, uint32_t length, bool v1_0, uint32_t fid,
			  struct mem_desc_info *info);

/* Rewrite a validated descriptor in place in the canonical 1.1 layout; returns its length. */
uint32_t mem_desc_canonicalise(uint8_t *desc, const struct mem_desc_info *info, uint64_t handle);

/* ---- mem_share.c: the transaction store ---- */
enum mem_txn_state {
	MEM_TXN_FREE = 0,
	MEM_TXN_FRAGMENTING, /* the lender is still sending fragments */
	MEM_TXN_COMMITTED,
};

struct mem_txn {
	uint64_t handle;
	uint8_t *desc;       /* MEM_DESC_BUF_SIZE bytes */
	uint32_t fid;        /* FFA_MEM_SHARE / LEND / DONATE (SMC32 ID) */
	uint32_t total;      /* while fragmenting: announced total length */
	uint32_t length;     /* bytes held (canonical length once committed) */
	uint8_t state;
	bool v1_0;           /* the lender used the 1.0 layout */
	bool donated;        /* a DONATE that a borrower retrieved: ownership moved */
	struct mem_desc_info info;
	bool retrieved[MEM_MAX_RECEIVERS]; /* per receiver (info.receivers order) */
	uint32_t retrievals; /* retrieve requests granted so far, all receivers (an audit count) */
};

/*
 * emu/secure/txn_table.py reads the transaction table (the `txns` symbol) from the
 * SPMC's memory with these offsets: keep them in step.
 */
_Static_assert(offsetof(struct mem_txn, handle) == 0, "emu/secure/txn_table.py: TXN_HANDLE");
_Static_assert(offsetof(struct mem_txn, desc) == 8, "emu/secure/txn_table.py: TXN_DESC");
_Static_assert(offsetof(struct mem_txn, length) == 24, "emu/secure/txn_table.py: TXN_LENGTH");
_Static_assert(offsetof(struct mem_txn, state) == 28, "emu/secure/txn_table.py: TXN_STATE");
_Static_assert(offsetof(struct mem_txn, retrieved) == 72, "emu/secure/txn_table.py: TXN_RETRIEVED");
_Static_assert(offsetof(struct mem_txn, retrievals) == 76, "emu/secure/txn_table.py: TXN_RETRIEVALS");
_Static_assert(sizeof(struct mem_txn) == 80, "emu/secure/txn_table.py: the table's stride");

/* A committed transaction by handle, or NULL. */
struct mem_txn *mem_txn_committed(uint64_t handle);

/* Index of `id` among the transaction's receivers, or -1. */
int mem_txn_receiver(const struct mem_txn *txn, uint16_t id);

/*
 * A transaction an SP retrieved through its own RX/TX pair (sp_service_mem.c;
 * the service SP and, in the OP-TEE flavour, the OP-TEE SP use it: one of
 * them exists at a time, and they share the pair).  sp_mem_retrieve() gives 0
 * or the FF-A error of the call that failed; sp_mem_constituent() reads range
 * i, pulling fragments; sp_mem_end() releases the RX buffer and relinquishes.
 */
struct sp_retrieved {
	uint64_t handle;
	uint16_t self;
	bool rx_held;
	uint8_t perms;        /* this SP's permissions */
	uint32_t length;      /* of the whole descriptor */
	uint32_t frag_start;  /* offset of the fragment in svc_rx */
	uint32_t frag_len;
	uint32_t first;       /* offset of constituent 0 */
	uint32_t range_count;
	uint32_t total_pages;
};

int32_t sp_mem_retrieve(uint16_t self, uint16_t sender, uint64_t handle, struct sp_retrieved *m);
bool sp_mem_constituent(struct sp_retrieved *m, uint32_t i, uint64_t *address, uint32_t *pages);
void sp_mem_end(struct sp_retrieved *m, bool do_relinquish);

#endif /* MEM_H */
