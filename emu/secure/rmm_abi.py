"""Arm CCA RMI/RSI version negotiation: function IDs, status codes, revision words and the rule.

A host (RMI) or a realm (RSI) asks for a revision in x1 (major << 16 | minor)
and gets a status in x0, a lower revision in x1 and a higher one in x2:

* requested supported: SUCCESS, lower = requested, higher = highest supported;
* an older one supported: ERROR_INPUT, lower = highest supported below the
  request, higher = highest supported;
* only newer ones: ERROR_INPUT, lower = higher = highest supported.

So lower <= higher always, and a caller that also supports ``higher`` can
retry with it.

x1 is compared as the whole 64-bit register, as TF-RMM does: a revision is
bits 30:0 and bits 63:31 are reserved, so a request with any of them set is
never supported and, being above every revision, is answered ERROR_INPUT with
lower = higher = highest supported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

RMI_VERSION = 0xC400_0150
RSI_VERSION = 0xC400_0190

SUCCESS = 0
ERROR_INPUT = 1
RMI_SUCCESS = RSI_SUCCESS = SUCCESS
RMI_ERROR_INPUT = RSI_ERROR_INPUT = ERROR_INPUT
STATUS_NAMES = {SUCCESS: "SUCCESS", ERROR_INPUT: "ERROR_INPUT"}

RMM_REVISION_MAJOR_SHIFT = 16
MAJOR_MAX = 0x7FFF
MINOR_MAX = 0xFFFF
REVISION_MAX = MAJOR_MAX << RMM_REVISION_MAJOR_SHIFT | MINOR_MAX

HEADER_CONSTANTS = (
    "RMI_VERSION", "RSI_VERSION",
    "RMI_SUCCESS", "RMI_ERROR_INPUT", "RSI_SUCCESS", "RSI_ERROR_INPUT",
    "RMM_REVISION_MAJOR_SHIFT",
)
DEFAULT_RMM_REVISIONS = (0x1_0000,)  # 1.0

_REVISION_TEXT = re.compile(r"([0-9]+)\.([0-9]+)")


def revision(major: int, minor: int) -> int:
    """The revision word of major.minor."""
    return major << RMM_REVISION_MAJOR_SHIFT | minor


def negotiate(requested: int, supported: Sequence[int]) -> tuple[int, int, int]:
    """(status, lower, higher) the RMM answers to a request for ``requested``."""
    if not supported:
        raise ValueError("the RMM must support at least one revision")
    highest = max(supported)
    if requested in supported:
        return SUCCESS, requested, highest
    older = [rev for rev in supported if rev < requested]
    return ERROR_INPUT, max(older, default=highest), highest


def check_revisions(revisions: Iterable[int]) -> tuple[int, ...]:
    """The revisions sorted and deduplicated; ValueError if empty or one is not a revision word."""
    result = tuple(sorted(set(revisions)))
    if not result:
        raise ValueError("the RMM must support at least one revision")
    bad = [rev for rev in result if not 0 <= rev <= REVISION_MAX]
    if bad:
        raise ValueError(f"not an RMM revision word: {bad[0]:#x} (major 0-{MAJOR_MAX}, minor 0-{MINOR_MAX})")
    return result


def parse_revisions(text: str) -> tuple[int, ...]:
    """``"1.0,2.0"`` -> ``(0x10000, 0x20000)``, sorted and deduplicated."""
    items = [item.strip() for item in text.split(",")]
    if items == [""]:
        raise ValueError("no RMM revisions given (expected e.g. 1.0,2.0)")
    return check_revisions(_parse_revision(item) for item in items)


def _parse_revision(item: str) -> int:
    match = _REVISION_TEXT.fullmatch(item)
    if match is None:
        raise ValueError(f"bad RMM revision {item!r}: expected MAJOR.MINOR, e.g. 1.0")
    major, minor = int(match[1]), int(match[2])
    if major > MAJOR_MAX or minor > MINOR_MAX:
        raise ValueError(f"RMM revision {item!r} out of range: major 0-{MAJOR_MAX}, minor 0-{MINOR_MAX}")
    return revision(major, minor)
