"""Peak memory of long runs: the command line streams its trace, so memory stays flat with the run's length.

Each run is its own ``python -m emu run`` process; its peak resident set comes from ``os.wait4``
(``ru_maxrss``), so nothing of the benchmark process itself is counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, Report, guest

RUNS = (("bench_smccc", 100_000), ("bench_smccc_1m", 1_000_000))  # SMCCC_VERSION calls each guest makes
FLAT = 1.10  # a run ten times longer may peak at most this much higher


def peak_rss(image: Path, trace: Path | None) -> tuple[int, float]:
    """(peak resident bytes, wall seconds) of one quiet command-line run of ``image``."""
    argv = [sys.executable, "-m", "emu", "run", "-q", str(image)]
    if trace is not None:
        argv += ["--trace", str(trace), "--trace-format", "jsonl"]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"benchmarks: {' '.join(argv)} exited {proc.returncode}")
    return usage.ru_maxrss * 1024, time.perf_counter() - started  # ru_maxrss is in KiB on Linux


def run(report: Report) -> None:
    report.section("memory: peak RSS of `ffa-emu run -q` (a process per run), 100k and 1M SMCCC_VERSION calls")
    with tempfile.TemporaryDirectory() as scratch:
        for label, trace in (("no --trace", None), ("--trace FILE --trace-format jsonl", Path(scratch) / "t.jsonl")):
            peaks = []
            for name, calls in RUNS:
                peak, seconds = peak_rss(guest(name), trace)
                peaks.append(peak)
                size = f", {trace.stat().st_size / 2**20:,.0f} MiB of trace" if trace is not None else ""
                report.figure(f"peak_mib_{calls}_{'jsonl' if trace else 'none'}", f"{calls:,} calls, {label}",
                              peak / 2**20, "MiB", f"{seconds:.1f} s wall{size}")
            ratio = peaks[1] / peaks[0]
            report.figure(f"peak_growth_{'jsonl' if trace else 'none'}", f"1M / 100k calls, {label}", ratio, "x",
                          "flat" if ratio <= FLAT else f"NOT flat (more than {FLAT}x)")
