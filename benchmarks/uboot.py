"""U-Boot (FFA_EMU_UBOOT, built by tools/build-uboot.sh) from start to ``poweroff``, beside QEMU TCG when installed.

The whole command is timed, start-up included, as a user runs it: ``ffa-emu
run u-boot`` against ``qemu-system-aarch64 -M virt -kernel u-boot``.  Under
QEMU U-Boot finds no FF-A (no secure world), so its boot command fails
faster there; the figures compare booting, not the FF-A exchange.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.common import ROOT, Report, Stopwatch, spmc

AIM_SECONDS = 0.35
RUNS = 5


def _best(command: list[str]) -> tuple[float, str]:
    best, output = float("inf"), ""
    for _ in range(RUNS):
        with Stopwatch() as watch:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT,
                                  stdin=subprocess.DEVNULL)
        if watch.elapsed < best:
            best, output = watch.elapsed, proc.stdout + proc.stderr
    return best, output


def run(report: Report) -> None:
    report.section(f"U-Boot to poweroff, whole command with start-up, best of {RUNS}")
    image = os.environ.get("FFA_EMU_UBOOT")
    if not image or not Path(image).exists():
        report.note("skipped: set FFA_EMU_UBOOT to a U-Boot built by tools/build-uboot.sh")
        return
    seconds, output = _best([sys.executable, "-m", "emu", "run", "--spmc", str(spmc()), image])
    summary = re.search(r"instructions (\d+), cycles (\d+).*wall ([\d.]+) s", output)
    if "SP response:" not in output or summary is None:
        report.note(f"U-Boot did not finish its FF-A commands: {output[-500:]!r}")
        return
    instructions, run_wall = int(summary[1]), float(summary[3])
    report.figure("uboot_s", "ffa-emu: U-Boot boot, FF-A discovery + ping, poweroff", seconds, "s",
                  f"aim {AIM_SECONDS} s: {'met' if seconds <= AIM_SECONDS else 'NOT met'}")
    report.figure("uboot_mips", "ffa-emu: guest MIPS with the MMU on (run only)", instructions / run_wall / 1e6,
                  "MIPS", f"{instructions:,} instructions in {run_wall:.3f} s")
    qemu = shutil.which("qemu-system-aarch64")
    if qemu is None:
        report.note("qemu-system-aarch64 not installed: no side-by-side figure")
        return
    qemu_seconds, qemu_out = _best([qemu, "-M", "virt,gic-version=3", "-cpu", "cortex-a72", "-m", "128M",
                                    "-nographic", "-kernel", image])
    if "poweroff" not in qemu_out:
        report.note(f"QEMU did not reach poweroff: {qemu_out[-300:]!r}")
        return
    report.figure("uboot_qemu_s", "QEMU TCG: the same image to poweroff", qemu_seconds, "s",
                  f"ffa-emu / QEMU = {seconds / qemu_seconds:.2f}")
