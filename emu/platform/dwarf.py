"""DWARF source positions of an ELF image, with pyelftools: the line table and the inlined calls.

A call site inside an inlined helper (a ``static inline`` wrapper around
``hvc``) has the helper's line in the line table; the line that made the
call is the ``DW_AT_call_file``/``DW_AT_call_line`` of the
``DW_TAG_inlined_subroutine`` entry covering the address.  The outermost one
is kept (the call written in a real function's body), with its address
ranges (``DW_AT_low_pc``/``high_pc`` or ``DW_AT_ranges``).

Debug info is a nicety: a malformed section costs the names, never the run.
"""

from __future__ import annotations

import bisect
import io

from emu.platform.image import LineInfo

_NESTING = ("DW_TAG_subprogram", "DW_TAG_lexical_block")  # where an outermost inlined call can sit


class DwarfLines:
    """The line rows and inlined calls of an ELF image, parsed one compile unit at a time as addresses need them.

    Naming a call site needs the unit holding its address only; parsing every
    unit of an image up front costs more than a short run.
    """

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._dwarf = None
        self._spans: list[tuple[int, int, int]] | None = None  # (low, high, unit offset), sorted
        self._units: dict[int, LineInfo] = {}

    def at(self, addr: int) -> LineInfo:
        """The positions of the compile unit whose code holds ``addr`` (empty when none does)."""
        spans = self._unit_spans()
        i = bisect.bisect_right(spans, (addr, 1 << 64, 0)) - 1
        if i < 0 or addr >= spans[i][1]:
            return _EMPTY
        offset = spans[i][2]
        unit = self._units.get(offset)
        if unit is None:
            unit = self._units[offset] = self._parse_unit(offset)
        return unit

    def _unit_spans(self) -> list[tuple[int, int, int]]:
        if self._spans is None:
            self._spans = []
            try:
                self._spans = sorted(self._find_spans())
            except Exception:  # noqa: BLE001 - pyelftools raises many types on corrupt DWARF (even AssertionError)
                self._spans = []
        return self._spans

    def _find_spans(self) -> list[tuple[int, int, int]]:
        from elftools.elf.elffile import ELFFile  # imported late: most runs never need DWARF

        elf = ELFFile(io.BytesIO(self._raw))
        if not elf.has_dwarf_info():
            return []
        self._dwarf = dwarf = elf.get_dwarf_info()
        # each unit's ranges from its first entry (.debug_aranges, where present, may list only some units)
        ranges = dwarf.range_lists()
        spans = []
        for cu in dwarf.iter_CUs():
            top = cu.get_top_DIE()
            spans += [(low, high, cu.cu_offset) for low, high in _ranges(top, ranges, cu, _base(top))]
        return spans

    def _parse_unit(self, offset: int) -> LineInfo:
        info = LineInfo()
        try:
            dwarf = self._dwarf
            cu = dwarf.get_CU_at(offset)
            program = dwarf.line_program_for_CU(cu)
            if program is None:
                return info
            first = 0 if program.header.version >= 5 else 1  # DWARF 5 numbers files from 0
            names = {first + i: fe.name.decode(errors="replace") for i, fe in enumerate(program["file_entry"])}
            for entry in program.get_entries():
                state = entry.state
                if state is not None and not state.end_sequence and state.line:
                    info.rows.append((state.address, names.get(state.file, "?"), state.line))
            top = cu.get_top_DIE()
            base = _base(top)
            ranges = dwarf.range_lists()
            for die in _outermost_inlined(top):
                call_file = names.get(die.attributes["DW_AT_call_file"].value, "?")
                call_line = die.attributes["DW_AT_call_line"].value
                info.inlined += [(low, high, call_file, call_line) for low, high in _ranges(die, ranges, cu, base)]
        except Exception:  # noqa: BLE001 - as above: a broken unit costs its names, never the run
            return LineInfo()
        info.rows.sort()
        info.inlined.sort()
        return info


_EMPTY = LineInfo()


def _base(top) -> int:
    """A compile unit's base address (its first entry's DW_AT_low_pc), for its relative ranges."""
    return top.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in top.attributes else 0


def _outermost_inlined(die):
    """The inlined-call entries under ``die`` not inside another inlined call."""
    for child in die.iter_children():
        if child.tag == "DW_TAG_inlined_subroutine":
            if "DW_AT_call_file" in child.attributes and "DW_AT_call_line" in child.attributes:
                yield child
        elif child.tag in _NESTING:
            yield from _outermost_inlined(child)


def _ranges(die, range_lists, cu, base: int) -> list[tuple[int, int]]:
    """The address ranges of ``die``; none at address 0 (the linker's mark for discarded code)."""
    attrs = die.attributes
    if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
        low, high = attrs["DW_AT_low_pc"].value, attrs["DW_AT_high_pc"]
        spans = [(low, high.value if high.form == "DW_FORM_addr" else low + high.value)]
    elif "DW_AT_ranges" in attrs and range_lists is not None:
        spans = []
        for entry in range_lists.get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=cu):
            if hasattr(entry, "base_address"):
                base = entry.base_address
            elif entry.is_absolute:
                spans.append((entry.begin_offset, entry.end_offset))
            else:
                spans.append((base + entry.begin_offset, base + entry.end_offset))
    else:
        spans = []
    return [(low, high) for low, high in spans if low and high > low]
