/*
 * The cost class of an A64 instruction word, decoded from its bits, for the
 * encodings that make up nearly all compiled code: integer data processing,
 * branches, loads and stores, hints, barriers, system instructions, scalar
 * floating point and the vector integer operations of vectorized loops.
 *
 * The authority stays emu/cpu/iclass.py, which classifies capstone's
 * disassembly by mnemonic; this decoder only saves the block-cost hook a
 * call into Python and capstone per new word.  It claims a word only where
 * every word of the encoding gets the class iclass.py gives it, and answers
 * WC_UNKNOWN for everything else (most SIMD, half precision, SVE, atomics,
 * structure loads, PAC forms, unpredictable register combinations...),
 * which then goes to Python as before.  "Gets the class" includes words
 * capstone cannot decode, which iclass.py counts as ALU: that is why the
 * whole of an encoding group can be claimed as ALU when it holds nothing
 * else.  tools/check_wordclass.py runs capstone over every word this decoder
 * claims and checks each claim against iclass.py.
 *
 * Encodings follow the Arm Architecture Reference Manual for A-profile
 * (DDI 0487), section C4.1, "A64 instruction set encoding".
 */
#include "wordclass.h"

/* Named as in INSTRUCTION_CLASSES of emu/cpu/iclass.py; Python maps them by name (wc_class_name). */
enum wc_class {
    WC_ALU, WC_MULTIPLY, WC_DIVIDE, WC_LOAD, WC_STORE, WC_LOAD_PAIR, WC_STORE_PAIR, WC_BRANCH,
    WC_FP_SIMD, WC_SYSTEM, WC_BARRIER, WC_EXCEPTION, WC_HINT, WC_CLASSES,
};

static const char *const wc_names[WC_CLASSES] = {
    "alu", "multiply", "divide", "load", "store", "load_pair", "store_pair", "branch",
    "fp_simd", "system", "barrier", "exception", "hint",
};

int wc_class_count(void)
{
    return WC_CLASSES;
}

const char *wc_class_name(int cls)
{
    return cls >= 0 && cls < WC_CLASSES ? wc_names[cls] : "";
}

static uint32_t bits(uint32_t word, int hi, int lo)
{
    return (word >> lo) & ((1u << (hi - lo + 1)) - 1);
}

#define RT(w) bits(w, 4, 0)
#define RN(w) bits(w, 9, 5)

/* HINT space, CRm:op2 (C6.2 "HINT"): the hints whose capstone mnemonic iclass.py counts as a hint. */
static int wc_hint(uint32_t crm, uint32_t op2)
{
    if (crm == 0)  /* NOP YIELD WFE WFI SEV SEVL, XPACLRI; op2 6 is DGH */
        return op2 == 6 ? WC_UNKNOWN : WC_HINT;
    if (crm == 2 && op2 == 4)  /* CSDB */
        return WC_HINT;
    if (crm == 3)  /* PACIAZ PACIASP PACIBZ PACIBSP AUTIAZ AUTIASP AUTIBZ AUTIBSP */
        return WC_HINT;
    if (crm == 4 && !(op2 & 1))  /* BTI, BTI c, j, jc */
        return WC_HINT;
    return WC_UNKNOWN;  /* the 1716 PAC forms are not hints by mnemonic; others have names of their own */
}

