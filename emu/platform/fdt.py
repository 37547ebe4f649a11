"""Flattened device trees: build a tree, write a DTB, read one back, print DTS.

The emulator hands guests a device tree the way QEMU does, and may be given a
user blob it must not trust, so the reader checks every offset and size and
reports any defect as one ``FdtError``.  Layout and tokens follow the
Devicetree Specification (v0.4), chapter 5 "Flattened Devicetree Format".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterable, Sequence

MAGIC = 0xD00DFEED
VERSION = 17  # what dtc and QEMU write; readers back to 16 accept it
LAST_COMP_VERSION = 16
BEGIN_NODE, END_NODE, PROP, NOP, END = 1, 2, 3, 4, 9
MAX_DEPTH = 64  # as Linux's unflatten_dt_nodes; real trees are < 10 deep
MAX_BLOB = 2 << 20  # arm64 Linux refuses DTBs over 2 MiB (MAX_FDT_SIZE)
MAX_NAME = 256  # the spec allows 31 (+ unit address); a cap keeps hostile names cheap

_HEADER = struct.Struct(">10I")
_RSV = struct.Struct(">QQ")
_U32 = struct.Struct(">I")
_PROP = struct.Struct(">II")


class FdtError(ValueError):
    """A blob or tree that is not a well-formed flattened device tree."""


@dataclass
class Node:
    """One device tree node: ordered raw properties and ordered children."""

    name: str = ""
    props: dict[str, bytes] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)

    def set_prop(self, name: str, value: bytes) -> Node:
        """Set a raw property value; returns self so calls can chain."""
        self.props[name] = bytes(value)
        return self

    def set_cells(self, name: str, values: Iterable[int], cells_per_value: int = 1) -> Node:
        """Big-endian values of ``cells_per_value`` 32-bit cells each, as DT ``reg`` needs."""
        width = 4 * cells_per_value
        out = bytearray()
        for value in values:
            if not 0 <= value < 1 << (8 * width):
                raise ValueError(f"{name}: {value:#x} does not fit in {cells_per_value} cell(s)")
            out += value.to_bytes(width, "big")
        return self.set_prop(name, out)

    def set_u32(self, name: str, *cells: int) -> Node:
        """One or more 32-bit cells (``<a b c>``)."""
        return self.set_cells(name, cells, 1)

    def set_u64(self, name: str, *values: int) -> Node:
        """One or more 64-bit values, each as two cells."""
        return self.set_cells(name, values, 2)

    def set_str(self, name: str, value: str) -> Node:
        """A single NUL-terminated string."""
        return self.set_strs(name, [value])

    def set_strs(self, name: str, values: Sequence[str]) -> Node:
        """A string list (``"a", "b"``): each string NUL-terminated, back to back."""
        if any("\0" in v for v in values):
            raise ValueError(f"{name}: a string contains NUL")
        return self.set_prop(name, b"".join(v.encode() + b"\0" for v in values))

    def set_empty(self, name: str) -> Node:
        """A boolean property: present with no value."""
        return self.set_prop(name, b"")

    def child(self, name: str) -> Node:
        """The child called ``name``, created (appended) when missing."""
        found = next((c for c in self.children if c.name == name), None)
        if found is None:
            found = Node(name)
            self.children.append(found)
        return found

    def find(self, path: str) -> Node | None:
        """Node at ``path`` ("/chosen"); like libfdt, "memory" matches "memory@..."."""
        node = self
        for part in filter(None, path.split("/")):
            match = [c for c in node.children if c.name == part] or [
                c for c in node.children if "@" not in part and c.name.split("@")[0] == part]
            if not match:
                return None
            node = match[0]
        return node

    def u32s(self, name: str) -> list[int]:
        """A property decoded as 32-bit cells."""
        raw = self.props[name]
        if len(raw) % 4:
            raise FdtError(f"{name}: {len(raw)} bytes is not a whole number of cells")
        return [v for (v,) in _U32.iter_unpack(raw)]

    def strs(self, name: str) -> list[str]:
        """A property decoded as a string list."""
        return self.props[name].rstrip(b"\0").decode(errors="replace").split("\0")


def _pad4(buf: bytearray) -> None:
    buf += b"\0" * (-len(buf) % 4)  # tokens and values start on 4-byte boundaries


def _check_name(name: str, what: str) -> bytes:
    """The name as bytes, if ``parse_dtb`` would accept it back."""
    if not (0 < len(name) <= MAX_NAME and name.isascii() and name.isprintable()) or (
            what == "node" and "/" in name):
        raise FdtError(f"invalid {what} name {name!r}")
    return name.encode()


def to_dtb(root: Node, boot_cpuid: int = 0, reserve: Sequence[tuple[int, int]] = ()) -> bytes:
    """Serialise ``root`` as a version 17 DTB (header, reservations, structure, strings)."""
    structure, strings = bytearray(), bytearray()
    name_offsets: dict[str, int] = {}

    def emit(node: Node, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise FdtError(f"nodes nested deeper than {MAX_DEPTH}")
        structure.extend(_U32.pack(BEGIN_NODE))
        structure.extend((_check_name(node.name, "node") if depth else b"") + b"\0")
        _pad4(structure)
        for name, value in node.props.items():
            if name not in name_offsets:  # strings block holds each name once
                name_offsets[name] = len(strings)
                strings.extend(_check_name(name, "property") + b"\0")
            structure.extend(_U32.pack(PROP) + _PROP.pack(len(value), name_offsets[name]) + value)
            _pad4(structure)
        for node_child in node.children:
            emit(node_child, depth + 1)
        structure.extend(_U32.pack(END_NODE))

    emit(root, 0)
    structure.extend(_U32.pack(END))
    rsvmap = b"".join(_RSV.pack(addr, size) for addr, size in reserve) + _RSV.pack(0, 0)
    off_rsvmap = _HEADER.size  # 40: already 8-byte aligned, as the reservation map must be
    off_struct = off_rsvmap + len(rsvmap)  # a multiple of 16, so 4-byte aligned
    off_strings = off_struct + len(structure)
    total = off_strings + len(strings)
    header = _HEADER.pack(MAGIC, total, off_struct, off_strings, off_rsvmap, VERSION,
                          LAST_COMP_VERSION, boot_cpuid, len(strings), len(structure))
    return header + rsvmap + bytes(structure) + bytes(strings)


def _cstr(buf: bytes, start: int, what: str) -> tuple[str, int]:
    """The NUL-terminated printable ASCII name at ``start`` and the offset of its NUL."""
    end = buf.find(b"\0", start, start + MAX_NAME + 1)
    if end < 0:
        raise FdtError(f"unterminated or over-long {what} at offset {start:#x}")
    try:
        text = buf[start:end].decode("ascii")
    except UnicodeDecodeError:
        raise FdtError(f"non-ASCII {what} at offset {start:#x}") from None
    if not text.isprintable():
        raise FdtError(f"unprintable {what} at offset {start:#x}")
    return text, end


def parse_dtb(data: bytes, max_size: int = MAX_BLOB) -> Node:
    """Read a DTB into a tree; anything malformed, or over ``max_size``, raises ``FdtError``."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise FdtError(f"blob of {len(data)} bytes is shorter than the {_HEADER.size}-byte header")
    (magic, total, off_struct, off_strings, off_rsvmap, version, last_comp, _,
     size_strings, size_struct) = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise FdtError(f"bad magic {magic:#010x} (expected {MAGIC:#010x})")
    if version < VERSION or last_comp > VERSION:
        raise FdtError(f"unsupported version {version} (last compatible {last_comp}); need 17")
    limit = min(len(data), max_size)
    if not _HEADER.size <= total <= limit:
        raise FdtError(f"totalsize {total:#x} outside [40, {limit:#x}] (blob length, size limit)")
    for what, off, size in (("memory reservation block", off_rsvmap, _RSV.size),
                            ("structure block", off_struct, size_struct),
                            ("strings block", off_strings, size_strings)):
        if off < _HEADER.size or off + size > total:
            raise FdtError(f"{what} [{off:#x}, +{size:#x}) outside the blob (totalsize {total:#x})")
    if off_rsvmap % 8 or off_struct % 4 or size_struct % 4:
        raise FdtError("misaligned block (reservation map needs 8, structure block 4)")
    pos = off_rsvmap
    while True:  # the reservation list ends with an all-zero entry
        if pos + _RSV.size > total:
            raise FdtError("memory reservation block has no terminating entry")
        pos += _RSV.size
        if _RSV.unpack_from(data, pos - _RSV.size) == (0, 0):
            break
    return _parse_struct(data[off_struct:off_struct + size_struct],
                         data[off_strings:off_strings + size_strings])


