/*
 * SMCCC 1.2 calls from the guest: x0-x17 in, x0-x17 out.
 *
 * smccc_hvc()/smccc_smc() load x0-x17 from r->x[0..17], issue `hvc #0` /
 * `smc #0` and store x0-x17 back.  All 18 registers are in/out operands of
 * the asm statement, so the compiler can neither keep a live value in one of
 * them across the call nor assume one is unchanged.  x18-x30 and SP are
 * preserved by the SMCCC, so nothing else is clobbered (apart from memory:
 * a call may read or write buffers shared with the hypervisor).
 */
#ifndef GUEST_SMCCC_H
#define GUEST_SMCCC_H

#include <stdint.h>

#define SMCCC_NUM_REGS 18

struct smccc_regs {
    uint64_t x[SMCCC_NUM_REGS];
};

#define SMCCC_CALL_ASM_(insn, r)                                             \
    do {                                                                     \
        register uint64_t x0 asm("x0") = (r)->x[0];                          \
        register uint64_t x1 asm("x1") = (r)->x[1];                          \
        register uint64_t x2 asm("x2") = (r)->x[2];                          \
        register uint64_t x3 asm("x3") = (r)->x[3];                          \
        register uint64_t x4 asm("x4") = (r)->x[4];                          \
        register uint64_t x5 asm("x5") = (r)->x[5];                          \
        register uint64_t x6 asm("x6") = (r)->x[6];                          \
        register uint64_t x7 asm("x7") = (r)->x[7];                          \
        register uint64_t x8 asm("x8") = (r)->x[8];                          \
        register uint64_t x9 asm("x9") = (r)->x[9];                          \
        register uint64_t x10 asm("x10") = (r)->x[10];                       \
        register uint64_t x11 asm("x11") = (r)->x[11];                       \
        register uint64_t x12 asm("x12") = (r)->x[12];                       \
        register uint64_t x13 asm("x13") = (r)->x[13];                       \
        register uint64_t x14 asm("x14") = (r)->x[14];                       \
        register uint64_t x15 asm("x15") = (r)->x[15];                       \
        register uint64_t x16 asm("x16") = (r)->x[16];                       \
        register uint64_t x17 asm("x17") = (r)->x[17];                       \
        asm volatile(insn                                                    \
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4),     \
                       "+r"(x5), "+r"(x6), "+r"(x7), "+r"(x8), "+r"(x9),     \
                       "+r"(x10), "+r"(x11), "+r"(x12), "+r"(x13),           \
                       "+r"(x14), "+r"(x15), "+r"(x16), "+r"(x17)            \
                     :                                                       \
                     : "memory");                                            \
        (r)->x[0] = x0;                                                      \
        (r)->x[1] = x1;                                                      \
        (r)->x[2] = x2;                                                      \
        (r)->x[3] = x3;                                                      \
        (r)->x[4] = x4;                                                      \
        (r)->x[5] = x5;                                                      \
        (r)->x[6] = x6;                                                      \
        (r)->x[7] = x7;                                                      \
        (r)->x[8] = x8;                                                      \
        (r)->x[9] = x9;                                                      \
        (r)->x[10] = x10;                                                    \
        (r)->x[11] = x11;                                                    \
        (r)->x[12] = x12;                                                    \
        (r)->x[13] = x13;                                                    \
        (r)->x[14] = x14;                                                    \
        (r)->x[15] = x15;                                                    \
        (r)->x[16] = x16;                                                    \
        (r)->x[17] = x17;                                                    \
    } while (0)

/* Full SMCCC 1.2 call through the HVC conduit (hvc #0). */
static inline void smccc_hvc(struct smccc_regs *r)
{
    SMCCC_CALL_ASM_("hvc #0", r);
}

/* Full SMCCC 1.2 call through the SMC conduit (smc #0). */
static inline void smccc_smc(struct smccc_regs *r)
{
    SMCCC_CALL_ASM_("smc #0", r);
}

/*
 * The conduit the device tree's /psci node names in "method" (SMC for
 * "smc", else HVC, also when there is no tree): the one Linux's FF-A
 * driver uses (arm_smccc_1_1_get_conduit).  Read from the tree at the
 * first call, with the MMU off.
 */
int smccc_conduit_is_smc(void);

/* A full SMCCC 1.2 call through that conduit (inline: a trace names the caller's site). */
static inline void smccc_call(struct smccc_regs *r)
{
    if (smccc_conduit_is_smc())
        smccc_smc(r);
    else
        smccc_hvc(r);
}

/* Clear *r and set its function ID and first three arguments. */
static inline void smccc_regs_init(struct smccc_regs *r, uint64_t fid,
                                   uint64_t a1, uint64_t a2, uint64_t a3)
{
    for (int i = 0; i < SMCCC_NUM_REGS; i++)
        r->x[i] = 0;
    r->x[0] = fid;
    r->x[1] = a1;
    r->x[2] = a2;
    r->x[3] = a3;
}

/* Convenience wrappers: x4-x17 are zero, returns x0. */
static inline uint64_t smccc_call_hvc(uint64_t fid, uint64_t a1, uint64_t a2,
                                      uint64_t a3)
{
    struct smccc_regs r;
    smccc_regs_init(&r, fid, a1, a2, a3);
    smccc_hvc(&r);
    return r.x[0];
}

static inline uint64_t smccc_call_smc(uint64_t fid, uint64_t a1, uint64_t a2,
                                      uint64_t a3)
{
    struct smccc_regs r;
    smccc_regs_init(&r, fid, a1, a2, a3);
    smccc_smc(&r);
    return r.x[0];
}

/* SMCCC version word (w0 of SMCCC_VERSION): bit 31 MBZ, 30:16 major, 15:0 minor. */
#define SMCCC_VERSION_MAJOR(v) ((uint32_t)(((v) >> 16) & 0x7fff))
#define SMCCC_VERSION_MINOR(v) ((uint32_t)((v) & 0xffff))

/*
 * PSCI SYSTEM_OFF through the device tree's conduit (smccc_call); main's exit
 * code goes in x1 (ignored by PSCI).  Never returns: if the call comes back,
 * loops on wfi.
 */
void __attribute__((noreturn)) guest_system_off(int code);

#endif /* GUEST_SMCCC_H */
