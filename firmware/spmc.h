/*
 * SPMC stub: internal interfaces shared by the firmware modules.
 *
 * The stub runs at Secure EL1 with the MMU off (physical addresses are used
 * directly) on a single CPU. It talks to the SPMD (the EL3 relay) through
 * `smc #0`: every smc hands x0-x17 to the SPMD as the SPMC's message, and
 * the SPMD resumes the SPMC with the next request in x0-x17 (SMCCC 1.2).
 */
#ifndef SPMC_H
#define SPMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ffa_emu_abi.h"

/* Build-time default FF-A version, used when the boot x0 is 0 (or invalid). */
#ifndef SPMC_FFA_VERSION
#define SPMC_FFA_VERSION FFA_VERSION_1_2
#endif

/* SMCCC 1.2 register frame: x0-x17 in and out of every smc. */
#define FFA_REGS_COUNT 18
struct ffa_regs {
	uint64_t x[FFA_REGS_COUNT];
};

/* Encodings ffa_emu_abi.h does not carry. */
#define SMCCC_FUNCID_SVE_HINT (UINT32_C(1) << 16) /* masked off before decoding */
#define FFA_FEATURES_FUNC_ID (UINT32_C(1) << 31) /* w1: a function ID, not a feature ID */
#define PA_LIMIT (UINT64_C(1) << 48) /* largest physical address size */

#define FFA_VERSION_MAJOR(v) (((uint32_t)(v) >> 16) & 0x7FFFU)
#define FFA_VERSION_MINOR(v) ((uint32_t)(v) & 0xFFFFU)

/* w1 of direct messages: sender << 16 | receiver. */
#define FFA_MSG_SENDER(w1) ((uint16_t)((uint32_t)(w1) >> 16))
#define FFA_MSG_RECEIVER(w1) ((uint16_t)(w1))
#define FFA_MSG_ENDPOINTS(sender, receiver) \
	(((uint32_t)(uint16_t)(sender) << 16) | (uint16_t)(receiver))

/* FFA_RXTX_MAP: the largest page count the 6-bit field w3[5:0] can carry. */
#define SPMC_RXTX_MAX_PAGES FFA_RXTX_PAGE_COUNT_MASK

/* ---- global state (main.c) ---- */
struct spmc_state {
	uint32_t version;        /* FF-A version this SPMC implements */
	uint32_t caller_version; /* version recorded from the normal world */
};
extern struct spmc_state spmc;

/*
 * Is `version` in effect? Both sides must implement it: once the normal world
 * negotiated an older version, the SPMC answers as that version does
 * (DEN0077A 13.2: the callee behaves as the negotiated version specifies).
 */
static inline bool spmc_at_least(uint32_t version)
{
	return spmc.version >= version && spmc.caller_version >= version;
}

/* Aligned little-endian field access (callers keep offsets aligned). */
static inline uint16_t ld16(const uint8_t *p, uint32_t off)
{
	return *(const uint16_t *)(const void *)(p + off);
}
static inline uint32_t ld32(const uint8_t *p, uint32_t off)
{
	return *(const uint32_t *)(const void *)(p + off);
}
static inline uint64_t ld64(const uint8_t *p, uint32_t off)
{
	return *(const uint64_t *)(const void *)(p + off);
}
static inline void st16(uint8_t *p, uint32_t off, uint16_t v)
{
	*(uint16_t *)(void *)(p + off) = v;
}
static inline void st32(uint8_t *p, uint32_t off, uint32_t v)
{
	*(uint32_t *)(void *)(p + off) = v;
}
static inline void st64(uint8_t *p, uint32_t off, uint64_t v)
{
	*(uint64_t *)(void *)(p + off) = v;
}

/* ---- response builders ---- */
static inline void ffa_error(struct ffa_regs *resp, int32_t code)
{
	resp->x[0] = FFA_ERROR;
	resp->x[2] = (uint32_t)code;
}

static inline void ffa_success(struct ffa_regs *resp, uint32_t w2, uint32_t w3)
{
	resp->x[0] = FFA_SUCCESS;
	resp->x[2] = w2;
	resp->x[3] = w3;
}