/* Branches, exception generation and system instructions (C4.1.65). */
static int wc_branch_system(uint32_t w)
{
    if ((w & 0x7C000000) == 0x14000000 || (w & 0x7C000000) == 0x34000000)
        return WC_BRANCH;  /* B, BL; CBZ, CBNZ, TBZ, TBNZ */
    if ((w & 0xFF000010) == 0x54000000)
        return WC_BRANCH;  /* B.cond (bit 4 set: BC.cond, FEAT_HBC) */
    if ((w & 0xFF000000) == 0xD4000000) {  /* exception generation */
        uint32_t opc = bits(w, 23, 21), ll = bits(w, 1, 0);
        if (bits(w, 4, 2) == 0 && ((opc == 0 && ll) || ((opc == 1 || opc == 2) && !ll)))
            return WC_EXCEPTION;  /* SVC HVC SMC, BRK, HLT */
        return WC_UNKNOWN;
    }
    if ((w & 0xFFFFF01F) == 0xD503201F)
        return wc_hint(bits(w, 11, 8), bits(w, 7, 5));
    if ((w & 0xFFFFF01F) == 0xD503301F) {  /* barriers: DSB (SSBB, PSSBB), DMB, ISB, SB */
        uint32_t crm = bits(w, 11, 8), op2 = bits(w, 7, 5);
        if ((op2 == 4 && crm != 12) || op2 == 5 || op2 == 6 || (op2 == 7 && crm == 0))
            return WC_BARRIER;
        return WC_UNKNOWN;  /* CLREX is ALU by mnemonic, and so is DFB (DSB #12); DSB nXS, TCOMMIT */
    }
    if ((w & 0xFFD00000) == 0xD5100000)
        return WC_SYSTEM;  /* MRS, MSR (register): op0 2 or 3, any system register */
    if ((w & 0xFFD80000) == 0xD5080000)  /* SYS, SYSL: DC, IC, TLBI, AT by name; BRB IALL and BRB INJ are not */
        return w == 0xD509729F || w == 0xD50972BF ? WC_UNKNOWN : WC_SYSTEM;
    if ((w & 0xFFF8F01F) == 0xD500401F) {  /* MSR (immediate) */
        uint32_t field = bits(w, 18, 16) << 3 | bits(w, 7, 5);  /* op1:op2 */
        if (field == 005 || field == 036 || field == 037 || field == 003 || field == 004)
            return WC_SYSTEM;  /* SPSel, DAIFSet, DAIFClr, UAO, PAN */
        return WC_UNKNOWN;  /* CFINV, XAFLAG, AXFLAG, SMSTART... have names of their own */
    }
    if ((w & 0xFE000000) == 0xD6000000) {  /* unconditional branch (register) */
        uint32_t opc = bits(w, 24, 21);
        if (bits(w, 20, 16) != 31 || bits(w, 15, 10) != 0 || RT(w) != 0)
            return WC_UNKNOWN;  /* the PAC forms */
        if (opc <= 2)
            return WC_BRANCH;  /* BR, BLR, RET */
        if (opc == 4 && RN(w) == 31)
            return WC_EXCEPTION;  /* ERET */
    }
    return WC_UNKNOWN;
}

/* Data processing (register), C4.1.87: ALU but for multiplies, divides and the PAC forms of 1-source. */
static int wc_data_register(uint32_t w)
{
    int op0 = bits(w, 30, 30), op1 = bits(w, 28, 28), op2 = bits(w, 24, 21);
    if (!op1)
        return WC_ALU;  /* logical and add/subtract, shifted or extended */
    if (op2 == 6 && !op0) {  /* 2-source */
        uint32_t opcode = bits(w, 15, 10);
        return !bits(w, 29, 29) && (opcode == 2 || opcode == 3) ? WC_DIVIDE : WC_ALU;  /* UDIV, SDIV */
    }
    if (op2 == 6)  /* 1-source: RBIT, REV*, CLZ, CLS...; opcode2 1 holds the PAC instructions */
        return bits(w, 20, 16) == 1 ? WC_UNKNOWN : WC_ALU;
    if (op2 & 8) {  /* 3-source */
        uint32_t op31 = bits(w, 23, 21), sf = bits(w, 31, 31);
        if (bits(w, 30, 29))
            return WC_UNKNOWN;
        if (op31 == 0)
            return WC_MULTIPLY;  /* MADD, MSUB (MUL, MNEG) */
        if ((op31 == 1 || op31 == 5) && sf)
            return WC_MULTIPLY;  /* SMADDL SMSUBL UMADDL UMSUBL (SMULL ...) */
        if ((op31 == 2 || op31 == 6) && sf && !bits(w, 15, 15) && bits(w, 14, 10) == 31)
            return WC_MULTIPLY;  /* SMULH, UMULH */
        return WC_UNKNOWN;
    }
    return WC_ALU;  /* add/subtract with carry, flag manipulation, conditional compare and select */
}

