/*
 * Arm semihosting (AArch64: `hlt #0xf000`, w0 = operation, x1 = argument,
 * usually a pointer to a parameter block of 64-bit words; result in x0).
 *
 * A debugger or QEMU (-semihosting) answers the trap.  Without one, hlt is
 * UNDEFINED at EL1 (an EC 0x00 exception): a guest that installs the lib
 * vectors survives it, and the call "returns" its operation number.
 */
#ifndef GUEST_SEMIHOSTING_H
#define GUEST_SEMIHOSTING_H

#include <stdint.h>

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITEC 0x03
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20

/* SYS_OPEN modes (fopen strings "r" "rb" "r+" "r+b" "w" ...): 4 is "w". */
#define SYS_OPEN_MODE_W 4

/* SYS_EXIT reason meaning "the application exited"; the subcode is its status. */
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static inline uint64_t semihosting_call(uint32_t op, uint64_t arg)
{
    register uint64_t x0 asm("x0") = op;
    register uint64_t x1 asm("x1") = arg;
    /* memory: the host reads (and may write) the parameter block. */
    asm volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
    return x0;
}

#endif /* GUEST_SEMIHOSTING_H */
