"""A trace record as one line of JSON: what ``--trace-format jsonl`` writes, three lines per forwarded call.

The line is ``json.dumps(..., separators=(",", ":"))`` of the fields that are
set, written by hand field by field (``json.dumps`` builds an encoder each time
and writes a dict it would need built first).  ``to_json`` is the encoder in
Python; ``line_encoder`` gives the one a trace file is written with: the same
lines, made in C (``native/tracejson.c``) when the helper library is built,
since a line's cost is its registers' decimal digits and its texts' escaping.
"""

from __future__ import annotations

import ctypes
import json
import struct
from collections.abc import Callable

from emu.cpu import nativelib
from emu.trace.decode import RecentTexts

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


def _python_line(rec) -> str:
    return to_json(rec) + "\n"


_HEADER = 12  # as TJ_HEADER in native/tracejson.c


class _NativeLines:
    """``to_json(rec) + "\\n"``, made by ``tj_record``; records it cannot take (a number that is no 64-bit
    unsigned int, a ``cycles_by`` key that is no str) go to ``to_json``."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._record = lib.tj_record  # no argtypes: the packed bytes go as a pointer to their first byte
        self._record.restype = ctypes.c_uint64
        self._packers: dict[int, Callable[..., bytes]] = {}  # how many numbers -> struct.pack of them
        self._heads: dict[tuple, bytes] = {}
        self._cycles_by: dict[tuple, str | None] = {}  # its keys -> ',"cycles_by":{"key":\0,...}' (None: not all str)
        self._size(1 << 16)

    def _size(self, capacity: int) -> None:
        self._capacity = capacity
        self._out = ctypes.create_string_buffer(capacity)
        self._address = ctypes.addressof(self._out)
        self._view = memoryview(self._out)

    def _cycles_by_template(self, keys: tuple) -> str | None:
        """``cycles_by``'s JSON with a NUL for each value (tj_record writes them), or None if a key is no str."""
        template = None
        if all(type(key) is str for key in keys):
            template = ',"cycles_by":{' + ",".join(f"{_json_str(key)}:\0" for key in keys) + "}"
        self._cycles_by[keys] = template
        return template

    def __call__(self, rec) -> str:
        key = (rec.vm, rec.hop, rec.conduit, rec.imm, rec.fid, rec.name)
        head = self._heads.get(key)
        if head is None:
            head = self._heads[key] = _head(rec).encode()
        tail = _tail(rec)
        numbers = ()
        if rec.cycles_by is not None:
            keys = tuple(rec.cycles_by)
            template = self._cycles_by[keys] if keys in self._cycles_by else self._cycles_by_template(keys)
            if template is None:
                return _python_line(rec)
            tail += template
            numbers = rec.cycles_by.values()
        args_text = rec.args_text.encode("utf-8", "surrogatepass")
        result_text = rec.result_text.encode("utf-8", "surrogatepass")
        tail = tail.encode()
        args, results = rec.args, rec.results
        count = _HEADER + len(numbers) + len(args) + len(results)
        pack = self._packers.get(count)
        if pack is None:
            pack = self._packers[count] = struct.Struct(f"<{count}Q").pack
        try:
            packed = pack(rec.seq, rec.cycle_start, rec.cycle_end, len(args), len(results), len(numbers), len(head),
                          len(args_text), len(result_text), len(tail), self._address, self._capacity,
                          *numbers, *args, *results)
        except struct.error:
            return _python_line(rec)
        size = self._record(b"".join((packed, head, args_text, result_text, tail)))
        if size > self._capacity:
            self._size(size)
            return self(rec)
        return str(self._view[:size], "ascii")


def line_encoder(native: bool | None = None) -> Callable[[object], str]:
    """What makes a record's line, newline included: in C when the helper library loads (``native=False``:
    in Python; ``native=True``: in C or an error)."""
    lib = nativelib.load() if native is not False else None
    if lib is None:
        if native:
            raise RuntimeError(f"native helper library not built ({nativelib.LIBRARY})")
        return _python_line
    return _NativeLines(lib)
