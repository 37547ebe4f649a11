#include "fdt.h"

#include "boot.h"
#include "string.h"

#define RAM_START 0x40000000ULL

uint32_t fdt_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint32_t fdt_header(const uint8_t *blob, unsigned field)
{
    return fdt_be32(blob + 4 * field);
}

/* Address 0 is a candidate (QEMU may put the blob in flash bank 0), but to
 * the compiler a read from a known null pointer is undefined: hide where
 * the value came from. */
static const uint8_t *opaque_ptr(uint64_t addr)
{
    asm("" : "+r"(addr));
    return (const uint8_t *)(uintptr_t)addr;
}

int fdt_locate(const uint8_t **blob, const char **where)
{
    static const struct {
        const char *where;
        uint64_t addr;
    } fixed[] = {
        { "start of RAM", RAM_START },
        { "flash bank 0", 0 },
    };

    /* No pointer passed: 0 is not "the blob at 0". */
    if (boot_dtb != 0 && fdt_be32(opaque_ptr(boot_dtb)) == FDT_MAGIC) {
        *blob = opaque_ptr(boot_dtb);
        *where = "x0 at entry";
        return 1;
    }
    for (unsigned i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (fdt_be32(opaque_ptr(fixed[i].addr)) == FDT_MAGIC) {
            *blob = opaque_ptr(fixed[i].addr);
            *where = fixed[i].where;
            return 1;
        }
    }
    return 0;
}

const uint8_t *fdt_root_child_prop(const uint8_t *blob, const char *node, const char *prop, uint32_t *len)
{
    const uint8_t *p = blob + fdt_header(blob, FDT_H_OFF_STRUCT);
    const uint8_t *end = p + fdt_header(blob, FDT_H_SIZE_STRUCT);
    const char *strings = (const char *)blob + fdt_header(blob, FDT_H_OFF_STRINGS);
    int depth = 0, match = 0; /* match: the depth-2 node we are in (or were last in) is `node` */

    while (p < end) {
        uint32_t token = fdt_be32(p);

        p += 4;
        if (token == FDT_BEGIN_NODE) {
            const char *name = (const char *)p;

            p += (strlen(name) + 1 + 3) & ~3ul;
            if (++depth == 2)
                match = strcmp(name, node) == 0;
        } else if (token == FDT_END_NODE) {
            depth--;
        } else if (token == FDT_PROP) {
            uint32_t size = fdt_be32(p), nameoff = fdt_be32(p + 4);
            const uint8_t *value = p + 8;

            p += 8 + ((size + 3) & ~3u);
            if (depth == 2 && match && strcmp(strings + nameoff, prop) == 0) {
                *len = size;
                return value;
            }
        } else if (token != FDT_NOP) {
            break; /* FDT_END or a bad token */
        }
    }
    return NULL;
}
