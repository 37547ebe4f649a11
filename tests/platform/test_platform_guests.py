"""The QEMU virt platform, seen by guests: MMU and exceptions, device tree, flash, counters,
semihosting, console input.  Each guest passed the same checks under qemu-system-aarch64
-M virt -cpu cortex-a72 when it was written; here it must pass them on this emulator."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from emu import cli
from emu.platform.boot import BootOptions
from emu.platform.fdt import parse_dtb, to_dtb
from emu.platform.virt_tree import VirtTreeParams, build_virt_tree

ROOT = Path(__file__).resolve().parents[2]


def passed(outcome) -> None:
    vm = outcome.result.vms[0]
    assert vm.state == "off", vm.exit_reason
    assert vm.tap.plan and not vm.tap.problems, vm.console


@pytest.mark.parametrize("name", ["mmu", "mmu_64k_39bit"])
def test_mmu_guest_handles_its_own_aborts(name, guest_image, run_guests) -> None:
    """48-bit (4K) and 39-bit (64K) VA with TTBR1 in use; data, prefetch, permission and access-flag
    aborts and an EL0 SVC all reach the guest's vectors with QEMU's ESR/FAR/ELR/SPSR."""
    out = run_guests(guest_image(name))
    passed(out)
    assert len(out.result.vms[0].tap.passed) >= 60


def test_mmu_16k_skips_on_a_core_without_16k_granule(guest_image, run_guests) -> None:
    """The Cortex-A72 reports no 16K granule (ID_AA64MMFR0_EL1.TGran16 = 0): the guest skips, as on QEMU."""
    out = run_guests(guest_image("mmu_16k"))
    assert out.result.vms[0].state == "off"
    assert "# SKIP 16K granule not supported" in out.result.vms[0].console


def test_dtb_from_x0_with_bootargs(guest_image, run_guests) -> None:
    out = run_guests(guest_image("dtb"), boot=BootOptions(bootargs="console=ttyAMA0 ffa=on"))
    passed(out)
    console = out.result.vms[0].console
    assert "blob at 0x40000000" in console  # linked at 0x40200000: the start of RAM is free, QEMU puts it there
    assert "/memory@40000000 reg: base=0x40000000 size=0x8000000 (128 MiB)" in console
    assert '/chosen bootargs: "console=ttyAMA0 ffa=on"' in console


def test_user_dtb_is_fixed_up_as_qemu_does(guest_image, run_guests, tmp_path) -> None:
    """A user blob keeps its nodes but gets the machine's memory node and /chosen/bootargs."""
    tree = build_virt_tree(VirtTreeParams(0x4000_0000, 1 << 30, bootargs="stale"))
    tree.child("my-device@1234").set_str("compatible", "example,thing")
    out = run_guests(guest_image("dtb"), ram_size=64 << 20,
                     boot=BootOptions(dtb=to_dtb(tree), bootargs="fresh"))
    console = out.result.vms[0].console
    assert "size=0x4000000 (64 MiB)" in console
    assert '/chosen bootargs: "fresh"' in console
    blob = out.machine.vms[0].read_ipa(0x4000_0000, 0x1000)
    size = int.from_bytes(blob[4:8], "big")
    fixed = parse_dtb(out.machine.vms[0].read_ipa(0x4000_0000, size))
    assert fixed.find("/my-device@1234") is not None


def test_dtb_of_an_image_at_ram_start_is_in_flash(guest_image, run_guests) -> None:
    """QEMU leaves the DTB at address 0 (flash bank 0) when the ELF covers the start of RAM."""
    machine = run_guests(guest_image("hello")).machine
    assert machine.vms[0].dtb_address == 0
    assert machine.vms[0].pflash.chunk(0)[1][:4].tobytes() == b"\xd0\x0d\xfe\xed"


def test_flash_banks_read_zero_or_the_given_file(guest_image, run_guests, tmp_path) -> None:
    passed(run_guests(guest_image("flash")))
    bank0, bank1 = tmp_path / "bank0.bin", tmp_path / "bank1.bin"
    bank0.write_bytes(b"")
    bank1.write_bytes(b"FFA-EMU-FLASH-01" + bytes(64))
    out = run_guests(guest_image("flash"), boot=BootOptions(pflash=[bank0, bank1]))
    assert "flash1 first16 text: FFA-EMU-FLASH-01" in out.result.vms[0].console


def counter_line(console: str) -> str:
    return next(line for line in console.splitlines() if line.startswith("counters:"))


def test_counters_are_deterministic_across_runs(guest_image, run_guests) -> None:
    runs = [run_guests(guest_image("counters")) for _ in range(2)]
    for out in runs:
        passed(out)
    line = counter_line(runs[0].result.vms[0].console)
    assert line == counter_line(runs[1].result.vms[0].console)
    values = dict(re.findall(r"(\w+)=(0x[0-9a-f]+)", line))
    assert int(values["frq"], 16) == 62_500_000
    assert int(values["vct0"], 16) < int(values["vct1"], 16) <= int(values["pct"], 16)


def test_counters_follow_the_cycle_clock(guest_image, run_guests) -> None:
    """The counter is the cycle clock at 62.5 MHz for a 2 GHz core: one tick per 32 cycles."""
    out = run_guests(guest_image("counters"))
    values = dict(re.findall(r"(\w+)=(0x[0-9a-f]+)", counter_line(out.result.vms[0].console)))
    assert int(values["pct"], 16) <= out.result.cycles // 32


@pytest.mark.parametrize("name, status", [("semihosting_exit0", 0), ("semihosting_exit1", 1),
                                          ("semihosting_sys_exit", 2)])
def test_semihosting_exit_is_the_exit_code(name, status, guest_image, capsys) -> None:
    assert cli.main(["run", str(guest_image(name))]) == status
    out = capsys.readouterr().out
    assert f"{name}: hello through SYS_WRITE to :tt" in out


def test_console_input_is_echoed(guest_image) -> None:
    proc = subprocess.run([sys.executable, "-m", "emu", "run", "-q", "--expect", "got: hello",
                           str(guest_image("console_echo"))],
                          input=b"hello\n", capture_output=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr.decode()


def test_console_expect_and_fail_on(guest_image, capsys) -> None:
    hello = str(guest_image("hello"))
    assert cli.main(["run", "-q", "--expect", "no such line", hello]) == 1
    assert "--expect" in capsys.readouterr().err
    assert cli.main(["run", "-q", "--fail-on", "SMCCC version", hello]) == 1
    assert cli.main(["run", "-q", "--expect", "SMCCC version", hello]) == 0


def test_dtb_command_writes_dts_and_dtb(tmp_path, capsys) -> None:
    assert cli.main(["dtb", "--profile", "pkvm"]) == 0
    dts = capsys.readouterr().out
    assert 'method = "smc";' in dts and "arm,gic-v3" in dts and "cfi-flash" in dts
    out = tmp_path / "virt.dtb"
    assert cli.main(["dtb", "-o", str(out), "--append", "quiet"]) == 0
    tree = parse_dtb(out.read_bytes())
    assert tree.find("/chosen").strs("bootargs") == ["quiet"]


def test_bad_dtb_is_one_line_error(guest_image, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.dtb"
    bad.write_bytes(b"\xd0\x0d\xfe\xed" + bytes(60))
    assert cli.main(["run", "--dtb", str(bad), str(guest_image("hello"))]) == 2
    err = capsys.readouterr().err
    assert "not a valid device tree blob" in err and err.count("\n") == 1
