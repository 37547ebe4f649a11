"""The command line: ``ffa-emu run`` exit codes, summary, trace output and one-line errors."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emu import cli, stops
from emu.cpu.costmodel import INSTRUCTION_CLASSES, TRANSITIONS, load_cost_model
from emu.tap import parse_tap

SUMMARY = re.compile(r"instructions (\d+), cycles (\d+), traps (\d+)")
TEXT_LINE = re.compile(r"^\[ *(\d+)\] vm1 hvc SMCCC_VERSION\(\) = 1\.2 <\+(\d+)>")
REGISTER_KEYS = ("seq", "fid", "cycle_start", "cycle_end")


@pytest.fixture(scope="module")
def images(guest_image):
    return {name: guest_image(name) for name in ("hello", "smccc", "fault", "spin")}


def run_cli(argv: list[str]) -> int:
    """``cli.main`` as a process would end: argparse errors become their exit status."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return exc.code


def summary(stderr: str) -> tuple[int, int, int]:
    lines = [line for line in stderr.splitlines() if SUMMARY.search(line)]
    assert len(lines) == 1, stderr
    assert "instructions" in lines[0] and "cycles" in lines[0]
    instructions, cycles, traps = map(int, SUMMARY.search(lines[0]).groups())
    return instructions, cycles, traps


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("ffa-emu: ")
    return lines[0]


# -- run ----------------------------------------------------------------------------

def test_run_hello(images, capsys, run_guests, spmc_image) -> None:
    assert run_cli(["run", str(images["hello"])]) == 0
    out, err = capsys.readouterr()
    assert "vm1| Hello from an AArch64 guest at EL1\n" in out
    assert "vm1| SMCCC version 1.2\n" in out
    assert "vm1| PSCI version 1.1\n" in out
    instructions, cycles, traps = summary(err)
    assert "SYSTEM_OFF" in err
    ref = run_guests(images["hello"], spmc_image=spmc_image)  # the bundled SPMC is the default
    assert (instructions, cycles, traps) == (ref.result.instructions, ref.result.cycles, ref.result.traps)


def test_run_quiet(images, capsys) -> None:
    assert run_cli(["run", "-q", str(images["hello"])]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_run_two_images(images, capsys) -> None:
    assert run_cli(["run", str(images["hello"]), str(images["hello"])]) == 0
    out, err = capsys.readouterr()
    assert out.count("SMCCC version 1.2\n") == 2
    assert "vm1| Hello" in out and "vm2| Hello" in out
    assert summary(err)[2] == 6


def test_run_smccc_tap_passes(images, capsys) -> None:
    assert run_cli(["run", "-q", str(images["smccc"])]) == 0
    assert capsys.readouterr().err == ""


def test_trace_jsonl_file(images, tmp_path, capsys, run_guests) -> None:
    trace = tmp_path / "trace.jsonl"
    assert run_cli(["run", "-q", "--no-spmc", "--trace", str(trace), "--trace-format", "jsonl",
                    str(images["hello"])]) == 0
    lines = trace.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["name"] for r in records] == ["SMCCC_VERSION", "PSCI_VERSION", "PSCI_SYSTEM_OFF"]
    for rec in records:
        assert {"seq", "vm", "conduit", "fid", "name", "args", "results", "cycle_start", "cycle_end"} <= set(rec)
        for key in REGISTER_KEYS:
            assert type(rec[key]) is int, key
        assert all(type(v) is int for v in rec["args"] + rec["results"])
        assert rec["vm"] == "vm1" and rec["conduit"] == "hvc"
        assert rec["cycle_start"] < rec["cycle_end"]
    assert records[0]["fid"] == 0x8000_0000
    assert records[0]["results"] == [0x1_0002]
    assert [r["seq"] for r in records] == [1, 2, 3]
    # the file holds the same records an in-process run gives
    ref = run_guests(images["hello"])
    assert lines == [rec.to_json() for rec in ref.records]


