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

import ctypes
import json
import struct
from collections.abc import Callable, Sequence

from emu.cpu import nativelib
from emu.trace.decode import RecentTexts, args_layout, fill_text, result_layout

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
    fill_text(rec)
    return to_json(rec) + "\n"


def _python_lines(records: Sequence) -> str:
    return "".join([_python_line(rec) for rec in records])


_BATCH = 3  # as TJ_BATCH in native/tracejson.c
_HEADER = 7  # as TJ_HEADER
_ARGS_LAYOUT, _RESULT_LAYOUT, _VERBATIM = 1, 2, 4  # as TJ_ARGS_LAYOUT, TJ_RESULT_LAYOUT, TJ_VERBATIM
# A word tj_records reads: a host-order uint64, packed as unsigned long where that is 64 bits (CPython converts an
# int to an unsigned long four times sooner than to an unsigned long long).
_WORD = "L" if struct.calcsize("@L") == 8 else "Q"


def _words(count: int) -> Callable[..., bytes]:
    return struct.Struct(f"@{count}{_WORD}").pack


_batch = _words(_BATCH)
_verbatim = _words(_HEADER)
_size = _words(1)


def _sized(data: bytes) -> bytes:
    """A byte string as tj_records reads it: its length, then its bytes."""
    return _size(len(data)) + data


def _sized_text(text: str) -> bytes:
    return _sized(text.encode("utf-8", "surrogatepass"))


_EMPTY = _sized(b"")


class _Kind:
    """What the records of one kind (vm, hop, conduit, imm, fid, name) share: their head's JSON, their argument
    text's layout and their result texts' layouts by x0 (None: no layout, the text is made in Python), each
    packed as tj_records reads it."""

    __slots__ = ("head", "head_and_args", "hop", "fid", "result_layouts")

    def __init__(self, rec) -> None:
        self.head = _sized(_head(rec).encode())
        layout = args_layout(rec.hop, rec.fid)
        self.head_and_args = None if layout is None else self.head + _sized(layout)  # as a pending record starts
        self.hop, self.fid = rec.hop, rec.fid
        self.result_layouts: dict[int, bytes | None] = {}

    def result_layout(self, x0: int) -> bytes | None:
        """The layout of the result text of this kind's records whose x0 is ``x0``, found once."""
        layouts = self.result_layouts
        if x0 not in layouts:
            if len(layouts) >= 64:
                layouts.clear()
            layout = result_layout(self.hop, self.fid, x0)
            layouts[x0] = None if layout is None else _sized(layout)
        return layouts[x0]


