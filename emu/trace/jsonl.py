"""A trace record as one line of JSON: what ``--trace-format jsonl`` writes, three lines per forwarded call.

The line is ``json.dumps(..., separators=(",", ":"))`` of the fields that are
set, written by hand field by field (``json.dumps`` builds an encoder each time
and writes a dict it would need built first).  ``to_json`` is the encoder in
Python; ``line_encoder`` gives the one a trace file is written with: the same
lines, made in C (``native/tracejson.c``) when the helper library is built,
since a line's cost is its registers' decimal digits, its texts' escaping and,
for a record whose text is pending, the text itself (made there from the
decoder's layouts).  It takes a call's records at once: one C call for them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from emu.trace.decode import RecentTexts
from emu.trace.nativelines import NativeLines, PythonLines, library

_json_str = json.encoder.encode_basestring_ascii  # what json.dumps uses for a str (C when available)
_NOT_VERBATIM = bytes(range(0x20)) + b'"\\\x7f'  # the ASCII characters _json_str escapes


_texts: dict[str, str] = {}  # a decoded text -> its JSON: a forwarded call's hops repeat the call's texts


def _json_text(value: str) -> str:
    """``_json_str(value)``, sooner for a decoded text (hundreds of characters, nothing to escape): found again
    when a hop repeats it (a str keeps its hash), else ASCII with none of ``_NOT_VERBATIM`` is written as it
    is, and checking that costs less than escaping it."""
    text = _texts.get(value)
    if text is None:
        if value.isascii() and len(value.encode().translate(None, _NOT_VERBATIM)) == len(value):
            text = f'"{value}"'
        else:
            text = _json_str(value)
        if len(_texts) >= 64:
            _texts.clear()
        _texts[value] = text
    return text


def _encoder() -> Callable[[object], str]:
    """``json.dumps(value, separators=(",", ":"))`` with its encoder made once (json.dumps makes one a call).

    The C encoder is the one json.dumps uses; without its circular-reference
    check, which records (no container holds itself) never need.
    """
    make = json.encoder.c_make_encoder
    if make is None:  # a Python without the C accelerator: json.dumps is no faster either
        return json.JSONEncoder(separators=(",", ":")).encode
    encode = make(None, json.JSONEncoder().default, _json_str, None, ":", ",", False, False, True)
    return lambda value: "".join(encode(value, 0))


_json = _encoder()


_registers = RecentTexts()  # register lists' JSON: a forwarded call's three records repeat them
_heads: dict[tuple, str] = {}  # (vm, hop, conduit, imm, fid, name) -> their JSON, from the comma after seq


def _head(rec) -> str:
    """``,"vm":...,"name":...,``: the fields between ``seq`` and ``args``, the same for every call of one kind
    from one VM, so made once per kind."""
    key = (rec.vm, rec.hop, rec.conduit, rec.imm, rec.fid, rec.name)
    head = _heads.get(key)
    if head is None:
        s = _json_str
        head = _heads[key] = (f',"vm":{s(rec.vm)},"hop":{s(rec.hop)},"conduit":{s(rec.conduit)},"imm":{rec.imm},'
                              f'"fid":{rec.fid},"name":{s(rec.name)},')
    return head


_strings: dict[str, str] = {}  # str -> its JSON: the few error names, sites and notes a trace repeats


def _json_field(value: object) -> str:
    if type(value) is not str:
        return _json(value)
    text = _strings.get(value)
    if text is None:
        if len(_strings) >= 4096:
            _strings.clear()
        text = _strings[value] = _json_str(value)
    return text


def _tail(rec) -> str:
    """The optional fields that are set but ``cycles_by`` (always the last), with their leading commas."""
    tail = ""
    if rec.error is not None:
        tail += ',"error":' + _json_field(rec.error)
    if rec.site is not None:
        tail += ',"site":' + _json_field(rec.site)
    if rec.note is not None:
        tail += ',"note":' + _json_field(rec.note)
    if rec.disasm is not None:
        tail += ',"disasm":' + _json(rec.disasm)
    return tail


def to_json(rec) -> str:
    """One line of JSON (no newline) for a record with its text (``TraceRecord.to_json``)."""
    registers = _registers.text
    line = (f'{{"seq":{rec.seq}{_head(rec)}"args":{registers(_json, rec.args)},'
            f'"results":{registers(_json, rec.results)},'
            f'"cycle_start":{rec.cycle_start},"cycle_end":{rec.cycle_end},'
            f'"args_text":{_json_text(rec.args_text)},"result_text":{_json_text(rec.result_text)}{_tail(rec)}')
    if rec.cycles_by is not None:
        line += ',"cycles_by":' + _json(rec.cycles_by)
    return line + "}"


_python_lines = PythonLines(to_json)


class _JsonLines(NativeLines):
    """``to_json(rec) + "\\n"`` of each record, its text filled, made in C."""

    NUMBERS = True

    @staticmethod
    def head(rec) -> bytes:
        return _head(rec).encode()

    @staticmethod
    def made_tail(rec) -> bytes | None:
        """The optional fields' JSON, with a NUL for each of ``cycles_by``'s values (tj_records writes them); None
        if a key of ``cycles_by`` is no str."""
        tail = _tail(rec)
        cycles_by = rec.cycles_by
        if cycles_by is not None:
            if not all(type(name) is str for name in cycles_by):
                return None
            tail += ',"cycles_by":{' + ",".join(f"{_json_str(name)}:\0" for name in cycles_by) + "}"
        return tail.encode()

    python = _python_lines


def line_encoder(native: bool | None = None) -> Callable[[Sequence], str]:
    """What makes records' lines, newlines included, their texts filled: in C when the helper library loads
    (``native=False``: in Python; ``native=True``: in C or an error)."""
    lib = library(native)
    return _python_lines if lib is None else _JsonLines(lib)
