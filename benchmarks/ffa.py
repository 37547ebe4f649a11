"""FF-A round trips: DIRECT_REQ2 to the echo SP through the mediator and the SPMC binary."""

from __future__ import annotations

from benchmarks.common import Report, best_of, guest, spmc, timed_run

ROUND_TRIP_AIM = 25_000  # round trips per second, tracing and cycle accounting on
EXPECTED_CALLS = 20_000  # benchmarks/guests/bench_direct_req2/main.c


def run(report: Report) -> None:
    report.section("FF-A: bench_direct_req2 (20000 x DIRECT_REQ2 to the echo SP, x0-x17 both ways), best of 3")
    image = guest("bench_direct_req2")
    seconds, result = best_of(3, lambda: timed_run(image, spmc_image=spmc(), profile="spec"))
    vm = result.vms[0]
    if vm.state != "off" or f"calls={EXPECTED_CALLS} errors=0" not in vm.console:
        report.note(f"bench_direct_req2 did not finish cleanly: {vm.state} {vm.exit_reason} {vm.console!r}")
        return
    rate = EXPECTED_CALLS / seconds
    report.figure("direct_req2_per_s", "DIRECT_REQ2 round trips/s (trace kept, cycles on)", rate, "calls/s",
                  f"{seconds:.3f} s wall, {EXPECTED_CALLS / seconds.cpu:,.0f}/CPU-s; "
                  f"{result.cycles // EXPECTED_CALLS:,} cycles per round trip; "
                  f"aim {ROUND_TRIP_AIM:,}/s: {'met' if rate >= ROUND_TRIP_AIM else 'NOT met'}")
