"""emu.platform.fdt (DTB writer, reader, DTS printer) and emu.platform.virt_tree (the QEMU virt tree)."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from emu.platform.fdt import MAX_DEPTH, MAX_NAME, FdtError, Node, parse_dtb, to_dtb, to_dts
from emu.platform.virt_tree import VirtTreeParams, build_virt_tree, mpidr_affinity

DTC = shutil.which("dtc")
needs_dtc = pytest.mark.skipif(DTC is None, reason="dtc (device-tree-compiler) not installed")
HEADER = struct.Struct(">10I")
FIELDS = ("magic", "totalsize", "off_dt_struct", "off_dt_strings", "off_mem_rsvmap", "version",
          "last_comp_version", "boot_cpuid_phys", "size_dt_strings", "size_dt_struct")


def sample_tree() -> Node:
    root = Node()
    root.set_u32("#address-cells", 2).set_u32("#size-cells", 2).set_str("model", "test")
    root.child("chosen").set_str("bootargs", 'console=ttyAMA0 quote="x"').set_u64("linux,initrd-start", 1 << 33)
    dev = root.child("dev@1000")
    dev.set_strs("compatible", ["vendor,a", "vendor,b"]).set_u64("reg", 0x1000, 0x100)
    dev.set_empty("dma-coherent").set_prop("odd", b"\x01\x02\x03").set_prop("nul", b"\0")
    dev.set_cells("triple", [1, 2], 3).child("sub").set_u32("reg", 7)
    root.child("empty")
    return root


def virt(**kw: object) -> Node:
    return build_virt_tree(VirtTreeParams(ram_base=0x4000_0000, ram_size=0x800_0000, **kw))


def header(blob: bytes) -> dict[str, int]:
    return dict(zip(FIELDS, HEADER.unpack_from(blob)))


def patched(blob: bytes, **fields: int) -> bytes:
    values = header(blob) | fields
    return HEADER.pack(*(values[f] for f in FIELDS)) + blob[HEADER.size:]


def same(a: Node, b: Node) -> bool:
    """Equal including the order of properties (dict equality ignores order)."""
    return (a.name == b.name and list(a.props.items()) == list(b.props.items())
            and len(a.children) == len(b.children)
            and all(same(x, y) for x, y in zip(a.children, b.children)))


# --- writer / reader ----------------------------------------------------------------------


def test_round_trip_keeps_names_values_and_order() -> None:
    tree = sample_tree()
    assert same(parse_dtb(to_dtb(tree)), tree)
    assert parse_dtb(to_dtb(tree)) == tree


def test_header_layout_alignment_and_deduplicated_strings() -> None:
    blob = to_dtb(sample_tree(), boot_cpuid=3, reserve=[(0x4800_0000, 0x1000)])
    h = header(blob)
    assert (h["magic"], h["version"], h["last_comp_version"]) == (0xD00DFEED, 17, 16)
    assert h["totalsize"] == len(blob) and h["boot_cpuid_phys"] == 3
    assert h["off_mem_rsvmap"] % 8 == 0 and h["off_dt_struct"] % 4 == 0
    assert h["size_dt_struct"] % 4 == 0
    rsv = struct.unpack_from(">4Q", blob, h["off_mem_rsvmap"])
    assert rsv == (0x4800_0000, 0x1000, 0, 0)
    strings = blob[h["off_dt_strings"]:h["off_dt_strings"] + h["size_dt_strings"]]
    assert strings.split(b"\0").count(b"reg") == 1
    end = h["off_dt_struct"] + h["size_dt_struct"]
    assert blob[end - 4:end] == b"\0\0\0\x09"  # FDT_END


def test_node_helpers() -> None:
    tree = sample_tree()
    assert tree.find("/") is tree
    assert tree.find("/dev@1000/sub").u32s("reg") == [7]
    assert tree.find("/dev") is tree.find("/dev@1000")  # libfdt-style unit-address match
    assert tree.find("/missing") is None
    assert tree.find("/dev@1000").strs("compatible") == ["vendor,a", "vendor,b"]
    assert tree.find("/dev@1000").props["triple"] == bytes(8) + b"\0\0\0\x01" + bytes(8) + b"\0\0\0\x02"
    assert tree.child("chosen") is tree.find("/chosen")
    with pytest.raises(ValueError):
        Node().set_u32("x", 1 << 32)
    with pytest.raises(ValueError):
        Node().set_str("x", "a\0b")
    with pytest.raises(FdtError):
        to_dtb(Node(children=[Node("bad/name")]))


def test_dts_formats() -> None:
    text = to_dts(sample_tree())
    assert text.startswith("/dts-v1/;\n")
    assert '\tcompatible = "vendor,a", "vendor,b";' in text
    assert "\treg = <0x0 0x1000 0x0 0x100>;" in text
    assert "\t\tdma-coherent;" in text and "odd = [01 02 03];" in text and "nul = [00];" in text
    assert r'bootargs = "console=ttyAMA0 quote=\"x\"";' in text


# --- hostile blobs ------------------------------------------------------------------------

GOOD = to_dtb(sample_tree(), reserve=[(0x1000, 0x2000)])


def _blob(structure: bytes, strings: bytes = b"") -> bytes:
    """A header + empty reservation map around a hand-made structure block."""
    off_struct = HEADER.size + 16
    total = off_struct + len(structure) + len(strings)
    head = HEADER.pack(0xD00DFEED, total, off_struct, off_struct + len(structure), HEADER.size, 17, 16,
                       0, len(strings), len(structure))
    return head + bytes(16) + structure + strings


def _tok(*words: int) -> bytes:
    return b"".join(struct.pack(">I", w) for w in words)


@pytest.mark.parametrize("cut", sorted({0, 1, 39, 40, 41, 56, len(GOOD) // 2, len(GOOD) - 1}))
def test_truncated(cut: int) -> None:
    with pytest.raises(FdtError):
        parse_dtb(GOOD[:cut])


def test_every_truncation_is_refused() -> None:
    for cut in range(len(GOOD)):
        with pytest.raises(FdtError):
            parse_dtb(GOOD[:cut])


@pytest.mark.parametrize("fields", [
    {"magic": 0xEDFE0DD0},
    {"version": 16}, {"last_comp_version": 18},
    {"totalsize": 39}, {"totalsize": len(GOOD) + 1}, {"totalsize": 0xFFFF_FFFF},
    {"off_dt_struct": 0xFFFF_FFF0}, {"off_dt_struct": 8}, {"off_dt_struct": len(GOOD)},
    {"size_dt_struct": 0xFFFF_FFFC}, {"size_dt_struct": 4}, {"size_dt_struct": 6},
    {"off_dt_strings": len(GOOD)}, {"size_dt_strings": 0x1000_0000}, {"size_dt_strings": 0},
    {"off_mem_rsvmap": 0xFFFF_FFF8}, {"off_mem_rsvmap": 44}, {"off_mem_rsvmap": len(GOOD) - 8},
])
def test_bad_header_fields(fields: dict[str, int]) -> None:
    with pytest.raises(FdtError):
        parse_dtb(patched(GOOD, **fields))


def test_size_limit() -> None:
    with pytest.raises(FdtError, match="totalsize"):
        parse_dtb(GOOD, max_size=64)


ROOT = _tok(1, 0)  # FDT_BEGIN_NODE "" (name NUL + padding)


@pytest.mark.parametrize("structure,strings,match", [
    (ROOT + _tok(3, 4, 0) + b"\0\0\0\1" + _tok(2, 9), b"reg", "unterminated or over-long property name"),
    (ROOT + _tok(3, 4, 99) + b"\0\0\0\1" + _tok(2, 9), b"reg\0", "outside the strings block"),
    (ROOT + _tok(3, 0x100, 0) + _tok(2, 9), b"reg\0", "runs past the structure block"),
    (_tok(1) + b"abcd", b"", "unterminated or over-long node name"),
    (_tok(1) + b"ab\xffc\0\0\0\0" + _tok(2, 9), b"", "non-ASCII node name"),
    (_tok(1) + b"a\tb\0" + _tok(2, 9), b"", "unprintable node name"),
    (ROOT + _tok(1) + b"a/b\0" + _tok(2, 2, 9), b"", "invalid or duplicate node name"),
    (ROOT + _tok(1) + b"a\0\0\0" + _tok(2, 1) + b"a\0\0\0" + _tok(2, 2, 9), b"", "duplicate node"),
    (ROOT + _tok(2, 2, 9), b"", "unbalanced FDT_END_NODE"),
    (ROOT + _tok(9), b"", "FDT_END before"),
    (ROOT + _tok(2) + ROOT + _tok(2, 9), b"", "second root"),
    (ROOT + _tok(2), b"", "without FDT_END"),
    (ROOT + _tok(7, 2, 9), b"", "unknown token 0x7"),
    (_tok(3, 0, 0, 9), b"x\0", "property outside any node"),
    (ROOT + _tok(1) + b"a\0\0\0" + _tok(2, 3, 0, 0, 2, 9), b"x\0", "after a subnode"),
    (ROOT + _tok(3, 0, 0, 3, 0, 0, 2, 9), b"x\0", "duplicate"),
    (ROOT + _tok(3, 0, 0, 2, 9), b"\0", "property '' empty"),
    (ROOT + _tok(3), b"", "truncated property header"),
    (_tok(9), b"", "FDT_END before"),
])
def test_malformed_structure(structure: bytes, strings: bytes, match: str) -> None:
    with pytest.raises(FdtError, match=match):
        parse_dtb(_blob(structure, strings))


def test_over_long_names_are_refused() -> None:
    long_name = b"n" * (MAX_NAME + 1)
    with pytest.raises(FdtError, match="over-long node name"):
        parse_dtb(_blob(ROOT + _tok(1) + long_name + bytes(4 - len(long_name) % 4) + _tok(2, 2, 9)))
    with pytest.raises(FdtError, match="over-long property name"):
        parse_dtb(_blob(ROOT + _tok(3, 0, 0, 2, 9), long_name + b"\0"))
    with pytest.raises(FdtError):
        to_dtb(Node().set_empty("p" * (MAX_NAME + 1)))


def test_hand_made_blob_parses() -> None:
    tree = parse_dtb(_blob(ROOT + _tok(4, 3, 4, 0) + b"\0\0\0\1" + _tok(2, 9), b"reg\0"))
    assert tree.u32s("reg") == [1]  # FDT_NOP skipped


def test_deep_nesting_is_refused_not_a_stack_overflow() -> None:
    depth = 100_000
    structure = ROOT + (_tok(1) + b"a\0\0\0") * depth + _tok(2) * (depth + 1) + _tok(9)
    with pytest.raises(FdtError, match="deeper"):
        parse_dtb(_blob(structure), max_size=1 << 24)
    ok = ROOT + (_tok(1) + b"a\0\0\0") * MAX_DEPTH + _tok(2) * (MAX_DEPTH + 1) + _tok(9)
    assert parse_dtb(_blob(ok)).children[0].name == "a"
    deep = node = Node()
    for _ in range(MAX_DEPTH + 1):
        node = node.child("a")
    with pytest.raises(FdtError, match="deeper"):
        to_dtb(deep)


def test_random_corruption_gives_fdterror_or_a_tree() -> None:
    rng = random.Random(1234)
    blob = to_dtb(virt(cpus=2, bootargs="console=ttyAMA0"))
    for _ in range(3000):
        data = bytearray(blob)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)):]
        try:
            parse_dtb(bytes(data))
        except FdtError as err:
            assert "\n" not in str(err)


# --- dtc cross-checks ---------------------------------------------------------------------


@needs_dtc
def test_dtc_reads_our_blob(tmp_path: Path) -> None:
    dtb = tmp_path / "virt.dtb"
    dtb.write_bytes(to_dtb(virt(cpus=4, bootargs="console=ttyAMA0", initrd=(0x4800_0000, 0x4810_0000)),
                           reserve=[(0x4800_0000, 0x10_0000)]))
    out = subprocess.run([DTC, "-I", "dtb", "-O", "dts", str(dtb)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "/memreserve/\t0x0000000048000000 0x0000000000100000;" in out.stdout
    assert 'compatible = "arm,gic-v3";' in out.stdout and "cpu@3 {" in out.stdout
    assert 'stdout-path = "/pl011@9000000";' in out.stdout


@needs_dtc
def test_dtc_compiles_our_dts_to_the_same_tree(tmp_path: Path) -> None:
    for tree in (sample_tree(), virt(cpus=2, bootargs="a b", initrd=(0x4400_0000, 0x4401_0000))):
        src = tmp_path / "t.dts"
        src.write_text(to_dts(tree))
        out = subprocess.run([DTC, "-I", "dts", "-O", "dtb", str(src)], capture_output=True)
        assert out.returncode == 0, out.stderr.decode()
        assert same(parse_dtb(out.stdout), tree)


@needs_dtc
def test_we_read_dtc_blobs(tmp_path: Path) -> None:
    src = tmp_path / "d.dts"
    src.write_text('/dts-v1/;\n/memreserve/ 0x1000 0x2000;\n/ { a-reg = <1>; reg = <2>;'
                   ' n@1 { s = "x", "y"; b = [ab cd]; e; }; };\n')
    out = subprocess.run([DTC, "-I", "dts", "-O", "dtb", str(src)], capture_output=True, check=True)
    tree = parse_dtb(out.stdout)  # dtc shares "reg" as a suffix of "a-reg" in the strings block
    assert tree.u32s("a-reg") == [1] and tree.u32s("reg") == [2]
    assert tree.find("/n@1").props == {"s": b"x\0y\0", "b": b"\xab\xcd", "e": b""}


# --- the QEMU virt tree -------------------------------------------------------------------


def test_virt_tree_nodes_and_order() -> None:
    tree = virt(cpus=2)
    assert [c.name for c in tree.children] == [
        "psci", "memory@40000000", "pl011@9000000", "intc@8000000", "flash@0", "cpus", "timer",
        "apb-pclk", "chosen"]
    assert list(tree.props) == ["interrupt-parent", "model", "#size-cells", "#address-cells", "compatible"]
    assert tree.strs("compatible") == ["linux,dummy-virt"] and tree.strs("model") == ["linux,dummy-virt"]
    assert tree.u32s("#address-cells") == [2] and tree.u32s("#size-cells") == [2]
    assert [c.name for c in tree.find("/cpus").children] == ["cpu@0", "cpu@1"]


def test_virt_tree_values() -> None:
    tree = virt(cpus=3)
    gic = tree.find("/intc@8000000")
    assert tree.u32s("interrupt-parent") == gic.u32s("phandle") == [0x8001]
    assert gic.strs("compatible") == ["arm,gic-v3"] and "interrupt-controller" in gic.props
    assert gic.u32s("#interrupt-cells") == [3] and gic.u32s("#redistributor-regions") == [1]
    assert gic.u32s("reg") == [0, 0x0800_0000, 0, 0x1_0000, 0, 0x080A_0000, 0, 3 * 0x2_0000]
    uart = tree.find("/pl011@9000000")
    clock = tree.find("/apb-pclk")
    assert uart.strs("compatible") == ["arm,pl011", "arm,primecell"]
    assert uart.u32s("reg") == [0, 0x0900_0000, 0, 0x1000] and uart.u32s("interrupts") == [0, 1, 4]
    assert uart.u32s("clocks") == clock.u32s("phandle") * 2 == [0x8000, 0x8000]
    assert uart.strs("clock-names") == ["uartclk", "apb_pclk"]
    assert clock.strs("compatible") == ["fixed-clock"] and clock.u32s("clock-frequency") == [24_000_000]
    assert tree.find("/chosen").strs("stdout-path") == ["/pl011@9000000"]
    assert tree.find("/memory").u32s("reg") == [0, 0x4000_0000, 0, 0x800_0000]
    assert tree.find("/memory").strs("device_type") == ["memory"]
    flash = tree.find("/flash@0")
    assert flash.u32s("reg") == [0, 0, 0, 0x400_0000, 0, 0x400_0000, 0, 0x400_0000]
    assert flash.strs("compatible") == ["cfi-flash"] and flash.u32s("bank-width") == [4]
    timer = tree.find("/timer")
    assert timer.strs("compatible") == ["arm,armv8-timer", "arm,armv7-timer"] and timer.props["always-on"] == b""
    assert timer.u32s("interrupts") == [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4]
    psci = tree.find("/psci")
    assert psci.strs("compatible") == ["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]
    assert psci.strs("method") == ["hvc"]
    assert [psci.u32s(k)[0] for k in ("cpu_suspend", "cpu_off", "cpu_on", "migrate")] == [
        0xC400_0001, 0x8400_0002, 0xC400_0003, 0xC400_0005]
    for i in range(3):
        cpu = tree.find(f"/cpus/cpu@{i}")
        assert cpu.strs("device_type") == ["cpu"] and cpu.strs("compatible") == ["arm,cortex-a72"]
        assert cpu.strs("enable-method") == ["psci"] and cpu.u32s("reg") == [i]
    assert tree.find("/cpus").u32s("#address-cells") == [1] and tree.find("/cpus").u32s("#size-cells") == [0]


def test_virt_tree_parameters() -> None:
    one = virt()
    assert "enable-method" not in one.find("/cpus/cpu@0").props  # QEMU: only when SMP
    assert set(one.find("/chosen").props) == {"stdout-path"}
    tree = virt(cpus=17, psci_method="smc", bootargs="console=ttyAMA0", initrd=(0x4800_0000, 0x4820_0000),
                cpu_compatible="arm,cortex-a57", redist_size=0xF6_0000)
    chosen = tree.find("/chosen")
    assert chosen.strs("bootargs") == ["console=ttyAMA0"]
    assert chosen.u32s("linux,initrd-start") == [0, 0x4800_0000]
    assert chosen.u32s("linux,initrd-end") == [0, 0x4820_0000]
    assert tree.find("/psci").strs("method") == ["smc"]
    assert tree.find("/cpus/cpu@16").u32s("reg") == [0x100] == [mpidr_affinity(16)]
    assert tree.find("/cpus/cpu@16").strs("compatible") == ["arm,cortex-a57"]
    assert tree.find("/intc@8000000").u32s("reg")[-1] == 0xF6_0000
    assert "linux,initrd-start" not in virt(initrd=(0x4800_0000, 0x4800_0000)).find("/chosen").props
    for bad in ({"cpus": 0}, {"cpus": 124}, {"psci_method": "svc"}, {"initrd": (2, 1)}):
        with pytest.raises(ValueError):
            virt(**bad)


def test_virt_tree_round_trips() -> None:
    tree = virt(cpus=4, bootargs="x", initrd=(0x4400_0000, 0x4500_0000))
    assert same(parse_dtb(to_dtb(tree)), tree)
