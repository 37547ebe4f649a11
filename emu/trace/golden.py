"""Golden traces: a run's trace as stable text, compared with a file kept in the repository.

The text is the strace-like rendering without wall-clock data.  What was
called, with what, and what it answered is always compared; each of the rest
can be left out: ``cycles=False`` drops cycle stamps and durations (a
cost-model change), ``sites=False`` the calling sites (another compiler or
build of the same guest), ``boot=False`` the mediator's own boot traffic
with the SPMC (another SPMC build).  A mismatch is reported as a short
unified diff of the first differing lines.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from emu.trace.records import BOOT_VM, TraceRecord
from emu.trace.text import render_text

MAX_HUNKS = 3
MAX_DIFF_LINES = 60


def golden_text(records: Iterable[TraceRecord], cycles: bool = True, sites: bool = True, boot: bool = True) -> str:
    """The records as golden-file text, with or without cycles, calling sites and boot traffic."""
    kept = (rec if sites or rec.site is None else replace(rec, site=None)
            for rec in records if boot or rec.vm != BOOT_VM)
    return "".join(render_text(rec, cycles) + "\n" for rec in kept)


def golden_name(test_name: str) -> str:
    """A file stem for a pytest node name: ``test_x[pkvm-1.1]`` -> ``test_x-pkvm-1.1``."""
    stem = test_name.replace("[", "-").replace("]", "")
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)


def compare_golden(path: Path, actual: str) -> str | None:
    """None when ``actual`` equals the golden file, else a readable description of the difference."""
    expected = path.read_text(encoding="utf-8")
    if expected == actual:
        return None
    old, new = expected.splitlines(), actual.splitlines()
    first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    changed = sum(1 for tag in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
                  if tag[0] != "equal")
    lines = [f"trace differs from golden {path} from line {first + 1} on ({len(old)} lines expected, "
             f"{len(new)} got, {changed} differing region(s)); first differences (- golden, + this run):"]
    hunks = 0
    for line in difflib.unified_diff(old, new, "golden", "run", n=2, lineterm=""):
        if line.startswith("@@"):
            hunks += 1
            if hunks > MAX_HUNKS:
                break
        if line.startswith(("---", "+++")):
            continue
        lines.append(line)
        if len(lines) > MAX_DIFF_LINES:
            lines.append("...")
            break
    lines.append("(rerun pytest with --update-golden to accept this run's trace)")
    return "\n".join(lines)
