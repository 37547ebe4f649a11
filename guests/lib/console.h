/* PL011 console output and a small printf. */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

/* Write one character to the UART (no '\n' -> "\r\n" translation). */
void console_putc(char c);

/* Write a NUL-terminated string (no newline appended). */
void console_puts(const char *s);

/*
 * printf subset: flags '-' '0' '+' ' ', width and precision (numbers or '*'),
 * length modifiers hh h l ll z j t, conversions d i u x X o s c p %.
 * Returns the number of characters written.
 */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Same formatting into buf (always NUL-terminated if size > 0); returns the
 * length the full output would have had. */
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif /* GUEST_CONSOLE_H */
