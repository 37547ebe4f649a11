"""The call trace: one record per hop of every trapped call, with cycle stamps.

A call a guest makes is the ``call`` hop (VM -> EL2 -> VM, the guest's view:
its arguments and the results it got).  A call the mediator forwards adds
``el2->spmc`` and ``spmc->el2`` hops, so a reader sees what the mediator
changed on the way.  Records hold no wall-clock data: the same run always
gives the same trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import IO

HOP_CALL = "call"
HOP_TO_SPMC = "el2->spmc"
HOP_FROM_SPMC = "spmc->el2"


@dataclass(slots=True)
class TraceRecord:
    seq: int
    vm: str
    hop: str
    conduit: str
    imm: int
    fid: int
    name: str
    args: list[int]
    results: list[int]
    cycle_start: int
    cycle_end: int
    args_text: str = ""
    result_text: str = ""
    error: str | None = None  # decoded error name when the result is an error
    site: str | None = None  # symbolized calling site
    note: str | None = None  # what the handler did beyond the result (e.g. "UNDEF injected")

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> "TraceRecord":
        return cls(**{k: data.get(k) for k in cls.__slots__ if k in data})


def render_text(rec: TraceRecord) -> str:
    """strace-like: ``[   1234] vm1 hvc FFA_VERSION(1.2) = 1.2 <+312>``."""
    conduit = rec.conduit if rec.imm == 0 else f"{rec.conduit}#{rec.imm}"
    if rec.hop == HOP_CALL:
        line = f"[{rec.cycle_start:>10}] {rec.vm} {conduit} {rec.name}({rec.args_text})"
        if rec.result_text:
            line += f" = {rec.result_text}"
        line += f" <+{rec.cycle_end - rec.cycle_start}>"
    else:
        line = f"[{rec.cycle_start:>10}] {rec.vm}   \\_ {rec.hop} {rec.name}({rec.args_text})"
        if rec.result_text:
            line += f" = {rec.result_text}"
    if rec.note:
        line += f"  ({rec.note})"
    if rec.site:
        line += f"  @ {rec.site}"
    return line


TRACE_FORMATS = ("text", "jsonl")


class Trace:
    """Collects records and streams them to any number of sinks as they come."""

    def __init__(self, keep: bool = True) -> None:
        self.records: list[TraceRecord] = []
        self._keep = keep
        self._sinks: list[Callable[[TraceRecord], None]] = []
        self._seq = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add_sink(self, stream: IO[str], fmt: str) -> None:
        if fmt not in TRACE_FORMATS:
            raise ValueError(f"unknown trace format {fmt!r}")
        render = render_text if fmt == "text" else TraceRecord.to_json

        def sink(rec: TraceRecord) -> None:
            stream.write(render(rec) + "\n")

        self._sinks.append(sink)

    def emit(self, rec: TraceRecord) -> None:
        if self._keep:
            self.records.append(rec)
        for sink in self._sinks:
            sink(rec)

    def calls(self, name: str | None = None) -> list[TraceRecord]:
        return [r for r in self.records if r.hop == HOP_CALL and (name is None or r.name == name)]


def read_jsonl(lines: Iterable[str]) -> list[TraceRecord]:
    return [TraceRecord.from_dict(json.loads(line)) for line in lines if line.strip()]
