#include "tap.h"

#include "console.h"

static unsigned planned;
static unsigned counter;
static unsigned failed;

#define TAP_NAME_MAX 160

void tap_plan(unsigned n)
{
    planned = n;
    printf("1..%u\n", n);
}

int tap_vok(int cond, const char *fmt, va_list ap)
{
    char name[TAP_NAME_MAX];

    vsnprintf(name, sizeof(name), fmt, ap);
    cond = cond ? 1 : 0;
    counter++;
    if (!cond)
        failed++;
    printf("%sok %u - %s\n", cond ? "" : "not ", counter, name);
    if (!cond)
        printf("#   Failed test %u - %s\n", counter, name);
    return cond;
}

int tap_ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cond = tap_vok(cond, fmt, ap);
    va_end(ap);
    return cond;
}

void tap_diag(const char *fmt, ...)
{
    va_list ap;

    console_puts("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    console_putc('\n');
}

int expect_eq_u64(uint64_t actual, uint64_t expected, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int ok = tap_vok(actual == expected, fmt, ap);
    va_end(ap);
    if (!ok) {
        tap_diag("       got: 0x%016llx (%llu)", (unsigned long long)actual,
                 (unsigned long long)actual);
        tap_diag("  expected: 0x%016llx (%llu)", (unsigned long long)expected,
                 (unsigned long long)expected);
    }
    return ok;
}

int expect_eq_i64(int64_t actual, int64_t expected, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int ok = tap_vok(actual == expected, fmt, ap);
    va_end(ap);
    if (!ok) {
        tap_diag("       got: %lld (0x%016llx)", (long long)actual,
                 (unsigned long long)actual);
        tap_diag("  expected: %lld (0x%016llx)", (long long)expected,
                 (unsigned long long)expected);
    }
    return ok;
}

int expect_eq_i32(uint64_t actual, int32_t expected, const char *fmt, ...)
{
    int32_t got = (int32_t)(uint32_t)actual;
    va_list ap;
    va_start(ap, fmt);
    int ok = tap_vok(got == expected, fmt, ap);
    va_end(ap);
    if (!ok) {
        tap_diag("       got: %d (x0 = 0x%016llx)", got,
                 (unsigned long long)actual);
        tap_diag("  expected: %d (0x%08x)", expected, (uint32_t)expected);
    }
    return ok;
}

unsigned tap_count(void)
{
    return counter;
}

unsigned tap_failures(void)
{
    return failed;
}

int tap_done(void)
{
    int missed = planned != counter;

    if (missed)
        tap_diag("planned %u tests but ran %u", planned, counter);
    if (failed)
        tap_diag("failed %u of %u tests", failed, counter);
    else
        tap_diag("all %u tests passed", counter);
    return (int)failed + missed;
}
