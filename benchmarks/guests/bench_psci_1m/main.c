/* bench_psci_1m: bench_psci with a million calls; the difference between the two is the calls alone. */
#define CALLS 1000000u
#include "../bench_psci/main.c"
