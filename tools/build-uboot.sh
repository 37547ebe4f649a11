#!/usr/bin/env bash
# Build U-Boot (qemu_arm64 board) with its FF-A transport, to run under
# ffa-emu: `ffa-emu run OUT_DIR/u-boot`.  The U-Boot source tree is yours
# (a release of 2025 or later has drivers/firmware/arm-ffa/); this script
# only drives its own Kbuild, with Debian's gcc-aarch64-linux-gnu.
#
# The default boot command talks to the stub SPMC's echo partition
# (emu/ffa/stub_partitions.py): endpoint 0x8001, UUID words (w1..w4)
# 0x6C1E0A51 0x4D2B9E37 0xA8F01C62 0x5B7E33D4.  U-Boot's uuid_str_to_le_bin()
# (lib/uuid.c) stores every field little-endian, so the string below gives
# exactly those words; tests/platform/test_uboot.py checks it.
set -euo pipefail

ECHO_UUID_DEFAULT="6c1e0a51-9e37-4d2b-1c62-5b7e33d4a8f0"
ECHO_ID_DEFAULT="0x8001"
DEFAULT_BOOTCMD="armffa devlist; armffa getpart ${ECHO_UUID_DEFAULT}; armffa ping ${ECHO_ID_DEFAULT}; poweroff"

usage() {
    cat <<EOF
Usage: $(basename "$0") [-b BOOTCMD] [-t TEXT_BASE] [-j JOBS] SRC_DIR OUT_DIR

Builds U-Boot out of tree from SRC_DIR into OUT_DIR (make O=OUT_DIR) with
CROSS_COMPILE=\${CROSS_COMPILE:-aarch64-linux-gnu-}, starting from
qemu_arm64_defconfig and merging an FF-A config fragment on top.
Leaves OUT_DIR/u-boot (ELF) and OUT_DIR/u-boot.bin.

Options (each also settable by environment variable):
  -b BOOTCMD    CONFIG_BOOTCOMMAND        (env UBOOT_BOOTCMD)
                default: ${DEFAULT_BOOTCMD}
  -t TEXT_BASE  CONFIG_TEXT_BASE          (env UBOOT_TEXT_BASE, default 0x40200000)
  -j JOBS       parallel make jobs        (env JOBS, default: nproc)
  -h            this help
EOF
}

BOOTCMD="${UBOOT_BOOTCMD:-$DEFAULT_BOOTCMD}"
TEXT_BASE="${UBOOT_TEXT_BASE:-0x40200000}"
JOBS="${JOBS:-$(nproc)}"
CROSS_COMPILE="${CROSS_COMPILE:-aarch64-linux-gnu-}"

while getopts ":b:t:j:h" opt; do
    case "$opt" in
        b) BOOTCMD="$OPTARG" ;;
        t) TEXT_BASE="$OPTARG" ;;
        j) JOBS="$OPTARG" ;;
        h) usage; exit 0 ;;
        \?) echo "error: unknown option -$OPTARG" >&2; usage >&2; exit 2 ;;
        :) echo "error: option -$OPTARG needs a value" >&2; usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

if [[ $# -ne 2 ]]; then
    usage >&2
    exit 2
fi

SRC_DIR="$(cd "$1" && pwd)"
mkdir -p "$2"
OUT_DIR="$(cd "$2" && pwd)"

if [[ ! -f "$SRC_DIR/configs/qemu_arm64_defconfig" ]]; then
    echo "error: $SRC_DIR does not look like a U-Boot tree" >&2
    exit 1
fi
if ! command -v "${CROSS_COMPILE}gcc" >/dev/null; then
    echo "error: ${CROSS_COMPILE}gcc not found (apt-get install gcc-aarch64-linux-gnu)" >&2
    exit 1
fi

# Kconfig string values: escape backslashes and double quotes.
kconfig_str() {
    local s="$1"
    s="${s//\\/\\\\}"
    s="${s//\"/\\\"}"
    printf '"%s"' "$s"
}

MAKE=(make -C "$SRC_DIR" O="$OUT_DIR" ARCH=arm CROSS_COMPILE="$CROSS_COMPILE")

echo ">> defconfig: qemu_arm64_defconfig"
"${MAKE[@]}" qemu_arm64_defconfig

FRAGMENT="$OUT_DIR/ffa-emu.config"
cat >"$FRAGMENT" <<EOF
CONFIG_TEXT_BASE=${TEXT_BASE}
CONFIG_ARM_SMCCC_FEATURES=y
CONFIG_ARM_FFA_TRANSPORT=y
CONFIG_CMD_ARMFFA=y
CONFIG_CMD_POWEROFF=y
CONFIG_SYSRESET=y
CONFIG_SYSRESET_PSCI=y
CONFIG_SYSRESET_CMD_POWEROFF=y
CONFIG_BOOTDELAY=0
CONFIG_BOOTCOMMAND=$(kconfig_str "$BOOTCMD")
EOF

echo ">> merging $FRAGMENT"
(cd "$OUT_DIR" && "$SRC_DIR/scripts/kconfig/merge_config.sh" -m -O "$OUT_DIR" "$OUT_DIR/.config" "$FRAGMENT")
"${MAKE[@]}" olddefconfig

# Every fragment line must have survived olddefconfig (dependency checks).
missing=0
while IFS= read -r line; do
    [[ -z "$line" || "$line" == \#* ]] && continue
    if ! grep -qxF -- "$line" "$OUT_DIR/.config"; then
        echo "error: not in final .config: $line" >&2
        missing=1
    fi
done <"$FRAGMENT"
[[ $missing -eq 0 ]] || exit 1

echo ">> building with $JOBS jobs"
"${MAKE[@]}" -j"$JOBS" all

for f in u-boot u-boot.bin; do
    [[ -s "$OUT_DIR/$f" ]] || { echo "error: $OUT_DIR/$f was not produced" >&2; exit 1; }
done
echo ">> done: $OUT_DIR/u-boot and $OUT_DIR/u-boot.bin"
