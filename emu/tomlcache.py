"""TOML data files parsed once: their tables are kept beside them, read back while the file is unchanged.

The packaged cost model is read at every start, and importing ``tomllib`` and
parsing cost more than the rest of reading it (some 5 ms).  As Python keeps
bytecode, the tables are kept in marshal form in ``__pycache__`` next to the
file, stamped with its modification time and size, and written when bytecode
would be (not under ``PYTHONDONTWRITEBYTECODE``; ``make`` writes them with
``python -m emu.tomlcache FILE...``, as it runs compileall).
"""

from __future__ import annotations

import marshal
import os
import sys
from pathlib import Path


def load(path: Path) -> dict:
    """``tomllib.loads`` of the file's text (raising what reading and parsing it raise)."""
    stamp = _stamp(path)
    try:
        kept_stamp, data = marshal.loads(cache_path(path).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        pass  # none kept, or unreadable: parse the file
    else:
        if kept_stamp == stamp:
            return data
    data = _parse(path)
    if not sys.dont_write_bytecode:
        keep(path, stamp, data)
    return data


def cache_path(path: Path) -> Path:
    return path.parent / "__pycache__" / f"{path.name}.marshal"


def keep(path: Path, stamp: tuple[int, int], data: dict) -> None:
    """Write the tables of ``path`` (as it was at ``stamp``) beside it; a place that cannot be written keeps none."""
    target = cache_path(path)
    partial = target.with_name(f"{target.name}.{os.getpid()}")
    try:
        target.parent.mkdir(exist_ok=True)
        partial.write_bytes(marshal.dumps((stamp, data)))
        os.replace(partial, target)  # readers see the old tables or the new, never half of them
    except (OSError, ValueError):  # ValueError: a value marshal cannot hold (a TOML date)
        partial.unlink(missing_ok=True)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _parse(path: Path) -> dict:
    import tomllib  # only when no tables are kept: most starts never import it

    return tomllib.loads(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    for name in sys.argv[1:]:
        keep(Path(name), _stamp(Path(name)), _parse(Path(name)))
