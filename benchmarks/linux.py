"""Linux (FFA_EMU_LINUX, built by tools/build-linux.sh) to its arm_ffa probe and to its panic, beside QEMU TCG.

The whole command is timed, start-up included, as a user runs it; the time
to the driver's "ARM FF-A: Firmware version" line is taken when that line
reaches the console, as the run streams it.  QEMU runs the same Image with
no firmware: its PSCI offers SMCCC 1.0, so the arm_ffa driver (which needs
1.2) stays silent, and only the time to the panic compares.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import ROOT, Report, spmc

AIM_PROBE_SECONDS = 0.4
RUNS = 3
BOOTARGS = "console=ttyAMA0 panic=-1"
PANIC = "Kernel panic"


def _timed(command: list[str], probe: str) -> tuple[float, float, str]:
    """(seconds to the first line holding ``probe``, seconds to the end, output) of one run."""
    started = time.perf_counter()
    at_probe = float("nan")
    lines = []
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if probe in line and at_probe != at_probe:  # the first one (NaN until then)
                at_probe = time.perf_counter() - started
            lines.append(line)
        proc.wait(timeout=120)
    return at_probe, time.perf_counter() - started, "".join(lines)


def _best(command: list[str], probe: str) -> tuple[float, float, str]:
    runs = [_timed(command, probe) for _ in range(RUNS)]
    best = min(runs, key=lambda r: r[1])
    return min(r[0] for r in runs), best[1], best[2]


def run(report: Report) -> None:
    report.section(f"Linux to the arm_ffa probe and to its panic, whole command with start-up, best of {RUNS}")
    image = os.environ.get("FFA_EMU_LINUX")
    if not image or not Path(image).exists():
        report.note("skipped: set FFA_EMU_LINUX to an Image built by tools/build-linux.sh")
        return
    probe, total, output = _best([sys.executable, "-m", "emu", "run", "--spmc", str(spmc()), "--append", BOOTARGS,
                                  image], "ARM FF-A: Firmware version")
    summary = re.search(r"instructions (\d+), cycles (\d+).*wall ([\d.]+) s", output)
    if PANIC not in output or summary is None or probe != probe:
        report.note(f"the kernel did not reach its arm_ffa probe and panic: {output[-500:]!r}")
        return
    instructions, run_wall = int(summary[1]), float(summary[3])
    report.figure("linux_probe_s", "ffa-emu: Linux to the arm_ffa probe", probe, "s",
                  f"aim {AIM_PROBE_SECONDS} s: {'met' if probe <= AIM_PROBE_SECONDS else 'NOT met'}")
    report.figure("linux_panic_s", "ffa-emu: Linux to its panic and reset", total, "s")
    report.figure("linux_mips", "ffa-emu: guest MIPS (run only)", instructions / run_wall / 1e6, "MIPS",
                  f"{instructions:,} instructions in {run_wall:.3f} s")
    qemu = shutil.which("qemu-system-aarch64")
    if qemu is None:
        report.note("qemu-system-aarch64 not installed: no side-by-side figure")
        return
    _probe, q_total, q_out = _best([qemu, "-M", "virt,gic-version=3", "-cpu", "cortex-a72", "-m", "128M",
                                    "-nographic", "-no-reboot", "-kernel", image, "-append", BOOTARGS], PANIC)
    if PANIC not in q_out:
        report.note(f"QEMU did not reach the panic: {q_out[-300:]!r}")
        return
    report.figure("linux_qemu_panic_s", "QEMU TCG, no firmware: the same Image to its panic", q_total, "s",
                  f"ffa-emu / QEMU = {total / q_total:.2f}")
