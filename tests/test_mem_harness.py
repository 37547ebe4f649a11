"""Memory sharing through the mediator, call by call (emu.harness): ownership after every step.

Every failing call must leave the ownership ledger and the VM's stage 2 (its Unicorn
mappings) exactly as they were, and must not reach the SPMC when the mediator itself
can tell the call is wrong.
"""

from __future__ import annotations

import struct

import pytest
from ffa_helpers import PROFILES
from mem_harness import (
    BASE,
    BOUNDARY,
    DONATE,
    ECHO,
    LEND,
    RAM_END,
    RX_IPA,
    SERVICE,
    SHARE,
    TX_IPA,
    V1_0,
    V1_1,
    V1_2,
    MemHarness,
    handle_of,
    mapped,
    mappings,
    pages_of,
    tx,
)

from emu.ffa import constants as ffa
from emu.ffa import descriptors as d
from emu.ffa.stub_partitions import SERVICE_PROTOCOL
from emu.platform.memory_map import PAGE_SIZE

MASK32 = (1 << 32) - 1
HANDLE_BASE = 0x5350_4D43_0000_0000


@pytest.fixture
def make(guest_image, spmc_image):
    hello = guest_image("hello")

    def build(profile: str, vms: int = 1, version: int = V1_2) -> MemHarness:
        h = MemHarness(hello, spmc_image, profile, vms)
        for i in range(vms):
            h.setup_ffa(i, version)
        h.forwarded()
        return h

    return build


def state(h: MemHarness):
    return h.ledger.snapshot(), [mappings(vm) for vm in h.machine.vms]


def refused(h: MemHarness, answer, error: str, forwarded=()) -> None:
    assert h.error(answer) == error, answer[:4]
    assert h.forwarded() == list(forwarded)


# -- the valid descriptor and one corruption per field -----------------------------------
VALID = [(BASE, 2), (BOUNDARY - PAGE_SIZE, 2)]  # the second crosses a 2 MiB chunk boundary
H11 = d.HEADER_V1_1.size
EMAD0 = H11
COMP = H11 + d.EMAD.size
CONS0 = COMP + d.COMPOSITE.size


def _put(fmt: str, offset: int, value: int):
    def mutate(data: bytes) -> bytes:
        out = bytearray(data)
        struct.pack_into(fmt, out, offset, value)
        return bytes(out)
    return mutate


