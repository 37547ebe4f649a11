"""A progress line for long runs on a terminal: cycles and calls, refreshed in place.

Only drawn when the stream is a TTY, at most every ``interval`` seconds of
wall time.  Anything else written to the same terminal (consoles, a trace
on stderr) goes through ``wrap`` so the line is erased first and never
mixes with it.  Progress reads the clock, never changes it: traces and
cycle counts are the same with or without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO

ERASE_LINE = "\r\x1b[K"


class Progress:
    def __init__(self, stream: IO[str], interval: float = 0.5,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._interval = interval
        self._now = now
        self._next = now() + interval
        self._shown = False

    def __call__(self, cycles: int, calls: int) -> None:
        """The machine's between-slices hook (``MachineConfig.progress``)."""
        now = self._now()
        if now < self._next:
            return
        self._next = now + self._interval
        self._stream.write(f"{ERASE_LINE}ffa-emu: cycles {cycles:,}, calls {calls:,} ...")
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self._stream.write(ERASE_LINE)
            self._stream.flush()
            self._shown = False

    def wrap(self, stream: IO[str]) -> IO[str]:
        """``stream`` with the progress line erased before each write."""
        return _Clearing(stream, self)


class _Clearing:
    def __init__(self, stream: IO[str], progress: Progress) -> None:
        self._stream = stream
        self._progress = progress

    def write(self, text: str) -> int:
        self._progress.clear()
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()


def progress_for(stream: IO[str]) -> Progress | None:
    """A ``Progress`` on ``stream`` when it is a terminal, else None (never in a pipe)."""
    return Progress(stream) if stream.isatty() else None
