/*
 * ffa_console: FFA_CONSOLE_LOG (FF-A 1.2) in both forms after negotiating
 * 1.2: the SMC32 form carries up to 24 characters in w2-w7, the SMC64 form
 * up to 128 in x2-x17.  Each result is printed; a character count of 0 must
 * fail wherever the call is supported.
 */
#include <stdint.h>

#include "console.h"
#include "ffa.h"
#include "string.h"
#include "tap.h"

#define PLAN 4

/* Pack `text` little-endian into registers x2.. of `width` bytes each. */
static struct smccc_regs console_frame(uint64_t fid, const char *text, uint64_t count, unsigned width)
{
    struct smccc_regs r;
    size_t len = strlen(text);

    ffa_regs_clear(&r);
    r.x[0] = fid;
    r.x[1] = count;
    for (size_t i = 0; i < len; i++)
        r.x[2 + i / width] |= (uint64_t)(unsigned char)text[i] << (8 * (i % width));
    return r;
}

static int32_t log_call(const char *what, uint64_t fid, const char *text, uint64_t count, unsigned width)
{
    char buf[96];
    struct smccc_regs r = console_frame(fid, text, count, width);

    smccc_call(&r);
    tap_diag("%s -> %s", what, ffa_describe(&r, buf, sizeof(buf)));
    return ffa_ok(&r) ? 0 : ffa_is_error(&r) ? ffa_error_code(&r) : -100;
}

int main(void)
{
    static const char line32[] = "console: hello (w2-w7)\n";
    static const char line64[] = "console: a longer line through x2-x17 of FFA_CONSOLE_LOG64\n";
    char text[48];
    uint32_t w0;
    int32_t s32, s64, z32, z64;

    tap_plan(PLAN);
    w0 = ffa_version(FFA_MAKE_VERSION(1, 2));
    tap_diag("FFA_VERSION(1.2) -> %s", ffa_version_str(w0, text, sizeof(text)));

    s32 = log_call("FFA_CONSOLE_LOG (SMC32)", FFA_CONSOLE_LOG, line32, sizeof(line32) - 1, 4);
    s64 = log_call("FFA_CONSOLE_LOG (SMC64)", FFA_FN64_CONSOLE_LOG, line64, sizeof(line64) - 1, 8);
    tap_ok(s32 == 0 || s32 == FFA_RET_NOT_SUPPORTED, "CONSOLE_LOG32: SUCCESS or NOT_SUPPORTED");
    tap_ok(s64 == 0 || s64 == FFA_RET_NOT_SUPPORTED, "CONSOLE_LOG64: SUCCESS or NOT_SUPPORTED");

    z32 = log_call("FFA_CONSOLE_LOG (SMC32) count 0", FFA_CONSOLE_LOG, "x", 0, 4);
    z64 = log_call("FFA_CONSOLE_LOG (SMC64) count 0", FFA_FN64_CONSOLE_LOG, "x", 0, 8);
    tap_ok(z32 < 0 && (s32 != 0 || z32 != FFA_RET_NOT_SUPPORTED), "CONSOLE_LOG32 count 0 fails (%s)",
           ffa_error_name(z32));
    tap_ok(z64 < 0 && (s64 != 0 || z64 != FFA_RET_NOT_SUPPORTED), "CONSOLE_LOG64 count 0 fails (%s)",
           ffa_error_name(z64));
    return tap_done();
}
