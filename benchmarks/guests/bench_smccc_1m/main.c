/* bench_smccc_1m: bench_smccc with a million calls, for the peak memory of a long run (benchmarks/memory.py). */
#define CALLS 1000000u
#include "../bench_smccc/main.c"
