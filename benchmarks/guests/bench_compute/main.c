/*
 * bench_compute: a compute-bound workload of roughly 50 million guest
 * instructions with no hypervisor calls in the hot loops.  Each round runs
 * over one 64 KiB arena: a PRNG fill, a multiplicative hash, a heap sort
 * (loads, stores, compares, data-dependent branches), a 64x64 integer
 * matrix multiply (multiply-accumulate), a byte sieve (strided byte stores)
 * and a few divides.  Prints a checksum so the result is checked and the
 * work cannot be optimised away.
 */
#include <stdint.h>

#include "console.h"

#define ROUNDS 9u
#define ARENA_BYTES 65536u
#define WORDS (ARENA_BYTES / sizeof(uint32_t))
#define N 64u /* matrix dimension: three N*N uint32 matrices = 48 KiB */

static union {
    uint32_t w[WORDS];
    uint8_t b[ARENA_BYTES];
} arena;

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void fill(uint64_t seed)
{
    uint64_t s = seed | 1;
    for (unsigned i = 0; i < WORDS; i++)
        arena.w[i] = (uint32_t)(xorshift64(&s) >> 16);
}

static uint64_t hash_words(unsigned n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned i = 0; i < n; i++) {
        h ^= arena.w[i];
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h;
}

static void sift_down(uint32_t *a, unsigned root, unsigned end)
{
    uint32_t v = a[root];
    for (;;) {
        unsigned child = 2 * root + 1;
        if (child >= end)
            break;
        if (child + 1 < end && a[child + 1] > a[child])
            child++;
        if (a[child] <= v)
            break;
        a[root] = a[child];
        root = child;
    }
    a[root] = v;
}

static void heap_sort(uint32_t *a, unsigned n)
{
    for (unsigned i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (unsigned end = n - 1; end > 0; end--) {
        uint32_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

/* Number of adjacent pairs out of order (0 after a correct sort). */
static unsigned inversions(const uint32_t *a, unsigned n)
{
    unsigned bad = 0;
    for (unsigned i = 1; i < n; i++)
        bad += a[i - 1] > a[i];
    return bad;
}

/* C = A * B over the first 48 KiB of the arena (wrapping arithmetic). */
static uint64_t matmul(void)
{
    uint32_t *a = &arena.w[0];
    uint32_t *b = &arena.w[N * N];
    uint32_t *c = &arena.w[2 * N * N];
    uint64_t sum = 0;

    for (unsigned i = 0; i < N; i++) {
        for (unsigned j = 0; j < N; j++) {
            uint32_t acc = 0;
            for (unsigned k = 0; k < N; k++)
                acc += a[i * N + k] * b[k * N + j];
            c[i * N + j] = acc;
        }
        /* A few divides per row. */
        uint32_t row = c[i * N] | 1;
        sum += row / (i + 3) + row % (i + 7);
    }
    return sum + hash_words(WORDS);
}

/* Sieve of Eratosthenes over the arena's bytes; returns the prime count. */
static unsigned sieve(void)
{
    uint8_t *s = arena.b;
    unsigned count = 0;

    for (unsigned i = 0; i < ARENA_BYTES; i++)
        s[i] = 1;
    s[0] = s[1] = 0;
    for (unsigned i = 2; i * i < ARENA_BYTES; i++) {
        if (s[i]) {
            for (unsigned j = i * i; j < ARENA_BYTES; j += i)
                s[j] = 0;
        }
    }
    for (unsigned i = 0; i < ARENA_BYTES; i++)
        count += s[i];
    return count;
}

int main(void)
{
    uint64_t checksum = 0;
    unsigned unsorted = 0, primes = 0;

    for (unsigned round = 0; round < ROUNDS; round++) {
        fill(0x9e3779b97f4a7c15ULL * (round + 1));
        checksum = checksum * 31 + hash_words(WORDS);
        heap_sort(arena.w, WORDS);
        unsorted += inversions(arena.w, WORDS);
        checksum = checksum * 31 + hash_words(WORDS);
        fill(0x2545f4914f6cdd1dULL ^ round);
        checksum = checksum * 31 + matmul();
        primes = sieve();
        checksum = checksum * 31 + primes;
    }
    printf("bench_compute rounds=%u primes=%u unsorted=%u checksum=0x%016llx\n",
           ROUNDS, primes, unsorted, (unsigned long long)checksum);
    return 0;
}
