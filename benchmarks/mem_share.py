"""Memory sharing throughput: MEM_SHARE + MEM_RECLAIM of a 64-page scattered region, under the spec profile."""

from __future__ import annotations

from benchmarks.common import Report, best_of, guest, spmc, timed_run

EXPECTED = 200  # benchmarks/guests/bench_mem_share/main.c: TRANSACTIONS


def run(report: Report) -> None:
    report.section(f"mem_share: bench_mem_share ({EXPECTED} x MEM_SHARE + MEM_RECLAIM of 64 scattered pages, "
                   "spec profile), best of 3")
    image = guest("bench_mem_share")
    firmware = spmc()
    for keep in (True, False):
        seconds, result = best_of(3, lambda keep=keep: timed_run(image, spmc_image=firmware, profile="spec",
                                                                    keep_trace=keep))
        vm = result.vms[0]
        if vm.state != "off" or f"transactions={EXPECTED} errors=0" not in vm.console:
            report.note(f"bench_mem_share did not finish cleanly: {vm.state} {vm.exit_reason} {vm.console!r}")
            continue
        report.figure(f"mem_share_tx_per_s_keep_trace_{keep}", f"share+reclaim pairs/s, keep_trace={keep}",
                      EXPECTED / seconds, "pairs/s",
                      f"{EXPECTED} pairs in {seconds:.3f} s wall, {EXPECTED / seconds.cpu:,.0f}/CPU-s")
        report.figure(f"mem_share_calls_per_s_keep_trace_{keep}", f"calls/s (every trap), keep_trace={keep}",
                      result.traps / seconds, "calls/s",
                      f"{result.traps} traps, {result.cycles:,} emulated cycles, "
                      f"{result.cycles / EXPECTED:,.0f} cycles a pair")