MUTATIONS = [  # (name, mutation of the valid 1.2-layout descriptor, error)
    ("sender is another VM", _put("<H", 0, 2), "INVALID_PARAMETERS"),
    ("sender is an SP", _put("<H", 0, SERVICE), "INVALID_PARAMETERS"),
    ("handle set", _put("<Q", 8, HANDLE_BASE + 1), "INVALID_PARAMETERS"),
    ("EMAD size 0", _put("<I", 24, 0), "INVALID_PARAMETERS"),
    ("EMAD size 8", _put("<I", 24, 8), "INVALID_PARAMETERS"),
    ("EMAD size 24 (not a multiple of 16)", _put("<I", 24, 24), "INVALID_PARAMETERS"),
    ("receiver count 0", _put("<I", 28, 0), "INVALID_PARAMETERS"),
    ("receiver count 2 (second EMAD is the composite)", _put("<I", 28, 2), "INVALID_PARAMETERS"),
    ("receiver count 0xffffffff", _put("<I", 28, MASK32), "INVALID_PARAMETERS"),
    ("EMAD offset 0", _put("<I", 32, 0), "INVALID_PARAMETERS"),
    ("EMAD offset 40 (unaligned)", _put("<I", 32, 40), "INVALID_PARAMETERS"),
    ("EMAD offset past the end", _put("<I", 32, 0x1000), "INVALID_PARAMETERS"),
    ("receiver is a VM", _put("<H", EMAD0, 2), "INVALID_PARAMETERS"),
    ("receiver is the sender", _put("<H", EMAD0, 1), "INVALID_PARAMETERS"),
    ("receiver SP does not exist", _put("<H", EMAD0, 0x8009), "INVALID_PARAMETERS"),
    ("no data access", _put("<B", EMAD0 + 2, 0), "INVALID_PARAMETERS"),
    ("reserved data access 3", _put("<B", EMAD0 + 2, 3), "INVALID_PARAMETERS"),
    ("composite offset 0", _put("<I", EMAD0 + 4, 0), "INVALID_PARAMETERS"),
    ("composite offset unaligned", _put("<I", EMAD0 + 4, COMP + 4), "INVALID_PARAMETERS"),
    ("composite offset past the TX buffer", _put("<I", EMAD0 + 4, 0x2000), "INVALID_PARAMETERS"),
    ("composite offset 0xfffffff0", _put("<I", EMAD0 + 4, 0xFFFF_FFF0), "INVALID_PARAMETERS"),
    ("composite inside the EMADs", _put("<I", EMAD0 + 4, EMAD0), "INVALID_PARAMETERS"),
    ("total pages 0", _put("<I", COMP, 0), "INVALID_PARAMETERS"),
    ("total pages one too many", _put("<I", COMP, 5), "INVALID_PARAMETERS"),
    ("range count 0", _put("<I", COMP + 4, 0), "INVALID_PARAMETERS"),
    ("range count one too many", _put("<I", COMP + 4, 3), "INVALID_PARAMETERS"),
    ("range count 0xffffffff", _put("<I", COMP + 4, MASK32), "INVALID_PARAMETERS"),
    ("constituent address unaligned", _put("<Q", CONS0, BASE + 8), "INVALID_PARAMETERS"),
    ("constituent outside RAM", _put("<Q", CONS0, 0x2000_0000), "INVALID_PARAMETERS"),
    ("constituent running past RAM", _put("<Q", CONS0, RAM_END - PAGE_SIZE), "INVALID_PARAMETERS"),
    ("constituent wrapping the address space", _put("<Q", CONS0, (1 << 64) - PAGE_SIZE), "INVALID_PARAMETERS"),
    ("constituent of 0 pages", lambda b: _put("<I", COMP, 2)(_put("<I", CONS0 + 8, 0)(b)), "INVALID_PARAMETERS"),
    ("constituent pages 0xffffffff", lambda b: _put("<I", COMP, 1)(_put("<I", CONS0 + 8, MASK32)(b)),
     "INVALID_PARAMETERS"),
    ("constituent over the TX buffer", _put("<Q", CONS0, TX_IPA), "DENIED"),
    ("constituent over the RX buffer", _put("<Q", CONS0, RX_IPA - PAGE_SIZE), "DENIED"),
    ("both constituents the same pages", _put("<Q", CONS0 + 16, BASE), "DENIED"),
    ("constituents overlapping by one page", _put("<Q", CONS0 + 16, BASE + PAGE_SIZE), "DENIED"),
    ("descriptor truncated by a constituent", lambda b: b[:-16], "INVALID_PARAMETERS"),
    ("16 trailing bytes", lambda b: b + bytes(16), "INVALID_PARAMETERS"),
    ("header truncated", lambda b: b[:40], "INVALID_PARAMETERS"),
]


@pytest.mark.parametrize("profile", PROFILES)
def test_each_field_corrupted(make, profile: str) -> None:
    h = make(profile)
    vm = h.vm(0)
    valid = d.build(h.own(tx(VALID)), V1_2)
    held = h.send_memory(0, SHARE, tx([(BASE + 0x40000, 1)]))  # something already in the ledger
    assert held[0] == ffa.FFA_SUCCESS
    h.forwarded()
    before = state(h)
    for name, mutate, error in MUTATIONS:
        answer = h.send_bytes(vm, SHARE, mutate(valid))
        assert h.error(answer) == error, (name, answer[:4])
        assert h.forwarded() == [], name
        assert state(h) == before, name
        if profile == "pkvm":  # errors the mediator builds are sign-extended in x2
            assert answer[2] >> 32 == MASK32, name
    answer = h.send_bytes(vm, SHARE, valid)
    assert answer[0] == ffa.FFA_SUCCESS and h.forwarded() == ["FFA_FN64_MEM_SHARE"]
    assert len(h.ledger.snapshot()) == 5


# -- overlap, RAM, handles -----------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_overlap_and_outside_ram(make, profile: str) -> None:
    h = make(profile)
    a = h.send_memory(0, SHARE, tx([(BASE, 4)]))
    assert a[0] == ffa.FFA_SUCCESS and h.forwarded() == ["FFA_FN64_MEM_SHARE"]
    before = state(h)
    for ranges in ([(BASE + 3 * PAGE_SIZE, 2)], [(BASE - PAGE_SIZE, 2)], [(BASE + 0x10000, 1), (BASE + PAGE_SIZE, 1)]):
        refused(h, h.send_memory(0, SHARE, tx(ranges)), "DENIED")
        assert state(h) == before
    for ranges in ([(0x2000_0000, 1)], [(RAM_END, 1)], [(BASE + 0x10000, 1), (RAM_END - PAGE_SIZE, 2)]):
        refused(h, h.send_memory(0, SHARE, tx(ranges)), "INVALID_PARAMETERS")
        assert state(h) == before
    # The neighbours are free.
    b = h.send_memory(0, SHARE, tx([(BASE - PAGE_SIZE, 1), (BASE + 4 * PAGE_SIZE, 1)]))
    assert b[0] == ffa.FFA_SUCCESS


