/* ffa_partinfo_v10: ffa_partinfo from a caller that negotiated FF-A 1.0 (8-byte entries). */
#include "ffa.h"

#define PARTINFO_VERSION FFA_MAKE_VERSION(1, 0)
#include "../ffa_partinfo/main.c"
