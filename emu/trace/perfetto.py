"""``--trace-format perfetto``: the trace as Chrome trace-event JSON.

ui.perfetto.dev and chrome://tracing open it.  One process, ``ffa-emu``,
with one track (thread) per VM, one for EL2 and one for the SPMC:

- VM track: each call as the guest sees it (entry to return);
- EL2 track: the same span (EL2 holds the PE during a call) with the
  ``el2->spmc`` and ``spmc->el2`` hops nested inside, and the mediator's
  own boot-time hops;
- SPMC track: the time the secure world spent on a forwarded call
  (from the end of ``el2->spmc`` to the start of ``spmc->el2``).

A call's slices carry its cycle breakdown (``cycles_by``: EL1<->EL2 entry
and exit, each kind of EL2 work, EL3, the SPMC) in their arguments.

A flow (arrows in the UI) links the hops of one forwarded call: VM call ->
``el2->spmc`` -> SPMC -> ``spmc->el2``.  1 cycle counts as 1 ns, so
timestamps (microseconds) are cycles / 1000.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from emu.trace.records import HOP_CALL, HOP_FROM_SPMC, HOP_TO_SPMC, TraceRecord, group_calls

PID = 1
EL2_TID = 1000
SPMC_TID = 1001
FLOW_CATEGORY = "ffa.hop"


def _us(cycles: int) -> float:
    return cycles / 1000


def _slice(name: str, tid: int, start: int, end: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "cat": "ffa", "ph": "X", "pid": PID, "tid": tid, "ts": _us(start),
            "dur": _us(end - start), "args": args}


def _flow(ph: str, flow_id: int, tid: int, at: int) -> dict[str, Any]:
    event = {"name": "call", "cat": FLOW_CATEGORY, "ph": ph, "id": flow_id, "pid": PID, "tid": tid, "ts": _us(at)}
    if ph == "f":
        event["bp"] = "e"  # bind to the enclosing slice, not the next one
    return event


def _args(rec: TraceRecord) -> dict[str, Any]:
    args: dict[str, Any] = {"seq": rec.seq, "fid": f"{rec.fid:#010x}", "conduit": rec.conduit,
                            "args": rec.args_text, "result": rec.result_text, "cycles": rec.cycle_end - rec.cycle_start}
    for key in ("error", "site", "note", "cycles_by"):
        value = getattr(rec, key)
        if value is not None:
            args[key] = value
    return args


def _metadata(name: str, tid: int | None, label: str, sort_index: int | None = None) -> list[dict[str, Any]]:
    event: dict[str, Any] = {"name": name, "ph": "M", "pid": PID, "args": {"name": label}}
    if tid is not None:
        event["tid"] = tid
    events = [event]
    if sort_index is not None:
        events.append({"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": tid,
                       "args": {"sort_index": sort_index}})
    return events


def trace_events(records: Iterable[TraceRecord]) -> dict[str, Any]:
    """The trace-event document for ``records`` (a run's trace, in order)."""
    groups = group_calls(records)
    vm_tids: dict[str, int] = {}
    events: list[dict[str, Any]] = []
    flow_id = 0
    for group in groups:
        head = group[0]
        if head.hop == HOP_CALL:
            tid = vm_tids.setdefault(head.vm, len(vm_tids) + 1)
            events.append(_slice(head.name, tid, head.cycle_start, head.cycle_end, _args(head)))
            events.append(_slice(head.name, EL2_TID, head.cycle_start, head.cycle_end, _args(head)))
        pairs = zip([r for r in group if r.hop == HOP_TO_SPMC], [r for r in group if r.hop == HOP_FROM_SPMC])
        for to_spmc, from_spmc in pairs:
            flow_id += 1
            events.append(_slice(f"el2->spmc {to_spmc.name}", EL2_TID, to_spmc.cycle_start, to_spmc.cycle_end,
                                 _args(to_spmc)))
            events.append(_slice(to_spmc.name, SPMC_TID, to_spmc.cycle_end, from_spmc.cycle_start,
                                 {"seq": to_spmc.seq, "vm": to_spmc.vm}))
            events.append(_slice(f"spmc->el2 {from_spmc.name}", EL2_TID, from_spmc.cycle_start,
                                 from_spmc.cycle_end, _args(from_spmc)))
            steps = [(vm_tids[head.vm], head.cycle_start)] if head.hop == HOP_CALL else []
            steps += [(EL2_TID, to_spmc.cycle_start), (SPMC_TID, to_spmc.cycle_end), (EL2_TID, from_spmc.cycle_start)]
            phases = ["s"] + ["t"] * (len(steps) - 2) + ["f"]
            events += [_flow(ph, flow_id, tid, at) for ph, (tid, at) in zip(phases, steps)]
    meta = _metadata("process_name", None, "ffa-emu")
    for vm, tid in vm_tids.items():
        meta += _metadata("thread_name", tid, vm, tid)
    meta += _metadata("thread_name", EL2_TID, "EL2 mediator", EL2_TID)
    meta += _metadata("thread_name", SPMC_TID, "SPMC (S-EL1)", SPMC_TID)
    return {"traceEvents": meta + events, "displayTimeUnit": "ns",
            "otherData": {"source": "ffa-emu", "time_unit": "1 cycle = 1 ns"}}


def write_perfetto(records: Iterable[TraceRecord], stream: IO[str]) -> None:
    json.dump(trace_events(records), stream, separators=(",", ":"))
    stream.write("\n")
