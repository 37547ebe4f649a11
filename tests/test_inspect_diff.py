"""``ffa-emu diff``: the same guest under two profiles, call by call."""

from __future__ import annotations

from types import SimpleNamespace

from emu.cli import main
from emu.trace.diff import diff_calls, render_diff
from emu.tap import parse_tap
from emu.trace.records import HOP_CALL, TraceRecord


def _call(seq: int, name: str, results: list[int], args: list[int] | None = None) -> TraceRecord:
    return TraceRecord(seq, "vm1", HOP_CALL, "hvc", 0, 0x84000063, name, args or [], results, 0, 1)


def test_alignment_survives_a_call_made_under_one_profile_only() -> None:
    a = [_call(1, "FFA_VERSION", [0x10002]), _call(2, "FFA_ID_GET", [0x84000061, 0, 1]),
         _call(3, "FFA_FEATURES", [0x84000061])]
    b = [_call(1, "FFA_VERSION", [0x10002]), _call(2, "FFA_FEATURES", [0x84000060, 0, 0xFFFFFFFF])]
    diffs = diff_calls(a, b)
    assert [(d.a and d.a.name, d.b and d.b.name) for d in diffs] == [
        ("FFA_ID_GET", None), ("FFA_FEATURES", "FFA_FEATURES")]
    assert diff_calls(a, a) == []
    assert len(diff_calls([_call(1, "X", [0], [1])], [_call(1, "X", [0], [2])])) == 1  # arguments count too


def test_pkvm_and_xen_differ_on_the_demo(guest_image, spmc_image, capsys) -> None:
    rc = main(["diff", "--spmc", str(spmc_image), "--profile", "pkvm", "--profile", "xen",
               str(guest_image("ffa_demo"))])
    out = capsys.readouterr().out
    assert rc == 1
    assert out.splitlines()[0].startswith("pkvm vs xen: ") and " difference(s) in " in out
    block = out.split("vm1 FFA_FN64_MSG_SEND_DIRECT_REQ2")[1].splitlines()
    assert block[1].lstrip().startswith("pkvm  #") and "FFA_ERROR(NOT_SUPPORTED)" in block[1]
    assert block[2].lstrip().startswith("xen   #") and "DIRECT_RESP2" in block[2]
    assert "FFA_VERSION" not in out  # both profiles negotiate the demo's version alike


def test_same_profile_twice_is_identical_exit_0(guest_image, spmc_image, capsys) -> None:
    assert main(["diff", "--spmc", str(spmc_image), "--profile", "xen", "--profile", "xen",
                 str(guest_image("ffa_demo"))]) == 0
    assert capsys.readouterr().out == "xen vs xen: 0 difference(s) in 9 call(s)\n"


def _run(records: list[TraceRecord], exit_reason: str, tap: str) -> SimpleNamespace:
    vm = SimpleNamespace(name="vm1", state="off", exit_reason=exit_reason, tap=parse_tap(tap))
    return SimpleNamespace(vms=[vm], trace=SimpleNamespace(records=records))


def test_report_shows_raw_registers_when_texts_agree_and_different_ends() -> None:
    a = _call(1, "FFA_VERSION", [0xFFFFFFFE])
    b = _call(1, "FFA_VERSION", [0xFFFFFFFFFFFFFFFE])
    a.result_text = b.result_text = "ERROR"
    text, differs = render_diff(("spec", "pkvm"), (_run([a], "SYSTEM_OFF", "1..1\nok 1 - x\n"),
                                                   _run([b], "SYSTEM_OFF", "1..1\nnot ok 1 - x\n")))
    assert differs
    assert text.splitlines() == [
        "spec vs pkvm: 2 difference(s) in 1 call(s)",
        "vm1 FFA_VERSION",
        "  spec  #1 FFA_VERSION() = ERROR  args [] results [0xfffffffe]",
        "  pkvm  #1 FFA_VERSION() = ERROR  args [] results [0xfffffffffffffffe]",
        "vm1 ended",
        "  spec  SYSTEM_OFF, TAP 1 ok / 0 not ok",
        "  pkvm  SYSTEM_OFF, TAP 0 ok / 1 not ok",
    ]


def test_diff_needs_two_profiles(guest_image, capsys) -> None:
    assert main(["diff", "--profile", "xen", str(guest_image("hello"))]) == 2
    assert "give --profile twice" in capsys.readouterr().err


def test_diff_refuses_to_compare_without_a_secure_world(guest_image, capsys) -> None:
    assert main(["diff", "--no-spmc", "--profile", "spec", "--profile", "pkvm", str(guest_image("ffa_demo"))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs a secure world" in err