class _NativeLines:
    """``to_json(rec) + "\\n"`` of each record (its text filled), made by one ``tj_records`` call for the records
    of a call; a pending record's texts are made there too when the decoder has their layouts.  A record it
    cannot take (a number that is no 64-bit unsigned int, a ``cycles_by`` key that is no str) goes to
    ``to_json``."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._records = lib.tj_records  # no argtypes: the packed bytes go as a pointer to their first byte
        self._records.restype = ctypes.c_uint64
        self._packers: dict[int, Callable[..., bytes]] = {}  # how many numbers -> struct.pack of them
        self._kinds: dict[tuple, _Kind] = {}
        self._tails: dict[tuple, bytes | None] = {}  # (error, site, note, cycles_by's keys) -> _made_tail
        self._size(1 << 16)

    def _size(self, capacity: int) -> None:
        self._capacity = capacity
        self._out = ctypes.create_string_buffer(capacity)
        self._address = ctypes.addressof(self._out)
        self._view = memoryview(self._out)

    def _tail(self, rec) -> bytes | None:
        """The record's tail as tj_records reads it (``_made_tail``), found once for records without ``disasm``."""
        cycles_by = rec.cycles_by
        key = (rec.error, rec.site, rec.note, None if cycles_by is None else tuple(cycles_by))
        try:
            tail = self._tails.get(key, _UNKNOWN) if rec.disasm is None else _UNKNOWN
        except TypeError:  # a field that is no str (a record read back from a file): not kept
            return self._made_tail(rec)
        if tail is _UNKNOWN:
            tail = self._made_tail(rec)
            if rec.disasm is None:
                if len(self._tails) >= 4096:
                    self._tails.clear()
                self._tails[key] = tail
        return tail

    @staticmethod
    def _made_tail(rec) -> bytes | None:
        """The tail's JSON, with a NUL for each of ``cycles_by``'s values (tj_records writes them), packed; None
        if a key of ``cycles_by`` is no str."""
        tail = _tail(rec)
        cycles_by = rec.cycles_by
        if cycles_by is not None:
            if not all(type(name) is str for name in cycles_by):
                return None
            tail += ',"cycles_by":{' + ",".join(f"{_json_str(name)}:\0" for name in cycles_by) + "}"
        return _sized(tail.encode())

    def _pack(self, rec) -> bytes:
        """The record as tj_records reads it (a verbatim line when it cannot be packed)."""
        kind = self._kinds.get((rec.vm, rec.hop, rec.conduit, rec.imm, rec.fid, rec.name))
        if kind is None:
            kind = self._kinds[(rec.vm, rec.hop, rec.conduit, rec.imm, rec.fid, rec.name)] = _Kind(rec)
        results = rec.results
        if rec.text_pending:
            if rec.site_pending is not None:
                rec.site, rec.site_pending = rec.site_pending(), None
            result_text = kind.result_layouts.get(results[0], _UNKNOWN) if results else _EMPTY
            if result_text is _UNKNOWN:
                result_text = kind.result_layout(results[0])
            if result_text is None or kind.head_and_args is None:
                fill_text(rec)
        if rec.text_pending:
            flags, texts = _ARGS_LAYOUT | _RESULT_LAYOUT, kind.head_and_args + result_text
        else:
            flags, texts = 0, kind.head + _sized_text(rec.args_text) + _sized_text(rec.result_text)
        if rec.error is rec.site is rec.note is rec.disasm is rec.cycles_by is None:
            tail, numbers = _EMPTY, ()
        else:
            tail = self._tail(rec)
            if tail is None:
                return self._verbatim_line(rec)
            numbers = () if rec.cycles_by is None else rec.cycles_by.values()
        args = rec.args
        count = _HEADER + len(numbers) + 1 + len(args) + len(results)
        pack = self._packers.get(count)
        if pack is None:
            pack = self._packers[count] = _words(count)
        try:
            packed = pack(rec.seq, rec.cycle_start, rec.cycle_end, len(args) + 1, len(results), len(numbers), flags,
                          *numbers, rec.fid, *args, *results)
        except struct.error:
            return self._verbatim_line(rec)
        return b"".join((packed, texts, tail))

    @staticmethod
    def _verbatim_line(rec) -> bytes:
        return _verbatim(0, 0, 0, 0, 0, 0, _VERBATIM) + _sized(_python_line(rec).encode()) + _EMPTY * 3

    def __call__(self, records: Sequence) -> str:
        packed = b"".join([self._pack(rec) for rec in records])
        while True:
            size = self._records(_batch(len(records), self._address, self._capacity) + packed)
            if size <= self._capacity:
                return str(self._view[:size], "ascii")
            if size == _NO_REGISTER:
                return _python_lines(records)
            self._size(size)


_UNKNOWN = object()  # not in a cache yet
_NO_REGISTER = (1 << 64) - 1  # what tj_records gives when a layout named a register a record does not have


def line_encoder(native: bool | None = None) -> Callable[[Sequence], str]:
    """What makes records' lines, newlines included, their texts filled: in C when the helper library loads
    (``native=False``: in Python; ``native=True``: in C or an error)."""
    lib = nativelib.load() if native is not False else None
    if lib is None:
        if native:
            raise RuntimeError(f"native helper library not built ({nativelib.LIBRARY})")
        return _python_lines
    return _NativeLines(lib)
