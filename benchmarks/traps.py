"""Trap throughput: HVC round trips through the EL2 handler, and register marshalling."""

from __future__ import annotations

from collections.abc import Callable

from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, Uc
from unicorn.arm64_const import UC_ARM64_REG_X0

from benchmarks.common import Report, Stopwatch, Timing, best_of, guest, timed_run
from emu.cpu.regs import CallFrame
from emu.el2.smccc import FRAME_REGS

TRAP_RATE_AIM = 50_000  # calls per second
EXPECTED_CALLS = 100_000  # benchmarks/guests/bench_smccc/main.c


def run(report: Report) -> None:
    report.section("traps: bench_smccc (100000 x SMCCC_VERSION, x0-x17 each way, hvc #0), best of 3")
    image = guest("bench_smccc")
    for keep in (True, False):
        seconds, result = best_of(3, lambda: timed_run(image, keep_trace=keep))
        vm = result.vms[0]
        if vm.state != "off" or f"calls={EXPECTED_CALLS} errors=0" not in vm.console:
            report.note(f"bench_smccc did not finish cleanly: {vm.state} {vm.exit_reason} {vm.console!r}")
            continue
        rate = result.traps / seconds
        report.figure(f"traps_per_s_keep_trace_{keep}", f"traps/s, Machine, keep_trace={keep}", rate, "calls/s",
                      f"{result.traps} traps in {seconds:.3f} s wall, {result.traps / seconds.cpu:,.0f}/CPU-s; "
                      f"aim {TRAP_RATE_AIM:,}/s: {'met' if rate >= TRAP_RATE_AIM else 'NOT met'}")
    marshalling(report)


def _loop(frames: int, body: Callable[[], None]) -> Callable[[], tuple[Timing, None]]:
    def timed() -> tuple[Timing, None]:
        with Stopwatch() as watch:
            for _ in range(frames):
                body()
        return watch.elapsed, None
    return timed


def marshalling(report: Report, frames: int = 50_000) -> None:
    report.section(f"register marshalling: one x0-x17 frame, {frames} times, best of 3")
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    frame = CallFrame(uc)
    values = [0x1111_1111_0000_0000 + i for i in range(FRAME_REGS)]
    ids = list(range(UC_ARM64_REG_X0, UC_ARM64_REG_X0 + FRAME_REGS))
    pairs = list(zip(ids, values))
    read, write = uc.reg_read, uc.reg_write

    def callframe() -> None:
        frame.write(values)
        frame.read()

    def single_rw() -> None:
        for reg, value in pairs:
            write(reg, value)
        for reg in ids:
            read(reg)

    def single_read() -> None:
        for reg in ids:
            read(reg)

    def binding_batch() -> None:
        uc.reg_write_batch(pairs)
        uc.reg_read_batch(ids)

    t_frame, _ = best_of(3, _loop(frames, callframe))
    t_rw, _ = best_of(3, _loop(frames, single_rw))
    t_read, _ = best_of(3, _loop(frames, single_read))
    report.figure("callframe_rw_per_s", "CallFrame.write + CallFrame.read", frames / t_frame, "frames/s")
    report.figure("single_rw_per_s", "18 uc.reg_write + 18 uc.reg_read", frames / t_rw, "frames/s")
    report.figure("single_read_per_s", "18 uc.reg_read only", frames / t_read, "frames/s")
    if hasattr(uc, "reg_read_batch") and hasattr(uc, "reg_write_batch"):
        t_binding, _ = best_of(3, _loop(frames, binding_batch))
        report.figure("binding_batch_rw_per_s", "uc.reg_write_batch + uc.reg_read_batch (binding)",
                      frames / t_binding, "frames/s")
    report.figure("callframe_speedup_rw", "CallFrame r+w vs 18 reg_write + 18 reg_read", t_rw / t_frame, "x faster")
    report.figure("callframe_speedup_read", "CallFrame r+w vs 18 reg_read", t_read / t_frame, "x faster")
