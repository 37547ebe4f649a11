"""``ffa-emu diff``: the same guests under two mediator profiles, call by call.

Calls are aligned per VM by function name in order (a longest common
subsequence, so a call made under one profile only does not shift the rest);
aligned calls differ when their argument or result registers or the
handler's note differ.  The VMs' ends (exit reason, TAP counts) are compared
too.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from emu.machine import RunResult, VmOutcome
from emu.trace.records import HOP_CALL, TraceRecord


@dataclass
class CallDiff:
    """Two aligned calls that differ, or a call made under one profile only (the other is None)."""

    a: TraceRecord | None
    b: TraceRecord | None


def _calls(result: RunResult, vm: str) -> list[TraceRecord]:
    return [r for r in result.trace.records if r.hop == HOP_CALL and r.vm == vm]


def _same(a: TraceRecord, b: TraceRecord) -> bool:
    return (a.args, a.results, a.note) == (b.args, b.results, b.note)


def diff_calls(a: list[TraceRecord], b: list[TraceRecord]) -> list[CallDiff]:
    """The differences between two call sequences of one VM, in call order."""
    matcher = SequenceMatcher(None, [r.name for r in a], [r.name for r in b], autojunk=False)
    diffs: list[CallDiff] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            diffs += [CallDiff(x, y) for x, y in zip(a[i1:i2], b[j1:j2]) if not _same(x, y)]
        else:
            diffs += [CallDiff(x, None) for x in a[i1:i2]] + [CallDiff(None, y) for y in b[j1:j2]]
    return diffs


def _end(vm: VmOutcome) -> str:
    text = vm.exit_reason or vm.state
    if vm.tap.has_tap:
        text += f", TAP {len(vm.tap.passed)} ok / {len(vm.tap.failed)} not ok"
    return text


def _call_line(label: str, width: int, rec: TraceRecord, show_registers: bool) -> str:
    line = f"  {label:<{width}}  #{rec.seq} {rec.name}({rec.args_text})"
    if rec.result_text:
        line += f" = {rec.result_text}"
    if rec.note:
        line += f"  ({rec.note})"
    if show_registers:
        line += "  args [" + ", ".join(f"{v:#x}" for v in rec.args) + "]"
        line += " results [" + ", ".join(f"{v:#x}" for v in rec.results) + "]"
    return line


def render_diff(names: tuple[str, str], runs: tuple[RunResult, RunResult]) -> tuple[str, bool]:
    """The report of how run B differs from run A, and whether anything differs."""
    width = max(len(n) for n in names)
    out: list[str] = []
    compared = 0
    differing = 0
    for vm_a, vm_b in zip(runs[0].vms, runs[1].vms):
        calls_a, calls_b = _calls(runs[0], vm_a.name), _calls(runs[1], vm_b.name)
        compared += max(len(calls_a), len(calls_b))
        for diff in diff_calls(calls_a, calls_b):
            differing += 1
            site = (diff.a or diff.b).site
            out.append(f"{vm_a.name} {(diff.a or diff.b).name}" + (f"  @ {site}" if site else ""))
            texts_equal = diff.a is not None and diff.b is not None and \
                (diff.a.args_text, diff.a.result_text) == (diff.b.args_text, diff.b.result_text)
            for label, rec in zip(names, (diff.a, diff.b)):
                out.append(_call_line(label, width, rec, texts_equal) if rec is not None
                           else f"  {label:<{width}}  (not called)")
        if _end(vm_a) != _end(vm_b):
            differing += 1
            out.append(f"{vm_a.name} ended")
            out += [f"  {label:<{width}}  {_end(vm)}" for label, vm in zip(names, (vm_a, vm_b))]
    summary = f"{names[0]} vs {names[1]}: {differing} difference(s) in {compared} call(s)"
    return "\n".join([summary] + out) + "\n", differing > 0