/* ---- smc.S ---- */
/* Load x0-x17 from `out`, smc #0, store the returned x0-x17 into `in`. */
void smc_exchange(const struct ffa_regs *out, struct ffa_regs *in);

/* ---- main.c ---- */
__attribute__((noreturn)) void spmc_main(uint64_t boot_version);
__attribute__((noreturn)) void spmc_fault(uint64_t esr, uint64_t elr, uint64_t vector);

/* ---- ffa_version.c ---- */
void ffa_version_init(uint64_t boot_version);
void ffa_version_handle(const struct ffa_regs *req, struct ffa_regs *resp);
bool ffa_direct_req2_allowed(void);

/* ---- discovery.c ---- */
void ffa_features_handle(const struct ffa_regs *req, struct ffa_regs *resp);
void ffa_id_get_handle(const struct ffa_regs *req, struct ffa_regs *resp);
void ffa_spm_id_get_handle(const struct ffa_regs *req, struct ffa_regs *resp);

/* ---- rxtx.c: the normal world's buffer pairs ---- */
struct nwd_mailbox {
	uint16_t id; /* the endpoint: 0 for the hypervisor's own pair */
	uint64_t tx_pa;
	uint64_t rx_pa;
	uint32_t pages;
	bool mapped;
	bool rx_consumer_owned; /* the normal world owns the RX buffer */
};
extern struct nwd_mailbox nwd_mbox;
/* The pair of normal-world endpoint `id` (the hypervisor's for 0, else one it registered), or NULL. */
struct nwd_mailbox *nwd_mailbox_of(uint16_t id);

void rxtx_init(void);
void ffa_rxtx_map_handle(const struct ffa_regs *req, struct ffa_regs *resp, bool smc64);
void ffa_rxtx_unmap_handle(const struct ffa_regs *req, struct ffa_regs *resp);
void ffa_rx_release_handle(const struct ffa_regs *req, struct ffa_regs *resp);
void ffa_rx_acquire_handle(const struct ffa_regs *req, struct ffa_regs *resp);

/* ---- partitions.c ---- */
/* Which partitions the SPMC hosts: SPMC_FLAVOUR_STUB or SPMC_FLAVOUR_OPTEE (set by the emulator). */
extern volatile uint32_t spmc_flavour;

struct sp_call;
struct sp_desc {
	uint16_t id;
	uint16_t exec_contexts;
	uint32_t properties;
	uint32_t uuid[4];
	void (*handle)(struct sp_call *call);
	/* Continue a direct request the SP answered with FFA_YIELD (FFA_RUN); NULL: it never yields. */
	void (*resume)(struct sp_call *call);
	/* A VM availability message (FFA_DIRECT_MSG_VM_CREATED/DESTROYED) for VM `vm`: the status to answer. */
	int32_t (*vm_message)(uint32_t type, uint16_t vm);
};

const struct sp_desc *sp_find(uint16_t id);
void ffa_partition_info_get_handle(const struct ffa_regs *req, struct ffa_regs *resp);
void ffa_partition_info_get_regs_handle(const struct ffa_regs *req, struct ffa_regs *resp);

/* ---- direct_msg.c ---- */
/*
 * One direct request as an SP sees it. `in` points at the request's first
 * payload register (x3 for REQ, x4 for REQ2), `out` at the response's; both
 * hold `count` registers, and `out` starts zeroed. `mask` is the register
 * width (0xFFFFFFFF for SMC32 requests, whose upper halves are ignored):
 * read the payload with sp_arg() and store results with sp_ret(), which
 * apply it. The router frames the answer (x0-x2, or x0-x3 for REQ2).
 * An SP that sets `stopped` gives the CPU back before it has answered, with
 * FFA_YIELD (its own choice) or FFA_INTERRUPT (a normal-world interrupt is
 * pending: ns_interrupt_pending()); the caller gets that, and FFA_RUN
 * resumes the SP (sp_desc.resume) with the same `out` layout and no payload
 * in.
 */
struct sp_call {
	const uint64_t *in;
	uint64_t *out;
	uint64_t mask;
	uint32_t count;
	uint16_t sender;
	uint16_t receiver;
	const struct sp_desc *sp;
	uint32_t stopped; /* 0: answered; FFA_YIELD or FFA_INTERRUPT: given back unanswered */
};

