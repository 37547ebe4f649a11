"""Trace records' lines made in C (``native/tracejson.c``): the packing the jsonl and text formats share.

A format says what a record's line starts with (its head: the same for the
records of one kind), what it ends with (its tail: the optional fields) and how
Python writes a line the C code cannot take (a number that is no 64-bit
unsigned int, a ``cycles_by`` key that is no str).  A pending record's texts
are made there too when the decoder has their layouts: a record's line costs
its registers' digits and its texts, which cost next to nothing in C.  One
``tj_records`` call takes the records of a call.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable, Sequence

from emu.cpu import nativelib
from emu.trace.decode import args_layout, fill_text, result_layout

_BATCH = 3  # as TJ_BATCH in native/tracejson.c
_HEADER = 7  # as TJ_HEADER
# as TJ_ARGS_LAYOUT, TJ_RESULT_LAYOUT, TJ_VERBATIM, TJ_TEXT, TJ_SPAN
ARGS_LAYOUT, RESULT_LAYOUT, VERBATIM, TEXT, SPAN = 1, 2, 4, 8, 16
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
_UNKNOWN = object()  # not in a cache yet
_NO_REGISTER = (1 << 64) - 1  # what tj_records gives when a layout named a register a record does not have


def library(native: bool | None) -> ctypes.CDLL | None:
    """The helper library if it loads (``native=False``: None; ``native=True``: the library or an error)."""
    lib = nativelib.load() if native is not False else None
    if lib is None and native:
        raise RuntimeError(f"native helper library not built ({nativelib.LIBRARY})")
    return lib


class PythonLines:
    """A format's lines made in Python: ``render(rec)`` of each record, its text filled, and a newline."""

    def __init__(self, render: Callable[..., str]) -> None:
        self._render = render

    def line(self, rec) -> str:
        fill_text(rec)
        return self._render(rec) + "\n"

    def __call__(self, records: Sequence) -> str:
        return "".join([self.line(rec) for rec in records])


class _Kind:
    """What the records of one kind (vm, hop, conduit, imm, fid, name) share: their head, their flags, their
    argument text's layout and their result texts' layouts by x0 (None: no layout, the text is made in Python),
    each packed as tj_records reads it."""

    __slots__ = ("head", "flags", "pending_flags", "head_and_args", "hop", "fid", "result_layouts")

    def __init__(self, rec, head: bytes, flags: int) -> None:
        self.head = _sized(head)
        self.flags = flags
        self.pending_flags = flags | ARGS_LAYOUT | RESULT_LAYOUT  # a pending record's: its texts from layouts
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


class NativeLines:
    """A format's lines of records, each with its newline and its text filled, made by one ``tj_records`` call
    for the records of a call.  A format says the rest (``head``, ``flags``, ``made_tail``, ``python``)."""

    NUMBERS = False  # whether the values of cycles_by go with the tail (the NULs of its JSON stand for them)
    ENCODING = "ascii"  # what the lines are in
    python: PythonLines  # the format's lines made in Python, for a record the C code cannot take

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._records = lib.tj_records  # no argtypes: the packed bytes go as a pointer to their first byte
        self._records.restype = ctypes.c_uint64
        self._packers: dict[int, Callable[..., bytes]] = {}  # how many numbers -> struct.pack of them
        self._kinds: dict[tuple, _Kind] = {}
        self._tails: dict[tuple, bytes | None] = {}  # (error, site, note, cycles_by's keys) -> made_tail, packed
        self._size(1 << 16)

    @staticmethod
    def head(rec) -> bytes:
        """What the lines of records of ``rec``'s kind start with."""
        raise NotImplementedError

    @staticmethod
    def flags(rec) -> int:
        """The TJ_* flags of records of ``rec``'s kind."""
        return 0

    @staticmethod
    def made_tail(rec) -> bytes | None:
        """What the line ends with (but its newline), or None when the C code cannot write it."""
        raise NotImplementedError

    def _size(self, capacity: int) -> None:
        self._capacity = capacity
        self._out = ctypes.create_string_buffer(capacity)
        self._address = ctypes.addressof(self._out)
        self._view = memoryview(self._out)

    def _tail(self, rec) -> bytes | None:
        """``made_tail`` packed, found once for records without ``disasm``."""
        cycles_by = rec.cycles_by
        key = (rec.error, rec.site, rec.note, None if cycles_by is None else tuple(cycles_by))
        try:
            tail = self._tails.get(key, _UNKNOWN) if rec.disasm is None else _UNKNOWN
        except TypeError:  # a field that is no str (a record read back from a file): not kept
            tail = _UNKNOWN
            key = None
        if tail is _UNKNOWN:
            made = self.made_tail(rec)
            tail = None if made is None else _sized(made)
            if key is not None and rec.disasm is None:
                if len(self._tails) >= 4096:
                    self._tails.clear()
                self._tails[key] = tail
        return tail

    def _pack(self, rec) -> bytes:
        """The record as tj_records reads it (a verbatim line when it cannot be packed)."""
        kind = self._kinds.get((rec.vm, rec.hop, rec.conduit, rec.imm, rec.fid, rec.name))
        if kind is None:
            kind = self._kinds[(rec.vm, rec.hop, rec.conduit, rec.imm, rec.fid, rec.name)] = \
                _Kind(rec, self.head(rec), self.flags(rec))
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
            flags, texts = kind.pending_flags, kind.head_and_args + result_text
        else:
            flags, texts = kind.flags, kind.head + _sized_text(rec.args_text) + _sized_text(rec.result_text)
        numbers = ()
        if rec.error is rec.site is rec.note is rec.disasm is rec.cycles_by is None:
            tail = _EMPTY
        else:
            tail = self._tail(rec)
            if tail is None:
                return self._verbatim_line(rec)
            if self.NUMBERS and rec.cycles_by is not None:
                numbers = rec.cycles_by.values()
        args = rec.args
        nargs, nresults, nnumbers = len(args) + 1, len(results), len(numbers)
        count = _HEADER + nnumbers + nargs + nresults
        pack = self._packers.get(count)
        if pack is None:
            pack = self._packers[count] = _words(count)
        try:
            packed = pack(rec.seq, rec.cycle_start, rec.cycle_end, nargs, nresults, nnumbers, flags, *numbers, rec.fid,
                          *args, *results)
        except struct.error:
            return self._verbatim_line(rec)
        return b"".join((packed, texts, tail))

    def _verbatim_line(self, rec) -> bytes:
        line = self.python.line(rec).encode(self.ENCODING, "surrogatepass")
        return _verbatim(0, 0, 0, 0, 0, 0, VERBATIM) + _sized(line) + _EMPTY * 3

    def __call__(self, records: Sequence) -> str:
        packed = b"".join([self._pack(rec) for rec in records])
        while True:
            size = self._records(_batch(len(records), self._address, self._capacity) + packed)
            if size <= self._capacity:
                return str(self._view[:size], self.ENCODING, "surrogatepass")
            if size == _NO_REGISTER:
                return self.python(records)
            self._size(size)
