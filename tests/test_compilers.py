"""One guest, two compilers: the zig cc build (make's) and a clang or GCC build pass the same golden trace.

Compared without calling sites and cycle stamps (another compiler lays the
code out differently), calls, arguments and results must not change.
Debian's ``clang`` (with ``lld``) targets ``aarch64-none-elf`` as it is;
``aarch64-linux-gnu-gcc`` comes with ``gcc-aarch64-linux-gnu``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUEST = "ffa_direct"
COMMON = ["-O2", "-g", "-ffreestanding", "-nostdlib", "-fno-builtin", "-mgeneral-regs-only", "-mstrict-align",
          "-fno-unwind-tables", "-fno-asynchronous-unwind-tables", "-fno-stack-protector", "-Wall",
          "-Ibuild/include", "-Iguests/lib", "-T", "guests/lib/link.ld"]
CROSS = {
    "clang": (["clang", "--target=aarch64-none-elf", "-mcpu=cortex-a72", "-fuse-ld=lld"], ["clang", "ld.lld"],
              "clang or lld is not installed (Debian: apt-get install clang lld)"),
    "gcc": (["aarch64-linux-gnu-gcc", "-mcpu=cortex-a72", "-static"], ["aarch64-linux-gnu-gcc"],
            "aarch64-linux-gnu-gcc is not installed (Debian: apt-get install gcc-aarch64-linux-gnu)"),
}


def _sources() -> list[str]:
    lib = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "guests" / "lib").glob("*.[cS]"))
    return lib + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "guests" / GUEST).glob("*.c"))


@pytest.fixture
def image(request, guest_image, tmp_path) -> Path:
    """The guest as built by ``request.param``: zig (through make) or a cross compiler found on the host."""
    zig_build = guest_image(GUEST)  # also makes build/include/ffa_emu_abi.h
    if request.param == "zig":
        return zig_build
    compiler, tools, missing = CROSS[request.param]
    if not all(shutil.which(tool) for tool in tools):
        pytest.skip(missing)
    out = tmp_path / f"{GUEST}-{request.param}.elf"
    proc = subprocess.run(compiler + COMMON + _sources() + ["-o", str(out)], cwd=ROOT, capture_output=True, text=True)
    if "more than 30 operands in" in proc.stderr:
        pytest.skip("GCC allows 30 asm operands; guests/lib/smccc.h passes x0-x17 in and out (36)")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize("image", ["zig", "clang", "gcc"], indirect=True)
def test_one_golden_trace_for_every_compiler(image, spmc_image, run_guests, golden_trace) -> None:
    out = run_guests(image, spmc_image=spmc_image)
    assert out.exit_code == 0
    golden_trace(out, name=f"{GUEST}-any-compiler", cycles=False, sites=False)
