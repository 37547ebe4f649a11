"""The line encoders of the jsonl and text formats: the C one (native/tracejson.c) writes what the Python one does,
byte for byte, and jsonl's both write what json.dumps would."""

from __future__ import annotations

import json
import random

import pytest

from emu.cpu import nativelib
from emu.trace.jsonl import line_encoder
from emu.ffa import constants as ffa
from emu.trace import decode
from emu.trace.records import HOP_FROM_SPMC, HOP_TO_SPMC, TraceRecord, call_record, hop_record
from emu.trace.text import render_text, text_encoder

ENCODERS = {"jsonl": line_encoder, "text": text_encoder}
formats = pytest.mark.parametrize("fmt", ENCODERS)


def _line(fmt: str, rec: TraceRecord) -> str:
    """The line of ``fmt`` of a record whose text is filled."""
    return (rec.to_json() if fmt == "jsonl" else render_text(rec)) + "\n"

native = pytest.mark.skipif(nativelib.load() is None, reason="native helper not built")

TEXTS = ["", "0x1->0x8001, uuid=0x0:0x0, 0x1900000004", 'quote " backslash \\ slash /', "\x00\x01\b\f\n\r\t\x1f\x7f",
         "caf\u00e9 \u20ac \U0001f600", "lone \ud800 and \udfff surrogates", "x" * 70000]


def _record(**fields) -> TraceRecord:
    base = dict(seq=7, vm="vm1", hop="call", conduit="hvc", imm=0, fid=0xC400008D,
                name="FFA_FN64_MSG_SEND_DIRECT_REQ2", args=[0x18001, 0, (1 << 64) - 1, 10 ** 19],
                results=[0x84000061, 0, 1, 9, 10, 99, 100], cycle_start=0, cycle_end=(1 << 64) - 1)
    return TraceRecord(**{**base, **fields})


RECORDS = [
    _record(),
    _record(args=[], results=[], hop="el2->spmc", conduit="smc"),
    _record(error="INVALID_PARAMETERS", site="main+0x2a8 (main.c:33)", note="UNDEF injected",
            disasm=["0x40001000: hvc #0", "0x40001004: ret"], cycles_by={"el2.handler": 250, "spmc": 0}),
    _record(cycles_by={}, imm=0x1234, vm='v"m\\', name="caf\u00e9"),
    _record(cycles_by={"el3.smc": 112, "el3.world_switch": 1200, "\u00e9\n": (1 << 64) - 1}),
    _record(cycle_start=12345678901, cycle_end=3, imm=4),  # a stamp wider than its column, a span below zero
    _record(hop="spmc->el2", args=[], results=[1], args_text="", result_text=""),
    *[_record(args_text=text, result_text=text[::-1], site=text, note=text) for text in TEXTS],
    # What a 64-bit unsigned field cannot hold goes to the Python encoder.
    _record(args=[-1], results=[1 << 64]),
    _record(seq=1 << 70, cycle_start=-5),
    _record(cycles_by={"spmc": -1}),
    _record(cycles_by={1: 2, None: 3}),
    _record(fid=-1, imm=1 << 80),
]


@native
@formats
@pytest.mark.parametrize("rec", RECORDS)
def test_native_line_is_the_python_line(fmt: str, rec: TraceRecord) -> None:
    encoder = ENCODERS[fmt]
    assert encoder(native=True)([rec]) == encoder(native=False)([rec]) == _line(fmt, rec)


@pytest.mark.parametrize("rec", RECORDS)
def test_python_line_is_json_dumps(rec: TraceRecord) -> None:
    fields = {k: getattr(rec, k) for k in TraceRecord.__slots__ if k not in ("text_pending", "site_pending")}
    fields = {k: v for k, v in fields.items() if v is not None or k not in ("error", "site", "note", "disasm",
                                                                           "cycles_by")}
    assert line_encoder(native=False)([rec]) == json.dumps(fields, separators=(",", ":")) + "\n"


@native
@formats
def test_native_lines_in_sequence_reuse_nothing_stale(fmt: str) -> None:
    encode = ENCODERS[fmt](native=True)
    for rec in RECORDS * 2:
        assert encode([rec]) == _line(fmt, rec)


