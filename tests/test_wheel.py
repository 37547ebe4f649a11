"""The wheel, as a user gets it: built from this checkout, installed into a fresh venv, used from a project of its own.

Slow (about a minute per venv: the build fetches its requirements, the venvs their
dependencies, through pip's cache); ``-m "not wheel"`` skips it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_TAG = sysconfig.get_platform().replace("-", "_").replace(".", "_")

pytestmark = pytest.mark.wheel

PROJECT_TEST = '''
"""A user's test: the plugin's fixtures, a golden trace, the bundled SPMC."""


def test_demo(guest_image, spmc_image, run_guests, golden_trace):
    out = run_guests(guest_image("demo"), spmc_image=spmc_image, profile="xen")
    assert out.exit_code == 0
    out.check_tap()
    assert out.calls(name="FFA_VERSION")[0].result_text == "1.2"
    golden_trace(out, cycles=False)
'''


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{shlex.join(argv)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def clean_env() -> dict[str, str]:
    """The environment without anything pointing back at this checkout or its SPMC."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FFA_EMU_SPMC", "FFA_EMU_PURE_PYTHON",
                                                            "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, clean_env) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)], dist, clean_env)
    (built,) = dist.glob("*.whl")
    return built


NEWEST_PYTHON = "python3.13"  # the newest CPython the package is tested on, beside the one running the suite


def _newest_python() -> str | None:
    """``$FFA_EMU_NEWEST_PYTHON``, else python3.13 on PATH, else pyenv's 3.13 (its shim runs only when selected)."""
    candidates = [os.environ.get("FFA_EMU_NEWEST_PYTHON"), shutil.which(NEWEST_PYTHON)]
    if shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(str(p) for p in Path(root).glob(f"versions/3.13*/bin/{NEWEST_PYTHON}"))[::-1]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module", params=["oldest", "newest"])
def venv(request, tmp_path_factory, wheel, clean_env) -> tuple[Path, str]:
    """A fresh venv outside the checkout with the wheel: on this Python with the oldest pytest the package
    supports, or on the newest Python with the newest pytest.  Returns the venv and its pytest major."""
    if request.param == "oldest":
        interpreter, pytest_spec, major = sys.executable, "pytest>=8,<9", "8"
    else:
        interpreter = _newest_python()
        if interpreter is None:
            pytest.skip(f"{NEWEST_PYTHON} is not installed (or name one in FFA_EMU_NEWEST_PYTHON)")
        pytest_spec, major = "pytest>=9", "9"
    home = tmp_path_factory.mktemp(f"venv-{request.param}")
    _run([interpreter, "-m", "venv", "--without-pip", str(home)], home, clean_env)  # this pip installs into it
    _run([sys.executable, "-m", "pip", "--python", str(home / "bin" / "python"), "install", "--quiet", str(wheel),
          pytest_spec], home, clean_env)
    return home, major


def test_the_wheel_is_platform_tagged_and_carries_its_native_parts(wheel) -> None:
    assert wheel.name.endswith(f"-py3-none-{PLATFORM_TAG}.whl"), wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert "emu/data/spmc.elf" in names and "emu/cpu/native/libcpuhooks.so" in names
    assert "emu/data/cost_model.toml" in names
    assert not [n for n in names if n.endswith((".c", ".S", ".h"))]


def test_a_project_of_its_own_runs_a_guest_through_the_cli_and_pytest(venv, guest_image, tmp_path, clean_env) -> None:
    venv, pytest_major = venv
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "images").mkdir()
    copy = f"import shutil, sys; shutil.copy({str(guest_image('ffa_demo'))!r}, 'images/' + sys.argv[1] + '.elf')"
    (project / "pytest.ini").write_text(
        f"[pytest]\nffa_emu_build = python -c {shlex.quote(copy)} {{name}}\nffa_emu_guests = images/{{name}}.elf\n")
    (project / "tests" / "test_demo.py").write_text(PROJECT_TEST)
    env = dict(clean_env, PATH=f"{venv / 'bin'}{os.pathsep}{clean_env.get('PATH', '')}")
    python = str(venv / "bin" / "python")

    where = _run([python, "-c", "import emu, pytest; print(emu.__file__, pytest.__version__)"], project, env)
    module, pytest_version = where.stdout.split()
    assert Path(module).is_relative_to(venv) and pytest_version.startswith(f"{pytest_major}.")

    assert _run(["ffa-emu", "--version"], project, env).stdout.startswith("ffa-emu ")
    run = _run(["ffa-emu", "run", "--trace", "-", str(guest_image("ffa_demo"))], project, env)
    assert "vm1| # all 7 tests passed" in run.stdout
    assert "el2   \\_ el2->spmc FFA_VERSION" in run.stderr  # the bundled SPMC booted
    assert "(main.c:" in run.stderr and "slow pure-Python" not in run.stderr  # DWARF sites, the native helper

    first = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--update-golden"], project, env)
    assert "1 passed" in first.stdout
    golden = project / "tests" / "golden" / "test_demo.trace"
    assert "vm1 hvc FFA_VERSION(1.2) = 1.2" in golden.read_text()
    assert "1 passed" in _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env).stdout

    golden.write_text(golden.read_text().replace("= 1.2", "= 1.1", 1))
    changed = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env,
                             capture_output=True, text=True, timeout=600)
    assert changed.returncode == 1 and "trace differs from golden" in changed.stdout
