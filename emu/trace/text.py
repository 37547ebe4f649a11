"""A trace record as a line of text: what ``--trace`` writes by default, strace-like.

``render_text`` writes it in Python; ``text_encoder`` gives what a trace file
is written with: the same lines, a call's at once, made in C
(``native/tracejson.c``, see ``emu.trace.nativelines``) when the helper library
is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from emu.trace.hops import HOP_CALL
from emu.trace.nativelines import SPAN, TEXT, NativeLines, PythonLines, library

if TYPE_CHECKING:
    from emu.trace.records import TraceRecord


def _head(rec) -> str:
    """The line up to the argument text: ``vm1 hvc FFA_VERSION(``, or ``vm1   \\_ el2->spmc FFA_VERSION(``."""
    if rec.hop != HOP_CALL:
        return f"{rec.vm}   \\_ {rec.hop} {rec.name}("
    conduit = rec.conduit if rec.imm == 0 else f"{rec.conduit}#{rec.imm}"
    return f"{rec.vm} {conduit} {rec.name}("


def _tail(rec) -> str:
    """The line from the note on: ``  (note)  @ site`` and the trapping block's lines."""
    line = ""
    if rec.note:
        line += f"  ({rec.note})"
    if rec.site:
        line += f"  @ {rec.site}"
    for insn in rec.disasm or ():
        line += f"\n{'':14}| {insn}"
    return line


def render_text(rec: TraceRecord, cycles: bool = True) -> str:
    """strace-like: ``[   1234] vm1 hvc FFA_VERSION(1.2) = 1.2 <+312>``.

    ``cycles=False`` leaves out the stamp and the duration (for golden
    traces that must survive a cost-model change).  A record with ``disasm``
    gets its trapping block on the following lines, indented.
    """
    line = f"[{rec.cycle_start:>10}] " if cycles else ""
    line += f"{_head(rec)}{rec.args_text})"
    if rec.result_text:
        line += f" = {rec.result_text}"
    if cycles and rec.hop == HOP_CALL:
        line += f" <+{rec.cycle_end - rec.cycle_start}>"
    return line + _tail(rec)


_python_lines = PythonLines(render_text)


class _TextLines(NativeLines):
    """``render_text(rec) + "\\n"`` of each record, its text filled, made in C."""

    ENCODING = "utf-8"

    @staticmethod
    def head(rec) -> bytes:
        return _head(rec).encode("utf-8", "surrogatepass")

    @staticmethod
    def flags(rec) -> int:
        return TEXT | SPAN if rec.hop == HOP_CALL else TEXT

    @staticmethod
    def made_tail(rec) -> bytes:
        return _tail(rec).encode("utf-8", "surrogatepass")

    python = _python_lines


def text_encoder(native: bool | None = None) -> Callable[[Sequence], str]:
    """What makes records' text lines, newlines included, their texts filled: in C when the helper library
    loads (``native=False``: in Python; ``native=True``: in C or an error)."""
    lib = library(native)
    return _python_lines if lib is None else _TextLines(lib)
