"""pytest plugin (entry point ``pytest11``): build, run and assert on guests.

Fixtures:
- ``guest_image(name)``: path of ``build/guests/<name>.elf``, built through
  ``make`` when missing or stale (when the project has a Makefile).
- ``spmc_image``: path of the SPMC firmware (``$FFA_EMU_SPMC``, else the bundled stub).
- ``run_guests(*images, **machine_options)``: run a machine to its end and
  return an ``Outcome`` (exit code, console, TAP, trace helpers).
  ``Outcome.check_tap(subtests)`` reports each guest TAP line as its own
  pytest subtest.
- ``golden_trace(outcome, name=None, cycles=True)``: compare the run's trace
  with ``golden/<name>.trace`` next to the test file (name: the test's);
  ``pytest --update-golden`` writes the file instead.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from emu.cli import exit_code
from emu.cpu.costmodel import load_cost_model
from emu.platform.boot import BootOptions
from emu.platform.image import ImageError
from emu.platform.loaders import load_image
from emu.trace.golden import compare_golden, golden_name, golden_text
from emu.machine import Machine, MachineConfig, RunResult, VmOutcome
from emu.scenario import parse_spmc_version
from emu.secure.firmware import default_spmc
from emu.tap import TapReport
from emu.trace.records import HOP_CALL, TraceRecord
from emu.vm import VmSpec


@dataclass
class Outcome:
    """A finished run, with the helpers tests assert with."""

    result: RunResult
    machine: Machine

    @property
    def exit_code(self) -> int:
        return exit_code(self.result)

    def vm(self, name: str = "vm1") -> VmOutcome:
        return next(vm for vm in self.result.vms if vm.name == name)

    def console(self, vm: str = "vm1") -> str:
        return self.vm(vm).console

    def tap(self, vm: str = "vm1") -> TapReport:
        return self.vm(vm).tap

    @property
    def records(self) -> list[TraceRecord]:
        return self.result.trace.records

    def calls(self, name: str | None = None, vm: str | None = None) -> list[TraceRecord]:
        """Guest-visible calls, optionally of one function name and one VM."""
        return [r for r in self.records if r.hop == HOP_CALL and (name is None or r.name == name)
                and (vm is None or r.vm == vm)]

    def errors(self) -> list[TraceRecord]:
        return [r for r in self.calls() if r.error]

    def hops(self, seq: int) -> list[TraceRecord]:
        """Every hop of call ``seq``, in order."""
        return [r for r in self.records if r.seq == seq]

    def check_tap(self, subtests: pytest.Subtests, vm: str = "vm1") -> None:
        """One pytest subtest per TAP result of ``vm``, plus one for the plan.

        Each failing guest test shows up under its own name; the test itself
        fails when any subtest does.
        """
        report = self.tap(vm)
        assert report.has_tap, f"{vm} printed no TAP:\n{self.console(vm)}"
        for result in report.results:
            with subtests.test(msg=f"{vm} {result.number} - {result.name}"):
                assert result.ok, f"not ok {result.number} - {result.name}"
        with subtests.test(msg=f"{vm} plan"):
            assert report.plan == len(report.results), \
                f"{vm} planned {report.plan} results, printed {len(report.results)}"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ffa-emu")
    group.addoption("--ffa-build-dir", default="build", help="where guest images are built (default: build)")
    group.addoption("--update-golden", action="store_true",
                    help="write golden traces (golden/<test>.trace next to each test) instead of comparing")


def _project_root(config: pytest.Config) -> Path:
    return Path(config.rootpath)


def make(root: Path, target: str) -> None:
    """Build ``target`` with the project's Makefile; failures fail the test with make's output."""
    proc = subprocess.run(["make", "-C", str(root), "--no-print-directory", target],
                          capture_output=True, text=True)
    if proc.returncode:
        pytest.fail(f"make {target} failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)


@pytest.fixture(scope="session")
def guest_image(pytestconfig: pytest.Config) -> Callable[[str], Path]:
    root = _project_root(pytestconfig)
    build = root / pytestconfig.getoption("--ffa-build-dir")

    def image(name: str) -> Path:
        path = build / "guests" / f"{name}.elf"
        if (root / "Makefile").exists():
            make(root, str(path.relative_to(root)))
        if not path.exists():
            pytest.fail(f"guest image {path} not found", pytrace=False)
        return path

    return image


@pytest.fixture(scope="session")
def spmc_image() -> Path:
    """The SPMC firmware: ``$FFA_EMU_SPMC`` when set, else the stub firmware bundled with ffa-emu."""
    try:
        return default_spmc()
    except ImageError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def run_guests() -> Callable[..., Outcome]:
    """``run_guests(*images, ram_size=None, boot=None, **MachineConfig fields)``.

    Images are ELF files or arm64 Linux Images; ``boot`` is an
    ``emu.platform.boot.BootOptions`` (device tree, bootargs, initrd, flash)
    for every VM.  ``cost_model`` may be a TOML path, ``cpu`` a core model
    name (``emu.cpu.costmodel.CPUS``) and ``spmc_version`` an ``"X.Y"`` string.
    """
    def run(*images: Path | str, ram_size: int | None = None, boot: BootOptions | None = None,
            **options) -> Outcome:
        if isinstance(options.get("cost_model"), (str, Path)):
            options["cost_model"] = load_cost_model(options["cost_model"])
        if isinstance(options.get("spmc_version"), str):
            options["spmc_version"] = parse_spmc_version(options["spmc_version"], "spmc_version")
        specs = []
        for i, path in enumerate(images, start=1):
            spec = VmSpec(load_image(path), vm_id=i, endpoint_id=i, boot=boot or BootOptions())
            if ram_size is not None:
                spec.ram_size = ram_size
            specs.append(spec)
        machine = Machine(MachineConfig(vms=specs, **options))
        return Outcome(machine.run(), machine)

    return run


@pytest.fixture
def golden_trace(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``golden_trace(outcome, name=None, cycles=True)``: the run's trace must equal its golden file.

    ``cycles=False`` compares calls, arguments and results only, so a
    cost-model change does not touch the file.
    """
    update = request.config.getoption("--update-golden")

    def check(outcome: Outcome, name: str | None = None, cycles: bool = True) -> None:
        path = request.path.parent / "golden" / f"{name or golden_name(request.node.name)}.trace"
        actual = golden_text(outcome.records, cycles)
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"no golden trace {path}: run pytest with --update-golden to create it", pytrace=False)
        difference = compare_golden(path, actual)
        if difference:
            pytest.fail(difference, pytrace=False)

    return check