/* The (size, V, opc) combinations of a single-register load or store that exist, by class (C4.1.84). */
static int wc_register_access(uint32_t size, uint32_t v, uint32_t opc)
{
    if (opc == 0)
        return WC_STORE;
    if (opc == 1)
        return WC_LOAD;
    if (v)  /* opc 2 and 3: the 128-bit STR and LDR, size 0 only */
        return size == 0 ? (opc == 2 ? WC_STORE : WC_LOAD) : WC_UNKNOWN;
    if (opc == 2)  /* LDRSB LDRSH LDRSW to X; size 3 is PRFM, in the forms that have it */
        return size == 3 ? WC_UNKNOWN : WC_LOAD;
    return size <= 1 ? WC_LOAD : WC_UNKNOWN;  /* LDRSB, LDRSH to W */
}

/* Load/store register: unsigned offset, register offset, unscaled, pre/post-indexed, unprivileged. */
static int wc_load_store_register(uint32_t w)
{
    uint32_t size = bits(w, 31, 30), v = bits(w, 26, 26), opc = bits(w, 23, 22);
    if (bits(w, 24, 24)) {  /* unsigned offset */
        if (!v && opc == 2 && size == 3)
            return WC_LOAD;  /* PRFM */
        return wc_register_access(size, v, opc);
    }
    uint32_t form = bits(w, 11, 10);
    if (bits(w, 21, 21)) {
        if (form != 2 || !bits(w, 14, 14))
            return WC_UNKNOWN;  /* atomics, LDRAA/LDRAB; register offset with an extend that does not exist */
        if (!v && opc == 2 && size == 3)
            return WC_LOAD;  /* PRFM (register) */
        return wc_register_access(size, v, opc);
    }
    if (form == 0 && !v && opc == 2 && size == 3)
        return WC_LOAD;  /* PRFUM */
    if (form == 2 && v)
        return WC_UNKNOWN;  /* no unprivileged SIMD&FP forms */
    if (form && !v && RN(w) == RT(w) && RN(w) != 31)
        return WC_UNKNOWN;  /* writeback into the transfer register (capstone refuses some unprivileged loads too) */
    return wc_register_access(size, v, opc);
}

/* Load/store pair: no-allocate, post-indexed, offset, pre-indexed (C4.1.84). */
static int wc_load_store_pair(uint32_t w)
{
    uint32_t opc = bits(w, 31, 30), v = bits(w, 26, 26), op = bits(w, 24, 23), load = bits(w, 22, 22);
    uint32_t rt = RT(w), rn = RN(w), rt2 = bits(w, 14, 10);
    if (opc == 3 || (!v && opc == 1 && (!load || op == 0)))
        return WC_UNKNOWN;  /* STGP; no LDNPSW */
    if (load && rt == rt2)
        return WC_UNKNOWN;  /* CONSTRAINED UNPREDICTABLE */
    if (!v && (op & 1) && rn != 31 && (rn == rt || rn == rt2))
        return WC_UNKNOWN;  /* writeback into a transfer register */
    return load ? WC_LOAD_PAIR : WC_STORE_PAIR;
}

/* Load/store exclusive and ordered (LDXR STXR LDAXR STLXR, the pair forms, LDAR STLR LDLAR STLLR). */
static int wc_exclusive(uint32_t w)
{
    uint32_t size = bits(w, 31, 30), o2 = bits(w, 23, 23), load = bits(w, 22, 22), o1 = bits(w, 21, 21);
    uint32_t rs = bits(w, 20, 16), rt2 = bits(w, 14, 10), rt = RT(w), rn = RN(w);
    if (o1 && (o2 || size < 2))
        return WC_UNKNOWN;  /* CAS, CASP */
    if (o1) {  /* exclusive pair */
        if (load)
            return rs == 31 && rt != rt2 ? WC_LOAD_PAIR : WC_UNKNOWN;
        return rs != rt && rs != rt2 && (rs != rn || rn == 31) ? WC_STORE_PAIR : WC_UNKNOWN;
    }
    if (rt2 != 31)
        return WC_UNKNOWN;
    if (load)
        return rs == 31 ? WC_LOAD : WC_UNKNOWN;
    if (o2)  /* STLR, STLLR */
        return rs == 31 ? WC_STORE : WC_UNKNOWN;
    return rs != rt && (rs != rn || rn == 31) ? WC_STORE : WC_UNKNOWN;  /* STXR, STLXR */
}