@pytest.mark.parametrize("profile", PROFILES)
def test_handles_are_per_vm(make, profile: str) -> None:
    h = make(profile, vms=2)
    a = h.send_memory(0, SHARE, tx([(BASE, 1)]))
    b = h.send_memory(1, SHARE, tx([(BASE, 1)]))  # same IPA, other VM: other memory
    assert a[0] == b[0] == ffa.FFA_SUCCESS
    ha, hb = handle_of(a), handle_of(b)
    assert (ha, hb) == (HANDLE_BASE + 1, HANDLE_BASE + 2)
    pa1, pa2 = h.vm(0).stage2.translate(BASE), h.vm(1).stage2.translate(BASE)
    assert h.ledger.snapshot() == {pa1: ("vm1", ha), pa2: ("vm2", hb)}
    h.forwarded()
    before = state(h)
    refused(h, h.reclaim(1, ha), "INVALID_PARAMETERS")  # another VM's handle: the SPMC is not asked
    refused(h, h.reclaim(0, hb), "INVALID_PARAMETERS")
    refused(h, h.reclaim(0, 0xDEAD_0000_BEEF), "INVALID_PARAMETERS")
    refused(h, h.reclaim(0, ha | ffa.MEM_HANDLE_HYPERVISOR), "INVALID_PARAMETERS")
    assert state(h) == before
    # A fragmented send's provisional handle is the sender's own too.
    big = h.own(tx([(BASE + 0x10000 + 2 * i * PAGE_SIZE, 1) for i in range(8)]))
    h.vm(0).write_ipa(TX_IPA, d.build(big, V1_2)[:64])
    first = h.call(0, SHARE, len(d.build(big, V1_2)), 64)
    if profile == "xen":
        refused(h, first, "NOT_SUPPORTED")
        return
    assert first[0] == ffa.FFA_MEM_FRAG_RX and first[2] >> 31 == 1
    refused(h, h.call(1, ffa.FFA_MEM_FRAG_TX, first[1], first[2], 64), "INVALID_PARAMETERS")
    refused(h, h.call(1, SHARE, 64, 64), "INVALID_PARAMETERS")  # vm2's own send is not blocked by vm1's
    refused(h, h.call(0, SHARE, 64, 64), "BUSY")  # vm1 must finish (or break) its fragmented send first
    assert h.reclaim(0, ha)[0] == ffa.FFA_SUCCESS and h.forwarded() == ["FFA_MEM_RECLAIM"]


@pytest.mark.parametrize("profile", PROFILES)
def test_reclaim_before_relinquish(make, profile: str) -> None:
    h = make(profile)
    a = h.send_memory(0, SHARE, tx([(BASE, 3)]))
    handle = handle_of(a)
    assert h.service(0, "SERVICE_CMD_MEM_RETRIEVE", handle) == 3
    h.forwarded()
    before = state(h)
    refused(h, h.reclaim(0, handle), "DENIED", ["FFA_MEM_RECLAIM"])  # the SPMC's answer
    assert state(h) == before
    assert h.service(0, "SERVICE_CMD_MEM_RELINQUISH", handle) == 0
    assert h.reclaim(0, handle)[0] == ffa.FFA_SUCCESS and h.ledger.snapshot() == {}
    refused(h, h.reclaim(0, handle), "INVALID_PARAMETERS", [])


