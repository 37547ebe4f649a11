"""The native hook library (``native/*.c``, built with zig cc by the wheel's build or ``make``): loaded once.

It holds the per-block cycle accounting hook (with the word classifier that
spares it capstone), the trap entry, the counter (MRS/MSR) and instruction
cache (SYS) hooks, the write hooks (the tracker of the SPMC's writes into VM
RAM, the secure world's journal) and the TLB fill hook that stands in for
them, the engine start and the jsonl trace line
encoder; each has a pure-Python fallback giving identical results, used when
``FFA_EMU_PURE_PYTHON`` is set or when the library is missing or does not load.  In the last two cases the tool says so once on
stderr: the same run is some 40 times slower.
"""

from __future__ import annotations

import ctypes
import os
import sys
from functools import cache
from pathlib import Path

LIBRARY = Path(__file__).parent / "native" / "libcpuhooks.so"


@cache
def load() -> ctypes.CDLL | None:
    if os.environ.get("FFA_EMU_PURE_PYTHON"):
        return None
    if not LIBRARY.exists():
        _slow_path(f"{LIBRARY} is not built")
        return None
    try:
        return ctypes.CDLL(str(LIBRARY))
    except OSError as exc:
        _slow_path(f"{LIBRARY} does not load: {exc}")
        return None


def _slow_path(why: str) -> None:
    print(f"ffa-emu: running on the slow pure-Python cycle accounting path ({why}; reinstall ffa-emu "
          "from a wheel for this platform, or run make in a checkout)", file=sys.stderr)