def _pending_records() -> list[TraceRecord]:
    """Pending records (text made when written) of every decoded function ID and an unknown one, as each hop,
    with results of every FF-A response, FF-A errors, SMCCC statuses and random registers."""
    rng = random.Random(16)
    fids = sorted(decode._SIGNATURES) + [0x8400_FFFF, 0xC700_0001]
    answers = [*ffa.NAMES, 0, 1, (1 << 64) - 1, 0xFFFF_FFFD, 0xFFFF_FFFE, 0x1_0002, 0x8000_0001]
    records = []
    for n, fid in enumerate(fids):
        args = [rng.choice((0, 1 << 31, rng.getrandbits(64), rng.getrandbits(16))) for _ in range(17)]
        for x0 in (answers[n % len(answers)], answers[(n * 7 + 3) % len(answers)], rng.getrandbits(64)):
            results = [x0, *(rng.choice((0, rng.getrandbits(64), rng.getrandbits(32))) for _ in range(17))]
            results[2] = rng.choice((results[2], (1 << 32) - rng.randrange(1, 12), 1 << 31 | 3))
            name = decode.fid_name(fid)
            records += [
                call_record(n, "vm1", "hvc", 0, fid, name, args[:rng.randrange(18)], results[:rng.randrange(19)],
                            n, n + 100, None, None, None, {"el2.handler": 7}),
                hop_record(n, "vm1", HOP_TO_SPMC, fid, name, args[:rng.randrange(18)], [], n, n + 1, None, None),
                hop_record(n, "vm1", HOP_FROM_SPMC, fid, name, [], results[:rng.choice((8, 18))], n + 1, n + 2,
                           decode.error_of(results), None),
            ]
    return records


def _filled(rec: TraceRecord) -> TraceRecord:
    copy = TraceRecord(*(getattr(rec, f) for f in TraceRecord.__slots__))
    decode.fill_text(copy)
    return copy


def _expected_line(fmt: str, rec: TraceRecord) -> str | None:
    """The line of a copy of ``rec`` that fill_text completed, None if the decoder finds too few registers."""
    copy = TraceRecord(*(getattr(rec, f) for f in TraceRecord.__slots__))
    try:
        decode.fill_text(copy)
    except IndexError:
        return None
    return _line(fmt, copy)


@native
@formats
def test_native_text_is_the_python_text_for_every_kind(fmt: str) -> None:
    """The texts the C encoder makes from the decoder's layouts are what fill_text makes, record by record and
    a call's records together."""
    encode, python = ENCODERS[fmt](native=True), ENCODERS[fmt](native=False)
    records = _pending_records()
    expected = [_expected_line(fmt, rec) for rec in records]
    whole = [rec for rec, line in zip(records, expected) if line is not None]
    assert len(whole) > len(records) * 0.9
    assert encode(whole) == "".join(line for line in expected if line is not None)
    for rec, line in zip(records, expected):
        if line is None:  # the Python encoder says so too
            with pytest.raises(IndexError):
                encode([rec])
        else:
            assert encode([rec]) == python([rec]) == line, rec


def _forwarded_calls() -> list[list[TraceRecord]]:
    """Pending records of forwarded calls as the mediator makes them: the call's arguments are the el2->spmc
    hop's and its results the spmc->el2 hop's (equal lists, not the same ones), as many results or fewer (a
    32-bit call's text shows 8 of the 18 a DIRECT_RESP2 has, the hop's all); some with a hop of another function
    ID, some after a text longer than the output buffer starts with."""
    rng = random.Random(53)
    calls = []
    for n, fid in enumerate(sorted(decode._SIGNATURES)):
        name = decode.fid_name(fid)
        args = [rng.choice((0, 1 << 31, rng.getrandbits(64), 0x18001)) for _ in range(rng.randrange(18))]
        x0 = ffa.FFA_FN64_MSG_SEND_DIRECT_RESP2 if n % 2 else rng.choice((*ffa.NAMES, fid))
        results = [x0, *(rng.getrandbits(rng.choice((16, 64))) for _ in range(17))]
        hop_fid = fid if n % 5 else ffa.FFA_FN64_MSG_SEND_DIRECT_REQ2
        call = [call_record(n, "vm1", "hvc", 0, fid, name, args, results[:(8, 18)[n % 3 > 0]], n, n + 9, None, None,
                            None, {"el2.handler": 7}),
                hop_record(n, "vm1", HOP_TO_SPMC, hop_fid, name, list(args), [], n + 1, n + 2, None, None),
                hop_record(n, "vm1", HOP_FROM_SPMC, hop_fid, name, [], results[:(8, 18)[n % 3 < 2]], n + 3, n + 4,
                           decode.error_of(results), None)]
        if n % 7 == 0:
            call.insert(0, _record(args=list(args), args_text="x" * 70000))
        calls.append(call)
    return calls


@native
@formats
def test_native_lines_of_repeated_registers_are_the_python_lines(fmt: str) -> None:
    """A call's records whose registers repeat an earlier record's (whose lines the C encoder copies) are
    written as each alone would be."""
    encode = ENCODERS[fmt](native=True)
    for call in _forwarded_calls():
        expected = [_expected_line(fmt, rec) for rec in call]
        if None in expected:
            continue
        assert encode(call) == "".join(expected)
