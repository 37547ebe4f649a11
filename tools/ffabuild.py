"""Build the two native parts of ffa-emu with zig cc: the SPMC stub firmware and the host hook library.

One place for the compiler and its flags, used by ``setup.py`` (the wheel's
build hooks) and by the Makefile (which also builds guests with the same
AArch64 flags)::

    python tools/ffabuild.py cflags              # the AArch64 flags, for guests
    python tools/ffabuild.py firmware [--include DIR] OUT.elf [-- MORE_CFLAGS]
    python tools/ffabuild.py native OUT.so

zig comes from the ``ziglang`` package (``python -m ziglang cc``): no host
toolchain is needed.  The firmware includes ``ffa_emu_abi.h``, generated from
the ``emu`` package's constants (``python -m emu.cheader``); given no
``--include`` directory, it is generated into a temporary one.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE_DIR = ROOT / "firmware"
NATIVE_DIR = ROOT / "emu" / "cpu" / "native"
HEADER_NAME = "ffa_emu_abi.h"

AARCH64_CFLAGS = [
    "-target", "aarch64-freestanding-none", "-mcpu=cortex_a72", "-O2", "-g",
    "-ffreestanding", "-nostdlib", "-fno-builtin", "-mgeneral-regs-only", "-mstrict-align",
    "-fno-sanitize=all", "-fno-unwind-tables", "-fno-asynchronous-unwind-tables",
    "-fno-stack-protector", "-Wall", "-Wextra", "-Werror",
]
# No frame pointer: the hooks run once per guest block or memory access, and a hot one is a few dozen instructions.
NATIVE_CFLAGS = ["-shared", "-fPIC", "-O2", "-fomit-frame-pointer", "-Wall", "-Werror"]


class BuildError(Exception):
    """A compiler or generator failed; the message holds its output."""


def zig_cc() -> list[str]:
    return [sys.executable, "-m", "ziglang", "cc"]


def firmware_sources() -> list[Path]:
    """Relative to the root (the compiler runs there), so debug info names no build machine's path."""
    return [p.relative_to(ROOT) for p in sorted(FIRMWARE_DIR.glob("*.c")) + sorted(FIRMWARE_DIR.glob("*.S"))]


def native_sources() -> list[Path]:
    return [p.relative_to(ROOT) for p in sorted(NATIVE_DIR.glob("*.c"))]


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        raise BuildError(f"{shlex.join(argv)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")


def write_abi_header(include_dir: Path) -> Path:
    """Generate ``ffa_emu_abi.h`` from the source tree's ``emu`` package."""
    include_dir.mkdir(parents=True, exist_ok=True)
    header = include_dir / HEADER_NAME
    _run([sys.executable, "-m", "emu.cheader", str(header)])
    return header


def build_firmware(out: Path, include_dir: Path | None = None, extra: list[str] | None = None) -> Path:
    """Compile and link the SPMC stub firmware to ``out`` (an AArch64 ELF)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        if include_dir is None:
            include_dir = write_abi_header(Path(scratch)).parent
        _run(zig_cc() + AARCH64_CFLAGS + [f"-ffile-prefix-map={ROOT}=.", f"-I{include_dir}", f"-I{FIRMWARE_DIR.relative_to(ROOT)}", "-T",
                                          str((FIRMWARE_DIR / "link.ld").relative_to(ROOT))]
             + (extra or []) + [str(s) for s in firmware_sources()] + ["-o", str(out)])
    return out


def build_native(out: Path) -> Path:
    """Compile the cycle-accounting hook library for the host to ``out`` (loaded with ctypes)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(zig_cc() + NATIVE_CFLAGS + ["-o", str(out)] + [str(s) for s in native_sources()])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ffabuild", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("cflags", help="print the AArch64 compiler flags")
    firmware = sub.add_parser("firmware", help="build the SPMC stub firmware")
    firmware.add_argument("out", type=Path)
    firmware.add_argument("--include", type=Path, help="directory holding an already generated ffa_emu_abi.h")
    firmware.add_argument("extra", nargs="*", help="more compiler flags (e.g. -MMD -MF FILE)")
    native = sub.add_parser("native", help="build the host hook library")
    native.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.what == "cflags":
            print(shlex.join(AARCH64_CFLAGS))
        elif args.what == "firmware":
            build_firmware(args.out, args.include, args.extra)
        else:
            build_native(args.out)
    except BuildError as exc:
        print(f"ffabuild: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