def test_trace_text_to_stderr(images, capsys, run_guests) -> None:
    assert run_cli(["run", "--no-spmc", "--trace", "-", str(images["hello"])]) == 0
    err = capsys.readouterr().err
    matches = [TEXT_LINE.match(line) for line in err.splitlines()]
    matches = [m for m in matches if m]
    assert len(matches) == 1, err
    ref = run_guests(images["hello"]).calls("SMCCC_VERSION")[0]
    assert int(matches[0].group(1)) == ref.cycle_start
    assert int(matches[0].group(2)) == ref.cycle_end - ref.cycle_start
    assert re.search(r"^\[ *\d+\] vm1 hvc PSCI_SYSTEM_OFF\(\)", err, re.M)
    summary(err)


# -- the SPMC: bundled by default, $FFA_EMU_SPMC, --spmc, --no-spmc ------------------------------

def _boot_hops(capsys, *argv: str) -> int:
    capsys.readouterr()
    assert run_cli(["run", "-q", "--trace", "-", *argv]) == 0
    return capsys.readouterr().err.count("el2   \\_ el2->spmc")


def test_the_bundled_spmc_is_the_default(images, capsys, monkeypatch) -> None:
    monkeypatch.delenv("FFA_EMU_SPMC", raising=False)
    assert _boot_hops(capsys, str(images["hello"])) > 0  # the mediator's boot traffic with the secure world
    assert _boot_hops(capsys, "--no-spmc", str(images["hello"])) == 0


