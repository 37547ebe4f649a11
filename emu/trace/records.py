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
from dataclasses import MISSING, dataclass, field, fields
from typing import IO, NamedTuple

from emu.trace.decode import fill_text
from emu.trace.hops import HOP_CALL, HOP_FROM_SPMC, HOP_TO_SPMC
from emu.trace.jsonl import line_encoder, to_json
from emu.trace.text import text_encoder

BOOT_VM = "el2"  # the ``vm`` of the mediator's own traffic with the SPMC (at boot, no guest call)


@dataclass(slots=True)
class TraceRecord:
    """One hop of a trapped call: who called what, with which registers, and the cycle stamps."""

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
    disasm: list[str] | None = None  # the trapping block, "addr: mnemonic ops" per instruction (--disasm)
    # Where a call's cycles went: "el2.<kind>" (entry_exit, handler, copy, translate_page, ...),
    # "el3.<kind>" (smc, world_switch) and "spmc" (the secure world's instructions); they sum to the span.
    cycles_by: dict[str, int] | None = None
    # Set on records the emulator makes: their text is decoded from the registers when first
    # needed (Trace.records or a sink), which keeps string formatting off the trap path.
    text_pending: bool = field(default=False, repr=False, compare=False)
    # With ``text_pending``: what names ``site`` then (debug info is slow to parse, and often never needed).
    site_pending: Callable[[], str | None] | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> str:
        """One line of JSON, as ``json.dumps(..., separators=(",", ":"))`` writes the fields that are set."""
        return to_json(self)

    @classmethod
    def from_dict(cls, data: dict) -> TraceRecord:
        return cls(**{k: data.get(k) for k in cls.__slots__ if k in data})


def call_record(seq: int, vm: str, conduit: str, imm: int, fid: int, name: str, args: list[int],
                results: list[int], cycle_start: int, cycle_end: int, error: str | None,
                site: Callable[[], str | None] | None, note: str | None, cycles_by: dict[str, int]) -> TraceRecord:
    """The ``call`` record of a trapped call, its text decoded and its ``site`` named when first needed.

    Made once per trap, so the fields go in by position (half the cost of keywords); the
    assertion below keeps that order the declaration's.
    """
    return TraceRecord(seq, vm, HOP_CALL, conduit, imm, fid, name, args, results, cycle_start, cycle_end, "", "",
                       error, None, note, None, cycles_by, True, site)


def hop_record(seq: int, vm: str, hop: str, fid: int, name: str, args: list[int], results: list[int],
               cycle_start: int, cycle_end: int, error: str | None, note: str | None) -> TraceRecord:
    """An ``el2->spmc`` or ``spmc->el2`` record (an SMC), its text decoded when first needed; by position,
    as ``call_record``: a forwarded call makes two."""
    return TraceRecord(seq, vm, hop, "smc", 0, fid, name, args, results, cycle_start, cycle_end, "", "",
                       error, None, note, None, None, True, None)


assert [f.name for f in fields(TraceRecord)] == [
    "seq", "vm", "hop", "conduit", "imm", "fid", "name", "args", "results", "cycle_start", "cycle_end",
    "args_text", "result_text", "error", "site", "note", "disasm", "cycles_by", "text_pending", "site_pending"]
TRACE_FORMATS = ("text", "jsonl")


class _Later(NamedTuple):
    """Records kept to be made when the trace is first read (see ``Trace.keep_later``)."""

    make: Callable[[], list[TraceRecord]]


