"""A finished run with the helpers tests assert with, and an explanation of what went wrong.

``Outcome`` wraps a ``RunResult``: calls and hops of the trace, consoles,
TAP reports, the exit code the command line would give, and ``explain()``:
the exit code's meaning, each stopped VM's stop (PC, symbol, source line,
last call), its last console lines, its TAP failures and its failed calls.
``exit_code`` is an ``ExitCode``, an int that knows its outcome, so the
pytest plugin can explain a failed ``assert out.exit_code == 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emu.machine import Machine, RunResult, VmOutcome
from emu.stops import EXIT_FAULT, EXIT_OK, EXIT_TAP_FAILED, describe_call, describe_stop, exit_code
from emu.tap import TapReport
from emu.trace.records import HOP_CALL, TraceRecord

CONSOLE_LINES = 8  # console lines an explanation shows per VM
FAILED_CALLS = 3  # failed calls an explanation shows per VM
_MEANINGS = {EXIT_OK: "every guest ended cleanly", EXIT_TAP_FAILED: "a guest reported a TAP failure",
             EXIT_FAULT: "a guest faulted, ran away or hung"}


class ExitCode(int):
    """The run's exit code (0, 1, 3 or a semihosting status), carrying the outcome that explains it."""

    outcome: Outcome

    def __new__(cls, value: int, outcome: Outcome) -> ExitCode:
        self = super().__new__(cls, value)
        self.outcome = outcome
        return self

    def __repr__(self) -> str:
        return int.__repr__(self)


@dataclass(repr=False)
class Outcome:
    """A finished run: ``result`` (the ``RunResult``) and the ``machine`` it ran on, for inspection."""

    result: RunResult
    machine: Machine | Any

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode(exit_code(self.result), self)

    def vm(self, name: str = "vm1") -> VmOutcome:
        return next(vm for vm in self.result.vms if vm.name == name)

    def console(self, vm: str = "vm1") -> str:
        return self.vm(vm).console

    def tap(self, vm: str = "vm1") -> TapReport:
        return self.vm(vm).tap

    @property
    def records(self) -> list[TraceRecord]:
        return self.result.trace.records

    def calls(self, name: str | None = None, vm: str | None = None) -> list[TraceRecord]:
        """Guest-visible calls, optionally of one function name and one VM."""
        return [r for r in self.records if r.hop == HOP_CALL and (name is None or r.name == name)
                and (vm is None or r.vm == vm)]

    def errors(self, vm: str | None = None) -> list[TraceRecord]:
        """Calls answered with an error."""
        return [r for r in self.calls(vm=vm) if r.error]

    def hops(self, seq: int) -> list[TraceRecord]:
        """Every hop of call ``seq``, in order."""
        return [r for r in self.records if r.seq == seq]

    def check_tap(self, subtests: Any = None, vm: str = "vm1") -> None:
        """Assert ``vm``'s TAP passed: with pytest's ``subtests`` fixture (pytest 9), one subtest per result.

        Each failing guest test shows up under its own name; the test itself
        fails when any does.  Without ``subtests`` (pytest 8 has no such
        fixture) one assertion lists every failed result.
        """
        report = self.tap(vm)
        assert report.has_tap, f"{vm} printed no TAP:\n{self.console(vm)}"
        if subtests is None:
            assert not report.problems, f"{vm} TAP failed: " + "; ".join(report.problems) + "\n" + self.explain()
            return
        for result in report.results:
            with subtests.test(msg=f"{vm} {result.number} - {result.name}"):
                assert result.ok, f"not ok {result.number} - {result.name}"
        with subtests.test(msg=f"{vm} plan"):
            assert report.plan == len(report.results), \
                f"{vm} planned {report.plan} results, printed {len(report.results)}"

    def explain(self) -> str:
        """Several lines: the exit code and, per VM that did not end cleanly, why, where and what it last did."""
        code = int(self.exit_code)
        lines = [f"exit code {code}: {_MEANINGS.get(code, 'a guest exited with this semihosting status')}"]
        for vm in self.result.vms:
            if vm.state != "off":
                lines.append(describe_stop(vm))
            else:
                lines.append(f"{vm.name}: {vm.exit_reason}; {describe_call(vm.last_call)}")
            lines += [f"{vm.name}: {problem}" for problem in vm.tap.problems]
            failed = self.errors(vm.name)
            lines += [f"{vm.name}: {describe_call(rec, 'failed call')}" for rec in failed[:FAILED_CALLS]]
            if len(failed) > FAILED_CALLS:
                lines.append(f"{vm.name}: ... and {len(failed) - FAILED_CALLS} more failed calls")
            tail = vm.console.splitlines()[-CONSOLE_LINES:]
            if tail and (vm.state != "off" or vm.tap.problems or code != EXIT_OK):
                lines.append(f"{vm.name} console, last {len(tail)} lines:")
                lines += [f"  | {line}" for line in tail]
        return "\n".join(lines)

    def __repr__(self) -> str:
        stops = [describe_stop(vm) for vm in self.result.vms if vm.state != "off"]
        problems = [f"{vm.name}: {p}" for vm in self.result.vms for p in vm.tap.problems]
        detail = "; ".join(stops + problems) or ", ".join(f"{vm.name} {vm.exit_reason}" for vm in self.result.vms)
        return f"<Outcome exit {int(self.exit_code)}: {detail}>"
