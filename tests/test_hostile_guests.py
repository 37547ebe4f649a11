"""Hostile and broken guests: faults of every kind, hangs and floods stop cleanly (exit 3); the fuzz guest
runs from inside the emulator with invariants checked throughout; --check and the last-resort error path."""

from __future__ import annotations

import functools

import pytest

from emu import cli, fuzz, stops
from emu.platform.console import Console
from emu.platform.elf import load_elf

# guest -> what the one-line stop message says
BAD_GUESTS = {
    "bad_undef": "undefined instruction with no exception vector",
    "bad_sysreg": "undefined instruction with no exception vector",
    "bad_pc_align": "undefined instruction with no exception vector",  # PC alignment fault, seen as UNDEF
    "bad_svc": "SVC with no exception vector",
    "bad_brk": "BRK with no exception vector",
    "bad_vbar": "instruction fetch from unmapped memory at 0x20000200",  # vectors that point at nothing
    "fault": "read of unmapped memory at 0x20000000",
    "bad_write": "write to unmapped memory at 0x30000000",
    "bad_fetch": "instruction fetch from unmapped memory at 0x20000000",
    "bad_mmu": "prefetch abort",
    "bad_wfi": "guest hung: waiting for an interrupt that never comes",
    "bad_eret": "guest hung: waiting for an interrupt that never comes",  # illegal return: stays at EL1
    "spin": "runaway guest: stopped at the cycle limit",
    "bad_trap_storm": "runaway guest: stopped at the cycle limit",
    "bad_flood": "console flood",
    "bad_flood_ffa": "console flood",  # through FFA_CONSOLE_LOG: used to escape as a Python exception
}


@pytest.mark.parametrize("guest", sorted(BAD_GUESTS))
def test_bad_guest_stops_cleanly(guest: str, guest_image, spmc_image, capsys, monkeypatch) -> None:
    # A 64 KiB console limit instead of 4 MiB: the same path, 64 times faster to reach.
    monkeypatch.setattr("emu.machine.Console", functools.partial(Console, limit=64 << 10))
    limit = 2_000_000 if guest == "bad_trap_storm" else 50_000_000  # a trap costs ~500 cycles, ~40 us of host
    code = cli.main(["run", "--quiet", "--check", "--spmc", str(spmc_image), "--max-cycles", str(limit),
                     str(guest_image(guest))])
    err = capsys.readouterr().err
    assert code == stops.EXIT_FAULT, err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("ffa-emu: vm1: "), err
    assert BAD_GUESTS[guest] in lines[0]
    assert "Traceback" not in err


def test_bad_eret_stays_at_el1(guest_image, run_guests) -> None:
    out = run_guests(guest_image("bad_eret"))
    assert "survived, at EL1" in out.console()  # the illegal return did not reach EL2


def test_a_faulting_vm_does_not_stop_the_fuzz_vm(guest_image, spmc_image, run_guests) -> None:
    out = run_guests(guest_image("bad_mmu"), guest_image("fuzz"), spmc_image=spmc_image, check=True)
    assert [vm.state for vm in out.result.vms] == ["fault", "off"]
    assert not out.result.violations


def test_a_waiting_vm_is_hung_only_once_no_vm_can_wake_it(guest_image, spmc_image, run_guests) -> None:
    """bad_wfi waits from its first instructions; it is torn down (its buffers, its bitmap) only when the VM
    beside it has powered off, since until then that VM's calls might still have interrupted it."""
    out = run_guests(guest_image("bad_wfi"), guest_image("ffa_demo"), spmc_image=spmc_image, profile="xen")
    assert [vm.state for vm in out.result.vms] == ["idle", "off"]
    calls = [r for r in out.machine.trace.records if r.hop == "call"]
    teardown = [r for r in out.machine.trace.records
                if r.hop == "el2->spmc" and r.name == "FFA_NOTIFICATION_BITMAP_DESTROY"]
    assert [r.args[0] for r in teardown] == [2, 1]  # vm2 first: it powered off, then vm1 was found hung
    assert teardown[-1].cycle_start > max(r.cycle_end for r in calls if r.vm == "vm2")


@pytest.mark.parametrize("profile", ["spec", "pkvm", "xen"])
def test_short_fuzz_campaign(profile: str, guest_image, spmc_image) -> None:
    """The CI campaign: 2000 calls per profile from the fuzz guest, invariants checked after each."""
    (stats,) = fuzz.campaign(2000, seed=1, profiles=[profile], calls_per_run=1000, guest=guest_image("fuzz"),
                             spmc=spmc_image)
    details = "\n".join(p.detail for p in stats.problems[:5])
    assert stats.calls >= 2000 and stats.runs == 2
    assert (stats.crashes, stats.violations, stats.stops) == (0, 0, 0), details
    assert len(stats.fids) > 100 and stats.errors and stats.undef


def test_fuzz_campaign_is_deterministic(guest_image, spmc_image) -> None:
    runs = [fuzz.campaign(600, seed=5, profiles=["spec"], calls_per_run=600, guest=guest_image("fuzz"),
                          spmc=spmc_image)[0] for _ in range(2)]
    assert runs[0].render().rsplit("(", 1)[0] == runs[1].render().rsplit("(", 1)[0]


def test_fuzz_cli(guest_image, spmc_image, capsys) -> None:
    code = fuzz.main(["--calls", "300", "--seed", "3", "--profile", "xen", "--quiet", "--guest",
                      str(guest_image("fuzz")), "--spmc", str(spmc_image)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "profile xen: calls" in out and "crashes 0, invariant violations 0" in out


def test_fuzz_cli_wrong_guest(guest_image, spmc_image, capsys) -> None:
    code = fuzz.main(["--calls", "10", "--quiet", "--guest", str(guest_image("hello")), "--spmc", str(spmc_image)])
    assert code == 2 and "not the fuzz guest" in capsys.readouterr().err


def test_fuzz_guest_seed_changes_the_run(guest_image, spmc_image, run_guests) -> None:
    image = load_elf(guest_image("fuzz"))
    assert image.symbols.address_of("fuzz_seed") and image.symbols.address_of("fuzz_calls")
    out = run_guests(guest_image("fuzz"), spmc_image=spmc_image, check=True)
    assert out.exit_code == 0 and "fuzz: seed 0x9e3779b97f4a7c15, 1000 calls" in out.console()
    assert not out.result.violations


def test_check_reports_violations_exit_5(guest_image, spmc_image, capsys, monkeypatch) -> None:
    from emu.ffa.mediator import Mediator
    error = Mediator.error
    monkeypatch.setattr(Mediator, "error", lambda self, code: error(self, code)[:6] + [7] + [0] * 11)
    code = cli.main(["run", "--quiet", "--check", "--spmc", str(spmc_image), str(guest_image("ffa_rxtx"))])
    err = capsys.readouterr().err
    assert code == cli.EXIT_VIOLATION, err
    assert "invariant violated after call" in err and "x6 = 0x7" in err
    assert cli.main(["run", "--quiet", "--spmc", str(spmc_image), str(guest_image("ffa_rxtx"))]) != 5


def test_internal_error_is_one_line_exit_4(guest_image, capsys, monkeypatch) -> None:
    from emu.el2.hypervisor import Hypervisor

    def broken(self, vm, engine, intno):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(Hypervisor, "on_trap", broken)
    code = cli.main(["run", "--quiet", str(guest_image("hello"))])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INTERNAL
    assert err.strip() == "ffa-emu: internal error: ZeroDivisionError: planted"
