/*
 * dtb: find the flattened device tree the loader passed, check its header,
 * walk the structure block and report the root's compatible, the /memory
 * node's reg and /chosen's bootargs.
 *
 * Where the blob is: x0 at entry (lib/start.S keeps it in boot_dtb) under
 * the Linux boot protocol.  QEMU leaves x0 = 0 for an ELF image and puts the
 * blob at the start of RAM if the image leaves room below itself (this guest
 * is linked at 0x40200000 for that, see link.ld), else at address 0, in
 * flash bank 0.  So: boot_dtb, then 0x40000000, then 0 (lib/fdt.c
 * fdt_locate, which the FF-A helpers also use to find the PSCI conduit).
 */
#include <stdint.h>

#include "boot.h"
#include "console.h"
#include "fdt.h"
#include "string.h"
#include "tap.h"

#define EXPECTED_MEM_BASE 0x40000000ULL
#define EXPECTED_MEM_SIZE (128ULL << 20)    /* qemu -m 128M */
#define MAX_DEPTH 16
#define MAX_BLOB_SIZE (16u << 20)           /* sanity bound on totalsize */

static const uint8_t *blob;

static uint32_t hdr(unsigned field)
{
    return fdt_header(blob, field);
}

/* A cells-long big-endian number (1 or 2 cells). */
static uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < cells; i++)
        v = v << 32 | fdt_be32(p + 4 * i);
    return v;
}

/* Does the NUL-separated string list (len bytes) contain s? */
static int strlist_has(const char *list, uint32_t len, const char *s)
{
    for (uint32_t i = 0; i < len; i += (uint32_t)strlen(list + i) + 1)
        if (strcmp(list + i, s) == 0)
            return 1;
    return 0;
}

