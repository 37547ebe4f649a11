/*
 * console_echo: the PL011's receive side.  Prints "echo> ", then polls the
 * UART for characters and echoes each one until a newline (LF from a pipe,
 * CR from a terminal) or 'q', prints "got: <line>" and powers off.
 *
 * Polling only: FR.RXFE (receive FIFO empty) clear means DR holds a
 * character in bits 7:0, with the framing/parity/break/overrun flags in
 * bits 11:8.  No interrupt, no FIFO setup: QEMU holds back further input
 * until the character is read, so nothing is lost even with the FIFO off.
 */
#include <stdint.h>

#include "console.h"
#include "ffa_emu_abi.h"

#define UART_FR_RXFE (1u << 4)
#define UART_DR_ERRORS 0xf00u   /* OE BE PE FE */

#define LINE_MAX 80

static uint32_t uart_getc(void)
{
    volatile uint32_t *fr = (volatile uint32_t *)(uintptr_t)(UART_IPA + UART_FR);
    volatile uint32_t *dr = (volatile uint32_t *)(uintptr_t)(UART_IPA + UART_DR);

    while (*fr & UART_FR_RXFE)
        ;
    return *dr;
}

int main(void)
{
    static char line[LINE_MAX + 1];
    unsigned len = 0, errors = 0;

    console_puts("echo> ");
    for (;;) {
        uint32_t dr = uart_getc();
        char c = (char)(dr & 0xff);

        if (dr & UART_DR_ERRORS)
            errors++;
        if (c == '\n' || c == '\r' || c == 'q')
            break;
        console_putc(c);
        if (len < LINE_MAX)
            line[len++] = c;
    }
    line[len] = '\0';
    printf("\ngot: %s\n", line);
    if (errors)
        printf("receive errors: %u\n", errors);
    return 0;
}
