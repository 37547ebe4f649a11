/*
 * One trace record as a line of JSON (--trace-format jsonl), from its numbers
 * and its texts packed by emu/trace/jsonl.py: the registers' decimal digits
 * and the texts' escaping are what a record's line costs, and here they cost
 * next to nothing.
 *
 * The input is TJ_HEADER little-endian uint64 words (seq, cycle_start,
 * cycle_end, how many argument registers, result registers and numbers of
 * the tail, the byte lengths of the head, args_text, result_text and tail,
 * the output's address and its capacity), the tail's numbers, the argument
 * registers, the result registers, then the four byte strings back to back.
 * The head (',"vm":...,"name":...,') and the tail (the optional fields) come
 * as JSON already, but for the numbers of the tail:
 * each NUL byte of it stands for the next one (JSON text never holds a raw
 * NUL).  args_text and result_text come as UTF-8 (lone surrogates as their
 * 3-byte forms) and are escaped here as json.dumps does by default
 * (ensure_ascii).
 *
 * emu/trace/jsonl.py holds the identical pure-Python encoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TJ_HEADER 12

struct tj_out {
    char *at;
    char *end;
    size_t needed;  /* bytes the whole line takes, written or not */
};

static void tj_put(struct tj_out *o, const char *s, size_t n) {
    o->needed += n;
    if ((size_t)(o->end - o->at) >= n) {
        memcpy(o->at, s, n);
        o->at += n;
    } else {
        o->at = o->end;
    }
}

static void tj_decimal(struct tj_out *o, uint64_t v) {
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char digits[20];
    char *at = digits + sizeof digits;
    while (v >= 100) {
        at -= 2;
        memcpy(at, pairs + v % 100 * 2, 2);
        v /= 100;
    }
    if (v >= 10) {
        at -= 2;
        memcpy(at, pairs + v * 2, 2);
    } else {
        *--at = (char)('0' + v);
    }
    tj_put(o, at, (size_t)(digits + sizeof digits - at));
}

static void tj_registers(struct tj_out *o, const uint64_t *regs, uint64_t count) {
    tj_put(o, "[", 1);
    for (uint64_t i = 0; i < count; i++) {
        if (i)
            tj_put(o, ",", 1);
        tj_decimal(o, regs[i]);
    }
    tj_put(o, "]", 1);
}

static void tj_unit(struct tj_out *o, uint32_t unit) {
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', hex[(unit >> 12) & 15], hex[(unit >> 8) & 15], hex[(unit >> 4) & 15], hex[unit & 15]};
    tj_put(o, esc, sizeof esc);
}

/* A JSON string of UTF-8 text, as json.encoder.encode_basestring_ascii writes it. */
static void tj_string(struct tj_out *o, const uint8_t *s, uint64_t n) {
    tj_put(o, "\"", 1);
    uint64_t i = 0;
    while (i < n) {
        uint64_t run = i;
        while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
            run++;
        tj_put(o, (const char *)s + i, run - i);
        if (run == n)
            break;
        i = run;
        uint32_t c = s[i];
        if (c < 0x80) {
            i++;
        } else if (c < 0xe0) {
            c = (c & 0x1f) << 6 | (s[i + 1] & 0x3f);
            i += 2;
        } else if (c < 0xf0) {
            c = (c & 0x0f) << 12 | (s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f);
            i += 3;
        } else {
            c = (c & 0x07) << 18 | (s[i + 1] & 0x3f) << 12 | (s[i + 2] & 0x3f) << 6 | (s[i + 3] & 0x3f);
            i += 4;
        }
        switch (c) {
        case '"': tj_put(o, "\\\"", 2); break;
        case '\\': tj_put(o, "\\\\", 2); break;
        case '\b': tj_put(o, "\\b", 2); break;
        case '\f': tj_put(o, "\\f", 2); break;
        case '\n': tj_put(o, "\\n", 2); break;
        case '\r': tj_put(o, "\\r", 2); break;
        case '\t': tj_put(o, "\\t", 2); break;
        default:
            if (c >= 0x10000) {
                c -= 0x10000;
                tj_unit(o, 0xd800 | (c >> 10));
                c = 0xdc00 | (c & 0x3ff);
            }
            tj_unit(o, c);
        }
    }
    tj_put(o, "\"", 1);
}

/* The tail: its text, each NUL replaced by the next of numbers. */
static void tj_tail(struct tj_out *o, const char *tail, uint64_t n, const uint64_t *numbers) {
    const char *end = tail + n;
    for (;;) {
        const char *mark = memchr(tail, 0, (size_t)(end - tail));
        if (mark == NULL) {
            tj_put(o, tail, (size_t)(end - tail));
            return;
        }
        tj_put(o, tail, (size_t)(mark - tail));
        tj_decimal(o, *numbers++);
        tail = mark + 1;
    }
}

/* Writes the line and its newline to the output; returns its length, which is more than the capacity when it
 * did not fit (then the output holds a cut line). */
uint64_t tj_record(const uint64_t *in) {
    const uint64_t nargs = in[3], nresults = in[4], head_size = in[6], args_size = in[7], result_size = in[8];
    const uint64_t *tail_numbers = in + TJ_HEADER;
    const uint64_t *regs = tail_numbers + in[5];
    const char *head = (const char *)(regs + nargs + nresults);
    const uint8_t *args_text = (const uint8_t *)head + head_size;
    const uint8_t *result_text = args_text + args_size;
    const char *tail = (const char *)result_text + result_size;
    char *out = (char *)(uintptr_t)in[10];
    struct tj_out o = {out, out + in[11], 0};

    tj_put(&o, "{\"seq\":", 7);
    tj_decimal(&o, in[0]);
    tj_put(&o, head, head_size);
    tj_put(&o, "\"args\":", 7);
    tj_registers(&o, regs, nargs);
    tj_put(&o, ",\"results\":", 11);
    tj_registers(&o, regs + nargs, nresults);
    tj_put(&o, ",\"cycle_start\":", 15);
    tj_decimal(&o, in[1]);
    tj_put(&o, ",\"cycle_end\":", 13);
    tj_decimal(&o, in[2]);
    tj_put(&o, ",\"args_text\":", 13);
    tj_string(&o, args_text, args_size);
    tj_put(&o, ",\"result_text\":", 15);
    tj_string(&o, result_text, result_size);
    tj_tail(&o, tail, in[9], tail_numbers);
    tj_put(&o, "}\n", 2);
    return o.needed;
}
