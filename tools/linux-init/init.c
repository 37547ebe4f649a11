/*
 * Freestanding /init for an arm64 initramfs: say hello on the console and
 * power the machine off. No libc; raw AArch64 Linux system calls.
 *
 * Build: aarch64-linux-gnu-gcc -static -Os -nostdlib -ffreestanding \
 *          -fno-stack-protector -o init init.c
 */

#define SYS_mkdirat   34
#define SYS_mount     40
#define SYS_openat    56
#define SYS_write     64
#define SYS_exit      93
#define SYS_reboot   142

#define AT_FDCWD     (-100)
#define O_WRONLY     01
#define O_NOCTTY     0400

#define REBOOT_MAGIC1      0xfee1deadUL
#define REBOOT_MAGIC2      672274793UL
#define REBOOT_POWER_OFF   0x4321fedcUL

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory", "cc");
	return x0;
}

#define sys(n, a, b, c) sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

static const char msg[] = "init: hello from user space\n";

static int open_console(void)
{
	return (int)sys6(SYS_openat, AT_FDCWD, (long)"/dev/console",
			 O_WRONLY | O_NOCTTY, 0, 0, 0);
}

void _start(void)
{
	int fd = open_console();

	if (fd < 0) {
		/* No /dev/console node in the initramfs: mount devtmpfs. */
		sys(SYS_mkdirat, AT_FDCWD, "/dev", 0755);
		sys6(SYS_mount, (long)"devtmpfs", (long)"/dev",
		     (long)"devtmpfs", 0, 0, 0);
		fd = open_console();
	}
	if (fd < 0)
		fd = 1;	/* whatever the kernel gave us */

	sys(SYS_write, fd, msg, sizeof(msg) - 1);
	sys6(SYS_reboot, REBOOT_MAGIC1, REBOOT_MAGIC2, REBOOT_POWER_OFF,
	     0, 0, 0);
	/* reboot() only returns on failure; exiting init panics the kernel. */
	for (;;)
		sys(SYS_exit, 1, 0, 0);
}
