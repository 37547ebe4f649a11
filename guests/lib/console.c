#include "console.h"

#include <stdint.h>

#include "ffa_emu_abi.h"

/* PL011 FR bit 5: transmit FIFO full (not exported by the ABI header). */
#define UART_FR_TXFF (1u << 5)

static inline uint32_t mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t value)
{
    *(volatile uint32_t *)(uintptr_t)addr = value;
}

void console_putc(char c)
{
    /* Wait while the transmit FIFO is full. */
    while (mmio_read32(UART_IPA + UART_FR) & UART_FR_TXFF)
        ;
    mmio_write32(UART_IPA + UART_DR, (uint32_t)(unsigned char)c);
}

void console_puts(const char *s)
{
    while (*s)
        console_putc(*s++);
}

/* ---- formatter ---------------------------------------------------------- */

struct sink {
    int console;    /* non-zero: write to the UART, else to buf */
    char *buf;
    size_t size;
    size_t len;     /* characters produced so far */
};

static void sink_put(struct sink *k, char c)
{
    if (k->console)
        console_putc(c);
    else if (k->len + 1 < k->size)
        k->buf[k->len] = c;
    k->len++;
}

static void sink_pad(struct sink *k, char c, int n)
{
    while (n-- > 0)
        sink_put(k, c);
}

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8 };

static void fmt_number(struct sink *k, uint64_t v, int negative, unsigned base,
                       int upper, int flags, int width, int prec,
                       const char *prefix)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;

    if (v == 0 && prec != 0)
        tmp[n++] = '0';
    while (v) {
        tmp[n++] = digits[v % base];
        v /= base;
    }

    char sign = 0;
    if (negative)
        sign = '-';
    else if (flags & F_PLUS)
        sign = '+';
    else if (flags & F_SPACE)
        sign = ' ';

    int plen = 0;
    while (prefix && prefix[plen])
        plen++;

    int zeros = prec > n ? prec - n : 0;
    int total = n + zeros + plen + (sign ? 1 : 0);
    int pad = width > total ? width - total : 0;

    /* '0' is ignored with '-' or an explicit precision (C semantics). */
    if ((flags & F_ZERO) && !(flags & F_LEFT) && prec < 0) {
        zeros += pad;
        pad = 0;
    }
    if (!(flags & F_LEFT))
        sink_pad(k, ' ', pad);
    if (sign)
        sink_put(k, sign);
    for (int i = 0; i < plen; i++)
        sink_put(k, prefix[i]);
    sink_pad(k, '0', zeros);
    while (n)
        sink_put(k, tmp[--n]);
    if (flags & F_LEFT)
        sink_pad(k, ' ', pad);
}

static void fmt_string(struct sink *k, const char *s, int flags, int width,
                       int prec)
{
    int len = 0;

    if (s == NULL)
        s = "(null)";
    while (s[len] && (prec < 0 || len < prec))
        len++;
    int pad = width > len ? width - len : 0;
    if (!(flags & F_LEFT))
        sink_pad(k, ' ', pad);
    for (int i = 0; i < len; i++)
        sink_put(k, s[i]);
    if (flags & F_LEFT)
        sink_pad(k, ' ', pad);
}

enum { L_INT, L_CHAR, L_SHORT, L_LONG, L_LLONG };

static void format(struct sink *k, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_put(k, *fmt);
            continue;
        }
        const char *start = fmt++;

        int flags = 0;
        for (;; fmt++) {
            if (*fmt == '-')
                flags |= F_LEFT;
            else if (*fmt == '0')
                flags |= F_ZERO;
            else if (*fmt == '+')
                flags |= F_PLUS;
            else if (*fmt == ' ')
                flags |= F_SPACE;
            else if (*fmt == '#')
                ; /* accepted, no effect besides %p */
            else
                break;
        }

        int width = 0;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                flags |= F_LEFT;
                width = -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }

        int prec = -1;
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(ap, int);
                if (prec < 0)
                    prec = -1;
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    prec = prec * 10 + (*fmt++ - '0');
            }
        }

        int len = L_INT;
        if (*fmt == 'h') {
            fmt++;
            len = L_SHORT;
            if (*fmt == 'h') {
                fmt++;
                len = L_CHAR;
            }
        } else if (*fmt == 'l') {
            fmt++;
            len = L_LONG;
            if (*fmt == 'l') {
                fmt++;
                len = L_LLONG;
            }
        } else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') {
            fmt++;
            len = L_LONG; /* all 64-bit on AArch64 */
        }

        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v;
            if (len == L_LONG || len == L_LLONG)
                v = va_arg(ap, int64_t);
            else
                v = va_arg(ap, int);
            if (len == L_SHORT)
                v = (short)v;
            else if (len == L_CHAR)
                v = (signed char)v;
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            fmt_number(k, mag, v < 0, 10, 0, flags, width, prec, NULL);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uint64_t v;
            if (len == L_LONG || len == L_LLONG)
                v = va_arg(ap, uint64_t);
            else
                v = va_arg(ap, unsigned int);
            if (len == L_SHORT)
                v = (unsigned short)v;
            else if (len == L_CHAR)
                v = (unsigned char)v;
            unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
            fmt_number(k, v, 0, base, *fmt == 'X', flags & ~(F_PLUS | F_SPACE),
                       width, prec, NULL);
            break;
        }
        case 'p': {
            uint64_t v = (uint64_t)(uintptr_t)va_arg(ap, void *);
            fmt_number(k, v, 0, 16, 0, flags & ~(F_PLUS | F_SPACE), width,
                       prec, "0x");
            break;
        }
        case 's':
            fmt_string(k, va_arg(ap, const char *), flags, width, prec);
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            if (!(flags & F_LEFT))
                sink_pad(k, ' ', width - 1);
            sink_put(k, c);
            if (flags & F_LEFT)
                sink_pad(k, ' ', width - 1);
            break;
        }
        case '%':
            sink_put(k, '%');
            break;
        default:
            /* Unknown conversion: print it verbatim. */
            for (const char *p = start; p <= fmt && *p; p++)
                sink_put(k, *p);
            if (*fmt == '\0')
                return;
            break;
        }
    }
}

int vprintf(const char *fmt, va_list ap)
{
    struct sink k = { 1, NULL, 0, 0 };
    format(&k, fmt, ap);
    return (int)k.len;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink k = { 0, buf, size, 0 };
    format(&k, fmt, ap);
    if (size)
        buf[k.len < size ? k.len : size - 1] = '\0';
    return (int)k.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