static int wc_load_store(uint32_t w)
{
    if ((w & 0x38000000) == 0x38000000)
        return wc_load_store_register(w);
    if ((w & 0x38000000) == 0x28000000)
        return wc_load_store_pair(w);
    if ((w & 0x3B000000) == 0x18000000)  /* load register (literal): LDR, LDRSW, PRFM */
        return bits(w, 31, 30) == 3 && bits(w, 26, 26) ? WC_UNKNOWN : WC_LOAD;
    if ((w & 0x3F000000) == 0x08000000)
        return wc_exclusive(w);
    return WC_UNKNOWN;  /* structure loads and stores, atomics, RCpc, memory tags */
}

/* Advanced SIMD (C4.1.95): the integer vector operations compilers vectorize loops with, in the sizes and
 * arrangements that exist; and UMOV and SMOV, ALU by mnemonic ("mov w0, v1.s[1]" writes a general register),
 * as are the words of their encodings that do not exist. */
static int wc_simd(uint32_t w)
{
    uint32_t q = bits(w, 30, 30), u = bits(w, 29, 29), size = bits(w, 23, 22);
    if ((w & 0x9F200400) == 0x0E200400) {  /* three same */
        uint32_t opcode = bits(w, 15, 11);
        if (opcode == 3)
            return WC_FP_SIMD;  /* AND BIC ORR ORN EOR BSL BIT BIF */
        if ((opcode == 6 || opcode == 7 || opcode == 16 || opcode == 17) && (size != 3 || q))
            return WC_FP_SIMD;  /* CMGT CMHI, CMGE CMHS, ADD SUB, CMTST CMEQ */
        return WC_UNKNOWN;
    }
    if ((w & 0x9F200C00) == 0x0E200000)  /* three different: [SU]ADDL[2] [SU]ADDW[2] [SU]SUBL[2] [SU]SUBW[2] */
        return bits(w, 15, 12) <= 3 && size != 3 ? WC_FP_SIMD : WC_UNKNOWN;
    if ((w & 0x9F800400) == 0x0F000400 && bits(w, 22, 19)) {  /* shift by immediate (immh 0: modified immediate) */
        uint32_t immh = bits(w, 22, 19), opcode = bits(w, 15, 11);
        if (opcode == 20)
            return immh < 8 ? WC_FP_SIMD : WC_UNKNOWN;  /* SSHLL USHLL */
        if (opcode == 0 || (opcode == 10 && !u))
            return immh < 8 || q ? WC_FP_SIMD : WC_UNKNOWN;  /* SSHR USHR, SHL */
        return WC_UNKNOWN;
    }
    if ((w & 0xBF3E0C00) == 0x0E300800)  /* across lanes, U 0: ADDV (opcode 11011) */
        return !u && bits(w, 16, 12) == 27 && (size < 2 || (size == 2 && q)) ? WC_FP_SIMD : WC_UNKNOWN;
    if ((w & 0xBFE08400) == 0x0E000400) {  /* copy */
        uint32_t imm5 = bits(w, 20, 16), imm4 = bits(w, 14, 11);
        if (imm4 <= 1)  /* DUP (element), DUP (general) */
            return (imm5 & 0xF) && ((imm5 & 0xF) != 8 || q) ? WC_FP_SIMD : WC_UNKNOWN;
        return imm4 == 5 || imm4 == 7 ? WC_ALU : WC_UNKNOWN;  /* SMOV, UMOV */
    }
    if ((w & 0xBFE08400) == 0x2E000000)  /* EXT */
        return q || bits(w, 14, 14) == 0 ? WC_FP_SIMD : WC_UNKNOWN;
    return WC_UNKNOWN;
}

