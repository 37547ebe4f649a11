/*
 * semihosting_sys_exit: semihosting_exit0 stopping with plain SYS_EXIT
 * (0x18) and the AArch64 two-word block: reason ADP_Stopped_ApplicationExit,
 * subcode 2.  Status 2 (not 0 or 1) shows the subcode got through.
 */
#define SEMIHOSTING_EXIT_STATUS 2
#define SEMIHOSTING_PLAIN_EXIT 1
#define SEMIHOSTING_GUEST_NAME "semihosting_sys_exit"
#include "../semihosting_exit0/main.c"
