/* ffa_version_v10: ffa_version_v12 negotiating FF-A 1.0. */
#include "ffa.h"

#define REQUESTED_VERSION FFA_MAKE_VERSION(1, 0)
#include "../ffa_version_v12/main.c"
