/* semihosting_exit1: semihosting_exit0 stopping with status 1 (SYS_EXIT_EXTENDED). */
#define SEMIHOSTING_EXIT_STATUS 1
#define SEMIHOSTING_GUEST_NAME "semihosting_exit1"
#include "../semihosting_exit0/main.c"
