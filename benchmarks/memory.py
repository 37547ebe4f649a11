"""Peak memory of long runs: the command line streams its trace, so memory stays flat with the run's length.

Each run is its own process running ``ffa-emu run`` (``python -m benchmarks.memory run ...`` is that
command line, then the peak).  The peak is the process's own high-water mark, ``VmHWM`` in
``/proc/self/status``: ``ru_maxrss`` would not do, as Linux carries the parent's high-water mark into a
child across fork and exec.
"""

from __future__ import annotations

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
    argv = [sys.executable, "-m", "benchmarks.memory", "run", "-q", str(image)]
    if trace is not None:
        argv += ["--trace", str(trace), "--trace-format", "jsonl"]
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"benchmarks: {' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
    return int(proc.stdout.split()[-1]) * 1024, time.perf_counter() - started


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


def _high_water_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


if __name__ == "__main__":  # the child: the command line, then its own peak in KiB on the last line
    from emu import cli

    code = cli.main(sys.argv[1:])
    print(_high_water_kib())
    sys.exit(code)
