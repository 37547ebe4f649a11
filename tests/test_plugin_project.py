"""The pytest plugin from a project of its own (through pytester): images by path or by a build command,
the bundled SPMC, self-documenting fixtures, explained failures, TAP without subtests, golden flags."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from emu.trace.golden import golden_text
from emu.trace.records import BOOT_VM

pytest_plugins = ["pytester"]


def test_images_by_path_and_by_a_configured_build_command(pytester, guest_image) -> None:
    hello = guest_image("hello")
    copy = shlex.join([sys.executable, "-c", f"import shutil, sys; shutil.copy({str(hello)!r}, sys.argv[1])"])
    pytester.makeini(f"[pytest]\nffa_emu_build = {copy} out/{{name}}.elf\nffa_emu_guests = out/{{name}}.elf\n")
    (pytester.path / "out").mkdir()
    pytester.makepyfile(test_mine=f'''
from pathlib import Path

def test_by_name(guest_image, spmc_image, run_guests):
    image = guest_image("mine")
    assert image == Path("{pytester.path}") / "out" / "mine.elf" and image.read_bytes()
    out = run_guests(image, spmc_image=spmc_image)
    assert out.exit_code == 0 and "Hello from an AArch64 guest" in out.console()
    assert any(r.vm == "el2" for r in out.records)  # the bundled SPMC booted

def test_by_path(guest_image):
    assert guest_image("out/mine.elf") == guest_image(Path("out/mine.elf")) == guest_image("mine")
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_a_failing_build_command_and_a_missing_image_say_what_happened(pytester) -> None:
    fail = shlex.join([sys.executable, "-c", "import sys; print('no compiler here'); sys.exit(3)"])
    pytester.makeini(f"[pytest]\nffa_emu_build = {fail}\n")
    pytester.makepyfile(test_x="def test_x(guest_image):\n    guest_image('mine')\n\n"
                               "def test_y(guest_image):\n    guest_image('absent.elf')\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*building guest mine failed (*exit 3):*", "no compiler here",
                                 "*guest image */absent.elf not found*"])


def test_fixtures_document_themselves(pytester) -> None:
    short = pytester.runpytest("--fixtures", "-p", "no:cacheprovider").stdout.str()
    for fixture, first_line in (("guest_image", "guest_image(name_or_path) -> Path"),
                                ("spmc_image", "bundled with ffa-emu"), ("run_guests", "run to the end"),
                                ("golden_trace", "the trace must equal its file")):
        after = short.split(f"\n{fixture} ", 1)[1].splitlines()
        assert "emu/pytest_plugin.py" in after[0] and first_line in after[1], fixture
    full = pytester.runpytest("--fixtures", "-v", "-p", "no:cacheprovider").stdout.str()
    assert "ffa_emu_build = " in full and "sites=False" in full and "check_tap(subtests=None)" in full


def test_a_failed_run_explains_itself(pytester, guest_image) -> None:
    pytester.makepyfile(test_fault=f'''
def test_fault(run_guests):
    out = run_guests("{guest_image("fault")}")
    assert out.exit_code == 0
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*assert 3 == 0",
        "*exit code 3: a guest faulted, ran away or hung",
        "*vm1: guest fault: read of unmapped memory at 0x20000000, pc 0x* <main+0x* (main.c:*)>: ldr *",
        "*vm1 console, last * lines:",
        "*| fault: reading 0x20000000*",
    ])


def test_explain_names_the_failed_calls_and_tap(run_guests, guest_image) -> None:
    out = run_guests(guest_image("ffa_demo"))  # no secure world: FF-A calls fail, so do the guest's tests
    lines = out.explain().splitlines()
    first = out.errors()[0]
    assert lines[0] == "exit code 1: a guest reported a TAP failure"
    assert lines[1].startswith("vm1: SYSTEM_OFF; last call #") and "PSCI_SYSTEM_OFF()" in lines[1]
    assert f"vm1: not ok {out.tap().failed[0].number} - {out.tap().failed[0].name}" in lines
    assert any(line.startswith(f"vm1: failed call #{first.seq} {first.name}(") and "NOT_SUPPORTED" in line
               for line in lines)
    assert "vm1 console, last 8 lines:" in lines
    assert repr(out).startswith("<Outcome exit 1: vm1: not ok ")


def test_check_tap_without_subtests_lists_every_failure(pytester, guest_image) -> None:
    pytester.makepyfile(test_tap=f'''
def test_tap(run_guests):
    out = run_guests("{guest_image("ffa_demo")}")  # no secure world: the FF-A tests fail
    out.check_tap()
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*vm1 TAP failed: not ok *", "*exit code 1: a guest reported a TAP failure*"])


@pytest.fixture(scope="module")
def demo(guest_image, spmc_image):
    from emu.machine import Machine, MachineConfig
    from emu.platform.elf import load_elf
    from emu.vm import VmSpec

    machine = Machine(MachineConfig(vms=[VmSpec(load_elf(guest_image("ffa_demo")), 1, 1)],
                                    spmc_image=Path(spmc_image)))
    return machine.run().trace.records


def test_golden_text_leaves_out_sites_cycles_and_boot_traffic_on_request(demo) -> None:
    full = golden_text(demo, cycles=False).splitlines()
    assert golden_text(demo).splitlines()[0].startswith("[")
    assert any("@ main+0x" in line for line in full) and any(line.split()[0] == BOOT_VM for line in full)
    no_sites = golden_text(demo, cycles=False, sites=False).splitlines()
    assert len(no_sites) == len(full) and not any(" @ " in line for line in no_sites)
    assert [line.split("  @ ")[0] for line in full] == no_sites
    no_boot = golden_text(demo, cycles=False, boot=False).splitlines()
    assert no_boot and not any(line.startswith(BOOT_VM + " ") for line in no_boot)
    assert len(no_boot) == sum(r.vm != BOOT_VM for r in demo) and not no_boot[0].startswith("[")
