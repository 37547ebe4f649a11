"""``--trace-format perfetto``: Chrome trace-event JSON, checked against the format's schema."""

from __future__ import annotations

import json
from collections import Counter

import jsonschema
import pytest

from emu.cli import main
from emu.trace.records import HOP_CALL, HOP_FROM_SPMC, HOP_TO_SPMC, group_calls, read_jsonl

# The trace-event format (JSON object form) as chrome://tracing and ui.perfetto.dev read it:
# "Trace Event Format" document, sections Duration/Complete events, Metadata events, Flow events.
_NUM = {"type": "number", "minimum": 0}
_ID = {"type": "integer", "minimum": 0}
TRACE_EVENT_SCHEMA = {
    "type": "object",
    "required": ["traceEvents"],
    "properties": {
        "traceEvents": {"type": "array", "items": {"$ref": "#/$defs/event"}},
        "displayTimeUnit": {"enum": ["ms", "ns"]},
        "otherData": {"type": "object"},
    },
    "$defs": {
        "event": {
            "type": "object",
            "required": ["ph", "pid", "name"],
            "properties": {"ph": {"type": "string", "minLength": 1}, "pid": _ID, "tid": _ID,
                           "name": {"type": "string"}, "cat": {"type": "string"}, "args": {"type": "object"}},
            "allOf": [
                {"if": {"properties": {"ph": {"const": "X"}}},
                 "then": {"required": ["ts", "dur", "tid"], "properties": {"ts": _NUM, "dur": _NUM}}},
                {"if": {"properties": {"ph": {"const": "M"}}},
                 "then": {"properties": {
                     "name": {"enum": ["process_name", "thread_name", "process_sort_index", "thread_sort_index"]},
                     "args": {"type": "object", "minProperties": 1}}, "required": ["args"]}},
                {"if": {"properties": {"ph": {"enum": ["s", "t", "f"]}}},
                 "then": {"required": ["id", "ts", "tid", "cat"],
                          "properties": {"ts": _NUM, "id": {"type": ["integer", "string"]}, "bp": {"const": "e"}}}},
                {"properties": {"ph": {"enum": ["B", "E", "X", "i", "I", "C", "b", "n", "e", "s", "t", "f", "M"]}}},
            ],
        },
    },
}


@pytest.fixture(scope="module")
def traces(tmp_path_factory, guest_image, spmc_image) -> tuple[dict, list]:
    """The ffa_demo + hello run as perfetto JSON and as jsonl records."""
    out = tmp_path_factory.mktemp("perfetto")
    images = [str(guest_image("ffa_demo")), str(guest_image("hello"))]
    for fmt in ("perfetto", "jsonl"):
        assert main(["run", "-q", "--spmc", str(spmc_image), "--trace", str(out / fmt), "--trace-format", fmt,
                     *images]) == 0
    records = [json.loads(line) for line in (out / "jsonl").read_text().splitlines()]
    return json.loads((out / "perfetto").read_text()), records


def test_document_is_valid_trace_event_json(traces) -> None:
    doc, _ = traces
    jsonschema.validate(doc, TRACE_EVENT_SCHEMA)
    assert doc["displayTimeUnit"] == "ns"


def test_schema_rejects_a_slice_without_duration() -> None:
    bad = {"traceEvents": [{"ph": "X", "pid": 1, "tid": 1, "name": "x", "ts": 0}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, TRACE_EVENT_SCHEMA)


def test_one_named_track_per_vm_el2_and_spmc(traces) -> None:
    doc, _ = traces
    names = {e["tid"]: e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
    assert sorted(names.values()) == ["EL2 mediator", "SPMC (S-EL1)", "vm1", "vm2"]
    assert len(set(names)) == 4


def test_slice_counts_and_times_follow_the_trace(traces) -> None:
    doc, rows = traces
    tids = {e["args"]["name"]: e["tid"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
    slices = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    per_track = Counter(e["tid"] for e in slices)
    calls = [r for r in rows if r["hop"] == HOP_CALL]
    pairs = sum(r["hop"] == HOP_TO_SPMC for r in rows)
    assert pairs > 5
    assert per_track[tids["vm1"]] == sum(r["vm"] == "vm1" for r in calls)
    assert per_track[tids["vm2"]] == sum(r["vm"] == "vm2" for r in calls)
    assert per_track[tids["EL2 mediator"]] == len(calls) + 2 * pairs
    assert per_track[tids["SPMC (S-EL1)"]] == pairs
    first = calls[0]
    vm_slice = next(e for e in slices if e["tid"] == tids[first["vm"]])
    assert vm_slice["ts"] == first["cycle_start"] / 1000
    assert vm_slice["dur"] == (first["cycle_end"] - first["cycle_start"]) / 1000
    assert vm_slice["args"]["site"] == first["site"] and vm_slice["args"]["result"] == first["result_text"]
    spmc = [e for e in slices if e["tid"] == tids["SPMC (S-EL1)"]]
    to_spmc = [r for r in rows if r["hop"] == HOP_TO_SPMC]
    from_spmc = [r for r in rows if r["hop"] == HOP_FROM_SPMC]
    assert [(e["ts"], e["dur"]) for e in spmc] == [
        (a["cycle_end"] / 1000, (b["cycle_start"] - a["cycle_end"]) / 1000) for a, b in zip(to_spmc, from_spmc)]


def test_flows_link_every_forwarded_call(traces) -> None:
    doc, rows = traces
    tids = {e["args"]["name"]: e["tid"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
    flows: dict[int, list[dict]] = {}
    for e in doc["traceEvents"]:
        if e["ph"] in "stf":
            flows.setdefault(e["id"], []).append(e)
    assert len(flows) == sum(r["hop"] == HOP_TO_SPMC for r in rows)
    for steps in flows.values():
        assert [e["ph"] for e in steps][0] == "s" and steps[-1]["ph"] == "f" and steps[-1]["bp"] == "e"
        assert [e["ts"] for e in steps] == sorted(e["ts"] for e in steps)
        assert tids["SPMC (S-EL1)"] in [e["tid"] for e in steps]
    guest_flows = [s for s in flows.values() if s[0]["tid"] in (tids["vm1"], tids["vm2"])]
    guest_pairs = sum(r.hop == HOP_TO_SPMC for g in group_calls(read_jsonl(json.dumps(r) for r in rows))
                      if g[0].hop == HOP_CALL for r in g)
    assert len(guest_flows) == guest_pairs > 0
    assert all([e["tid"] for e in s] == [s[0]["tid"], tids["EL2 mediator"], tids["SPMC (S-EL1)"],
                                         tids["EL2 mediator"]] for s in guest_flows)


def test_every_flow_step_lies_inside_a_slice_of_its_track(traces) -> None:
    doc, _ = traces
    slices = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    for e in doc["traceEvents"]:
        if e["ph"] in "stf":
            assert any(s["tid"] == e["tid"] and s["ts"] <= e["ts"] <= s["ts"] + s["dur"] for s in slices), e
