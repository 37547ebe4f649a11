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

import io

from emu.platform.image import LineInfo

_NESTING = ("DW_TAG_subprogram", "DW_TAG_lexical_block")  # where an outermost inlined call can sit


def line_info(raw: bytes) -> LineInfo:
    from elftools.elf.elffile import ELFFile  # imported late: most runs never need DWARF

    info = LineInfo()
    try:
        elf = ELFFile(io.BytesIO(raw))
        if not elf.has_dwarf_info():
            return info
        dwarf = elf.get_dwarf_info()
        ranges = dwarf.range_lists()
        for cu in dwarf.iter_CUs():
            program = dwarf.line_program_for_CU(cu)
            if program is None:
                continue
            first = 0 if program.header.version >= 5 else 1  # DWARF 5 numbers files from 0
            names = {first + i: fe.name.decode(errors="replace") for i, fe in enumerate(program["file_entry"])}
            for entry in program.get_entries():
                state = entry.state
                if state is not None and not state.end_sequence and state.line:
                    info.rows.append((state.address, names.get(state.file, "?"), state.line))
            top = cu.get_top_DIE()
            base = top.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in top.attributes else 0
            for die in _outermost_inlined(top):
                call_file = names.get(die.attributes["DW_AT_call_file"].value, "?")
                call_line = die.attributes["DW_AT_call_line"].value
                info.inlined += [(low, high, call_file, call_line) for low, high in _ranges(die, ranges, cu, base)]
    except Exception:  # noqa: BLE001 - pyelftools raises many types on corrupt DWARF (even AssertionError)
        return LineInfo()
    info.rows.sort()
    info.inlined.sort()
    return info


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
