/* What the loader handed to the guest at entry (lib/start.S). */
#ifndef GUEST_BOOT_H
#define GUEST_BOOT_H

#include <stdint.h>

/*
 * x0 at _start: the device tree blob's address under the Linux arm64 boot
 * protocol, 0 when the loader passes none (QEMU does not set x0 for an ELF
 * image; see guests/dtb).
 */
extern uint64_t boot_dtb;

#endif /* GUEST_BOOT_H */