def _parse_struct(blk: bytes, strs: bytes) -> Node:
    """Walk the token stream without recursion, so depth is only what MAX_DEPTH allows."""
    stack: list[tuple[Node, set[str]]] = []  # open nodes with their child names
    root: Node | None = None
    pos = 0
    while True:
        if pos + 4 > len(blk):
            raise FdtError("structure block ends without FDT_END")
        (token,), pos = _U32.unpack_from(blk, pos), pos + 4
        if token == BEGIN_NODE:
            if root is not None and not stack:
                raise FdtError("a second root node")
            if len(stack) > MAX_DEPTH:
                raise FdtError(f"nodes nested deeper than {MAX_DEPTH}")
            name, end = _cstr(blk, pos, "node name")
            pos, node = end + 1 + (-(end + 1) % 4), Node(name if stack else "")
            if stack:
                parent, seen = stack[-1]
                if not name or "/" in name or name in seen:
                    raise FdtError(f"invalid or duplicate node name {name!r} under {parent.name!r}")
                seen.add(name)
                parent.children.append(node)
            else:
                root = node
            stack.append((node, set()))
        elif token == PROP:
            if not stack:
                raise FdtError(f"property outside any node at offset {pos - 4:#x}")
            if pos + _PROP.size > len(blk):
                raise FdtError("truncated property header")
            (length, name_off), pos = _PROP.unpack_from(blk, pos), pos + _PROP.size
            if pos + length > len(blk):
                raise FdtError(f"property value of {length:#x} bytes runs past the structure block")
            if name_off >= len(strs):
                raise FdtError(f"property name offset {name_off:#x} outside the strings block")
            name, _ = _cstr(strs, name_off, "property name")
            node = stack[-1][0]
            if node.children or not name or name in node.props:
                raise FdtError(f"property {name!r} empty, duplicate or after a subnode")
            node.props[name] = blk[pos:pos + length]
            pos += length + (-length % 4)
        elif token == END_NODE:
            if not stack:
                raise FdtError(f"unbalanced FDT_END_NODE at offset {pos - 4:#x}")
            stack.pop()
        elif token == END:
            if stack or root is None:
                raise FdtError("FDT_END before a complete root node")
            return root
        elif token != NOP:
            raise FdtError(f"unknown token {token:#x} at structure offset {pos - 4:#x}")


