"""The native word classifier (``native/wordclass.c``): an instruction word's cost class from its bits alone.

It answers for the encodings compiled code is made of and says "unknown" for
the rest, which capstone classifies (``costmodel.BlockClassifier``).  The block-cost hook
uses it in C; this module gives Python its class names, to hand the hook each
class's cost, and single answers, for tests and tools.  Every answer it gives
agrees with ``iclass.classify`` on capstone's disassembly:
``tools/check_wordclass.py`` checks all 2**32 words.
"""

from __future__ import annotations

import ctypes
from functools import cache

from emu.cpu import nativelib


@cache
def _lib() -> ctypes.CDLL | None:
    lib = nativelib.load()
    if lib is None:
        return None
    lib.wc_class.argtypes = [ctypes.c_uint32]
    lib.wc_class.restype = ctypes.c_int
    lib.wc_class_count.restype = ctypes.c_int
    lib.wc_class_name.argtypes = [ctypes.c_int]
    lib.wc_class_name.restype = ctypes.c_char_p
    return lib


@cache
def class_names() -> tuple[str, ...]:
    """The native classifier's classes, by index (empty without the native library)."""
    lib = _lib()
    if lib is None:
        return ()
    return tuple(lib.wc_class_name(i).decode() for i in range(lib.wc_class_count()))


def word_class(word: int) -> str | None:
    """The class of one instruction word, or None when only capstone can tell (or the library is missing)."""
    lib = _lib()
    if lib is None:
        return None
    cls = lib.wc_class(word & 0xFFFFFFFF)
    return None if cls < 0 else class_names()[cls]
