/*
 * The flattened device tree the loader passed: where it is, and a
 * property of a node under the root.  The blob is big-endian; words are
 * read byte by byte (-mstrict-align, and the flash copy may be read at any
 * width).
 */
#ifndef GUEST_FDT_H
#define GUEST_FDT_H

#include <stdint.h>

#define FDT_MAGIC 0xd00dfeedu

/* Header fields, in order (all big-endian 32-bit words). */
enum {
    FDT_H_MAGIC, FDT_H_TOTALSIZE, FDT_H_OFF_STRUCT, FDT_H_OFF_STRINGS, FDT_H_OFF_RSVMAP,
    FDT_H_VERSION, FDT_H_LAST_COMP, FDT_H_BOOT_CPU, FDT_H_SIZE_STRINGS, FDT_H_SIZE_STRUCT,
};

/* Structure block tokens. */
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE 2u
#define FDT_PROP 3u
#define FDT_NOP 4u
#define FDT_END 9u

uint32_t fdt_be32(const uint8_t *p);

/* Header field `field` of `blob`. */
uint32_t fdt_header(const uint8_t *blob, unsigned field);

/*
 * The blob, where QEMU would have put it: x0 at entry (boot_dtb) under the
 * Linux boot protocol; for an ELF image (x0 = 0) the start of RAM
 * (0x40000000) if the image leaves room below itself, else address 0 (flash
 * bank 0).  Returns 0 if none of them holds the FDT magic, else 1 with
 * *blob (which may be address 0) and *where, naming the place, set.
 */
int fdt_locate(const uint8_t **blob, const char **where);

/* Property `prop` of the node `node` directly under the root (its bytes, *len of them), or NULL. */
const uint8_t *fdt_root_child_prop(const uint8_t *blob, const char *node, const char *prop, uint32_t *len);

#endif /* GUEST_FDT_H */
