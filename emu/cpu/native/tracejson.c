/*
 * Trace records as lines of JSON (--trace-format jsonl), from their numbers and
 * texts packed by emu/trace/jsonl.py: the registers' decimal digits, the texts'
 * escaping and the decoded texts themselves are what a record's line costs,
 * and here they cost next to nothing.
 *
 * tj_records takes the records of one call at once: TJ_BATCH host-order
 * uint64 words (how many records, the output's address and its capacity), then
 * each record: TJ_HEADER words (seq, cycle_start, cycle_end, how many argument
 * registers, result registers and numbers of the tail, and TJ_* flags), the
 * tail's numbers, the argument registers (x0 first: the function ID), the
 * result registers, then four byte strings, each as its length (a word) and
 * its bytes: the head, the argument text, the result text and the tail.
 * Nothing is aligned: words are read with memcpy.
 *
 * The head (',"vm":...,"name":...,') and the tail (the optional fields) come
 * as JSON already, but for the numbers of the tail: each NUL byte of it stands
 * for the next one (JSON text never holds a raw NUL).  A text comes as UTF-8
 * (lone surrogates as their 3-byte forms), escaped here as json.dumps does by
 * default (ensure_ascii), or with its TJ_*_LAYOUT flag as a layout: how
 * emu/trace/decode.py formats those registers (see tj_layout), which needs no
 * escaping.  A TJ_VERBATIM record is a whole line already, in its head.
 *
 * A forwarded call's records repeat its registers (the call's arguments are
 * the el2->spmc hop's, its results the spmc->el2 hop's): a register list
 * equal to the batch's latest one of its side (arguments or results), and a
 * text of the same layout over them, is copied from where it was written.
 *
 * emu/trace/jsonl.py holds the identical pure-Python encoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TJ_BATCH 3
#define TJ_HEADER 7
#define TJ_ARGS_LAYOUT 1u
#define TJ_RESULT_LAYOUT 2u
#define TJ_VERBATIM 4u

struct tj_out {
    char *start;
    char *at;
    char *end;
    size_t needed;  /* bytes the whole output takes, written or not */
    int bad;        /* a layout named a register the record does not have */
};

static uint64_t tj_word(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void tj_put(struct tj_out *o, const char *s, size_t n) {
    o->needed += n;
    if ((size_t)(o->end - o->at) >= n) {
        memcpy(o->at, s, n);
        o->at += n;
    } else {
        o->at = o->end;
    }
}

/* The digits of v, written backwards to end; returns where they start. */
static char *tj_digits(char *end, uint64_t v) {
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    while (v >= 100) {
        end -= 2;
        memcpy(end, pairs + v % 100 * 2, 2);
        v /= 100;
    }
    if (v >= 10) {
        end -= 2;
        memcpy(end, pairs + v * 2, 2);
    } else {
        *--end = (char)('0' + v);
    }
    return end;
}

/* Whether n more bytes fit: then a number is written straight to the output. */
static int tj_room(const struct tj_out *o, size_t n) {
    return (size_t)(o->end - o->at) >= n;
}

static void tj_advance(struct tj_out *o, size_t n) {
    o->at += n;
    o->needed += n;
}

/* How many decimal digits v has: its bit length times log10(2), then one power of ten decides. */
static size_t tj_decimal_size(uint64_t v) {
    static const uint64_t powers[20] = {
        1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u, 1000000000u, 10000000000u,
        100000000000u, 1000000000000u, 10000000000000u, 100000000000000u, 1000000000000000u,
        10000000000000000u, 100000000000000000u, 1000000000000000000u, 10000000000000000000u};
    const unsigned guess = (unsigned)(64 - __builtin_clzll(v | 1)) * 1233 >> 12;
    return guess + 1 - (v < powers[guess]) + (v == 0);
}

static void tj_decimal(struct tj_out *o, uint64_t v) {
    if (tj_room(o, 20)) {
        const size_t n = tj_decimal_size(v);
        tj_digits(o->at + n, v);
        tj_advance(o, n);
        return;
    }
    char digits[20];
    char *at = tj_digits(digits + sizeof digits, v);
    tj_put(o, at, (size_t)(digits + sizeof digits - at));
}

/* "%#x" % v: its hex digits two at a time, as many as it has. */
static void tj_hex(struct tj_out *o, uint64_t v) {
    static const char pairs[] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    char buffer[18];
    const int count = v ? (67 - __builtin_clzll(v)) / 4 : 1;  /* hex digits */
    const int room = tj_room(o, sizeof buffer);
    char *digits = room ? o->at : buffer;
    char *at = digits + 2 + count;
    for (int left = count; left > 1; left -= 2) {
        at -= 2;
        memcpy(at, pairs + (v & 0xff) * 2, 2);
        v >>= 8;
    }
    if (at > digits + 2)
        *--at = pairs[(v & 0xf) * 2 + 1];
    digits[0] = '0';
    digits[1] = 'x';
    if (room)
        tj_advance(o, (size_t)(2 + count));
    else
        tj_put(o, digits, (size_t)(2 + count));
}

/* A register list of the batch as written: its words (x0 first), where its JSON and its text are in the output
 * (which holds them if it holds what comes after: once a part does not fit, nothing more is written) and the
 * layout of that text (NULL: none yet). */
struct tj_seen {
    const uint8_t *words;
    uint64_t count;
    size_t json_at, json_size;
    const uint8_t *layout;
    uint64_t layout_size;
    size_t text_at, text_size;
};

static int tj_same_words(const struct tj_seen *seen, const uint8_t *words, uint64_t count) {
    return seen->count == count && memcmp(seen->words, words, 8 * count) == 0;
}

static void tj_registers(struct tj_out *o, const uint8_t *regs, uint64_t count) {
    tj_put(o, "[", 1);
    for (uint64_t i = 0; i < count; i++) {
        if (i)
            tj_put(o, ",", 1);
        tj_decimal(o, tj_word(regs + 8 * i));
    }
    tj_put(o, "]", 1);
}

static void tj_unit(struct tj_out *o, uint32_t unit) {
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', hex[(unit >> 12) & 15], hex[(unit >> 8) & 15], hex[(unit >> 4) & 15], hex[unit & 15]};
    tj_put(o, esc, sizeof esc);
}

/* Whether any of the 8 bytes of w needs escaping: below 0x20, above 0x7e, '"' or '\\' (the bit tricks that
 * find a byte less than n, greater than n and equal to zero, each exact as a yes or no). */
static int tj_needs_escape(uint64_t w) {
    const uint64_t ones = 0x0101010101010101u, tops = 0x8080808080808080u;
    const uint64_t quote = w ^ ones * '"', backslash = w ^ ones * '\\';
    const uint64_t control = (w - ones * 0x20) & ~w;
    const uint64_t high = (w + ones * (0x7f - 0x7e)) | w;
    return ((control | high | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash)) & tops) != 0;
}