def _dts_value(value: bytes) -> str:
    """DTS text for a value: strings if they look like strings, else cells, else bytes."""
    if not value:
        return ""
    parts = value[:-1].split(b"\0")
    if value.endswith(b"\0") and all(p and all(32 <= b < 127 for b in p) for p in parts):
        quoted = (p.decode().replace("\\", "\\\\").replace('"', '\\"') for p in parts)
        return " = " + ", ".join(f'"{q}"' for q in quoted)
    if len(value) % 4 == 0:
        return " = <" + " ".join(f"{v:#x}" for (v,) in _U32.iter_unpack(value)) + ">"
    return " = [" + " ".join(f"{b:02x}" for b in value) + "]"


def to_dts(root: Node) -> str:
    """Readable DTS source that ``dtc -I dts`` compiles back to the same tree."""
    lines = ["/dts-v1/;", ""]

    def walk(node: Node, depth: int) -> None:  # parsed trees are at most MAX_DEPTH deep
        indent = "\t" * depth
        lines.append(f"{indent}{node.name if depth else '/'} {{")
        lines.extend(f"{indent}\t{name}{_dts_value(value)};" for name, value in node.props.items())
        for node_child in node.children:
            lines.append("")
            walk(node_child, depth + 1)
        lines.append(f"{indent}}};")

    walk(root, 0)
    return "\n".join(lines) + "\n"