static int starts_with(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

static void print_strlist(const char *list, uint32_t len)
{
    for (uint32_t i = 0; i < len; i += (uint32_t)strlen(list + i) + 1)
        printf("%s\"%s\"", i ? ", " : "", list + i);
}

struct findings {
    uint32_t addr_cells, size_cells;   /* the root's */
    int memory_found;
    uint64_t mem_base, mem_size;
    int compat_found, compat_virt;
    int bootargs_found;
    int end_seen;
    unsigned nodes;
};

/* One pass over the structure block, looking at the root's properties, the
 * first /memory@... node and /chosen. */
static void walk(struct findings *f)
{
    const uint8_t *p = blob + hdr(FDT_H_OFF_STRUCT);
    const uint8_t *end = p + hdr(FDT_H_SIZE_STRUCT);
    const char *strings = (const char *)blob + hdr(FDT_H_OFF_STRINGS);
    const char *path[MAX_DEPTH];
    int depth = 0;

    f->addr_cells = 2;  /* defaults when the root does not say */
    f->size_cells = 1;
    while (p < end) {
        uint32_t token = fdt_be32(p);
        p += 4;
        if (token == FDT_BEGIN_NODE) {
            const char *name = (const char *)p;
            p += (strlen(name) + 1 + 3) & ~3ul;
            if (depth < MAX_DEPTH)
                path[depth] = name;
            depth++;
            f->nodes++;
        } else if (token == FDT_END_NODE) {
            depth--;
        } else if (token == FDT_PROP) {
            uint32_t len = fdt_be32(p), nameoff = fdt_be32(p + 4);
            const uint8_t *val = p + 8;
            const char *prop = strings + nameoff;
            p += 8 + ((len + 3) & ~3u);

            if (depth == 1) {
                if (strcmp(prop, "#address-cells") == 0)
                    f->addr_cells = fdt_be32(val);
                else if (strcmp(prop, "#size-cells") == 0)
                    f->size_cells = fdt_be32(val);
                else if (strcmp(prop, "compatible") == 0) {
                    f->compat_found = 1;
                    f->compat_virt = strlist_has((const char *)val, len, "linux,dummy-virt");
                    printf("/ compatible: ");
                    print_strlist((const char *)val, len);
                    printf("\n");
                }
            } else if (depth == 2 && starts_with(path[1], "memory@") &&
                       strcmp(prop, "reg") == 0 && !f->memory_found) {
                f->memory_found = 1;
                f->mem_base = read_cells(val, f->addr_cells);
                f->mem_size = read_cells(val + 4 * f->addr_cells, f->size_cells);
                printf("/%s reg: base=0x%llx size=0x%llx (%llu MiB)\n", path[1],
                       (unsigned long long)f->mem_base,
                       (unsigned long long)f->mem_size,
                       (unsigned long long)(f->mem_size >> 20));
            } else if (depth == 2 && strcmp(path[1], "chosen") == 0 &&
                       strcmp(prop, "bootargs") == 0) {
                f->bootargs_found = 1;
                printf("/chosen bootargs: \"%s\"\n", (const char *)val);
            }
        } else if (token == FDT_NOP) {
            continue;
        } else if (token == FDT_END) {
            f->end_seen = 1;
            break;
        } else {
            printf("dtb: bad token 0x%x at struct offset 0x%llx\n", token,
                   (unsigned long long)(p - 4 - (blob + hdr(FDT_H_OFF_STRUCT))));
            break;
        }
    }
}

int main(void)
{
    struct findings f;
    const char *where = NULL;

    printf("dtb: x0 at entry = 0x%llx\n", (unsigned long long)boot_dtb);
    if (!fdt_locate(&blob, &where))
        where = NULL;

    tap_plan(9);
    if (!tap_ok(where != NULL, "an FDT magic 0xd00dfeed at x0, 0x40000000 or 0")) {
        tap_diag("skipping the rest: no device tree");
        for (unsigned i = 1; i < 9; i++)
            tap_ok(0, "needs the device tree");
        return tap_done();
    }
    printf("dtb: blob at 0x%llx (%s), totalsize 0x%x, version %u\n",
           (unsigned long long)(uintptr_t)blob, where, hdr(FDT_H_TOTALSIZE),
           hdr(FDT_H_VERSION));

    tap_ok(hdr(FDT_H_VERSION) >= 16 && hdr(FDT_H_LAST_COMP) <= 16,
           "FDT version %u, last compatible %u: readable as version 16/17",
           hdr(FDT_H_VERSION), hdr(FDT_H_LAST_COMP));
    uint32_t total = hdr(FDT_H_TOTALSIZE);
    int sane = total >= 40 && total <= MAX_BLOB_SIZE &&
               hdr(FDT_H_OFF_STRUCT) + hdr(FDT_H_SIZE_STRUCT) <= total &&
               hdr(FDT_H_OFF_STRINGS) + hdr(FDT_H_SIZE_STRINGS) <= total;
    if (!tap_ok(sane, "header offsets and sizes lie within totalsize")) {
        for (unsigned i = 2; i < 9; i++)
            tap_ok(0, "needs a sane header");
        return tap_done();
    }

    memset(&f, 0, sizeof(f));
    walk(&f);
    tap_diag("%u nodes, #address-cells %u, #size-cells %u", f.nodes,
             f.addr_cells, f.size_cells);
    tap_ok(f.end_seen, "the structure block ends with FDT_END");
    tap_ok(f.compat_found && f.compat_virt,
           "root compatible lists \"linux,dummy-virt\"");
    tap_ok(f.memory_found, "a /memory@... node with reg");
    expect_eq_u64(f.mem_base, EXPECTED_MEM_BASE, "memory base is 0x40000000");
    expect_eq_u64(f.mem_size, EXPECTED_MEM_SIZE, "memory size is 128 MiB");
    /* The guest does not know its command line: bootargs are optional. */
    tap_ok(1, "/chosen bootargs: %s", f.bootargs_found ? "present" : "absent");
    return tap_done();
}
