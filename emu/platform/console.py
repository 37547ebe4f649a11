"""Guest consoles: the emulated PL011 data register, line-buffered and tagged per VM."""

from __future__ import annotations

from typing import IO

DEFAULT_CONSOLE_LIMIT = 4 << 20  # bytes a guest may print before it is stopped as flooding


class ConsoleFlood(Exception):
    """A guest printed more than the console limit."""


class Console:
    """Everything one VM printed, streamed line by line to ``stream`` with a tag."""

    def __init__(self, tag: str, stream: IO[str] | None, limit: int = DEFAULT_CONSOLE_LIMIT) -> None:
        self.tag = tag
        self._stream = stream
        self._limit = limit
        self._chunks: list[str] = []
        self._line: list[str] = []
        self._size = 0

    def putc(self, byte: int) -> None:
        self._size += 1
        if self._size > self._limit:
            raise ConsoleFlood(f"{self.tag} printed more than {self._limit} bytes")
        char = chr(byte & 0xFF)
        if char == "\r":
            return
        self._line.append(char)
        if char == "\n":
            self._flush_line()

    def write_line(self, text: str) -> None:
        """A whole line from outside the UART (e.g. FFA_CONSOLE_LOG)."""
        for byte in text.encode(errors="replace") + b"\n":
            self.putc(byte)

    def _flush_line(self) -> None:
        line = "".join(self._line)
        self._line.clear()
        self._chunks.append(line)
        if self._stream is not None:
            self._stream.write(f"{self.tag}| {line}")
            self._stream.flush()

    def close(self) -> None:
        if self._line:
            self._line.append("\n")
            self._flush_line()

    @property
    def text(self) -> str:
        return "".join(self._chunks) + "".join(self._line)
