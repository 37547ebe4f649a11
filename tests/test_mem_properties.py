"""Property tests: random descriptors and random transaction sequences against the mediator.

Driven through emu.harness for every profile, with two VMs. After every step:
- every page in the ledger lies in its owner VM's RAM, and no page is in two handles;
- every handle belongs to the VM that sent it (as the test's model recorded), none is provisional;
- lent/donated pages are absent from their VM's Unicorn mappings, shared and owned pages present;
- a failed call changes nothing (ledger, mappings), and no fragmented send is left pending.
"""

from __future__ import annotations

import pytest
from ffa_helpers import PROFILES
from hypothesis import HealthCheck, given, settings
from hypothesis import event as _event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from mem_harness import (
    BASE,
    BOUNDARY,
    ECHO,
    RAM_END,
    RX_IPA,
    SERVICE,
    TX_IPA,
    V1_2,
    MemHarness,
    handle_of,
    mapped,
    mappings,
)

from emu.ffa import constants as ffa
from emu.ffa import descriptors as d
from emu.platform.memory_map import PAGE_SIZE
from emu.platform.stage2 import TranslationFault

MASK32 = (1 << 32) - 1
GOOD = [BASE + i * PAGE_SIZE for i in range(6)] + [BOUNDARY - PAGE_SIZE, BOUNDARY]
BAD = [RAM_END - PAGE_SIZE, RAM_END, 0x2000_0000, TX_IPA, RX_IPA]  # at or past the end of RAM, outside, RX/TX
POOL = GOOD + BAD
KINDS = {("share", True): ffa.FFA_FN64_MEM_SHARE, ("share", False): ffa.FFA_MEM_SHARE,
         ("lend", True): ffa.FFA_FN64_MEM_LEND, ("lend", False): ffa.FFA_MEM_LEND,
         ("donate", True): ffa.FFA_FN64_MEM_DONATE, ("donate", False): ffa.FFA_MEM_DONATE}
