"""The trap path in CPU microseconds per call, against the figures before the fast path and the aims.

CPU time (``time.process_time``) of ``Machine.run`` only: start-up is not in
the per-call figures, and waiting for a shared host's CPU is not in any.
``PREVIOUS`` holds what these measurements gave before the fast trap path
(commit 85d6143), taken interleaved with the fast path's code in one run on
the development host (best of three each); on another host compare the
ratios, not the figures.
"""

from __future__ import annotations

import sys
import tempfile
import time

from benchmarks.common import PSCI_CALLS, Report, guest, machine, process_cpu_seconds, qemu_trap_costs, spmc
from emu.cli import TRACE_FILE_BUFFER

SMCCC_CALLS = 100_000  # benchmarks/guests/bench_smccc/main.c
DIRECT_REQ2_CALLS = 20_000  # benchmarks/guests/bench_direct_req2/main.c
PREVIOUS = {"smccc_us": 19.51, "direct_req2_us": 60.75, "direct_req2_jsonl_us": 124.16, "startup_s": 0.38}
AIMS = {"smccc_us": 5.0, "direct_req2_us": 15.0, "direct_req2_jsonl_us": 25.0, "startup_s": 0.15}


def cpu_per_call(name: str, calls: int, trace_file: bool = False, **options) -> float:
    """Best of 3: CPU microseconds per call of ``Machine.run`` on guest ``name``."""
    best = float("inf")
    for _ in range(3):
        m = machine(guest(name), **options)
        with tempfile.TemporaryFile("w", buffering=TRACE_FILE_BUFFER) as sink:  # as --trace FILE writes
            if trace_file:
                m.trace.add_sink(sink, "jsonl")
            started = time.process_time()
            result = m.run()
            seconds = time.process_time() - started
        vm = result.vms[0]
        if vm.state != "off" or f"calls={calls} errors=0" not in vm.console:
            raise RuntimeError(f"{name} did not finish cleanly: {vm.state} {vm.exit_reason}")
        best = min(best, seconds / calls * 1e6)
    return best


def startup_seconds(runs: int = 5) -> float:
    """Least CPU seconds of ``ffa-emu run -q hello.elf`` as a new process (interpreter, imports, run)."""
    return process_cpu_seconds([sys.executable, "-m", "emu", "run", "-q", str(guest("hello"))], runs)


def _figure(report: Report, key: str, label: str, value: float, unit: str) -> None:
    previous, aim = PREVIOUS[key], AIMS[key]
    report.figure(key, label, value, unit,
                  f"before {previous:g}: {previous / value:.2f}x faster; aim {aim:g}: "
                  f"{'met' if value <= aim else 'NOT met'}")


def run(report: Report) -> None:
    report.section("trap path: CPU per call, best of 3 (previous figures from before the fast path)")
    _figure(report, "smccc_us", "SMCCC_VERSION trapped, trace kept",
            cpu_per_call("bench_smccc", SMCCC_CALLS, keep_trace=True), "us/call")
    _figure(report, "direct_req2_us", "DIRECT_REQ2 round trip through the SPMC",
            cpu_per_call("bench_direct_req2", DIRECT_REQ2_CALLS, spmc_image=spmc(), keep_trace=False), "us/call")
    _figure(report, "direct_req2_jsonl_us", "... with a jsonl trace file",
            cpu_per_call("bench_direct_req2", DIRECT_REQ2_CALLS, trace_file=True, spmc_image=spmc(),
                         keep_trace=False), "us/call")
    _figure(report, "startup_s", "ffa-emu run -q hello.elf, whole process", startup_seconds(), "CPU s")
    qemu_side(report)


def qemu_side(report: Report) -> None:
    """The trap guest QEMU can run too (its built-in PSCI answers HVC), per call on each."""
    ours = cpu_per_call("bench_psci", PSCI_CALLS, keep_trace=True)
    report.figure("psci_us", "PSCI_VERSION trapped, trace kept (bench_psci)", ours, "us/call")
    qemu = qemu_trap_costs()
    if qemu is None:
        report.note("qemu-system-aarch64 not installed: no side-by-side figure")
        return
    report.figure("psci_qemu_us", "QEMU TCG: the same guest, per call", qemu[0], "us/call",
                  f"ffa-emu / QEMU = {ours / qemu[0]:.0f}")
