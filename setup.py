"""Build hooks for the wheel (the project's metadata is in pyproject.toml).

- ``build_ext`` compiles the cycle-accounting hook library (``emu/cpu/native``)
  for the host with zig cc, as ``emu/cpu/native/libcpuhooks.so``: the wheel is
  platform-tagged (``py3-none-<platform>``: the library is loaded with ctypes
  and uses no Python ABI).  When it cannot be compiled the package still
  installs and runs on the slow pure-Python path, and says so.
- ``build_firmware`` compiles the SPMC stub firmware (``firmware/``) for
  AArch64 with zig cc into the package, as ``emu/data/spmc.elf``.

Both go into the source tree instead for an editable install.  The compiler
and flags live in ``tools/ffabuild.py``, which the Makefile uses too.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from setuptools import Command, Extension, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build import build
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))
import ffabuild  # noqa: E402 - found through the line above

NATIVE_NAME = "emu.cpu.native.libcpuhooks"
FIRMWARE = Path("emu") / "data" / "spmc.elf"


class BuildNative(build_ext):
    """The hook library is a plain shared library, built by ffabuild (zig cc), never fatal."""

    def get_ext_filename(self, fullname: str) -> str:
        return str(Path(*fullname.split("."))) + ".so"

    def build_extension(self, ext: Extension) -> None:
        out = Path(self.get_ext_fullpath(ext.name))
        try:
            ffabuild.build_native(out.resolve())
        except (ffabuild.BuildError, OSError) as exc:
            print(f"warning: the native cycle helper was not built; ffa-emu will use its pure-Python path "
                  f"({exc})", file=sys.stderr)


class BuildFirmware(Command):
    """Compile the SPMC stub firmware into the package (in place for an editable install)."""

    description = "build the SPMC stub firmware (AArch64) into emu/data"
    user_options: list = []

    def initialize_options(self) -> None:
        self.build_lib: str | None = None
        self.editable_mode = False

    def finalize_options(self) -> None:
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def _target(self) -> Path:
        return ROOT / FIRMWARE if self.editable_mode else Path(self.build_lib) / FIRMWARE

    def run(self) -> None:
        try:
            ffabuild.build_firmware(self._target().resolve())
        except ffabuild.BuildError as exc:
            raise SystemExit(f"error: {exc}") from None

    def get_source_files(self) -> list[str]:
        return [str(p) for p in ffabuild.firmware_sources()]

    def get_outputs(self) -> list[str]:
        return [str(self._target())]

    def get_output_mapping(self) -> dict[str, str]:
        return {}


class Build(build):
    sub_commands = build.sub_commands + [("build_firmware", None)]

    def run(self) -> None:
        shutil.rmtree(self.build_lib, ignore_errors=True)  # a wheel holds this build's files, never an older one's
        super().run()


class PlatformWheel(bdist_wheel):
    """``py3-none-<platform>``: the wheel holds a host library but no Python extension module."""

    def get_tag(self) -> tuple[str, str, str]:
        _python, _abi, platform = super().get_tag()
        return "py3", "none", platform


setup(
    options={"build": {"build_base": "build/setuptools"}},  # beside, not in, the Makefile's build/ outputs
    ext_modules=[Extension(NATIVE_NAME, [str(p) for p in ffabuild.native_sources()])],
    cmdclass={"build": Build, "build_ext": BuildNative, "build_firmware": BuildFirmware,
              "bdist_wheel": PlatformWheel},
)
