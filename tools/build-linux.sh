#!/bin/bash
# Build a minimal arm64 Linux Image carrying the Arm FF-A driver, for
# ffa-emu's virt machine and for QEMU's -M virt.
set -euo pipefail

usage() {
	cat <<EOF
usage: $(basename "$0") SRC_DIR OUT_DIR [--optee]

  SRC_DIR   an unpacked kernel tree (tested with Debian's linux-source-6.12)
  OUT_DIR   build directory (make O=...); created if missing
  --optee   also enable the TEE subsystem and the OP-TEE driver

Starts from allnoconfig, merges a small fragment (PL011 console + earlycon,
GICv3, arch timer, PSCI, ARM_FFA_TRANSPORT, initramfs, ELF), runs
olddefconfig, reports fragment lines that did not survive, then builds
arch/arm64/boot/Image.

Environment: JOBS (default 2), NICE (default 19),
             CROSS_COMPILE (default aarch64-linux-gnu-),
             CONFIG_ONLY=1 (stop after the configuration check).
EOF
}

if [[ $# -lt 2 || $# -gt 3 ]]; then usage >&2; exit 2; fi
case "$1" in -h|--help) usage; exit 0;; esac

SRC=$(realpath "$1")
mkdir -p "$2"
OUT=$(realpath "$2")
OPTEE=0
if [[ $# -eq 3 ]]; then
	if [[ "$3" == "--optee" ]]; then OPTEE=1; else usage >&2; exit 2; fi
fi
[[ -f "$SRC/Makefile" && -d "$SRC/arch/arm64" ]] || { echo "not a kernel tree: $SRC" >&2; exit 1; }

JOBS=${JOBS:-2}
NICE=${NICE:-19}
export ARCH=arm64
export CROSS_COMPILE=${CROSS_COMPILE:-aarch64-linux-gnu-}
MK=(nice -n "$NICE" make -C "$SRC" O="$OUT" ARCH="$ARCH" CROSS_COMPILE="$CROSS_COMPILE")

FRAG="$OUT/ffa-minimal.config"
cat > "$FRAG" <<'EOF'
# --- ffa-emu minimal arm64 guest ---
CONFIG_64BIT=y
CONFIG_CC_OPTIMIZE_FOR_SIZE=y
# memory layout: 4 KiB pages, 48-bit VA, fixed placement
CONFIG_ARM64_4K_PAGES=y
CONFIG_ARM64_VA_BITS_48=y
# CONFIG_RANDOMIZE_BASE is not set
# CPUs and platform plumbing (most are selected by ARM64 anyway)
CONFIG_SMP=y
CONFIG_NR_CPUS=4
CONFIG_OF=y
CONFIG_ARM_AMBA=y
CONFIG_ARM_GIC_V3=y
CONFIG_ARM_ARCH_TIMER=y
CONFIG_ARM_PSCI_FW=y
# console
CONFIG_PRINTK=y
CONFIG_PRINTK_TIME=y
CONFIG_TTY=y
CONFIG_SERIAL_AMBA_PL011=y
CONFIG_SERIAL_AMBA_PL011_CONSOLE=y
CONFIG_SERIAL_EARLYCON=y
# block layer only so that a missing root gives "VFS: Unable to mount root fs"
CONFIG_BLOCK=y
# FF-A
CONFIG_ARM_FFA_TRANSPORT=y
# user space: initramfs with a static ELF /init
CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
# CONFIG_RD_BZIP2 is not set
# CONFIG_RD_LZMA is not set
# CONFIG_RD_XZ is not set
# CONFIG_RD_LZO is not set
# CONFIG_RD_LZ4 is not set
# CONFIG_RD_ZSTD is not set
CONFIG_BINFMT_ELF=y
CONFIG_PROC_FS=y
CONFIG_SYSFS=y
CONFIG_DEVTMPFS=y
CONFIG_DEVTMPFS_MOUNT=y
# behaviour
CONFIG_PANIC_TIMEOUT=-1
# CONFIG_MODULES is not set
EOF
if [[ $OPTEE -eq 1 ]]; then
	cat >> "$FRAG" <<'EOF'
# OP-TEE over FF-A
CONFIG_TEE=y
CONFIG_OPTEE=y
EOF
fi

echo "== allnoconfig"
"${MK[@]}" allnoconfig
echo "== merge fragment"
(cd "$OUT" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" "$FRAG")
"${MK[@]}" olddefconfig

echo "== fragment check"
dropped=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		sym=${line%%=*}
		val=${line#*=}
		if [[ "$val" == n ]]; then
			want_off=1
		else
			want_off=0
		fi
		;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }
		sym=${sym%% *}
		want_off=1
		;;
	*) continue ;;
	esac
	if [[ $want_off -eq 1 ]]; then
		if grep -q "^$sym=" "$OUT/.config"; then
			echo "DROPPED: $line  -> $(grep "^$sym=" "$OUT/.config")"
			dropped=$((dropped + 1))
		fi
	elif ! grep -qx "$line" "$OUT/.config"; then
		now=$(grep -E "^$sym=|^# $sym is not set" "$OUT/.config" || echo "(absent)")
		echo "DROPPED: $line  -> $now"
		dropped=$((dropped + 1))
	fi
done < "$FRAG"
echo "fragment lines not honoured: $dropped"
if [[ "${CONFIG_ONLY:-0}" == 1 ]]; then exit 0; fi

echo "== build Image (nice $NICE, -j$JOBS)"
start=$(date +%s)
"${MK[@]}" -j"$JOBS" Image
end=$(date +%s)
echo "== done in $((end - start)) s: $OUT/arch/arm64/boot/Image ($(stat -c %s "$OUT/arch/arm64/boot/Image") bytes)"
