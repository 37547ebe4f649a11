"""Naming a guest's calling site (``function+0xoff (file:line)``) from its image, never wrongly.

A PC names a function only when the code running there is the image's own
code at that address.  Software that relocates itself (U-Boot copies itself
to the top of RAM and runs there) executes the image's code at another
address: the offset is found once by locating the bytes around the PC in
the image's executable segments (code is position-independent within the
image, so relocation leaves instruction bytes unchanged), checked at each
new site, and the PC is named at its linked address.  Code that matches
nowhere, or in more than one place, is left unnamed.
"""

from __future__ import annotations

from collections.abc import Callable

from emu.platform.image import GuestImage

WINDOW = 32  # bytes compared around a PC: 8 instructions


class SiteNamer:
    """Names call sites of one VM; ``read(va, size)`` reads its live code (None when unmapped)."""

    def __init__(self, image: GuestImage, read: Callable[[int, int], bytes | None]) -> None:
        self._image = image
        self._read = read
        self._delta: int | None = None  # running address - linked address, once a relocation is found
        self._sites: dict[int, Site | None] = {}

    def name(self, pc: int) -> str | None:
        site = self.site(pc)
        return None if site is None else site.name()

    def site(self, pc: int) -> Site | None:
        """The site at ``pc``, None when its code is not the image's; checked against the live code the
        first time ``pc`` is seen (so once per site), named only when asked."""
        try:
            return self._sites[pc]
        except KeyError:
            site = self._sites[pc] = self._site(pc)
            return site

    def _site(self, pc: int) -> Site | None:
        start = pc - WINDOW // 2
        live = self._read(start, WINDOW)
        if live is None:
            return None
        linked = self._linked_address(start, live)
        return None if linked is None else Site(self._image, linked + WINDOW // 2)

    def _linked_address(self, start: int, live: bytes) -> int | None:
        if self._image.code_at(start, WINDOW) == live:
            return start
        if self._delta is not None and self._image.code_at(start - self._delta, WINDOW) == live:
            return start - self._delta
        found = [seg.vaddr + offset for seg in self._image.segments if seg.executable
                 for offset in _find_all(seg.data, live)]
        if len(found) != 1:
            return None
        self._delta = start - found[0]
        return found[0]


class Site:
    """A calling site at a linked address of an image; its name is made when first asked, since the
    debug info it needs is slow to parse and a run that shows no trace never needs it."""

    __slots__ = ("_image", "_pc", "_name")

    def __init__(self, image: GuestImage, pc: int) -> None:
        self._image: GuestImage | None = image
        self._pc = pc
        self._name: str | None = None

    def name(self) -> str | None:
        """``function+0xoff (file:line)`` (see ``describe``)."""
        if self._image is not None:
            self._name, self._image = describe(self._image, self._pc), None
        return self._name


def _find_all(data: bytes, needle: bytes, limit: int = 2) -> list[int]:
    hits, at = [], data.find(needle)
    while at >= 0 and len(hits) < limit:
        hits.append(at)
        at = data.find(needle, at + 1)
    return hits


def describe(image: GuestImage, pc: int) -> str | None:
    """``function+0xoff (file:line)`` for a code address of the image as linked.

    The line is the caller's when the code is an inlined helper's: a call
    site names the line that made the call, not the helper's ``hvc``.
    """
    name = image.symbols.lookup(pc)
    line = image.caller_line(pc)
    if line:
        file, lineno = line
        where = f"{file.rsplit('/', 1)[-1]}:{lineno}"
        return f"{name} ({where})" if name else where
    return name