class Trace:
    """Collects records and streams them to any number of sinks as they come."""

    def __init__(self, keep: bool = True) -> None:
        self._records: list[TraceRecord | _Later] = []
        self._later = False  # whether _records holds a _Later
        self._rendered = 0  # records before this index have their text
        self._keep = keep
        self._sinks: list[Callable[[tuple[TraceRecord, ...]], None]] = []
        self._annotators: list[Callable[[TraceRecord], None]] = []
        self._seq = 0
        # Whether a record emitted goes anywhere (kept, annotated or written): when not, the trap path need not
        # build the records only the trace would see.
        self.listened = keep
        self._on_streaming: list[Callable[[], None]] = []

    @property
    def kept(self) -> bool:
        return self._keep

    @property
    def streaming(self) -> bool:
        """Whether each record must be handed over as it is emitted (to a sink or an annotator)."""
        return bool(self._sinks or self._annotators)

    def on_streaming(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when a sink or an annotator is added (``streaming`` may have changed)."""
        self._on_streaming.append(callback)

    def take_seqs(self, count: int) -> int:
        """``count`` sequence numbers at once, for calls made in the meantime: returns the first."""
        first = self._seq + 1
        self._seq += count
        return first

    def keep_later(self, make: Callable[[], list[TraceRecord]]) -> None:
        """Keep the records ``make()`` returns as if emitted now, made only when the trace is first read.

        Only while the trace is not ``streaming``: a sink or annotator must see each record as it comes.
        """
        self._records.append(_Later(make))
        self._later = True

    @property
    def records(self) -> list[TraceRecord]:
        """Every kept record, with its decoded text."""
        if self._later:
            made: list[TraceRecord] = []
            for item in self._records:
                if type(item) is _Later:
                    made += item.make()
                else:
                    made.append(item)
            self._records, self._later = made, False
        for rec in self._records[self._rendered:]:
            fill_text(rec)
        self._rendered = len(self._records)
        return self._records

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add_sink(self, stream: IO[str], fmt: str) -> None:
        if fmt not in TRACE_FORMATS:
            raise ValueError(f"unknown trace format {fmt!r}")
        lines = text_encoder() if fmt == "text" else line_encoder()

        def sink(records: tuple[TraceRecord, ...]) -> None:
            stream.write(lines(records))

        self._sinks.append(sink)
        self.listened = True
        self._streaming_changed()

    def add_annotator(self, annotate: Callable[[TraceRecord], None]) -> None:
        """``annotate`` completes each record (e.g. adds ``disasm``) before it is kept or written."""
        self._annotators.append(annotate)
        self.listened = True
        self._streaming_changed()

    def _streaming_changed(self) -> None:
        for callback in self._on_streaming:
            callback()

    def emit(self, *records: TraceRecord) -> None:
        """Keep and write ``records``: a call's, all at once (a sink writes them in one go); each sink fills
        the texts it needs."""
        if self._annotators:
            for annotate in self._annotators:
                for rec in records:
                    annotate(rec)
        if self._keep:
            self._records += records
        if self._sinks:
            for sink in self._sinks:
                sink(records)

    def calls(self, name: str | None = None) -> list[TraceRecord]:
        return [r for r in self.records if r.hop == HOP_CALL and (name is None or r.name == name)]


class TraceFileError(ValueError):
    """A saved trace that cannot be read, with the line number."""


def read_jsonl(lines: Iterable[str]) -> list[TraceRecord]:
    """The records of a jsonl trace (what ``--trace-format jsonl`` writes), or a TraceFileError saying why not."""
    required = [f for f in TraceRecord.__slots__ if TraceRecord.__dataclass_fields__[f].default is MISSING]
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            raise TraceFileError(f"line {number}: not JSON: a jsonl trace (--trace-format jsonl) is needed, "
                                 "not a text trace") from None
        if isinstance(data, dict) and "traceEvents" in data:
            raise TraceFileError("a Perfetto (trace-event JSON) file: a jsonl trace (--trace-format jsonl) "
                                 "is needed")
        missing = [f for f in required if f not in data] if isinstance(data, dict) else required
        if missing:
            raise TraceFileError(f"line {number}: not a trace record (no {', '.join(missing)})")
        try:
            records.append(TraceRecord.from_dict(data))
        except (ValueError, TypeError, AttributeError) as exc:
            raise TraceFileError(f"line {number}: not a trace record ({exc})") from None
    return records


def group_calls(records: Iterable[TraceRecord]) -> list[list[TraceRecord]]:
    """Records grouped per call: a ``call`` record and the hops that follow it.

    The mediator's own traffic (no guest call) forms one group per
    ``el2->spmc``/``spmc->el2`` pair.
    """
    groups: list[list[TraceRecord]] = []
    for rec in records:
        if groups and _belongs(groups[-1], rec):
            groups[-1].append(rec)
        else:
            groups.append([rec])
    return groups


def _belongs(group: list[TraceRecord], rec: TraceRecord) -> bool:
    head = group[0]
    if rec.hop == HOP_CALL or (rec.seq, rec.vm) != (head.seq, head.vm):
        return False
    if head.hop == HOP_CALL:
        return True
    return head.hop == HOP_TO_SPMC and len(group) == 1 and rec.hop == HOP_FROM_SPMC