def ask(h: MemHarness, vm: int, sender: int, command: str, handle: int) -> tuple[int, int]:
    """A service SP command from VM ``vm`` naming ``sender`` in w1; (x3, x4) of its DIRECT_RESP."""
    answer = h.call(vm, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ, sender << 16 | SERVICE, 0, SERVICE_PROTOCOL[command],
                    handle, 0x77)
    assert answer[0] == ffa.FFA_FN64_MSG_SEND_DIRECT_RESP and answer[1] & MASK32 == SERVICE << 16 | sender
    return answer[3], answer[4]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_sp_acts_only_for_the_sender(make, profile: str) -> None:
    """vm2 asks the service SP to work on vm1's handle, as itself (under pKVM, whose mediator forwards the direct
    request as written, as endpoint 2 while vm1's descriptor names the host, 0): the SP names the requester as
    the lender in its retrieve request, and the SPMC refuses it, DENIED (Hafnium: ffa_memory_retrieve_validate,
    src/ffa_memory.c).  Nothing was retrieved, written or held; vm1's own commands and RECLAIM work."""
    h = make(profile, vms=2)
    h.vm(0).write_ipa(BASE, bytes(range(256)) * 16)
    handle = handle_of(h.send_memory(0, SHARE, tx([(BASE, 1)])))
    denied = (SERVICE_PROTOCOL["SERVICE_ERR_NO_HANDLE"], ffa.DENIED & MASK32)
    for command in ("SERVICE_CMD_MEM_CHECKSUM", "SERVICE_CMD_MEM_FILL", "SERVICE_CMD_MEM_RETRIEVE"):
        assert ask(h, 1, 2, command, handle) == denied, command
    assert ask(h, 1, 2, "SERVICE_CMD_MEM_RELINQUISH", handle) == (SERVICE_PROTOCOL["SERVICE_ERR_NOT_HELD"], 0)
    assert h.vm(0).read_ipa(BASE, PAGE_SIZE) == bytes(range(256)) * 16
    words = struct.unpack("<512Q", bytes(range(256)) * 16)
    assert h.service(0, "SERVICE_CMD_MEM_CHECKSUM", handle) == sum(words) % (1 << 64)
    assert h.reclaim(0, handle)[0] == ffa.FFA_SUCCESS and h.ledger.snapshot() == {}


@pytest.mark.parametrize("profile", PROFILES)
def test_the_sp_releases_a_hold_only_for_its_holder(make, profile: str) -> None:
    h = make(profile, vms=2)
    handle = handle_of(h.send_memory(0, SHARE, tx([(BASE, 2)])))
    own = h.machine.mediator.caller_id(h.vm(0))
    assert ask(h, 0, own, "SERVICE_CMD_MEM_RETRIEVE", handle) == (2, 0)
    assert ask(h, 1, 2, "SERVICE_CMD_MEM_RELINQUISH", handle) == (SERVICE_PROTOCOL["SERVICE_ERR_NOT_HELD"], 0)
    refused(h, h.reclaim(0, handle), "DENIED", ["FFA_MEM_RECLAIM"])  # still held for vm1
    assert ask(h, 0, own, "SERVICE_CMD_MEM_RELINQUISH", handle) == (0, 0)  # released on its holder's request
    assert ask(h, 0, own, "SERVICE_CMD_MEM_RELINQUISH", handle) == (SERVICE_PROTOCOL["SERVICE_ERR_NOT_HELD"], 0)
    assert h.reclaim(0, handle)[0] == ffa.FFA_SUCCESS


# -- teardown ---------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_teardown_reclaims(make, profile: str) -> None:
    h = make(profile, vms=2)
    handles = [handle_of(h.send_memory(0, SHARE, tx([(BASE + i * 0x10000, 1)]))) for i in range(3)]
    other = handle_of(h.send_memory(1, SHARE, tx([(BASE, 1)])))
    held = handles[1]
    assert h.service(0, "SERVICE_CMD_MEM_RETRIEVE", held) == 1  # the SP keeps one: it cannot come back
    h.forwarded()
    h.machine.mediator.detach(h.vm(0))
    reclaims = [r for r in h.to_spmc if r[0] == ffa.FFA_MEM_RECLAIM]
    assert [r[1] | r[2] << 32 for r in reclaims] == handles
    # The retrieved one stays with the SP, but for Xen, which tells the SP first that the VM is gone (VM_DESTROYED:
    # the service SP lets go of what it holds for it, test_vm_availability.py); vm2's is untouched.
    assert set(h.ledger.shares) == ({other} if profile == "xen" else {held, other})
    assert h.vm(0).ffa.buffers is None


