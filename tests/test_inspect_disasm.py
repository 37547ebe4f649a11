"""``--disasm``: each call record carries the disassembly of its trapping block."""

from __future__ import annotations

import json

from emu.cli import main
from emu.platform.elf import load_elf


def _run_jsonl(tmp_path, image, *extra: str) -> list[dict]:
    out = tmp_path / "t.jsonl"
    assert main(["run", "-q", "--trace", str(out), "--trace-format", "jsonl", *extra, str(image)]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_calls_carry_their_block_up_to_the_trap(guest_image, tmp_path) -> None:
    image = guest_image("hello")
    rows = _run_jsonl(tmp_path, image, "--disasm")
    calls = [r for r in rows if r["hop"] == "call"]
    assert calls and all(r["disasm"] for r in calls)
    symbols = load_elf(image).symbols
    for call in calls:
        addrs = [int(line.split(":")[0], 16) for line in call["disasm"]]
        assert call["disasm"][-1].endswith(": hvc #0")
        assert addrs == list(range(addrs[0], addrs[-1] + 4, 4))
        # the trap is at the calling site the record names
        function, offset = call["site"].split(" ")[0].split("+")
        assert addrs[-1] == symbols.address_of(function) + int(offset, 16)
    off = next(c for c in calls if c["name"] == "PSCI_SYSTEM_OFF")
    assert any("mov x17, xzr" in line for line in off["disasm"])  # smccc_call fills x0-x17 before the trap


def test_disasm_changes_nothing_else(guest_image, tmp_path) -> None:
    image = guest_image("hello")
    plain = _run_jsonl(tmp_path, image)
    with_disasm = _run_jsonl(tmp_path, image, "--disasm")
    assert [{k: v for k, v in r.items() if k != "disasm"} for r in with_disasm] == plain


def test_text_trace_shows_the_block_indented(guest_image, capsys) -> None:
    assert main(["run", "--disasm", "--trace", "-", str(guest_image("hello"))]) == 0
    err = capsys.readouterr().err.splitlines()
    i = next(i for i, line in enumerate(err) if "PSCI_SYSTEM_OFF" in line)
    assert err[i + 1].startswith(" " * 14 + "| 0x")
    block = [line for line in err[i + 1:] if line.startswith(" " * 14 + "| ")]
    assert block[-1].endswith(": hvc #0")