static int tj_verbatim(uint8_t c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* A JSON string of UTF-8 text, as json.encoder.encode_basestring_ascii writes it. */
static void tj_string(struct tj_out *o, const uint8_t *s, uint64_t n) {
    tj_put(o, "\"", 1);
    uint64_t i = 0;
    while (i < n) {
        uint64_t run = i;
        while (run + 8 <= n && !tj_needs_escape(tj_word(s + run)))
            run += 8;
        while (run < n && tj_verbatim(s[run]))
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

/* How many of count registers a layout's formatter is given. */
static uint64_t tj_given(const uint8_t *layout, uint64_t count) {
    return count < layout[0] ? count : layout[0];
}

/* A decoded text from its layout (emu/trace/decode.py's layouts): the number of registers the formatter is
 * given, then steps over them: 'L' n and n bytes (written as they are), 'X' i (register i as %#x), 'E' i
 * (register i's endpoint pair, %#x->%#x), 'H' i (registers i... as %#x, ", " between), 'N' i j (the nonzero
 * ones of registers i..j-1 as 'H'), 'W' i j (as 'N', each as w<k>=%#x). */
static void tj_layout(struct tj_out *o, const uint8_t *layout, uint64_t size, const uint8_t *regs, uint64_t count) {
    const uint8_t *end = layout + size;
    count = tj_given(layout, count);
    tj_put(o, "\"", 1);
    for (const uint8_t *step = layout + 1; step < end;) {
        uint8_t op = step[0], i = step[1];
        if (op == 'L') {
            tj_put(o, (const char *)step + 2, i);
            step += 2 + i;
            continue;
        }
        if (op == 'N' || op == 'W') {
            uint64_t last = step[2] < count ? step[2] : count;
            int first = 1;
            for (uint64_t k = i; k < last; k++) {
                uint64_t v = tj_word(regs + 8 * k);
                if (!v)
                    continue;
                if (!first)
                    tj_put(o, ", ", 2);
                first = 0;
                if (op == 'W') {
                    char name[3] = {'w', (char)('0' + k), '='};
                    tj_put(o, name, 3);
                }
                tj_hex(o, v);
            }
            step += 3;
            continue;
        }
        if (op == 'H') {
            for (uint64_t k = i; k < count; k++) {
                if (k > i)
                    tj_put(o, ", ", 2);
                tj_hex(o, tj_word(regs + 8 * k));
            }
        } else if (i >= count) {
            o->bad = 1;
        } else if (op == 'X') {
            tj_hex(o, tj_word(regs + 8 * i));
        } else {
            uint64_t v = tj_word(regs + 8 * i);
            tj_hex(o, v >> 16 & 0xffff);
            tj_put(o, "->", 2);
            tj_hex(o, v & 0xffff);
        }
        step += 2;
    }
    tj_put(o, "\"", 1);
}

/* The JSON of a register list (from its word skip on), copied when the batch's latest list of its side has the
 * same words; else written, and the list becomes that latest one. */
static void tj_side_registers(struct tj_out *o, struct tj_seen *seen, const uint8_t *words, uint64_t count,
                              uint64_t skip) {
    if (count > skip && tj_same_words(seen, words, count)) {
        tj_put(o, o->start + seen->json_at, seen->json_size);
        return;
    }
    const size_t at = o->needed;
    tj_registers(o, words + 8 * skip, count - skip);
    if (count > skip)
        *seen = (struct tj_seen){words, count, at, o->needed - at, NULL, 0, 0, 0};
}

/* The text of a layout over a register list (tj_layout), copied when the batch's latest list of its side has the
 * same words and its text the same steps over as many of them. */
static void tj_side_layout(struct tj_out *o, struct tj_seen *seen, const uint8_t *layout, uint64_t size,
                           const uint8_t *words, uint64_t count) {
    const int same = seen->words == words || tj_same_words(seen, words, count);
    if (same && seen->layout && seen->layout_size == size && tj_given(seen->layout, count) == tj_given(layout, count)
        && memcmp(seen->layout + 1, layout + 1, size - 1) == 0) {
        tj_put(o, o->start + seen->text_at, seen->text_size);
        return;
    }
    const size_t at = o->needed;
    tj_layout(o, layout, size, words, count);
    if (same) {
        seen->layout = layout;
        seen->layout_size = size;
        seen->text_at = at;
        seen->text_size = o->needed - at;
    }
}

/* The tail: its text, each NUL replaced by the next of numbers. */
static void tj_tail(struct tj_out *o, const char *tail, uint64_t n, const uint8_t *numbers) {
    const char *end = tail + n;
    for (;;) {
        const char *mark = memchr(tail, 0, (size_t)(end - tail));
        if (mark == NULL) {
            tj_put(o, tail, (size_t)(end - tail));
            return;
        }
        tj_put(o, tail, (size_t)(mark - tail));
        tj_decimal(o, tj_word(numbers));
        numbers += 8;
        tail = mark + 1;
    }
}

/* A byte string as packed: its length, then its bytes; returns where the next part starts. */
static const uint8_t *tj_bytes(const uint8_t *in, const uint8_t **bytes, uint64_t *size) {
    *size = tj_word(in);
    *bytes = in + 8;
    return *bytes + *size;
}

/* One record's line; returns where the next record starts. */
static const uint8_t *tj_line(struct tj_out *o, struct tj_seen seen[2], const uint8_t *in) {
    uint64_t h[TJ_HEADER];
    memcpy(h, in, sizeof h);
    const uint64_t nargs = h[3], nresults = h[4], flags = h[6];
    const uint8_t *tail_numbers = in + sizeof h;
    const uint8_t *args = tail_numbers + 8 * h[5];
    const uint8_t *results = args + 8 * nargs;
    uint64_t head_size, args_size, result_size, tail_size;
    const uint8_t *head, *args_text, *result_text, *tail;
    const uint8_t *next = tj_bytes(results + 8 * nresults, &head, &head_size);
    next = tj_bytes(next, &args_text, &args_size);
    next = tj_bytes(next, &result_text, &result_size);
    next = tj_bytes(next, &tail, &tail_size);

    if (flags & TJ_VERBATIM) {
        tj_put(o, (const char *)head, head_size);
        return next;
    }
    tj_put(o, "{\"seq\":", 7);
    tj_decimal(o, h[0]);
    tj_put(o, (const char *)head, head_size);
    tj_put(o, "\"args\":", 7);
    tj_side_registers(o, &seen[0], args, nargs, 1);
    tj_put(o, ",\"results\":", 11);
    tj_side_registers(o, &seen[1], results, nresults, 0);
    tj_put(o, ",\"cycle_start\":", 15);
    tj_decimal(o, h[1]);
    tj_put(o, ",\"cycle_end\":", 13);
    tj_decimal(o, h[2]);
    tj_put(o, ",\"args_text\":", 13);
    if (flags & TJ_ARGS_LAYOUT)
        tj_side_layout(o, &seen[0], args_text, args_size, args, nargs);
    else
        tj_string(o, args_text, args_size);
    tj_put(o, ",\"result_text\":", 15);
    if (!(flags & TJ_RESULT_LAYOUT))
        tj_string(o, result_text, result_size);
    else if (nresults)
        tj_side_layout(o, &seen[1], result_text, result_size, results, nresults);
    else
        tj_put(o, "\"\"", 2);
    tj_tail(o, (const char *)tail, tail_size, tail_numbers);
    tj_put(o, "}\n", 2);
    return next;
}

/* Writes the records' lines, each with its newline, to the output; returns their length, which is more than
 * the capacity when they did not fit (then the output holds cut lines), or UINT64_MAX when a layout named a
 * register its record does not have (the caller formats that record in Python). */
uint64_t tj_records(const uint8_t *in) {
    uint64_t batch[TJ_BATCH];
    memcpy(batch, in, sizeof batch);
    char *out = (char *)(uintptr_t)batch[1];
    struct tj_out o = {out, out, out + batch[2], 0, 0};
    struct tj_seen seen[2] = {{0}, {0}};  /* the latest arguments and results */
    in += sizeof batch;
    for (uint64_t n = 0; n < batch[0]; n++)
        in = tj_line(&o, seen, in);
    return o.bad ? UINT64_MAX : o.needed;
}
