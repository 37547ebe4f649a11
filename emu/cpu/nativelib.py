"""The native hook library (``native/*.c``, built by ``make`` with zig cc): found and loaded once.

It holds the per-block cycle accounting hook, the counter (MRS) hook and
the write tracker (the pages the SPMC writes in VM RAM); each has a
pure-Python fallback giving identical results, used when the library is not
built or ``FFA_EMU_PURE_PYTHON`` is set.
"""

from __future__ import annotations

import ctypes
import os
from functools import cache
from pathlib import Path

LIBRARY = Path(__file__).parent / "native" / "libcpuhooks.so"


@cache
def load() -> ctypes.CDLL | None:
    if not LIBRARY.exists() or os.environ.get("FFA_EMU_PURE_PYTHON"):
        return None
    try:
        return ctypes.CDLL(str(LIBRARY))
    except OSError:
        return None
