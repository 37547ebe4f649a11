"""This repository's tests run against the checkout: build the bundled SPMC and the native helper first."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILT_PARTS = ("emu/data/spmc.elf", "emu/cpu/native/libcpuhooks.so")


def pytest_sessionstart(session: pytest.Session) -> None:
    proc = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", *BUILT_PARTS],
                          capture_output=True, text=True)
    if proc.returncode:
        raise pytest.UsageError(f"make {' '.join(BUILT_PARTS)} failed:\n{proc.stdout}{proc.stderr}")
