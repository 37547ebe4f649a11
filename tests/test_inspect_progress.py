"""Progress on a terminal: cycles and calls refreshed in place, never in a pipe, never changing a run."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from emu.progress import ERASE_LINE, Progress, progress_for


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_draws_at_most_every_interval_and_erases_before_other_output() -> None:
    clock, out = _Clock(), io.StringIO()
    progress = Progress(out, interval=0.5, now=clock)
    progress(1000, 1)
    assert out.getvalue() == ""  # nothing before the first interval
    clock.now = 0.5
    progress(1_234_567, 3)
    assert out.getvalue() == f"{ERASE_LINE}ffa-emu: cycles 1,234,567, calls 3 ..."
    clock.now = 0.9
    progress(2_000_000, 4)
    assert "2,000,000" not in out.getvalue()
    console = io.StringIO()
    progress.wrap(console).write("vm1| hello\n")
    assert out.getvalue().endswith(ERASE_LINE) and console.getvalue() == "vm1| hello\n"
    size = len(out.getvalue())
    progress.clear()
    assert len(out.getvalue()) == size  # already erased: nothing more to do


def test_no_progress_in_a_pipe() -> None:
    assert progress_for(io.StringIO()) is None


def test_progress_does_not_change_the_run(guest_image, spmc_image, run_guests) -> None:
    seen: list[tuple[int, int]] = []
    image = guest_image("ffa_demo")
    plain = run_guests(image, spmc_image=spmc_image, quantum=2000)
    watched = run_guests(image, spmc_image=spmc_image, quantum=2000, progress=lambda c, t: seen.append((c, t)))
    assert len(seen) > 10 and seen == sorted(seen)
    assert seen[-1] == (watched.result.cycles, watched.result.traps)
    assert watched.records == plain.records and watched.result.cycles == plain.result.cycles


def _run_cli(stderr_tty: bool, image: str) -> bytes:
    argv = [sys.executable, "-m", "emu", "run", "--max-cycles", "150000000", image]
    if not stderr_tty:
        return subprocess.run(argv, capture_output=True, timeout=120).stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 3  # the spinning guest hits --max-cycles
    return data


def test_cli_shows_progress_on_a_terminal_only(guest_image) -> None:
    image = str(guest_image("spin"))
    on_tty = _run_cli(True, image)
    assert b"\r\x1b[Kffa-emu: cycles " in on_tty and b", calls 0 ..." in on_tty
    assert b"\r\x1b[Kffa-emu: vm1: runaway guest" in on_tty  # the line is erased before the report
    in_pipe = _run_cli(False, image)
    assert b"\r" not in in_pipe and b"runaway guest" in in_pipe
