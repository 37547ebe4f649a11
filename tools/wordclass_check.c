/*
 * Disassemble, with capstone, every word of [start, end) (every stride-th
 * word) that emu/cpu/native/wordclass.c claims a class for, and count the
 * distinct (claimed class, capstone mnemonic, first two characters of the
 * operands) seen.  tools/check_wordclass.py classifies each such triple with
 * emu/cpu/iclass.py and compares: the decoder is checked against the Python
 * classifier without repeating its rules here.
 *
 * Usage: wordclass_check START END STRIDE [MASK VALUE]: only the words with
 * (word & MASK) == VALUE, if given.  Prints one line per triple:
 * class name, mnemonic (empty when capstone cannot decode the word), operand
 * prefix, count and the first word seen, tab separated.
 */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wordclass.h"

#define SLOTS 65536  /* distinct triples: a few thousand at most */

struct triple {
    int cls;
    char mnemonic[32];
    char prefix[3];
    uint64_t count;
    uint32_t example;
    int used;
};

static struct triple table[SLOTS];

static uint64_t hash(int cls, const char *mnemonic, const char *prefix)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)cls;
    for (const char *p = mnemonic; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (const char *p = prefix; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

static void count(int cls, const char *mnemonic, const char *ops, uint32_t word)
{
    char prefix[3] = {0};
    strncpy(prefix, ops, 2);
    for (uint64_t i = hash(cls, mnemonic, prefix) % SLOTS;; i = (i + 1) % SLOTS) {
        struct triple *t = &table[i];
        if (!t->used) {
            t->used = 1;
            t->cls = cls;
            snprintf(t->mnemonic, sizeof(t->mnemonic), "%s", mnemonic);
            memcpy(t->prefix, prefix, sizeof(prefix));
            t->example = word;
        }
        if (t->cls == cls && !strcmp(t->mnemonic, mnemonic) && !strcmp(t->prefix, prefix)) {
            t->count++;
            return;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 6) {
        fprintf(stderr, "usage: %s START END STRIDE [MASK VALUE]\n", argv[0]);
        return 2;
    }
    uint64_t start = strtoull(argv[1], NULL, 0), end = strtoull(argv[2], NULL, 0);
    uint64_t stride = strtoull(argv[3], NULL, 0);
    uint32_t mask = argc == 6 ? (uint32_t)strtoul(argv[4], NULL, 0) : 0;
    uint32_t value = argc == 6 ? (uint32_t)strtoul(argv[5], NULL, 0) : 0;
    csh handle;
    if (cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &handle) != CS_ERR_OK) {
        fprintf(stderr, "capstone: cannot open an AArch64 disassembler\n");
        return 1;
    }
    cs_insn *insn = cs_malloc(handle);
    for (uint64_t w = start; w < end; w += stride ? stride : 1) {
        uint32_t word = (uint32_t)w;
        if ((word & mask) != value)
            continue;
        int cls = wc_class(word);
        if (cls < 0)
            continue;
        uint8_t bytes[4] = {word, word >> 8, word >> 16, word >> 24};
        const uint8_t *code = bytes;
        size_t size = sizeof(bytes);
        uint64_t address = 0;
        if (cs_disasm_iter(handle, &code, &size, &address, insn))
            count(cls, insn->mnemonic, insn->op_str, word);
        else
            count(cls, "", "", word);
    }
    for (int i = 0; i < SLOTS; i++)
        if (table[i].used)
            printf("%s\t%s\t%s\t%" PRIu64 "\t0x%08" PRIx32 "\n", wc_class_name(table[i].cls), table[i].mnemonic, table[i].prefix,
                   table[i].count, table[i].example);
    cs_free(insn, 1);
    cs_close(&handle);
    return 0;
}
