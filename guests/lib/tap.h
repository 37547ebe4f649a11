/*
 * TAP (Test Anything Protocol) output for guest test programs.
 *
 *   tap_plan(3);                          -> "1..3"
 *   tap_ok(x == 1, "x is %d", 1);         -> "ok 1 - x is 1"
 *   expect_eq_u64(got, want, "name");     -> "ok 2 - name" or "not ok 2 - name"
 *                                            plus "#" lines with both values
 *   tap_diag("note %u", n);               -> "# note 5"
 *   return tap_done();                    -> "# ..." summary, failure count
 *
 * Test numbers are assigned automatically.  Names are printf formats and
 * should not contain '#' (TAP directive) or a newline.
 */
#ifndef GUEST_TAP_H
#define GUEST_TAP_H

#include <stdarg.h>
#include <stdint.h>

void tap_plan(unsigned n);

/* Report one test; returns cond (normalised to 0/1).  On failure a
 * "#   Failed test N - name" diagnostic line follows. */
int tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tap_vok(int cond, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Print "# <message>". */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Equality checks: one test each; on failure both values are printed. */
int expect_eq_u64(uint64_t actual, uint64_t expected, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int expect_eq_i64(int64_t actual, int64_t expected, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Compares the low 32 bits only, as signed values (SMC32 status codes). */
int expect_eq_i32(uint64_t actual, int32_t expected, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Tests reported so far / failed so far. */
unsigned tap_count(void);
unsigned tap_failures(void);

/* Print a summary diagnostic (and a warning if the count does not match the
 * plan); returns the number of failures, plus one if the plan was missed. */
int tap_done(void);

#endif /* GUEST_TAP_H */
