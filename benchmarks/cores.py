"""Core models on bench_compute: whole-run CPI per core beside llvm-mca's, and the speed cost of scheduling.

CPI is the run's cycles over its instructions.  llvm-mca's CPI (when an
llvm-mca is on PATH) is ``benchmarks.mca``'s: each executed block's
steady-state cycles, weighted by how often it ran.  Speed: the compute
guest with the native block hook under the default per-class model and
under each core model, best of 3, scheduling of first-seen blocks included.
"""

from __future__ import annotations

from benchmarks import mca
from benchmarks.common import Report, guest, timed_run
from emu.cpu.costmodel import CPUS

CPI_AIM = 0.30  # |ffa-emu / llvm-mca - 1|
SPEED_AIM = 1.5  # core model run time / default model run time


def run(report: Report) -> None:
    report.section("core models: bench_compute CPI per core vs llvm-mca; emulation speed vs the default model")
    path = guest("bench_compute")
    default_time, default = min((timed_run(path) for _ in range(3)), key=lambda run: run[0])
    llvm_mca = mca.find_mca()
    blocks = mca.executed_blocks(path) if llvm_mca else []
    if not llvm_mca:
        report.note("llvm-mca not on PATH (Debian: apt-get install llvm): no llvm-mca figures")
    for cpu in CPUS:
        elapsed, result = min((timed_run(path, cpu=cpu) for _ in range(3)), key=lambda run: run[0])
        cpi = result.cycles / result.instructions
        note = ""
        if llvm_mca:
            try:
                theirs = mca.compare(blocks, cpu, llvm_mca)
            except mca.McaError as exc:
                report.note(f"{exc}: no llvm-mca figures")
                llvm_mca = None
            else:
                error = cpi / theirs.mca_cpi - 1
                note = (f"llvm-mca {theirs.mca_cpi:.3f}, {error:+.1%}: aim within {CPI_AIM:.0%} "
                        f"{'met' if abs(error) <= CPI_AIM else 'NOT met'}")
        report.figure(f"cpi_{cpu}", f"{cpu}: CPI", cpi, "cycles/insn", note)
        ratio = elapsed / default_time
        report.figure(f"speed_{cpu}", f"{cpu}: run time / default model's", ratio, "x",
                      f"{elapsed:.3f} s vs {default_time:.3f} s; aim <= {SPEED_AIM}x: "
                      f"{'met' if ratio <= SPEED_AIM else 'NOT met'}")
    report.note(f"default model ({default.cycles / default.instructions:.3f} CPI) for reference")