SETTINGS = {"deadline": None, "derandomize": True,
            "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}

address_st = st.one_of(st.sampled_from(GOOD), st.sampled_from(GOOD), st.sampled_from(GOOD), st.sampled_from(BAD))
ranges_st = st.lists(st.tuples(address_st, st.integers(1, 3)), min_size=1, max_size=3)
receivers_st = st.one_of(st.just([SERVICE]), st.just([SERVICE]), st.just([SERVICE]), st.just([SERVICE, ECHO]),
                         st.lists(st.sampled_from([SERVICE, ECHO, 0x0002, 0x8009]), min_size=1, max_size=3))
send_st = st.fixed_dictionaries({
    "op": st.just("send"), "vm": st.integers(0, 1), "kind": st.sampled_from(["share", "share", "lend", "donate"]),
    "smc64": st.booleans(), "ranges": ranges_st, "receivers": receivers_st,
    "perms": st.sampled_from([d.DATA_RW] * 5 + [d.DATA_RO, 0, 3]),
    "sender": st.sampled_from(["self"] * 7 + ["other"]),
    "fragment": st.one_of(st.none(), st.none(), st.integers(16, 4096)),
    "corrupt": st.one_of(st.none(), st.none(), st.none(), st.tuples(st.integers(0, 255), st.integers(1, 255))),
})
pick_st = st.integers(0, 4)  # a known handle by index (any VM's), or a made-up one past the end
other_st = st.fixed_dictionaries({
    "op": st.sampled_from(["reclaim", "reclaim", "retrieve", "relinquish", "checksum"]), "vm": st.integers(0, 1),
    "pick": pick_st,
})
ops_st = st.lists(st.one_of(send_st, other_st), min_size=1, max_size=12)


def event(text: str) -> None:
    """hypothesis.event, when running under @given (the statistics show what the runs exercised)."""
    try:
        _event(text)
    except InvalidArgument:
        pass


class Model:
    """What the test knows: handle -> the VM index that sent it."""

    def __init__(self, h: MemHarness) -> None:
        self.h = h
        self.owner: dict[int, int] = {}
        self.seen: list[int] = []  # every handle ever returned, for picking (reclaimed ones too)

    def pick(self, index: int) -> int:
        return self.seen[index] if index < len(self.seen) else 0xDEAD_0000_0000_0000 | index

    def snapshot(self):
        return self.h.ledger.snapshot(), [mappings(vm) for vm in self.h.machine.vms]

    def check(self) -> None:
        h = self.h
        vms = h.machine.vms
        ledger = h.ledger
        assert set(ledger.shares) == set(self.owner)
        all_pages: list[int] = []
        for handle, share in ledger.shares.items():
            assert not handle >> 63, hex(handle)
            owner = vms[self.owner[handle]]
            assert share.vm_name == owner.name
            region = owner.ram
            for pa in share.pa_pages:
                assert region.pa <= pa < region.pa + region.size, (hex(pa), owner.name)
            all_pages += share.pa_pages
            for ipa, size in share.ipa_ranges:
                for page in range(ipa, ipa + size, PAGE_SIZE):
                    assert mapped(owner, page) != share.removes_access, (hex(page), share.kind)
        assert len(all_pages) == len(set(all_pages))
        assert ledger.snapshot() == {pa: (s.vm_name, hd) for hd, s in ledger.shares.items() for pa in s.pa_pages}
        for vm in vms:
            assert not vm.ffa.pending
            for ipa in POOL:
                try:
                    pa = vm.stage2.translate(ipa)
                except TranslationFault:
                    assert not mapped(vm, ipa)
                    continue
                handle = ledger.handle_of_page(pa)
                if handle is None or not ledger.shares[handle].removes_access:
                    assert mapped(vm, ipa), (vm.name, hex(ipa))


def _pages(ranges) -> list[int]:
    return [a + i * PAGE_SIZE for a, n in ranges for i in range(n)]


def send(model: Model, op: dict) -> None:
    h, vm_index = model.h, op["vm"]
    vm = h.vm(vm_index)
    own = h.machine.mediator.caller_id(vm)
    sender = own if op["sender"] == "self" else own ^ 3
    transaction = d.Transaction(sender, d.NORMAL_WB_INNER, 0, 0, 0,
                                [d.Receiver(r, op["perms"]) for r in op["receivers"]],
                                [d.Range(a, n) for a, n in op["ranges"]])
    data = bytearray(d.build(transaction, V1_2))
    if op["corrupt"]:
        offset, value = op["corrupt"]
        data[offset % len(data)] ^= value
    before = model.snapshot()
    answer = h.send_bytes(vm, KINDS[op["kind"], op["smc64"]], bytes(data), op["fragment"])
    event(f"{op['kind']}: {h.error(answer) or 'SUCCESS'}")
    if answer[0] != ffa.FFA_SUCCESS:
        assert answer[0] & MASK32 == ffa.FFA_ERROR, answer[:4]
        assert model.snapshot() == before
        return
    handle = handle_of(answer)
    assert handle not in model.owner and handle not in model.seen
    model.owner[handle] = vm_index
    model.seen.append(handle)
    if not op["corrupt"]:
        pages = _pages(op["ranges"])
        ram = range(vm.stage2.mappings[0].ipa, vm.stage2.mappings[-1].ipa_end)
        assert all(p in ram for p in pages) and TX_IPA not in pages and RX_IPA not in pages
        assert h.ledger.shares[handle].pa_pages == [vm.stage2.translate(p) for p in pages]
        assert sender == own and set(op["receivers"]) <= {SERVICE, ECHO}
        assert len(op["receivers"]) == 1 or h.machine.mediator.profile.single_borrower_error is None
        assert len(set(op["receivers"])) == len(op["receivers"]) and op["perms"] in (d.DATA_RO, d.DATA_RW)


def other(model: Model, op: dict) -> None:
    h, vm_index = model.h, op["vm"]
    handle = model.pick(op["pick"])
    before = model.snapshot()
    if op["op"] == "reclaim":
        answer = h.reclaim(vm_index, handle)
        event(f"reclaim: {h.error(answer) or 'SUCCESS'}")
        if answer[0] == ffa.FFA_SUCCESS:
            assert model.owner.pop(handle) == vm_index
            return
        if model.owner.get(handle) != vm_index:
            assert h.error(answer) == "INVALID_PARAMETERS" and h.forwarded() == []
        assert model.snapshot() == before
        return
    command = {"retrieve": "SERVICE_CMD_MEM_RETRIEVE", "relinquish": "SERVICE_CMD_MEM_RELINQUISH",
               "checksum": "SERVICE_CMD_MEM_CHECKSUM"}[op["op"]]
    h.service(vm_index, command, handle)
    assert model.snapshot() == before


def run_sequence(h: MemHarness, ops: list[dict]) -> None:
    model = Model(h)
    model.check()
    for op in ops:
        (send if op["op"] == "send" else other)(model, op)
        model.check()


@pytest.fixture(scope="module")
def paths(guest_image, spmc_image):
    return guest_image("hello"), spmc_image


def fresh(paths, profile: str) -> MemHarness:
    h = MemHarness(paths[0], paths[1], profile, vms=2)
    h.setup_ffa(0)
    h.setup_ffa(1)
    return h


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=40, **SETTINGS)
@given(ops=ops_st)
def test_random_sequences(paths, profile: str, ops: list[dict]) -> None:
    run_sequence(fresh(paths, profile), ops)


_SHARED: dict[str, MemHarness] = {}


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=60, **SETTINGS)
@given(op=send_st)
def test_random_descriptor(paths, profile: str, op: dict) -> None:
    """One random (often corrupt) descriptor on a reused machine, whatever it did undone afterwards."""
    if profile not in _SHARED:
        _SHARED[profile] = fresh(paths, profile)
    h = _SHARED[profile]
    model = Model(h)
    model.owner = {hd: 0 if s.vm_name == "vm1" else 1 for hd, s in h.ledger.shares.items()}
    model.check()
    send(model, op)
    model.check()
    for handle, vm_index in list(model.owner.items()):
        assert h.reclaim(vm_index, handle)[0] == ffa.FFA_SUCCESS
        del model.owner[handle]
    model.check()
    assert h.ledger.snapshot() == {}


@pytest.mark.parametrize("profile", PROFILES)
def test_property_smoke_lend_retrieve_teardown(paths, profile: str) -> None:
    """A fixed sequence through the same checker: lend, hold it at the SP, try to reclaim, relinquish."""
    ops = [
        {"op": "send", "vm": 0, "kind": "lend", "smc64": True, "ranges": [(BASE, 2), (BOUNDARY - PAGE_SIZE, 2)],
         "receivers": [SERVICE], "perms": d.DATA_RW, "sender": "self", "fragment": None, "corrupt": None},
        {"op": "retrieve", "vm": 0, "pick": 0},
        {"op": "reclaim", "vm": 0, "pick": 0},
        {"op": "reclaim", "vm": 1, "pick": 0},
        {"op": "relinquish", "vm": 0, "pick": 0},
        {"op": "reclaim", "vm": 0, "pick": 0},
    ]
    h = fresh(paths, profile)
    run_sequence(h, ops)
    assert h.ledger.snapshot() == {}
