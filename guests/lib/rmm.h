/*
 * Arm CCA interface revisions (RMI_VERSION / RSI_VERSION) for guests:
 * revision words, and the two version calls with their status codes.
 */
#ifndef GUEST_RMM_H
#define GUEST_RMM_H

#include <stdint.h>

#include "ffa_emu_abi.h"

#define REVISION(major, minor) \
    (((uint64_t)(major) << RMM_REVISION_MAJOR_SHIFT) | (uint64_t)(minor))
#define REVISION_MAJOR(rev) ((unsigned)((rev) >> RMM_REVISION_MAJOR_SHIFT))
#define REVISION_MINOR(rev) ((unsigned)((rev) & 0xffffu))

struct rmm_call {
    const char *name;
    uint64_t fid;
    uint64_t success;
    uint64_t error_input;
};

static const struct rmm_call rmm_calls[] = {
    { "RMI_VERSION", RMI_VERSION, RMI_SUCCESS, RMI_ERROR_INPUT },
    { "RSI_VERSION", RSI_VERSION, RSI_SUCCESS, RSI_ERROR_INPUT },
};

#endif