def test_spmc_from_the_environment_and_the_option(images, capsys, monkeypatch, tmp_path) -> None:
    missing = tmp_path / "other-spmc.elf"
    monkeypatch.setenv("FFA_EMU_SPMC", str(missing))
    assert run_cli(["run", "-q", str(images["hello"])]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert str(missing) in line and "no such file" in line
    assert run_cli(["run", "-q", "--spmc", str(missing.with_name("x.elf")), str(images["hello"])]) == 2
    assert "x.elf: no such file" in one_line_error(capsys.readouterr().err)  # --spmc wins over the environment
    assert _boot_hops(capsys, "--no-spmc", str(images["hello"])) == 0


def test_a_missing_bundled_spmc_says_what_to_do(images, capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("FFA_EMU_SPMC", raising=False)
    monkeypatch.setattr("emu.secure.firmware.BUNDLED", tmp_path / "spmc.elf")
    assert run_cli(["run", "-q", str(images["hello"])]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert "bundled SPMC firmware" in line and "--no-spmc" in line


def test_spmc_and_no_spmc_exclude_each_other(images, capsys) -> None:
    assert run_cli(["run", "--no-spmc", "--spmc", "x.elf", str(images["hello"])]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_trace_file_unwritable(images, tmp_path, capsys) -> None:
    target = tmp_path / "no-such-dir" / "trace.txt"
    assert run_cli(["run", "--trace", str(target), str(images["hello"])]) == 2
    assert "cannot write trace file" in one_line_error(capsys.readouterr().err)


# -- stops ------------------------------------------------------------------------

def test_fault_exit_3(images, capsys) -> None:
    assert run_cli(["run", str(images["fault"])]) == 3
    out, err = capsys.readouterr()
    assert "vm1| fault: reading 0x20000000" in out
    fault_lines = [line for line in err.splitlines() if "guest fault" in line]
    assert len(fault_lines) == 1, err
    line = fault_lines[0]
    assert "pc 0x" in line
    assert "<main+0x" in line  # the symbol
    assert re.search(r">: ldr \w+, \[", line), line  # the instruction text
    assert "0x20000000" in line and "unmapped" in line


def test_runaway_exit_3(images, capsys) -> None:
    assert run_cli(["run", "--max-cycles", "100000", str(images["spin"])]) == 3
    err = capsys.readouterr().err
    assert re.search(r"^ffa-emu: vm1: runaway guest: .*100000", err, re.M), err
    assert summary(err)[1] >= 100_000


def test_runaway_says_where_and_the_last_call(images, capsys, run_guests) -> None:
    first = run_guests(images["hello"], spmc_image=None).calls()[0]  # SMCCC_VERSION, then the guest prints
    limit = first.cycle_end + 50
    assert run_cli(["run", "-q", "--no-spmc", "--max-cycles", str(limit), str(images["hello"])]) == 3
    line = one_line_error(capsys.readouterr().err)
    assert re.search(r"runaway guest: .* at pc 0x[0-9a-f]+ <\w+(\+0x[0-9a-f]+)? \(\w+\.c:\d+\)>", line), line
    assert line.endswith(f"; last call #1 SMCCC_VERSION() = 1.2 @ {first.site}")


def test_hung_guest_says_where(guest_image, capsys) -> None:
    assert run_cli(["run", "-q", "--no-spmc", str(guest_image("bad_wfi"))]) == 3
    line = one_line_error(capsys.readouterr().err)
    assert re.search(r"guest hung: .*WFI.*, at pc 0x[0-9a-f]+ <main\+0x[0-9a-f]+>; no call made$", line), line


def test_runaway_quiet_still_reports(images, capsys) -> None:
    assert run_cli(["run", "-q", "--max-cycles", "0x10000", str(images["spin"])]) == 3
    assert "runaway" in one_line_error(capsys.readouterr().err)


# -- bad input: exit 2, one line, no traceback ---------------------------------------------

def test_missing_file(tmp_path, capsys) -> None:
    path = tmp_path / "absent.elf"
    assert run_cli(["run", str(path)]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert str(path) in line and "no such file" in line


def test_not_elf(tmp_path, capsys) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not an image\n")
    assert run_cli(["run", str(path)]) == 2
    assert "neither an ELF nor an arm64 Linux Image" in one_line_error(capsys.readouterr().err)


def test_directory(tmp_path, capsys) -> None:
    assert run_cli(["run", str(tmp_path)]) == 2
    assert "is a directory" in one_line_error(capsys.readouterr().err)


def test_ram_size_not_multiple_of_2m(images, capsys) -> None:
    assert run_cli(["run", "--ram-size", "3M", str(images["hello"])]) == 2
    captured = capsys.readouterr()
    assert "2M" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""


@pytest.mark.parametrize("option", ["--max-cycles", "--quantum"])
def test_non_positive_limits(option, images, capsys) -> None:
    assert run_cli(["run", option, "0", str(images["hello"])]) == 2
    assert "must be positive" in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize("argv, says", [
    (["run", "--spmc-version", "9.9", "HELLO"], "the SPMC stub implements FF-A 1.0, 1.1, 1.2, not '9.9'"),
    (["run", "--spmc-version", "1", "HELLO"], "expected a version such as"),
    (["run", "--max-cycles", "many", "HELLO"], "--max-cycles: not an integer: 'many'"),
    (["run", "--profile", "kvm", "HELLO"], "unknown profile 'kvm' (one of spec, pkvm, xen"),
    (["run", "--trace-format", "perfetto", "HELLO"], "--trace-format perfetto: give the trace a destination"),
    (["run", "--gdb", "70000", "HELLO"], "--gdb 70000: not a TCP port"),
    (["run", "--bogus", "HELLO"], "unrecognized arguments: --bogus"),
    (["diff", "--profile", "spec", "--profile", "xen", "--spmc-version", "2.0", "HELLO"], "not '2.0'"),
    (["trace"], "the following arguments are required: FILE.jsonl"),
])
def test_bad_option_values_are_one_line_exit_2(argv, says, images, capsys) -> None:
    argv = [str(images["hello"]) if a == "HELLO" else a for a in argv]
    assert run_cli(argv) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "Traceback" not in line and says in line, line
    assert line.startswith("ffa-emu")


def test_version() -> None:
    from importlib.metadata import version

    proc = subprocess.run([sys.executable, "-m", "emu", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == f"ffa-emu {version('ffa-emu')}\n"


def test_no_image(capsys) -> None:
    assert run_cli(["run"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_bad_cost_model(images, tmp_path, capsys) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[instruction]\nalu = -1\n")
    assert run_cli(["run", "--cost-model", str(path), str(images["hello"])]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert str(path) in line


# -- options that change counts -------------------------------------------------------

def model_file(tmp_path: Path, **instruction: int) -> Path:
    default = load_cost_model()
    costs = {**default.instruction, **instruction}
    text = "[instruction]\n" + "".join(f"{k} = {costs[k]}\n" for k in INSTRUCTION_CLASSES)
    text += "[transition]\n" + "".join(f"{k} = {default.transition[k]}\n" for k in TRANSITIONS)
    path = tmp_path / "model.toml"
    path.write_text(text)
    return path


def test_cost_model_option(images, tmp_path, capsys) -> None:
    assert run_cli(["run", str(images["hello"])]) == 0
    base = summary(capsys.readouterr().err)
    assert run_cli(["run", "--cost-model", str(model_file(tmp_path, alu=2)), str(images["hello"])]) == 0
    alu2 = summary(capsys.readouterr().err)
    assert alu2[0] == base[0]  # instructions
    assert alu2[1] > base[1]  # cycles
    assert alu2[2] == base[2]  # traps


def test_pure_python_same_counts(images, capsys) -> None:
    assert run_cli(["run", str(images["smccc"])]) == 0
    default = summary(capsys.readouterr().err)
    assert run_cli(["run", "--pure-python", str(images["smccc"])]) == 0
    assert summary(capsys.readouterr().err) == default


# -- exit_code ---------------------------------------------------------------------

@pytest.fixture
def hello_result(images, run_guests):
    return run_guests(images["hello"]).result


def with_vms(result, *vms):
    return dataclasses.replace(result, vms=list(vms))


def test_exit_code_clean(hello_result) -> None:
    assert stops.exit_code(hello_result) == stops.EXIT_OK == 0


def test_exit_code_tap_failure(hello_result) -> None:
    vm = hello_result.vms[0]
    failed = dataclasses.replace(vm, tap=parse_tap("1..2\nok 1 - fine\nnot ok 2 - broken\n"))
    assert stops.exit_code(with_vms(hello_result, failed)) == stops.EXIT_TAP_FAILED == 1
    short = dataclasses.replace(vm, tap=parse_tap("1..3\nok 1\nok 2\n"))  # fewer results than planned
    assert stops.exit_code(with_vms(hello_result, short)) == 1
    passed = dataclasses.replace(vm, tap=parse_tap("1..2\nok 1\nok 2\n"))
    assert stops.exit_code(with_vms(hello_result, passed)) == 0


@pytest.mark.parametrize("state", ["fault", "runaway", "idle", "running"])
def test_exit_code_stopped_vm(hello_result, state) -> None:
    vm = hello_result.vms[0]
    stopped = dataclasses.replace(vm, state=state)
    assert stops.exit_code(with_vms(hello_result, stopped)) == stops.EXIT_FAULT == 3
    # a fault wins over a TAP failure, and over another VM that passed
    failed = dataclasses.replace(stopped, tap=parse_tap("1..1\nnot ok 1\n"))
    assert stops.exit_code(with_vms(hello_result, vm, failed)) == 3


def test_exit_code_tap_failure_in_second_vm(hello_result) -> None:
    vm = hello_result.vms[0]
    failed = dataclasses.replace(vm, name="vm2", tap=parse_tap("1..1\nnot ok 1 - x\n"))
    assert stops.exit_code(with_vms(hello_result, vm, failed)) == 1


def test_report_prints_tap_problems(hello_result, capsys) -> None:
    vm = hello_result.vms[0]
    failed = dataclasses.replace(vm, tap=parse_tap("1..2\nok 1\nnot ok 2 - broken thing\n"))
    assert cli.report(with_vms(hello_result, failed), quiet=True) == 1
    assert "ffa-emu: vm1: not ok 2 - broken thing" in capsys.readouterr().err


# -- the programs ------------------------------------------------------------------

def test_python_m_emu_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "emu", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "usage: ffa-emu" in proc.stdout and "run" in proc.stdout


def test_python_m_emu_run_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "emu", "run", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    for option in ("--trace", "--trace-format", "--max-cycles", "--cost-model", "--ram-size", "--pure-python"):
        assert option in proc.stdout


def test_ffa_emu_script_help() -> None:
    script = Path(sys.executable).parent / "ffa-emu"
    if not script.exists():
        pytest.skip(f"the ffa-emu console script is not installed next to {sys.executable}")
    proc = subprocess.run([str(script), "run", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "usage: ffa-emu run" in proc.stdout


def test_python_m_emu_bad_image_exit_2(tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "emu", "run", str(tmp_path / "absent.elf")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no such file" in proc.stderr


def test_python_m_emu_no_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "emu"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
