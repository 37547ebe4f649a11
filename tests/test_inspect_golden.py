"""Golden traces of project guests, and the plugin's golden/TAP machinery (through pytester).

After an intended change of behaviour, regenerate the files with
``pytest tests/test_inspect_golden.py --update-golden`` and review the diff.
"""

from __future__ import annotations

import pytest

from emu.trace.golden import compare_golden, golden_name

pytest_plugins = ["pytester"]


def test_golden_smccc(guest_image, spmc_image, run_guests, golden_trace, subtests) -> None:
    """Every SMCCC/PSCI answer and every cycle stamp, exactly."""
    out = run_guests(guest_image("smccc"), spmc_image=spmc_image)
    out.check_tap(subtests)
    golden_trace(out)


@pytest.mark.parametrize("profile", ["pkvm", "xen"])
def test_golden_ffa_demo(profile, guest_image, spmc_image, run_guests, golden_trace) -> None:
    """What the demo calls under each profile and what the mediator answers and forwards (no cycles)."""
    out = run_guests(guest_image("ffa_demo"), spmc_image=spmc_image, profile=profile)
    assert out.exit_code == 0
    golden_trace(out, cycles=False)


def test_golden_name_is_a_plain_file_stem() -> None:
    assert golden_name("test_x[pkvm-1.1]") == "test_x-pkvm-1.1"
    assert golden_name("test_y[a/b c]") == "test_y-a_b_c"


def test_compare_reports_the_first_differing_lines(tmp_path) -> None:
    path = tmp_path / "g.trace"
    lines = [f"vm1 hvc CALL_{i}() = {i}" for i in range(40)]
    path.write_text("\n".join(lines) + "\n")
    assert compare_golden(path, path.read_text()) is None
    changed = list(lines)
    changed[20] = "vm1 hvc CALL_20() = NOT_SUPPORTED"
    message = compare_golden(path, "\n".join(changed) + "\n")
    assert message.splitlines()[0].startswith(f"trace differs from golden {path} from line 21 on")
    assert "-vm1 hvc CALL_20() = 20" in message and "+vm1 hvc CALL_20() = NOT_SUPPORTED" in message
    assert "CALL_5()" not in message  # only the context of the difference
    assert "--update-golden" in message


PLUGIN_TEST = '''
from types import SimpleNamespace
from emu.outcome import Outcome
from emu.tap import parse_tap
from emu.trace.records import TraceRecord

def outcome(result_text, tap="1..2\\\\nok 1 - first\\\\nok 2 - second\\\\n"):
    rec = TraceRecord(1, "vm1", "call", "hvc", 0, 0x84000063, "FFA_VERSION", [0x10002], [0x10002], 100, 462,
                      args_text="1.2", result_text=result_text)
    vm = SimpleNamespace(name="vm1", tap=parse_tap(tap), console=tap)
    return Outcome(SimpleNamespace(vms=[vm], trace=SimpleNamespace(records=[rec])), None)

def test_trace(golden_trace):
    golden_trace(outcome(RESULT))

def test_tap(subtests):
    outcome("1.2", TAP).check_tap(subtests)
'''


def _plugin_test(pytester, result: str, tap: str = "1..2\\nok 1 - first\\nok 2 - second\\n") -> None:
    source = PLUGIN_TEST.replace("RESULT", repr(result)).replace("TAP", repr(tap))
    pytester.makepyfile(test_plugin=source)


def test_update_golden_writes_then_a_change_fails_with_a_diff(pytester) -> None:
    _plugin_test(pytester, "1.2")
    missing = pytester.runpytest("-k", "test_trace")
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*no golden trace*golden/test_trace.trace*--update-golden*"])
    pytester.runpytest("-k", "test_trace", "--update-golden").assert_outcomes(passed=1)
    golden = pytester.path / "golden" / "test_trace.trace"
    assert golden.read_text() == "[       100] vm1 hvc FFA_VERSION(1.2) = 1.2 <+362>\n"
    pytester.runpytest("-k", "test_trace").assert_outcomes(passed=1)
    _plugin_test(pytester, "NOT_SUPPORTED")
    changed = pytester.runpytest("-k", "test_trace")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(["*-*vm1 hvc FFA_VERSION(1.2) = 1.2 <+362>",
                                  "*+*vm1 hvc FFA_VERSION(1.2) = NOT_SUPPORTED <+362>"])


def test_check_tap_reports_each_guest_test(pytester) -> None:
    _plugin_test(pytester, "1.2", "1..3\nok 1 - first\nnot ok 2 - second\nok 3 - third\n")
    result = pytester.runpytest("-k", "test_tap", "-v")
    result.stdout.fnmatch_lines(["*::test_tap SUBPASSED?vm1 1 - first?*", "*::test_tap SUBFAILED?vm1 2 - second?*",
                                 "*::test_tap SUBPASSED?vm1 3 - third?*", "*::test_tap SUBPASSED?vm1 plan?*",
                                 "*::test_tap FAILED*"])
    _plugin_test(pytester, "1.2", "1..3\nok 1 - first\n")
    short = pytester.runpytest("-k", "test_tap", "-v")
    short.stdout.fnmatch_lines(["*SUBFAILED?vm1 plan?*", "*planned 3 results, printed 1*"])
