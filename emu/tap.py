"""TAP (Test Anything Protocol) results printed by guests on their console."""

from __future__ import annotations

import re
from typing import NamedTuple

_PLAN = re.compile(r"^1\.\.(\d+)")
_RESULT = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$")


class TapResult(NamedTuple):
    """One ``ok``/``not ok`` line."""

    ok: bool
    number: int
    name: str


class TapReport:
    """A guest's TAP output: the plan and each test line."""

    def __init__(self) -> None:
        self.plan: int | None = None
        self.results: list[TapResult] = []

    @property
    def failed(self) -> list[TapResult]:
        return [r for r in self.results if not r.ok]

    @property
    def passed(self) -> list[TapResult]:
        return [r for r in self.results if r.ok]

    @property
    def has_tap(self) -> bool:
        return self.plan is not None or bool(self.results)

    @property
    def problems(self) -> list[str]:
        """Why this report is a failure (empty when it is not)."""
        out = [f"not ok {r.number} - {r.name}" for r in self.failed]
        if self.plan is not None and len(self.results) < self.plan:
            out.append(f"planned {self.plan} results, got {len(self.results)}")
        return out


def parse_tap(text: str) -> TapReport:
    report = TapReport()
    for line in text.splitlines():
        line = line.strip()
        plan = _PLAN.match(line)
        if plan:
            report.plan = int(plan.group(1))
            continue
        result = _RESULT.match(line)
        if result:
            number = int(result.group(2)) if result.group(2) else len(report.results) + 1
            report.results.append(TapResult(result.group(1) == "ok", number, result.group(3).strip()))
    return report
