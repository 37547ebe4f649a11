/*
 * semihosting_exit0: talk to the host through semihosting only (no PSCI,
 * no UART): SYS_WRITE0 a line, SYS_WRITEC a character, SYS_OPEN ":tt" for
 * writing and SYS_WRITE a line to that handle, then stop the machine with
 * an exit status the host's process exits with.
 *
 * The variants #include this file:
 *   SEMIHOSTING_EXIT_STATUS  the status (default 0)
 *   SEMIHOSTING_PLAIN_EXIT   stop with SYS_EXIT instead of SYS_EXIT_EXTENDED.
 *                            On AArch64 SYS_EXIT takes the same two-word
 *                            block (reason, subcode), so it carries a status
 *                            too; on AArch32 it took the reason in r1 alone.
 */
#include <stdint.h>

#include "console.h"
#include "exceptions.h"
#include "semihosting.h"
#include "string.h"

#ifndef SEMIHOSTING_EXIT_STATUS
#define SEMIHOSTING_EXIT_STATUS 0
#endif
#ifndef SEMIHOSTING_GUEST_NAME
#define SEMIHOSTING_GUEST_NAME "semihosting_exit0"
#endif

static void write_to(uint64_t handle, const char *s)
{
    uint64_t block[3] = { handle, (uint64_t)(uintptr_t)s, strlen(s) };
    uint64_t left = semihosting_call(SYS_WRITE, (uint64_t)(uintptr_t)block);
    if (left != 0)
        printf("%s: SYS_WRITE left %llu bytes unwritten\n",
               SEMIHOSTING_GUEST_NAME, (unsigned long long)left);
}

int main(void)
{
    /* Without a semihosting host the hlt is UNDEFINED: the lib vectors skip
     * it, and the UART says why the machine then powers off normally. */
    install_vectors();

    semihosting_call(SYS_WRITE0, (uint64_t)(uintptr_t)
                     SEMIHOSTING_GUEST_NAME ": hello through SYS_WRITE0\n");
    if (last_exception.count) {
        printf("%s: no semihosting host: hlt #0xf000 raised EC 0x%02x\n",
               SEMIHOSTING_GUEST_NAME, esr_ec(last_exception.esr));
        return 100;
    }

    static const char chars[] = "!\n";
    semihosting_call(SYS_WRITEC, (uint64_t)(uintptr_t)&chars[0]);
    semihosting_call(SYS_WRITEC, (uint64_t)(uintptr_t)&chars[1]);

    static const char tt[] = ":tt";
    uint64_t open_block[3] = { (uint64_t)(uintptr_t)tt, SYS_OPEN_MODE_W,
                               sizeof(tt) - 1 };
    uint64_t handle = semihosting_call(SYS_OPEN, (uint64_t)(uintptr_t)open_block);
    if ((int64_t)handle == -1) {
        printf("%s: SYS_OPEN(\":tt\") failed\n", SEMIHOSTING_GUEST_NAME);
    } else {
        write_to(handle, SEMIHOSTING_GUEST_NAME ": hello through SYS_WRITE to :tt\n");
        semihosting_call(SYS_CLOSE, (uint64_t)(uintptr_t)&handle);
    }

    static char line[64];
    snprintf(line, sizeof(line), "%s: exiting with status %d\n",
             SEMIHOSTING_GUEST_NAME, SEMIHOSTING_EXIT_STATUS);
    semihosting_call(SYS_WRITE0, (uint64_t)(uintptr_t)line);

    uint64_t exit_block[2] = { ADP_STOPPED_APPLICATION_EXIT,
                               SEMIHOSTING_EXIT_STATUS };
#ifdef SEMIHOSTING_PLAIN_EXIT
    semihosting_call(SYS_EXIT, (uint64_t)(uintptr_t)exit_block);
#else
    semihosting_call(SYS_EXIT_EXTENDED, (uint64_t)(uintptr_t)exit_block);
#endif

    /* A host that ignores the exit: start.S powers off through PSCI. */
    printf("%s: the semihosting exit returned\n", SEMIHOSTING_GUEST_NAME);
    return 100;
}
