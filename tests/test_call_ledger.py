"""A trapped call's cycles by kind (``CallLedger``): what each account charged, in the order kinds were first
charged, and the rest of the call's span as the SPMC's; the same whether worked out at once or later."""

from __future__ import annotations

import pytest

from emu.cpu.blockcost import Account, CallLedger, Clock
from emu.ffa import constants as ffa
from emu.machine import Machine, MachineConfig
from emu.platform.elf import load_elf
from emu.trace.decode import fill_text
from emu.vm import VmSpec


@pytest.fixture
def accounts() -> tuple[Clock, Account, Account, CallLedger]:
    clock = Clock()
    el2, el3 = Account("el2", clock), Account("el3", clock)
    ledger = CallLedger()
    ledger.attribute(el2)
    ledger.attribute(el3)
    return clock, el2, el3, ledger


def test_breakdown_by_account_then_kind_with_the_rest_as_the_spmc(accounts) -> None:
    clock, el2, el3, ledger = accounts
    entry, ret = el2.group((10, "entry_exit")), el2.group((5, "handler"), (10, "entry_exit"))
    smc = el3.group((7, "smc"), (3, "world_switch"))
    start = clock.now
    ledger.open()
    el2.charge_all(entry)
    el3.charge_all(smc)
    clock.advance(100)  # the SPMC's instructions
    el2.charge(4, "copy")
    el2.charge_all(ret)
    sequence = ledger.close()
    assert ledger.breakdown(sequence, start, clock.now) == {
        "el2.entry_exit": 20, "el2.handler": 5, "el2.copy": 4, "el3.smc": 7, "el3.world_switch": 3, "spmc": 100}
    assert (el2.cycles, el3.cycles, clock.now) == (29, 10, 139)
    assert ledger.groups is None  # closed: a charge now is no call's


def test_kinds_keep_the_order_they_were_first_charged_in(accounts) -> None:
    clock, el2, _el3, ledger = accounts
    late, early = el2.group((1, "late")), el2.group((2, "early"))
    ledger.open()
    el2.charge_all(late)
    first = ledger.close()
    ledger.open()
    el2.charge_all(early)
    el2.charge_all(late)
    second = ledger.close()
    # worked out after both calls closed: "late" was charged first, in the first call
    assert list(ledger.breakdown(second, 1, 4)) == ["el2.late", "el2.early"]
    assert ledger.breakdown(first, 0, 1) == {"el2.late": 1}


def test_a_breakdown_is_a_fresh_dict_each_time(accounts) -> None:
    clock, el2, _el3, ledger = accounts
    entry = el2.group((10, "entry_exit"))
    ledger.open()
    el2.charge_all(entry)
    sequence = ledger.close()
    one = ledger.breakdown(sequence, 0, 10)
    one["el2.entry_exit"] = 0
    assert ledger.breakdown(sequence, 0, 12) == {"el2.entry_exit": 10, "spmc": 2}


def test_charges_outside_a_call_are_named_at_once(accounts) -> None:
    clock, el2, _el3, ledger = accounts
    boot, entry = el2.group((3, "boot")), el2.group((10, "entry_exit"))
    el2.charge_all(boot)  # no call open (the mediator's own calls at boot)
    ledger.open()
    el2.charge_all(entry)
    el2.charge_all(boot)
    sequence = ledger.close()
    assert list(ledger.breakdown(sequence, 3, 16)) == ["el2.boot", "el2.entry_exit"]
    assert clock.now == 16


def test_last_call_made_later_is_the_record_the_trace_got(guest_image, spmc_image) -> None:
    """Without a trace, a call's record (its breakdown and results) is made when ``last_call`` asks for it: the
    same record a kept trace gets at once, here for a DIRECT_REQ forwarded to the SPMC after ffa_direct ran."""
    made = {}
    for keep in (True, False):
        machine = Machine(MachineConfig(vms=[VmSpec(load_elf(guest_image("ffa_direct")), 1, 1)],
                                        spmc_image=spmc_image, keep_trace=keep))
        result = machine.run()
        assert result.vms[0].state == "off", result.vms[0].exit_reason
        vm, sp = machine.vms[0], machine.mediator.partitions[0].endpoint_id
        frame = [ffa.FFA_MSG_SEND_DIRECT_REQ, vm.endpoint_id << 16 | sp, 0, 1, 2, 3, 4, 5] + [0] * 10
        machine.el2.handle_frame(vm, "hvc", frame)
        last = machine.el2.last_call("vm1")
        fill_text(last)
        made[keep] = last.to_json()
    assert '"spmc":' in made[True] and '"el3.smc":' in made[True]  # a forwarded call's breakdown
    assert made[False] == made[True], made