/* Scalar floating point (C4.1.96), single and double precision: moves, conversions to and from integers,
 * arithmetic, compares, selects.  Every mnemonic there starts with "f" but SCVTF and UCVTF (FP by name). */
static int wc_fp(uint32_t w)
{
    uint32_t ftype = bits(w, 23, 22);
    if ((w & 0x5E000000) != 0x1E000000 || ftype > 1)
        return WC_UNKNOWN;  /* half precision and the rest are left to capstone */
    if (bits(w, 24, 24))  /* 3-source: FMADD FMSUB FNMADD FNMSUB */
        return bits(w, 31, 29) == 0 ? WC_FP_SIMD : WC_UNKNOWN;
    if (!bits(w, 21, 21))
        return WC_UNKNOWN;  /* fixed-point conversions */
    if (bits(w, 15, 10) == 0) {  /* conversion between floating point and integer */
        uint32_t rmode = bits(w, 20, 19), opcode = bits(w, 18, 16), sf = bits(w, 31, 31);
        if (bits(w, 29, 29))
            return WC_UNKNOWN;
        if (rmode == 0 && (opcode == 2 || opcode == 3))
            return WC_FP_SIMD;  /* SCVTF UCVTF */
        if (rmode == 3 && opcode <= 1)
            return WC_FP_SIMD;  /* FCVTZS FCVTZU */
        if (rmode == 0 && (opcode == 6 || opcode == 7) && sf == ftype)
            return WC_FP_SIMD;  /* FMOV between W and S, X and D */
        return WC_UNKNOWN;
    }
    if (bits(w, 31, 29))
        return WC_UNKNOWN;
    if (bits(w, 14, 10) == 0x10)  /* 1-source: FMOV FABS FNEG FSQRT */
        return bits(w, 20, 15) <= 3 ? WC_FP_SIMD : WC_UNKNOWN;
    if (bits(w, 11, 10) == 2)  /* 2-source: FMUL FDIV FADD FSUB FMAX FMIN FMAXNM FMINNM FNMUL */
        return bits(w, 15, 12) <= 8 ? WC_FP_SIMD : WC_UNKNOWN;
    if (bits(w, 11, 10) == 3)  /* FCSEL */
        return WC_FP_SIMD;
    if (bits(w, 15, 10) == 8 && bits(w, 2, 0) == 0) {  /* FCMP FCMPE, with a register or #0.0 */
        uint32_t opc = bits(w, 4, 3);
        return !(opc & 1) || bits(w, 20, 16) == 0 ? WC_FP_SIMD : WC_UNKNOWN;
    }
    if (bits(w, 12, 10) == 4 && bits(w, 9, 5) == 0)  /* FMOV (immediate) */
        return WC_FP_SIMD;
    return WC_UNKNOWN;
}

int wc_class(uint32_t w)
{
    uint32_t op0 = bits(w, 28, 25);
    if ((op0 & 0xE) == 0x8)
        return WC_ALU;  /* data processing (immediate): every mnemonic there is ALU */
    if ((op0 & 0xE) == 0xA)
        return wc_branch_system(w);
    if ((op0 & 0x5) == 0x4)
        return wc_load_store(w);
    if ((op0 & 0x7) == 0x5)
        return wc_data_register(w);
    if ((w & 0x9FF80C00) == 0x0F000400 && !(bits(w, 30, 29) == 1 && bits(w, 15, 12) == 15))
        return WC_FP_SIMD;  /* SIMD modified immediate (MOVI, MVNI, ORR, BIC, FMOV): compilers zero with MOVI */
    if ((op0 & 0x7) == 0x7)
        return bits(w, 28, 28) ? wc_fp(w) : wc_simd(w);
    return WC_UNKNOWN;  /* SVE, SME, reserved */
}