# -- layouts ------------------------------------------------------------------------------
@pytest.mark.parametrize("version", [V1_0, V1_1])
def test_older_layouts(make, version: int) -> None:
    """A VM that negotiated 1.0 sends the 1.0 layout (32-byte header); 1.1 the 1.1 one (spec)."""
    h = make("spec", version=version)
    words = [(i * 0x9E37_79B9_7F4A_7C15) & ((1 << 64) - 1) for i in range(1024)]
    h.vm(0).write_ipa(BOUNDARY - PAGE_SIZE, b"".join(w.to_bytes(8, "little") for w in words))
    transaction = h.own(tx([(BOUNDARY - PAGE_SIZE, 2)]))
    data = d.build(transaction, version)
    assert len(data) == (32 if version == V1_0 else 48) + 16 + 16 + 16
    answer = h.send_bytes(h.vm(0), ffa.FFA_MEM_SHARE, data)
    assert answer[0] == ffa.FFA_SUCCESS and h.forwarded() == ["FFA_MEM_SHARE"]
    assert h.service(0, "SERVICE_CMD_MEM_CHECKSUM", handle_of(answer)) == sum(words) & ((1 << 64) - 1)
    # The other layout does not parse for this VM.
    wrong = d.build(h.own(tx([(BASE, 1)])), V1_2 if version == V1_0 else V1_0)
    refused(h, h.send_bytes(h.vm(0), ffa.FFA_MEM_SHARE, wrong), "INVALID_PARAMETERS")


# -- Xen's limits -----------------------------------------------------------------------------
def test_xen_limits(make) -> None:
    h = make("xen")
    for receivers, error in (([d.Receiver(SERVICE, d.DATA_RW), d.Receiver(ECHO, d.DATA_RW)], "NOT_SUPPORTED"),
                             ([d.Receiver(SERVICE, d.DATA_RO)], "INVALID_PARAMETERS")):
        refused(h, h.send_memory(0, SHARE, tx([(BASE, 1)], receivers)), error)
    device = d.ATTR_TYPE_DEVICE << d.ATTR_TYPE_SHIFT
    refused(h, h.send_memory(0, SHARE, tx([(BASE, 1)], attributes=device)), "INVALID_PARAMETERS")
    refused(h, h.send_memory(0, SHARE, tx([(BASE, 257)])), "NO_MEMORY")
    refused(h, h.send_memory(0, SHARE, tx([(BASE + 2 * i * PAGE_SIZE, 1) for i in range(257)]), fragment=4096),
            "NOT_SUPPORTED")  # over one fragment
    refused(h, h.send_memory(0, LEND, tx([(BASE, 1)])), "NOT_SUPPORTED")
    refused(h, h.send_memory(0, DONATE, tx([(BASE, 1)])), "NOT_SUPPORTED")
    assert h.ledger.snapshot() == {}
    answer = h.send_memory(0, SHARE, tx([(BASE, 256)]))
    assert answer[0] == ffa.FFA_SUCCESS
    assert h.reclaim(0, handle_of(answer))[0] == ffa.FFA_SUCCESS
    handles = []
    for i in range(32):
        answer = h.send_memory(0, SHARE, tx([(BASE + i * PAGE_SIZE, 1)]))
        assert answer[0] == ffa.FFA_SUCCESS, i
        handles.append(handle_of(answer))
    h.forwarded()
    before = state(h)
    refused(h, h.send_memory(0, SHARE, tx([(BASE + 0x40000, 1)])), "NO_MEMORY")  # the 33rd: not forwarded
    assert state(h) == before
    assert h.reclaim(0, handles[0])[0] == ffa.FFA_SUCCESS
    assert h.send_memory(0, SHARE, tx([(BASE + 0x40000, 1)]))[0] == ffa.FFA_SUCCESS


@pytest.mark.parametrize("profile", ["spec", "pkvm"])
def test_spec_and_pkvm_take_what_xen_refuses(make, profile: str) -> None:
    h = make(profile)
    ro = h.send_memory(0, SHARE, tx([(BASE, 1)], [d.Receiver(SERVICE, d.DATA_RO)]))
    assert ro[0] == ffa.FFA_SUCCESS
    assert h.service(0, "SERVICE_CMD_MEM_FILL", handle_of(ro), 7) == 0xFFFF_FFFD  # SERVICE_ERR_DENIED: RO
    big = h.send_memory(0, SHARE, tx([(BASE + 0x10000, 300)]))
    assert big[0] == ffa.FFA_SUCCESS
    frag = h.send_memory(0, SHARE, tx([(BASE + 0x200000 + 2 * i * PAGE_SIZE, 1) for i in range(257)]),
                         fragment=1000)
    assert frag[0] == ffa.FFA_SUCCESS
    assert len(h.ledger.snapshot()) == 1 + 300 + 257


def test_spec_multiple_receivers_and_donate_rules(make) -> None:
    h = make("spec")
    two = [d.Receiver(SERVICE, d.DATA_RW), d.Receiver(ECHO, d.DATA_RO)]
    answer = h.send_memory(0, SHARE, tx([(BASE, 1)], two))
    assert answer[0] == ffa.FFA_SUCCESS
    assert h.ledger.shares[handle_of(answer)].receivers == [SERVICE, ECHO]
    refused(h, h.send_memory(0, DONATE, tx([(BASE + 0x10000, 1)], two)), "INVALID_PARAMETERS")


