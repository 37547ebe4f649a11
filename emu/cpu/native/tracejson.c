/*
 * Trace records as lines of JSON (--trace-format jsonl) or, with TJ_TEXT, of
 * text (--trace), from their numbers and texts packed by
 * emu/trace/nativelines.py: the registers' decimal digits, the texts' escaping
 * and the decoded texts themselves are what a record's line costs, and here
 * they cost next to nothing.
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
 * for the next one (JSON text never holds a raw NUL).  A text line's head and
 * tail come as UTF-8 text, written as they are, and so are its texts.  A text comes as UTF-8
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
 * emu/trace/jsonl.py and emu/trace/text.py hold the identical pure-Python
 * encoders.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TJ_BATCH 3
#define TJ_HEADER 7
#define TJ_ARGS_LAYOUT 1u
#define TJ_RESULT_LAYOUT 2u
#define TJ_VERBATIM 4u
#define TJ_TEXT 8u  /* a line of text (emu.trace.text.render_text), not of JSON */
#define TJ_SPAN 16u  /* with TJ_TEXT: the span, " <+cycles>", after the result */

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

/* The batch's latest register list of a side (arguments or results): its words (x0 first), where its JSON and
 * its text are in the output (which holds them if it holds what comes after: once a part does not fit, nothing
 * more is written; size 0: not written yet) and the layout of that text. */
struct tj_seen {
    const uint8_t *words;
    uint64_t count;
    size_t json_at, json_size;
    const uint8_t *layout;
    uint64_t layout_size;
    size_t text_at, text_size;
};

/* Makes a record's register list its side's latest: kept as it is, with what was written of it, when equal. */
static void tj_track(struct tj_seen *seen, const uint8_t *words, uint64_t count) {
    if (seen->count != count || memcmp(seen->words, words, 8 * count) != 0)
        *seen = (struct tj_seen){words, count, 0, 0, NULL, 0, 0, 0};
}

/* A record as tj_line reads it: its header words, its numbers, registers and byte strings, and whether its
 * register lists are tracked as their sides' latest (tj_track: not when empty). */
struct tj_record {
    uint64_t h[TJ_HEADER];
    const uint8_t *tail_numbers, *args, *results, *head, *args_text, *result_text, *tail;
    uint64_t head_size, args_size, result_size, tail_size;
    int latest_args, latest_results;
};

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

/* A decoded text from its layout (emu/trace/decode.py's layouts; no quotes): the number of registers the formatter is
 * given, then steps over them: 'L' n and n bytes (written as they are), 'X' i (register i as %#x), 'E' i
 * (register i's endpoint pair, %#x->%#x), 'H' i (registers i... as %#x, ", " between), 'N' i j (the nonzero
 * ones of registers i..j-1 as 'H'), 'W' i j (as 'N', each as w<k>=%#x). */
static void tj_layout(struct tj_out *o, const uint8_t *layout, uint64_t size, const uint8_t *regs, uint64_t count) {
    const uint8_t *end = layout + size;
    count = tj_given(layout, count);
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
}

/* The JSON of a record's register list (from its word skip on), copied when it is its side's latest (tj_track)
 * and was written so before. */
static void tj_side_registers(struct tj_out *o, struct tj_seen *seen, int latest, const uint8_t *words,
                              uint64_t count, uint64_t skip) {
    if (latest && seen->json_size) {
        tj_put(o, o->start + seen->json_at, seen->json_size);
        return;
    }
    const size_t at = o->needed;
    tj_registers(o, words + 8 * skip, count - skip);
    if (latest) {
        seen->json_at = at;
        seen->json_size = o->needed - at;
    }
}

/* The text of a layout over a record's register list (tj_layout), copied when the list is its side's latest
 * (tj_track) and its text was written before with the same steps over as many of its registers. */
