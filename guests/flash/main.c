/*
 * flash: the two CFI parallel flash banks of the virt machine (64 MiB each,
 * bank 0 at 0x00000000, bank 1 at 0x04000000), read in read-array mode.
 *
 * QEMU backs a bank without a drive with zeroed memory, so it reads 0, not
 * the 0xff of erased flash.  A bank with a file reads the file: the first 16
 * bytes of each bank are printed as text so a test can compare them, and a
 * bank may either be unbacked or hold an image starting "FFA-EMU-FLASH-"
 * (padded with zeros to 64 MiB).  With a drive on unit 0, QEMU boots bank 0
 * as firmware instead of this ELF, so an image is given as unit 1.
 * Reads only: a write would be a flash command.
 */
#include <stdint.h>

#include "console.h"
#include "string.h"
#include "tap.h"

#define FLASH_BANK_SIZE 0x04000000ULL
#define FLASH_UNBACKED 0x00u   /* QEMU 7.2; real erased flash reads 0xff */

static const uint64_t bank_base[2] = { 0x00000000ULL, 0x04000000ULL };
static const char pattern_prefix[] = "FFA-EMU-FLASH-";

static uint32_t read32(uint64_t pa)
{
    return *(volatile uint32_t *)(uintptr_t)pa;
}

static uint64_t read64(uint64_t pa)
{
    return *(volatile uint64_t *)(uintptr_t)pa;
}

/* Byte reads: the text is bytes, and a bank may be read at any width. */
static void read_bytes(uint64_t pa, uint8_t *out, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        out[i] = *(volatile uint8_t *)(uintptr_t)(pa + i);
}

static int all_unbacked(const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (b[i] != FLASH_UNBACKED)
            return 0;
    return 1;
}

static uint64_t le64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static void check_bank(unsigned n)
{
    uint64_t base = bank_base[n];
    uint8_t b[16];

    read_bytes(base, b, sizeof(b));
    printf("flash%u first16 hex:", n);
    for (unsigned i = 0; i < sizeof(b); i++)
        printf(" %02x", b[i]);
    printf("\nflash%u first16 text: ", n);
    for (unsigned i = 0; i < sizeof(b); i++)
        console_putc(b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '.');
    console_putc('\n');

    int unbacked = all_unbacked(b, sizeof(b));
    int image = memcmp(b, pattern_prefix, sizeof(pattern_prefix) - 1) == 0;
    tap_ok(unbacked || image,
           "flash bank %u first 16 bytes: unbacked (0x%02x) or an FFA-EMU-FLASH- image",
           n, FLASH_UNBACKED);
    tap_diag("flash bank %u: %s", n,
             unbacked ? "unbacked" : image ? "image" : "unknown content");
    expect_eq_u64(read32(base + FLASH_BANK_SIZE - 4),
                  FLASH_UNBACKED * 0x01010101u,
                  "flash bank %u last word reads 0x%02x in both cases", n,
                  FLASH_UNBACKED);
    expect_eq_u64(read64(base), le64(b),
                  "flash bank %u doubleword read agrees with its byte reads", n);
}

int main(void)
{
    tap_plan(6);
    check_bank(0);
    check_bank(1);
    return tap_done();
}
