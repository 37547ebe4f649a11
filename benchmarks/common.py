"""Shared helpers: building images, timing, printing figures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from emu.platform.elf import load_elf
from emu.machine import Machine, MachineConfig, RunResult
from emu.secure.firmware import BUNDLED
from emu.vm import VmSpec

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
T = TypeVar("T")


def build(*targets: str) -> None:
    """``make`` the targets (paths relative to the project root); exit on failure."""
    proc = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", *targets],
                          capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"benchmarks: make {' '.join(targets)} failed:\n{proc.stdout}{proc.stderr}")


def guest(name: str) -> Path:
    """Path of guest image ``name``, built when missing or stale."""
    path = BUILD / "guests" / f"{name}.elf"
    build(str(path.relative_to(ROOT)))
    return path


def spmc() -> Path:
    """The bundled SPMC stub firmware, built when missing or stale."""
    build(str(BUNDLED.relative_to(ROOT)))
    return BUNDLED


def machine(image: Path, **options) -> Machine:
    """A one-VM machine for ``image``, quiet unless ``console_stream`` is given."""
    return Machine(MachineConfig(vms=[VmSpec(load_elf(image), vm_id=1, endpoint_id=1)], **options))


QEMU_MACHINE = ["-M", "virt,gic-version=3", "-cpu", "cortex-a72", "-m", "128M", "-nographic"]
PSCI_CALLS, PSCI_CALLS_1M = 100_000, 1_000_000  # benchmarks/guests/bench_psci{,_1m}


def process_cpu_seconds(argv: list[str], runs: int) -> float:
    """Least CPU seconds (user + system) of ``argv`` run as a new process from the project root."""
    best = float("inf")
    for _ in range(runs):
        before = os.times()
        subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                       timeout=120)
        after = os.times()
        best = min(best, after.children_user + after.children_system
                   - before.children_user - before.children_system)
    return best


def qemu_cpu_seconds(image: Path, runs: int = 3) -> float | None:
    """Least CPU seconds of ``qemu-system-aarch64`` (TCG) running ``image`` to its PSCI SYSTEM_OFF, start-up
    included; None when QEMU is not installed."""
    qemu = shutil.which("qemu-system-aarch64")
    if qemu is None:
        return None
    return process_cpu_seconds([qemu, *QEMU_MACHINE, "-kernel", str(image)], runs)


def qemu_trap_costs() -> tuple[float, float] | None:
    """(CPU microseconds per PSCI call, CPU seconds of start-up) of QEMU TCG, from bench_psci run with 100,000
    and with 1,000,000 calls: the difference is the calls alone.  None without QEMU."""
    small, large = qemu_cpu_seconds(guest("bench_psci")), qemu_cpu_seconds(guest("bench_psci_1m"))
    if small is None or large is None:
        return None
    per_call = max(large - small, 0.0) / (PSCI_CALLS_1M - PSCI_CALLS)
    return per_call * 1e6, max(small - PSCI_CALLS * per_call, 0.0)


class Timing(float):
    """Wall seconds (``time.perf_counter``), with the process CPU seconds of the same span in ``.cpu``.

    On a loaded host wall time includes waiting for a CPU; CPU time does not.
    """

    cpu: float

    def __new__(cls, wall: float, cpu: float) -> Timing:
        self = super().__new__(cls, wall)
        self.cpu = cpu
        return self


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc) -> None:
        self.elapsed = Timing(time.perf_counter() - self._wall, time.process_time() - self._cpu)


def timed_run(image: Path, **options) -> tuple[Timing, RunResult]:
    """(time of Machine.run only, result): construction is not timed."""
    m = machine(image, **options)
    with Stopwatch() as watch:
        result = m.run()
    return watch.elapsed, result


def best_of(runs: int, fn: Callable[[], tuple[float, T]]) -> tuple[float, T]:
    """The fastest (by wall time) of ``runs`` calls of ``fn``, which returns (seconds, value)."""
    best: tuple[float, T] | None = None
    for _ in range(runs):
        seconds, value = fn()
        if best is None or seconds < best[0]:
            best = (seconds, value)
    assert best is not None
    return best


class Report:
    """Prints one figure a line: ``section  what  value unit  (note)``."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout
        self.figures: dict[str, float] = {}

    def section(self, title: str) -> None:
        print(f"\n== {title}", file=self.stream, flush=True)

    def figure(self, key: str, label: str, value: float, unit: str, note: str = "") -> None:
        self.figures[key] = value
        text = f"{value:,.0f}" if value >= 1000 else f"{value:,.2f}"
        line = f"  {label:<52} {text:>14} {unit}"
        if note:
            line += f"   ({note})"
        print(line, file=self.stream, flush=True)

    def note(self, text: str) -> None:
        print(f"  {text}", file=self.stream, flush=True)
