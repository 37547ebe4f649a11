"""Console input from the user's stdin, for the guest's UART (and semihosting reads).

Input is taken only when stdin is a terminal (put in cbreak mode for the
run, so keys arrive one by one and are not echoed twice) or a pipe or file
(fed by a script or a test); ``/dev/null`` or a closed stdin gives the
guest no input.  Reads never block: a guest polling its UART sees an empty
FIFO until something arrives, as on a real serial line.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

READ_CHUNK = 4096


@contextmanager
def stdin_input() -> Iterator[Callable[[], bytes] | None]:
    """A non-blocking reader of stdin for the run's duration, or None when stdin offers no input."""
    try:
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        yield None
        return
    tty = os.isatty(fd)
    if not tty and not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)):
        yield None
        return
    saved_tty = _enter_cbreak(fd) if tty else None
    was_blocking = os.get_blocking(fd)
    os.set_blocking(fd, False)
    done = False

    def poll() -> bytes:
        nonlocal done
        if done:
            return b""
        try:
            data = os.read(fd, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:
            data = b""
        if not data and not tty:
            done = True  # end of the pipe or file
        return data

    try:
        yield poll
    finally:
        os.set_blocking(fd, was_blocking)
        if saved_tty is not None:
            import termios

            termios.tcsetattr(fd, termios.TCSADRAIN, saved_tty)


def _enter_cbreak(fd: int) -> list | None:
    try:
        import termios
        import tty
    except ImportError:  # not a POSIX host
        return None
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    return saved
