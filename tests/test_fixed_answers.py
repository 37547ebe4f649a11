"""Calls with a fixed answer answered by the native trap hook (emu/el2/fixed_answers.py): the same answers, cycles
and trace as the Python trap path gives, with Python seeing only the first call from each site."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from emu.cpu import nativelib
from emu.el2.fixed_answers import FixedAnswers, Site
from emu.el2.hypervisor import Hypervisor
from emu.machine import Machine, MachineConfig, RunResult
from emu.platform.elf import load_elf
from emu.trace.decode import fill_text
from emu.vm import VmSpec

pytestmark = pytest.mark.skipif(nativelib.load() is None, reason="the native hook library is not built")

ROUNDS = 40  # guests/fixed_answers/main.c
# Its sites with a fixed answer: SMCCC_VERSION, STD_SVC_UID and PSCI_VERSION through hvc, SMCCC_VERSION through smc.
FIXED_SITES = 4


@pytest.fixture
def python_traps(monkeypatch) -> list[int]:
    """Counts the traps that reach the Python trap path (of machines made after the fixture)."""
    seen = []
    on_trap = Hypervisor.on_trap

    def counting(self, vm, engine, intno):
        seen.append(intno)
        on_trap(self, vm, engine, intno)

    monkeypatch.setattr(Hypervisor, "on_trap", counting)
    return seen


def run(image: Path, *, keep_trace: bool = True, sink: bool = False, check: bool = False,
        native: bool | None = None) -> tuple[Machine, RunResult]:
    machine = Machine(MachineConfig(vms=[VmSpec(load_elf(image), 1, 1)], keep_trace=keep_trace, check=check,
                                    native=native))
    if sink:
        machine.trace.add_sink(io.StringIO(), "jsonl")  # each record must be seen as it comes: Python answers all
    result = machine.run()
    assert result.vms[0].state == "off", result.vms[0].exit_reason
    assert result.vms[0].tap.has_tap and not result.vms[0].tap.problems, result.vms[0].console
    return machine, result


def summary(machine: Machine, result: RunResult) -> tuple:
    last = machine.el2.last_call("vm1")
    fill_text(last)  # as a reader of the record would see it (the text and site are made when first needed)
    return (result.cycles, result.instructions, result.traps, machine.el2.account.cycles,
            last.to_json(), last.args_text, last.result_text, last.site)


def records(result: RunResult) -> list[tuple]:
    return [(rec.to_json(), rec.args_text, rec.result_text, rec.site) for rec in result.trace.records]


def test_only_the_first_call_from_each_site_reaches_python(guest_image, python_traps) -> None:
    _, result = run(guest_image("fixed_answers"))
    # The first call from each fixed site, every PSCI_FEATURES (not a fixed answer) and the SYSTEM_OFF.
    assert len(python_traps) == FIXED_SITES + ROUNDS + 1
    assert result.traps == 5 * ROUNDS + 1


def test_same_trace_cycles_and_last_call_as_the_python_path(guest_image, python_traps) -> None:
    image = guest_image("fixed_answers")
    native_answers = run(image)
    python_traps.clear()
    python_answers = run(image, sink=True)
    assert len(python_traps) == 5 * ROUNDS + 1
    assert records(native_answers[1]) == records(python_answers[1])
    assert summary(*native_answers) == summary(*python_answers)


def test_trace_not_kept(guest_image) -> None:
    image = guest_image("fixed_answers")
    assert summary(*run(image, keep_trace=False)) == summary(*run(image, sink=True))


def test_the_invariant_checker_sees_every_call(guest_image, python_traps) -> None:
    machine, result = run(guest_image("fixed_answers"), check=True)
    assert len(python_traps) == 5 * ROUNDS + 1
    assert not result.violations


def test_pure_python_engines_give_the_same_trace(guest_image) -> None:
    image = guest_image("fixed_answers")
    assert records(run(image, native=False)[1]) == records(run(image)[1])


def test_a_full_hook_is_not_asked_again() -> None:
    """A guest calling from ever new sites (SMC32 with garbage in x0's upper half) once the hook is full: the
    hook is asked once, and nothing is kept for the sites it refused (memory stays flat)."""
    asked = []

    class FullEntry:
        def answer_here(self, *args) -> bool:
            asked.append(args)
            return False

    answers = FixedAnswers(0, lambda *args: ())
    entry = FullEntry()
    site = Site("vm1", "smc", None, None, None, {}, 362)
    for upper in range(1000):
        answers.teach(entry, 2, upper << 32 | 0x8000_0000, 0x4000_1000, 0xD400_0003, [0x10002], site)
    assert len(asked) == 1
    assert not answers._taught and not answers._sites  # nothing kept for the refused sites
