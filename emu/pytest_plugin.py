"""pytest plugin (entry point ``pytest11``, so installing ffa-emu enables it): build, run and assert on guests.

Fixtures (``pytest --fixtures`` shows each one's use):

- ``guest_image(name_or_path)``: a guest image, given as a path, or by name
  through the project's ini options ``ffa_emu_build`` (a command that builds
  it, e.g. ``make -C guests {name}``) and ``ffa_emu_guests`` (where it lands,
  default ``{name}.elf``), both relative to pytest's root directory;
- ``spmc_image``: the SPMC firmware (``$FFA_EMU_SPMC``, else the stub bundled
  with ffa-emu);
- ``run_guests(*images, **machine_options)``: run a machine to its end and
  return an ``emu.outcome.Outcome``;
- ``golden_trace(outcome, name=None, cycles=True, sites=True, boot=True)``:
  compare the run's trace with ``golden/<name>.trace`` next to the test file;
  ``pytest --update-golden`` writes the file instead.

A failed ``assert out.exit_code == 0`` is explained: the exit code, each
stopped VM's PC, symbol and source line, its last call, its failed calls
and its last console lines (``Outcome.explain()``).
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from emu.cpu.costmodel import load_cost_model
from emu.machine import Machine, MachineConfig
from emu.outcome import ExitCode, Outcome
from emu.platform.boot import BootOptions
from emu.platform.image import ImageError
from emu.platform.loaders import load_image
from emu.scenario import parse_spmc_version
from emu.secure.firmware import default_spmc
from emu.trace.golden import compare_golden, golden_name, golden_text
from emu.vm import VmSpec

BUILD_INI = "ffa_emu_build"
GUESTS_INI = "ffa_emu_guests"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(BUILD_INI, "command that builds guest image {name} (run from the root directory), "
                             "e.g. 'make -C guests {name}'; none: images are used as they are", default="")
    parser.addini(GUESTS_INI, "path of guest image {name}, relative to the root directory "
                              "(default '{name}.elf')", default="{name}.elf")
    group = parser.getgroup("ffa-emu")
    group.addoption("--update-golden", action="store_true",
                    help="write golden traces (golden/<test>.trace next to each test) instead of comparing")


def pytest_assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """Explain a comparison with a run's exit code: why the run ended that way."""
    code = next((side for side in (left, right) if isinstance(side, ExitCode)), None)
    if code is None:
        return None
    return [f"{left!r} {op} {right!r}", *code.outcome.explain().splitlines()]


class GuestImages:
    """Guest images by path or by name (built once per session by the configured command)."""

    def __init__(self, root: Path, build: str, layout: str) -> None:
        self.root = root
        self.build = build
        self.layout = layout
        self._built: dict[str, Path] = {}

    def __call__(self, name_or_path: str | Path) -> Path:
        if isinstance(name_or_path, Path) or "/" in name_or_path or name_or_path.endswith(".elf"):
            path = self.root / name_or_path
            if not path.is_file():
                pytest.fail(f"guest image {path} not found", pytrace=False)
            return path
        if name_or_path not in self._built:
            self._built[name_or_path] = self._build(name_or_path)
        return self._built[name_or_path]

    def _build(self, name: str) -> Path:
        if self.build:
            argv = shlex.split(self.build.format(name=name))
            proc = subprocess.run(argv, cwd=self.root, capture_output=True, text=True)
            if proc.returncode:
                pytest.fail(f"building guest {name} failed ({shlex.join(argv)}, exit {proc.returncode}):\n"
                            f"{proc.stdout}{proc.stderr}", pytrace=False)
        path = self.root / self.layout.format(name=name)
        if not path.is_file():
            how = f"{BUILD_INI} ({self.build!r}) did not make it" if self.build else f"set {BUILD_INI} to build it"
            pytest.fail(f"guest image {name}: {path} not found ({GUESTS_INI} = {self.layout!r}; {how})",
                        pytrace=False)
        return path


@pytest.fixture(scope="session")
def guest_image(pytestconfig: pytest.Config) -> Callable[[str | Path], Path]:
    """``guest_image(name_or_path) -> Path``: a guest image to run.

    A path (``Path``, or a string with ``/`` or ending in ``.elf``) is taken
    as it is, relative to the root directory.  A name is built by the ini
    option ``ffa_emu_build`` (``{name}`` replaced; once per session) and
    found at ``ffa_emu_guests`` (default ``{name}.elf``)::

        [tool.pytest.ini_options]
        ffa_emu_build = "make -C guests {name}"
        ffa_emu_guests = "guests/build/{name}.elf"
    """
    return GuestImages(Path(pytestconfig.rootpath), pytestconfig.getini(BUILD_INI), pytestconfig.getini(GUESTS_INI))


@pytest.fixture(scope="session")
def spmc_image() -> Path:
    """The SPMC firmware: ``$FFA_EMU_SPMC`` when set, else the stub firmware bundled with ffa-emu."""
    try:
        return default_spmc()
    except ImageError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def run_guests() -> Callable[..., Outcome]:
    """``run_guests(*images, ram_size=None, boot=None, **MachineConfig fields) -> Outcome``: run to the end.

    Images are ELF files or arm64 Linux Images, one VM each; pass
    ``spmc_image=spmc_image`` for a secure world (none by default).
    ``boot`` is an ``emu.platform.boot.BootOptions`` (device tree, bootargs,
    initrd, flash) for every VM; ``cost_model`` may be a TOML path, ``cpu`` a
    core model name (``emu.cpu.costmodel.CPUS``) and ``spmc_version`` an
    ``"X.Y"`` string.  The ``Outcome`` has ``exit_code``, ``calls(name=, vm=)``,
    ``errors()``, ``hops(seq)``, ``console()``, ``tap()``,
    ``check_tap(subtests=None)`` and ``explain()``.
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
    """``golden_trace(outcome, name=None, cycles=True, sites=True, boot=True)``: the trace must equal its file.

    The file is ``golden/<name>.trace`` next to the test (name: the test's);
    ``pytest --update-golden`` writes it.  Calls, arguments and results are
    always compared; ``cycles=False`` leaves out cycle stamps (a cost-model
    change), ``sites=False`` calling sites (another compiler),
    ``boot=False`` the mediator's boot traffic with the SPMC.
    """
    update = request.config.getoption("--update-golden")

    def check(outcome: Outcome, name: str | None = None, cycles: bool = True, sites: bool = True,
              boot: bool = True) -> None:
        path = request.path.parent / "golden" / f"{name or golden_name(request.node.name)}.trace"
        actual = golden_text(outcome.records, cycles, sites, boot)
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
