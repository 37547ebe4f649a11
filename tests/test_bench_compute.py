"""The benchmark's raw-Unicorn run of bench_compute (the floor native accounting is measured against) runs the
same guest to the same end as the emulator does."""

from __future__ import annotations

from benchmarks.compute import raw_unicorn
from emu.platform.elf import load_elf


def test_raw_unicorn_runs_the_compute_guest_as_the_emulator_does(guest_image, run_guests) -> None:
    path = guest_image("bench_compute")
    _seconds, console = raw_unicorn(load_elf(path))
    out = run_guests(path)
    assert out.exit_code == 0
    assert console == out.result.vms[0].console