# -- LEND/DONATE and the VM's stage 2 ----------------------------------------------------------
@pytest.mark.parametrize("profile, kind", [("spec", LEND), ("spec", DONATE), ("pkvm", LEND)])
def test_lend_unmaps_and_reclaim_maps_back(make, profile: str, kind: int) -> None:
    h = make(profile)
    vm = h.vm(0)
    ranges = [(BOUNDARY - 2 * PAGE_SIZE, 4), (BASE, 1)]
    vm.write_ipa(BASE, b"\x5a" * PAGE_SIZE)
    before = mappings(vm)
    answer = h.send_memory(0, kind, tx(ranges))
    assert answer[0] == ffa.FFA_SUCCESS
    handle = handle_of(answer)
    for ipa in pages_of(ranges):
        assert not mapped(vm, ipa), hex(ipa)
    for ipa in (BASE - PAGE_SIZE, BASE + PAGE_SIZE, BOUNDARY - 3 * PAGE_SIZE, BOUNDARY + 2 * PAGE_SIZE):
        assert mapped(vm, ipa), hex(ipa)
    assert {h.ledger.shares[handle].kind} == {"lend" if kind == LEND else "donate"}
    # The mediator still finds the lent pages' owner (what the stage-2 fault message names).
    assert h.machine.mediator.memory.lent_page_handle(vm, BASE) == handle
    if kind == LEND:
        assert h.service(0, "SERVICE_CMD_MEM_FILL", handle, 0x100) == 5
    assert h.reclaim(0, handle)[0] == ffa.FFA_SUCCESS
    for ipa in pages_of(ranges):
        assert mapped(vm, ipa), hex(ipa)
    if kind == LEND:  # the SP's words, in descriptor order: the BASE page is the fifth
        assert int.from_bytes(vm.read_ipa(BASE, 8), "little") == 0x100 + 4 * 512
    else:
        assert vm.read_ipa(BASE, PAGE_SIZE) == b"\x5a" * PAGE_SIZE
    assert _union(mappings(vm)) == _union(before)
    assert h.machine.mediator.memory.lent_page_handle(vm, BASE) is None


def _union(regions: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Mapped IPA intervals, adjacent regions merged (unmapping and remapping may split them)."""
    out: list[tuple[int, int]] = []
    for begin, end, _perms in sorted(regions):
        if out and out[-1][1] + 1 == begin:
            out[-1] = (out[-1][0], end)
        else:
            out.append((begin, end))
    return out


@pytest.mark.parametrize("profile", ["spec", "pkvm"])
def test_lent_pages_cannot_become_rxtx(make, profile: str) -> None:
    """No TX buffer: INVALID_PARAMETERS (Hafnium api_ffa_mem_send, pKVM ffa.c __do_ffa_mem_xfer).  Lent pages as
    RX/TX: INVALID_PARAMETERS (Hafnium api_vm_configure_pages: not owned and exclusive; pKVM do_ffa_rxtx_map:
    __pkvm_host_share_hyp fails)."""
    h = make(profile)
    assert h.call(0, ffa.FFA_RXTX_UNMAP, 0)[0] == ffa.FFA_SUCCESS
    answer = h.send_memory(0, LEND, tx([(BASE, 2)]))
    assert h.error(answer) == "INVALID_PARAMETERS"
    h.setup_ffa(0)
    answer = h.send_memory(0, LEND, tx([(BASE, 2)]))
    assert answer[0] == ffa.FFA_SUCCESS
    assert h.call(0, ffa.FFA_RXTX_UNMAP, 0)[0] == ffa.FFA_SUCCESS
    refused(h, h.call(0, ffa.FFA_FN64_RXTX_MAP, BASE, BASE + 0x10000, 1), "INVALID_PARAMETERS")


# -- pKVM: the descriptor's sender --------------------------------------------------------------
def test_pkvm_sender_is_the_id_get_answer(make) -> None:
    h = make("pkvm")
    own = h.call(0, ffa.FFA_ID_GET)
    assert own[0] == ffa.FFA_SUCCESS and own[2] == 0
    answer = h.send_memory(0, SHARE, tx([(BASE, 1)], sender=own[2]))
    assert answer[0] == ffa.FFA_SUCCESS, h.error(answer)
