"""Profiles by release (pkvm@v6.17, xen@4.21) and from a user's own Python file (--profile path/to/myhyp.py)."""

from __future__ import annotations

import pytest

from emu import cli
from emu.ffa import constants as ffa
from emu.ffa.profile_loader import ProfileError, load_profile
from emu.ffa.profiles import PKVM, PROFILES, XEN
from emu.harness import TX_IPA, Harness
from emu.machine import MachineConfig
from emu.platform.elf import load_elf
from emu.platform.memory_map import PAGE_SIZE
from emu.vm import VmSpec
from ffa_helpers import run_ok

VARIANTS = ("pkvm@v6.17", "xen@4.21")
# Every FF-A guest whose TAP holds under any mediator: the variants must keep them passing.
GUESTS = ("ffa_before_version", "ffa_version", "ffa_features", "ffa_rxtx", "ffa_partinfo", "ffa_partinfo_v10",
          "ffa_direct", "ffa_console", "ffa_mem_share", "ffa_mem_scatter", "ffa_mem_errors", "ffa_demo")
MYHYP = """\
from dataclasses import replace

from emu.ffa.profiles import PROFILES

PROFILE = replace(PROFILES["xen"], name="myhyp", release="myhyp 0.3", rxtx_max_pages=2)
"""


@pytest.mark.parametrize("profile", VARIANTS)
@pytest.mark.parametrize("guest", GUESTS)
def test_guests_pass_under_release_variants(guest_image, spmc_image, run_guests, guest: str, profile: str) -> None:
    run_ok(run_guests, guest_image, spmc_image, guest, profile=profile)


def test_variants_name_their_release() -> None:
    assert (PROFILES["pkvm"].release, PROFILES["pkvm@v6.17"].release) == ("Linux v6.18", "Linux v6.17")
    assert (PROFILES["xen"].release, PROFILES["xen@4.21"].release) == ("Xen 4.23-unstable (master c447b7308b)", "Xen 4.21.0")
    assert load_profile("pkvm") is PKVM and load_profile("xen") is XEN


def test_diff_shows_what_a_patch_changed(guest_image, spmc_image, capsys) -> None:
    """pKVM v6.18's "Correct return value on host version downgrade attempt": a lower minor after the lock."""
    code = cli.main(["diff", "--spmc", str(spmc_image), "--profile", "pkvm@v6.17", "--profile", "pkvm",
                     str(guest_image("ffa_version"))])
    out = capsys.readouterr().out
    assert code == cli.EXIT_DIFFERENT
    assert "pkvm@v6.17  #5 FFA_VERSION(1.1) = 1.1" in out and "pkvm        #5 FFA_VERSION(1.1) = NOT_SUPPORTED" in out


@pytest.fixture
def myhyp(tmp_path):
    path = tmp_path / "myhyp.py"
    path.write_text(MYHYP)
    return path


def test_a_profile_file(myhyp, guest_image, spmc_image) -> None:
    profile = load_profile(str(myhyp))
    assert (profile.name, profile.release, profile.rxtx_max_pages) == ("myhyp", "myhyp 0.3", 2)
    h = Harness(MachineConfig(vms=[VmSpec(load_elf(guest_image("hello")), vm_id=1, endpoint_id=1)],
                              profile=str(myhyp), spmc_image=load_elf(spmc_image), check=True))
    h.call(0, ffa.FFA_VERSION, ffa.VERSION_1_2)
    two_pages = h.call(0, ffa.FFA_FN64_RXTX_MAP, TX_IPA, TX_IPA + 2 * PAGE_SIZE, 2)
    assert two_pages[0] == ffa.FFA_SUCCESS  # more than Xen's one page
    assert not h.machine.checker.violations


def test_a_profile_file_on_the_command_line(myhyp, guest_image, spmc_image, capsys) -> None:
    code = cli.main(["diff", "--spmc", str(spmc_image), "--profile", "xen", "--profile", str(myhyp),
                     str(guest_image("ffa_rxtx"))])
    out = capsys.readouterr().out
    assert code == cli.EXIT_DIFFERENT and "FFA_FN64_RXTX_MAP" in out


@pytest.mark.parametrize("text, error", [
    ("PROFILE = 3\n", "defines no PROFILE"),
    ("import nothing_of_that_name\n", "ModuleNotFoundError"),
    ("PROFILE = (\n", "SyntaxError"),
])
def test_bad_profile_files(tmp_path, text: str, error: str) -> None:
    path = tmp_path / "bad.py"
    path.write_text(text)
    with pytest.raises(ProfileError, match=error):
        load_profile(str(path))


def test_unknown_profiles(tmp_path, guest_image, capsys) -> None:
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profile(str(tmp_path / "absent.py"))
    assert cli.main(["run", "--profile", "xen@4.1", str(guest_image("hello"))]) == cli.EXIT_USAGE
    assert "unknown profile 'xen@4.1'" in capsys.readouterr().err


def test_a_profile_file_in_a_scenario(myhyp, guest_image, spmc_image, capsys) -> None:
    """A scenario names the file relative to itself."""
    scenario = myhyp.parent / "s.toml"
    scenario.write_text(f'profile = "myhyp.py"\n[spmc]\nimage = "{spmc_image}"\n'
                        f'[[vm]]\nimage = "{guest_image("ffa_rxtx")}"\n')
    assert cli.main(["run", "--quiet", "--scenario", str(scenario)]) == cli.EXIT_OK, capsys.readouterr().err
