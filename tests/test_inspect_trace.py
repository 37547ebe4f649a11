"""Saved traces: jsonl fields, text re-rendering, ``ffa-emu trace`` filters and ``--stats``."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import median_low

import pytest

from emu.cli import main
from emu.trace.records import HOP_CALL, HOP_FROM_SPMC, HOP_TO_SPMC, TraceRecord, group_calls, read_jsonl
from emu.trace.text import render_text
from emu.trace.perfetto import trace_events
from emu.trace.stats import function_stats, spmc_cycles


@pytest.fixture(scope="module")
def demo_jsonl(tmp_path_factory, guest_image, spmc_image) -> Path:
    path = tmp_path_factory.mktemp("trace") / "demo.jsonl"
    assert main(["run", "-q", "--spmc", str(spmc_image), "--trace", str(path), "--trace-format", "jsonl",
                 str(guest_image("ffa_demo")), str(guest_image("smccc"))]) == 0
    return path


def _trace(capsys, *argv: str) -> list[str]:
    capsys.readouterr()
    assert main(["trace", *argv]) == 0
    return capsys.readouterr().out.splitlines()


def test_jsonl_calls_carry_their_symbolized_site(demo_jsonl: Path) -> None:
    rows = [json.loads(line) for line in demo_jsonl.read_text().splitlines()]
    calls = [r for r in rows if r["hop"] == HOP_CALL]
    assert calls and all(r["site"] for r in calls)
    assert any(r["site"].startswith("main+0x") and "(main.c:" in r["site"] for r in calls)
    assert not any("smccc.h" in r["site"] for r in calls)  # the caller's line, not the inlined helper's
    assert not any("wall" in key for r in rows for key in r)


def test_trace_rerenders_jsonl_as_the_run_printed_it(demo_jsonl: Path, capsys) -> None:
    records = read_jsonl(demo_jsonl.read_text().splitlines())
    assert _trace(capsys, str(demo_jsonl)) == [render_text(r) for r in records]
    assert _trace(capsys, str(demo_jsonl), "--no-cycles")[0].startswith("el2   \\_ el2->spmc FFA_VERSION(1.2)")


def test_records_write_the_json_that_json_dumps_would(guest_image, spmc_image, run_guests) -> None:
    """TraceRecord.to_json formats by hand (for speed): it must be byte for byte json.dumps of the set fields."""
    out = run_guests(guest_image("ffa_demo"), spmc_image=spmc_image)
    records = out.records + [TraceRecord(1, "vm1", HOP_CALL, "hvc", 0, 1, "\u00e9\"x\n", [2**64 - 1, 0], [], 0, 1,
                                         note="\u2028", cycles_by={}, disasm=["40000000: hvc #0"])]
    assert any(r.cycles_by for r in records) and any(r.site for r in records)
    for rec in records:
        fields = {k: v for k, v in ((k, getattr(rec, k)) for k in TraceRecord.__slots__ if k != "text_pending")
                  if v is not None}
        assert rec.to_json() == json.dumps(fields, separators=(",", ":"))


def test_filter_by_vm_and_name_glob_keeps_whole_calls(demo_jsonl: Path, capsys) -> None:
    lines = _trace(capsys, str(demo_jsonl), "--vm", "vm1", "--name", "FFA_MSG_*", "--no-cycles")
    heads = [line for line in lines if "\\_" not in line]
    assert heads and all(line.startswith("vm1 hvc FFA_") and "MSG_SEND_DIRECT" in line for line in heads)
    assert sum("\\_ el2->spmc" in line for line in lines) == len(heads)  # each call keeps its hops
    assert sum("\\_ spmc->el2" in line for line in lines) == len(heads)


def test_filter_names_repeat_as_or_and_owner_selects_the_service(demo_jsonl: Path, capsys) -> None:
    lines = _trace(capsys, str(demo_jsonl), "--name", "PSCI_SYSTEM_OFF", "--name", "SMCCC_VERSION", "--no-cycles")
    assert {line.split()[2].split("(")[0] for line in lines} == {"PSCI_SYSTEM_OFF", "SMCCC_VERSION"}
    records = read_jsonl(demo_jsonl.read_text().splitlines())
    arch = _trace(capsys, str(demo_jsonl), "--owner", "0", "--no-cycles")
    expected = [render_text(r, cycles=False) for r in records if r.hop == HOP_CALL and (r.fid >> 24) & 0x3F == 0]
    assert arch == expected and any("SMCCC_ARCH_FEATURES" in line for line in arch)
    hyp = _trace(capsys, str(demo_jsonl), "--owner", "5", "--vm", "vm2", "--no-cycles")
    assert hyp and all(line.startswith("vm2 ") and "STD_HYP_" in line for line in hyp)


def test_filter_errors(demo_jsonl: Path, capsys) -> None:
    lines = _trace(capsys, str(demo_jsonl), "--errors", "--no-cycles")
    assert lines and all(r.error for r in read_jsonl(demo_jsonl.read_text().splitlines())
                         if render_text(r, cycles=False) in lines and r.hop == HOP_CALL)
    assert not any("= 1.2" in line for line in lines)


def test_stats_match_the_records(demo_jsonl: Path, capsys) -> None:
    records = read_jsonl(demo_jsonl.read_text().splitlines())
    lines = _trace(capsys, str(demo_jsonl), "--stats", "--vm", "vm1", "--name", "FFA_MSG_SEND_DIRECT_REQ")
    assert lines[0].split()[:4] == ["function", "fid", "count", "errors"]
    groups = [g for g in group_calls(records) if g[0].vm == "vm1" and g[0].name == "FFA_MSG_SEND_DIRECT_REQ"]
    guest = [g[0].cycle_end - g[0].cycle_start for g in groups]
    spmc = [next(r for r in g if r.hop == HOP_FROM_SPMC).cycle_start - next(
        r for r in g if r.hop == HOP_TO_SPMC).cycle_end for g in groups]
    assert all(s > 0 for s in spmc)
    el2 = [a - b for a, b in zip(guest, spmc)]
    span = lambda v: f"{min(v)}/{median_low(v)}/{max(v)}"  # noqa: E731
    assert lines[1].split() == ["FFA_MSG_SEND_DIRECT_REQ", f"{groups[0][0].fid:#010x}", str(len(groups)), "0",
                                span(guest), span(el2), span(spmc)]


def _record(seq: int, hop: str, start: int, end: int, name: str = "F", fid: int = 0x84000063,
            error: str | None = None) -> TraceRecord:
    return TraceRecord(seq, "vm1", hop, "hvc", 0, fid, name, [], [], start, end, error=error)


def test_stats_count_errors_median_and_every_spmc_round_trip() -> None:
    records = [
        _record(1, HOP_CALL, 0, 100), _record(1, HOP_TO_SPMC, 10, 20), _record(1, HOP_FROM_SPMC, 50, 60),
        _record(1, HOP_TO_SPMC, 60, 65), _record(1, HOP_FROM_SPMC, 75, 80),
        _record(2, HOP_CALL, 200, 230, error="DENIED"),
        _record(3, HOP_CALL, 300, 340, fid=0x84000063 | 1 << 16),  # SVE hint: same function
    ]
    assert spmc_cycles(records[:5]) == 30 + 10
    (row,) = function_stats(records)
    assert (row.count, row.errors) == (3, 1)
    assert row.guest == [100, 30, 40] and row.spmc == [40, 0, 0] and row.el2 == [60, 30, 40]


def test_group_calls_pairs_boot_hops_and_attaches_hops_to_their_call() -> None:
    boot = [TraceRecord(0, "el2", hop, "smc", 0, 1, "B", [], [], i, i + 1) for i, hop in
            enumerate([HOP_TO_SPMC, HOP_FROM_SPMC, HOP_TO_SPMC, HOP_FROM_SPMC])]
    call = [_record(1, HOP_CALL, 10, 20), _record(1, HOP_TO_SPMC, 11, 12), _record(1, HOP_FROM_SPMC, 13, 14)]
    assert [len(g) for g in group_calls(boot + call + [_record(2, HOP_CALL, 30, 31)])] == [2, 2, 3, 1]


def test_disasm_is_rendered_under_its_call() -> None:
    rec = _record(1, HOP_CALL, 5, 9)
    rec.disasm = ["0x40000000: mov x0, #1", "0x40000004: hvc #0"]
    lines = render_text(rec).splitlines()
    assert lines[0].startswith("[         5] vm1 hvc F()")
    assert [line.strip() for line in lines[1:]] == ["| 0x40000000: mov x0, #1", "| 0x40000004: hvc #0"]
    assert read_jsonl([rec.to_json()])[0].disasm == rec.disasm


def test_unreadable_trace_file_is_one_line_exit_2(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"seq": 1}\n')
    assert main(["trace", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ffa-emu: {bad}: line 1: not a trace record") and err.count("\n") == 1
    assert main(["trace", str(tmp_path / "missing.jsonl")]) == 2


# -- streaming: the command line keeps no records it does not need -------------------------------
@pytest.mark.parametrize("trace_args, kept", [
    ([], False), (["--trace", "FILE"], False), (["--trace", "FILE", "--trace-format", "jsonl"], False),
    (["--trace", "-"], False), (["--trace", "FILE", "--trace-format", "perfetto"], True),
])
def test_run_keeps_records_only_for_perfetto(trace_args, kept, guest_image, spmc_image, tmp_path, monkeypatch,
                                             capsys) -> None:
    from emu.machine import Machine

    results = []
    run = Machine.run
    monkeypatch.setattr(Machine, "run", lambda self: results.append(run(self)) or results[-1])
    argv = [str(tmp_path / "t") if a == "FILE" else a for a in trace_args]
    assert main(["run", "-q", "--spmc", str(spmc_image), *argv, str(guest_image("ffa_demo"))]) == 0
    assert bool(results[0].trace.records) is kept
    written = (tmp_path / "t").read_text() if "FILE" in trace_args else capsys.readouterr().err
    assert ("FFA_MSG_SEND_DIRECT_REQ" in written) is bool(trace_args)  # streamed all the same


def test_timeout_stops_the_run_exit_3(guest_image, capsys) -> None:
    code = main(["run", "-q", "--timeout", "0.3", "--max-cycles", str(1 << 50), str(guest_image("spin"))])
    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("ffa-emu: vm1: timeout: stopped after 0.3 s of wall-clock time (--timeout), at pc 0x")
    assert main(["run", "-q", "--timeout", "0", str(guest_image("spin"))]) == 2
    assert capsys.readouterr().err == "ffa-emu: --timeout must be a positive number of seconds\n"


def test_a_perfetto_or_text_trace_is_refused_in_one_line(guest_image, tmp_path: Path, capsys) -> None:
    for fmt, says in (("perfetto", "a Perfetto (trace-event JSON) file"), ("text", "line 1: not JSON")):
        path = tmp_path / f"t.{fmt}"
        assert main(["run", "-q", "--trace", str(path), "--trace-format", fmt, str(guest_image("hello"))]) == 0
        capsys.readouterr()
        assert main(["trace", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"ffa-emu: {path}: {says}") and err.count("\n") == 1, err


def test_a_filter_matching_nothing_exits_1(demo_jsonl: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["trace", str(demo_jsonl), "--name", "NO_SUCH_CALL"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == f"ffa-emu: no call in {demo_jsonl} matches the filters\n"
    assert main(["trace", str(demo_jsonl), "--vm", "vm1", "--stats"]) == 0


def test_sites_name_the_callers_line_through_inlined_helpers(demo_jsonl: Path) -> None:
    source = (Path(__file__).resolve().parent.parent / "guests" / "ffa_demo" / "main.c").read_text().splitlines()
    calls = [r for r in read_jsonl(demo_jsonl.read_text().splitlines()) if r.hop == HOP_CALL and r.vm == "vm1"
             and r.site.startswith("main+")]
    assert len(calls) > 5
    for call in calls:
        line = int(call.site.split("(main.c:")[1].rstrip(")"))
        helper = call.name.removeprefix("FFA_FN64_").removeprefix("FFA_").lower()
        text = source[line - 1]  # the call in main.c: an ffa.h helper (named after the call or given its ID)
        assert f"ffa_{helper}(" in text or call.name in text or "smccc_call(&r)" in text, (call.site, text)


@pytest.mark.parametrize("fmt", ["jsonl", "text", "perfetto"])
def test_trace_reexports_a_filtered_trace(demo_jsonl: Path, tmp_path: Path, capsys, fmt: str) -> None:
    records = read_jsonl(demo_jsonl.read_text().splitlines())
    wanted = [r for g in group_calls(records) if g[0].vm == "vm2" for r in g]
    out = tmp_path / f"vm2.{fmt}"
    assert main(["trace", str(demo_jsonl), "--vm", "vm2", "--format", fmt, "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    if fmt == "jsonl":
        assert read_jsonl(out.read_text().splitlines()) == wanted
        assert main(["trace", str(out)]) == 0  # and it reads back
    elif fmt == "text":
        assert out.read_text().splitlines() == [render_text(r) for r in wanted]
    else:
        doc = json.loads(out.read_text())
        assert doc == trace_events(wanted)
        assert sum(e["ph"] == "X" and e["tid"] == 1 for e in doc["traceEvents"]) == len(
            [r for r in wanted if r.hop == HOP_CALL])


def test_stats_and_format_exclude_each_other(demo_jsonl: Path, capsys) -> None:
    assert main(["trace", str(demo_jsonl), "--stats", "--format", "jsonl"]) == 2
    assert "--stats prints a table" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["", "0x1->0x8001, uuid=0x0:0x0, 0x1900000004", 'say "hi"', "back\\slash", "tab\there",
                                  "del\x7f", "\x1f", "caf\u00e9", "\U0001f600"])
def test_jsonl_texts_are_written_as_json_dumps_writes_them(text: str) -> None:
    rec = TraceRecord(1, "vm1", HOP_CALL, "hvc", 0, 0x84000000, "X", [1], [2], 0, 1, args_text=text, result_text=text)
    data = json.loads(rec.to_json())
    assert data["args_text"] == data["result_text"] == text
    assert f'"args_text":{json.dumps(text)},"result_text":{json.dumps(text)}' in rec.to_json()
