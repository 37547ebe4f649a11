#!/bin/bash
# Build the freestanding /init of tools/linux-init (raw system calls, no libc) with Debian's
# gcc-aarch64-linux-gnu and pack it as OUT_DIR/initramfs.cpio.gz, for `ffa-emu run --initrd`.
set -euo pipefail
if [[ $# -ne 1 ]]; then echo "usage: $(basename "$0") OUT_DIR" >&2; exit 2; fi
SRC="$(cd "$(dirname "$(realpath "$0")")/linux-init" && pwd)"
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"
CC=${CROSS_COMPILE:-aarch64-linux-gnu-}gcc
"$CC" -static -Os -nostdlib -ffreestanding -fno-stack-protector \
    -fno-asynchronous-unwind-tables -Wall -Wextra -o "$OUT/init" "$SRC/init.c"
"${CROSS_COMPILE:-aarch64-linux-gnu-}strip" "$OUT/init"
rm -rf "$OUT/initramfs-root" && mkdir "$OUT/initramfs-root"
install -m 0755 "$OUT/init" "$OUT/initramfs-root/init"
(cd "$OUT/initramfs-root" && echo init | cpio -o -H newc --owner=0:0 --quiet > "$OUT/initramfs.cpio")
gzip -9 -n -f "$OUT/initramfs.cpio"
echo "$OUT/initramfs.cpio.gz"
