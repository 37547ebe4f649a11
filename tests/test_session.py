"""The Python API (emu.session): stepping is the same run, registers, memory, direct calls, snapshots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emu.ffa import constants as ffa
from emu.session import Session

README = Path(__file__).resolve().parent.parent / "README.md"


def _fingerprint(session: Session) -> tuple:
    result = session.machine.result()
    return ([r.to_json() for r in result.trace.records], result.cycles, result.instructions,
            [(vm.state, vm.exit_reason, vm.console) for vm in result.vms])


def test_a_run_in_steps_is_the_same_run(guest_image) -> None:
    images = [guest_image("ffa_demo"), guest_image("hello")]
    whole = Session.build(*images, quantum=5_000)
    assert whole.run() is True and whole.finished
    stepped = Session.build(*images, quantum=5_000)
    seen = []
    while (rec := stepped.run_until_call()) is not None:  # pauses inside quanta, two VMs interleaved
        seen.append(rec.seq)
        if len(seen) % 3 == 0:
            stepped.run(cycles=777)
    assert len(seen) == len(whole.outcome().calls()) and stepped.finished
    assert _fingerprint(stepped) == _fingerprint(whole)


def test_two_vcpus_in_steps_and_from_a_snapshot(guest_image) -> None:
    """SMP: a slice paused on vCPU 0 resumes there, and a snapshot holds every vCPU, the GIC and the timers."""
    whole = Session.build(guest_image("smp_sgi"), spmc=None, cpus=2)
    whole.run()
    assert whole.outcome().exit_code == 0, whole.outcome().explain()
    stepped = Session.build(guest_image("smp_sgi"), spmc=None, cpus=2)
    point = None
    while (rec := stepped.run_until_call()) is not None:
        if point is None and rec.fid == 0xC400_0003:  # PSCI CPU_ON (64-bit): vCPU 1 is about to run
            point = stepped.snapshot()
        if point is not None:
            stepped.run(cycles=5_000)  # a pause mid-slice, on either vCPU
    assert point is not None and _fingerprint(stepped) == _fingerprint(whole)
    stepped.restore(point)
    stepped.run()
    assert _fingerprint(stepped) == _fingerprint(whole)
    stepped.restore(point)
    assert stepped.reg("pc", vcpu=1) != stepped.reg("pc", vcpu=0)  # vCPU 1 starts at its CPU_ON entry
    with pytest.raises(KeyError):
        stepped.reg("pc", vcpu=2)


def test_run_for_cycles_stops_at_the_next_block(guest_image) -> None:
    s = Session.build(guest_image("spin"), spmc=None)
    assert s.run(cycles=100_000) is False
    assert 100_000 <= s.cycles < 100_000 + 64 and not s.finished
    assert s.vm().state == "running"


def test_registers_memory_and_the_call_that_just_returned(guest_image) -> None:
    s = Session.build(guest_image("ffa_demo"))
    call = s.run_until_call(name="FFA_VERSION")
    assert call is not None and call.vm == "vm1" and call.result_text == "1.2"
    assert s.reg("x0") == call.results[0] == ffa.VERSION_1_2
    assert (s.reg("pstate") & 0xF) == 0b0101  # EL1h
    assert s.machine.vms[0].image.symbols.lookup(s.reg("pc")).startswith("main+")
    s.set_reg("x19", 0x1234_5678_9ABC_DEF0)
    assert s.reg("x19") == 0x1234_5678_9ABC_DEF0
    address = s.reg("sp") - 0x100
    s.write(address, b"ffa-emu")
    assert s.read(address, 7) == b"ffa-emu"
    with pytest.raises(KeyError):
        s.reg("x99")


def test_a_direct_call_goes_through_the_mediator_and_into_the_trace(guest_image) -> None:
    s = Session.build(guest_image("hello"))
    answer = s.call(ffa.FFA_VERSION, ffa.VERSION_1_1)
    assert answer[0] == ffa.VERSION_1_2 and len(answer) == 18
    assert s.call(ffa.FFA_ID_GET)[:3] == [ffa.FFA_SUCCESS, 0, 1]
    calls = s.outcome().calls()
    assert [c.name for c in calls] == ["FFA_VERSION", "FFA_ID_GET"] and calls[0].args_text == "1.1"
    assert not s.outcome().records[0].vm == "vm1"  # the mediator booted (the SPMC) before the first call
    with pytest.raises(ValueError):
        s.call(*range(19))


def test_snapshots_branch_runs_from_one_point(guest_image) -> None:
    s = Session.build(guest_image("ffa_demo"))
    assert s.run_until_call(name="FFA_VERSION") is not None
    point = s.snapshot()
    s.run()
    first = _fingerprint(s)
    assert s.outcome().exit_code == 0
    s.restore(point)
    assert not s.finished and s.reg("x0") == ffa.VERSION_1_2
    s.run()
    assert _fingerprint(s) == first  # the same point gives the same run, again
    s.restore(point)
    s.set_reg("x0", 0xFFFF_FFFF)  # another branch: the guest is told NOT_SUPPORTED
    s.run()
    assert _fingerprint(s) != first and s.outcome().exit_code == 1
    assert "the hypervisor answers NOT_SUPPORTED" in s.outcome().console()
    s.restore(point)
    s.run()
    assert _fingerprint(s) == first  # the snapshot is still intact


def test_snapshots_keep_lent_pages_out_of_the_lender(guest_image) -> None:
    before = Session.build(guest_image("ffa_mem_lent_touch"))
    start = before.snapshot()
    lend = before.run_until_call(name="FFA_FN64_MEM_LEND") or before.run_until_call(name="FFA_MEM_LEND")
    assert lend is not None and not lend.error
    lent = before.snapshot()
    before.run()
    end = _fingerprint(before)
    assert before.vm().state == "fault" and "stage-2" in before.vm().fault.kind
    for point in (lent, start, lent):  # the page is unmapped again, or mapped again, as it was
        before.restore(point)
        before.run()
        assert _fingerprint(before) == end


def test_the_readme_example_runs(guest_image, monkeypatch) -> None:
    guest_image("ffa_demo")
    monkeypatch.chdir(README.parent)  # the example runs from the repository root, after make
    text = README.read_text()
    block = re.search(r"<!-- api-example -->\n```python\n(.*?)```", text, re.S)
    assert block, "the README's API example (after <!-- api-example -->) is missing"
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)  # noqa: S102 - our own README; it asserts
    assert {"Session", "point", "answer"} <= set(namespace)