/*
 * Is a normal-world interrupt pending at this core?  With the SPMC at S-EL1,
 * the normal world's Group 1 interrupts are signalled to it as FIQ
 * (ISR_EL1.F), which the SPMC does not take but lets its SPs look at.
 */
static inline bool ns_interrupt_pending(void)
{
	uint64_t isr;

	__asm__ volatile("mrs %0, isr_el1" : "=r"(isr));
	return (isr & (UINT64_C(1) << 6)) != 0;
}

static inline uint64_t sp_arg(const struct sp_call *call, uint32_t i)
{
	return i < call->count ? call->in[i] & call->mask : 0;
}

static inline void sp_ret(struct sp_call *call, uint32_t i, uint64_t value)
{
	if (i < call->count)
		call->out[i] = value & call->mask;
}

void ffa_direct_req_handle(const struct ffa_regs *req, struct ffa_regs *resp, bool smc64);
void ffa_direct_req2_handle(const struct ffa_regs *req, struct ffa_regs *resp);
void ffa_run_handle(const struct ffa_regs *req, struct ffa_regs *resp);

/* ---- the stub's secure partitions ---- */
void sp_echo_handle(struct sp_call *call);
void sp_service_handle(struct sp_call *call);
void sp_service_resume(struct sp_call *call);
int32_t sp_service_vm_message(uint32_t type, uint16_t vm);
void sp_service_init(void);
void sp_optee_handle(struct sp_call *call);

/* Service SP protocol (first payload register = command): SERVICE_* in ffa_emu_abi.h. */
/* sp_service_mem.c: the memory commands. */
void service_cmd_mem_checksum(struct sp_call *call);
void service_cmd_mem_fill(struct sp_call *call);
void service_cmd_mem_retrieve(struct sp_call *call);
void service_cmd_mem_relinquish(struct sp_call *call);
/* Relinquish (some of) what the service SP holds for VM `vm`; false while more remains. */
bool sp_service_forget_vm(uint16_t vm);
/* sp_service_notif.c: the notification commands. */
void service_cmd_notif_bind(struct sp_call *call);
void service_cmd_notif_set(struct sp_call *call);
void service_cmd_notif_get(struct sp_call *call);
void service_cmd_msg_read(struct sp_call *call);

/* ---- msg.c: indirect messaging ---- */
void ffa_msg_send2_handle(const struct ffa_regs *req, struct ffa_regs *resp);

/* ---- notif.c: notifications ---- */
/* Is `fid` a notification ABI this SPMC implements (at the negotiated version)? */
bool ffa_notif_supported(uint32_t fid);
/*
 * A notification call from the normal world (`from_sp` false: the hypervisor
 * vouches for the IDs) or from stub SP `caller`. Returns false for any other
 * `fid`.
 */
bool ffa_notif_handle(bool from_sp, uint16_t caller, uint32_t fid, const struct ffa_regs *req,
		      struct ffa_regs *resp);
/* Make framework notification `bit` pending for receiver `id` (if it takes notifications) and send the SRI. */
void notif_framework_set(uint16_t id, uint32_t bit);

/* ---- memory sharing (mem.h has the internals) ---- */
/*
 * mem_share.c: the normal world's FFA_MEM_SHARE/LEND/DONATE (both forms),
 * FFA_MEM_FRAG_TX and FFA_MEM_RECLAIM. Returns false for any other `fid`.
 */
bool ffa_mem_handle(uint32_t fid, const struct ffa_regs *req, struct ffa_regs *resp);
/* mem_retrieve.c: an FF-A call from stub SP `caller` to the SPMC (the borrowers' ABIs, notifications). */
void spmc_sp_call(uint16_t caller, const struct ffa_regs *req, struct ffa_regs *resp);
/* mem_retrieve.c: SP `id`'s RX buffer if the SPMC owns it (NULL: not mapped, or the SP owns it) ... */
uint8_t *sp_rx_free(uint16_t id);
/* ... and, once the SPMC has written a message there, the SP owns it until FFA_RX_RELEASE. */
void sp_rx_hand_over(uint16_t id);

/* ---- libc.c ---- */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

#endif /* SPMC_H */