static void tj_side_layout(struct tj_out *o, struct tj_seen *seen, int latest, const uint8_t *layout,
                           uint64_t size, const uint8_t *words, uint64_t count) {
    if (latest && seen->layout && seen->layout_size == size && tj_given(seen->layout, count) == tj_given(layout, count)
        && memcmp(seen->layout + 1, layout + 1, size - 1) == 0) {
        tj_put(o, o->start + seen->text_at, seen->text_size);
        return;
    }
    const size_t at = o->needed;
    tj_layout(o, layout, size, words, count);
    if (latest) {
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

/* A right-aligned decimal number, as Python's format(v, ">10") for width 10. */
static void tj_padded(struct tj_out *o, uint64_t v, size_t width) {
    static const char spaces[] = "                    ";
    const size_t n = tj_decimal_size(v);
    if (n < width)
        tj_put(o, spaces, width - n);
    tj_decimal(o, v);
}

/* A record's text (args_text or result_text): from its layout, or as it came. */
static void tj_text(struct tj_out *o, struct tj_seen *seen, int latest, int layout, const uint8_t *text,
                    uint64_t size, const uint8_t *words, uint64_t count) {
    if (layout)
        tj_side_layout(o, seen, latest, text, size, words, count);
    else
        tj_put(o, (const char *)text, size);
}

/* A record's line as emu.trace.text.render_text writes it: the head is its start up to the argument text
 * ("vm1 hvc NAME(" or "vm1   \\_ el2->spmc NAME("), the tail its end from the note on. */
static void tj_text_line(struct tj_out *o, struct tj_seen seen[2], const struct tj_record *r) {
    tj_put(o, "[", 1);
    tj_padded(o, r->h[1], 10);
    tj_put(o, "] ", 2);
    tj_put(o, (const char *)r->head, r->head_size);
    tj_text(o, &seen[0], r->latest_args, r->h[6] & TJ_ARGS_LAYOUT, r->args_text, r->args_size, r->args,
            r->h[3]);
    tj_put(o, ")", 1);
    if (r->h[4] || !(r->h[6] & TJ_RESULT_LAYOUT)) {
        const size_t mark = o->needed;
        tj_put(o, " = ", 3);
        tj_text(o, &seen[1], r->latest_results, r->h[6] & TJ_RESULT_LAYOUT, r->result_text, r->result_size,
                r->results, r->h[4]);
        if (o->needed == mark + 3 && (size_t)(o->at - o->start) == o->needed) {  /* no result text: no " = " */
            o->needed = mark;
            o->at -= 3;
        }
    }
    if (r->h[6] & TJ_SPAN) {
        const uint64_t start = r->h[1], end = r->h[2];
        tj_put(o, end >= start ? " <+" : " <+-", end >= start ? 3 : 4);
        tj_decimal(o, end >= start ? end - start : start - end);
        tj_put(o, ">", 1);
    }
    tj_put(o, (const char *)r->tail, r->tail_size);
    tj_put(o, "\n", 1);
}

/* A record's line of JSON. */
static void tj_json_line(struct tj_out *o, struct tj_seen seen[2], const struct tj_record *r) {
    tj_put(o, "{\"seq\":", 7);
    tj_decimal(o, r->h[0]);
    tj_put(o, (const char *)r->head, r->head_size);
    tj_put(o, "\"args\":", 7);
    tj_side_registers(o, &seen[0], r->latest_args, r->args, r->h[3], 1);
    tj_put(o, ",\"results\":", 11);
    tj_side_registers(o, &seen[1], r->latest_results, r->results, r->h[4], 0);
    tj_put(o, ",\"cycle_start\":", 15);
    tj_decimal(o, r->h[1]);
    tj_put(o, ",\"cycle_end\":", 13);
    tj_decimal(o, r->h[2]);
    tj_put(o, ",\"args_text\":", 13);
    if (r->h[6] & TJ_ARGS_LAYOUT) {
        tj_put(o, "\"", 1);
        tj_side_layout(o, &seen[0], r->latest_args, r->args_text, r->args_size, r->args, r->h[3]);
        tj_put(o, "\"", 1);
    } else {
        tj_string(o, r->args_text, r->args_size);
    }
    tj_put(o, ",\"result_text\":", 15);
    if (r->h[6] & TJ_RESULT_LAYOUT) {
        tj_put(o, "\"", 1);
        if (r->h[4])
            tj_side_layout(o, &seen[1], r->latest_results, r->result_text, r->result_size, r->results, r->h[4]);
        tj_put(o, "\"", 1);
    } else {
        tj_string(o, r->result_text, r->result_size);
    }
    tj_tail(o, (const char *)r->tail, r->tail_size, r->tail_numbers);
    tj_put(o, "}\n", 2);
}

/* One record's line; returns where the next record starts. */
static const uint8_t *tj_line(struct tj_out *o, struct tj_seen seen[2], const uint8_t *in) {
    struct tj_record r;
    memcpy(r.h, in, sizeof r.h);
    r.tail_numbers = in + sizeof r.h;
    r.args = r.tail_numbers + 8 * r.h[5];
    r.results = r.args + 8 * r.h[3];
    const uint8_t *next = tj_bytes(r.results + 8 * r.h[4], &r.head, &r.head_size);
    next = tj_bytes(next, &r.args_text, &r.args_size);
    next = tj_bytes(next, &r.result_text, &r.result_size);
    next = tj_bytes(next, &r.tail, &r.tail_size);
    if (r.h[6] & TJ_VERBATIM) {
        tj_put(o, (const char *)r.head, r.head_size);
        return next;
    }
    r.latest_args = r.h[3] > 1;
    r.latest_results = r.h[4] > 0;
    if (r.latest_args)
        tj_track(&seen[0], r.args, r.h[3]);
    if (r.latest_results)
        tj_track(&seen[1], r.results, r.h[4]);
    if (r.h[6] & TJ_TEXT)
        tj_text_line(o, seen, &r);
    else
        tj_json_line(o, seen, &r);
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
