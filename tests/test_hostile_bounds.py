"""Hostile sizes in memory sharing, call by call: what a guest claims costs what its descriptor costs.

Each attack is refused with the error the profile's real mediator gives, nothing is left pending,
buffered or held, and the invariant checker (on throughout) stays quiet.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest
from ffa_helpers import PROFILES
from mem_harness import BASE, RAM, SHARE, MemHarness, handle_of, mappings, tx

from emu.ffa import constants as ffa
from emu.ffa import descriptors as d
from emu.ffa.profiles import HAFNIUM_MAX_FRAGMENTS, PKVM_DESCRIPTOR_BUFFER
from emu.ffa.stub_partitions import SPMC_TXN_SLOTS
from emu.platform.memory_map import GUEST_RAM_IPA, PAGE_SIZE

MASK32 = (1 << 32) - 1
RAM_PAGES = RAM // PAGE_SIZE
BIG_TX = GUEST_RAM_IPA + 0x40_0000  # a 63-page RX/TX pair (the spec profile's largest), clear of BASE
BIG_PAGES = 63


@pytest.fixture
def make(guest_image, spmc_image):
    hello = guest_image("hello")

    def build(profile: str, vms: int = 1) -> MemHarness:
        h = MemHarness(hello, spmc_image, profile, vms, check=True)
        for i in range(vms):
            h.setup_ffa(i)
        h.forwarded()
        return h

    return build


def quiet(h: MemHarness) -> None:
    checker = h.machine.checker
    checker.check_state()
    assert [v.text for v in checker.violations] == []


def state(h: MemHarness):
    return h.ledger.snapshot(), [vm.ffa.pending for vm in h.machine.vms], [mappings(vm) for vm in h.machine.vms]


def whole_ram(count: int) -> list[tuple[int, int]]:
    return [(GUEST_RAM_IPA, RAM_PAGES)] * count


def send_one_fragment(h: MemHarness, data: bytes, tx_ipa: int, fid: int = SHARE) -> list[int]:
    h.vm(0).write_ipa(tx_ipa, data)
    return h.call(0, fid, len(data), len(data))


# -- constituents that claim far more than the VM has ------------------------------------------
def test_8192_claims_of_the_whole_ram_cost_the_descriptor(make) -> None:
    """8192 constituents each naming the VM's whole RAM: 33M pages claimed, in one 128 KiB fragment."""
    h = make("spec")
    h.call(0, ffa.FFA_RXTX_UNMAP, 0)
    assert h.call(0, ffa.FFA_FN64_RXTX_MAP, BIG_TX, BIG_TX + BIG_PAGES * PAGE_SIZE, BIG_PAGES)[0] == ffa.FFA_SUCCESS
    data = d.build(h.own(tx(whole_ram(8192))), ffa.VERSION_1_2)
    assert len(data) <= BIG_PAGES * PAGE_SIZE
    before = state(h)
    tracemalloc.start()
    started = time.perf_counter()
    answer = send_one_fragment(h, data, BIG_TX)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert h.error(answer) == "DENIED" and h.forwarded() == []  # the same pages named twice
    assert state(h) == before
    assert peak < 16 << 20, f"{peak >> 20} MiB for a 128 KiB descriptor"  # was a list of 33M pages
    assert seconds < 2.0
    quiet(h)


@pytest.mark.parametrize("profile", PROFILES)
def test_one_fragment_of_whole_ram_claims(make, profile: str) -> None:
    h = make(profile)
    before = state(h)
    for ranges, errors in (
            (whole_ram(250), {"spec": "DENIED", "pkvm": "DENIED", "xen": "NO_MEMORY"}),  # Xen: over 256 pages
            ([(GUEST_RAM_IPA, MASK32)], {"spec": "INVALID_PARAMETERS", "pkvm": "INVALID_PARAMETERS",
                                         "xen": "NO_MEMORY"}),  # 16 TiB from the RAM's first page
            ([(GUEST_RAM_IPA, RAM_PAGES)], {"spec": "DENIED", "pkvm": "DENIED",
                                            "xen": "NO_MEMORY"})):  # all of it, RX/TX included
        answer = h.send_memory(0, SHARE, tx(ranges))
        assert h.error(answer) == errors[profile], ranges[0]
        assert h.forwarded() == []
        assert state(h) == before
    quiet(h)


# -- fragmented sends ---------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_a_fragmented_send_claiming_4gib_buffers_nothing(make, profile: str) -> None:
    h = make(profile)
    data = d.build(h.own(tx([(BASE, 1)])), ffa.VERSION_1_2)
    h.vm(0).write_ipa(h.vm(0).ffa.buffers.tx_ipa, data)
    before = state(h)
    answer = h.call(0, SHARE, MASK32, len(data))
    assert h.error(answer) == ("NOT_SUPPORTED" if profile == "xen" else "NO_MEMORY")
    assert state(h) == before and h.forwarded() == []
    frag_tx = h.call(0, ffa.FFA_MEM_FRAG_TX, 1, 1 << 31, len(data))  # the provisional handle it would have had
    assert h.error(frag_tx) == ("NOT_SUPPORTED" if profile == "xen" else "INVALID_PARAMETERS")
    quiet(h)


def padded(data: bytes, length: int) -> bytes:
    """A 1.1 descriptor of one receiver stretched to ``length`` bytes: a gap before its composite."""
    composite = d.HEADER_V1_1.size + d.EMAD.size
    offset = length - (len(data) - composite)
    stretched = bytearray(data[:composite] + bytes(offset - composite) + data[composite:])
    stretched[d.HEADER_V1_1.size + 4:d.HEADER_V1_1.size + 8] = offset.to_bytes(4, "little")
    return bytes(stretched)


@pytest.mark.parametrize("profile", ["spec", "pkvm"])
def test_longest_fragmented_descriptor(make, profile: str) -> None:
    """spec: 20 fragments of the TX buffer; pKVM: its 36864-byte descriptor buffer. One byte more is
    NO_MEMORY before anything is buffered; the longest is taken."""
    h = make(profile)
    limit = HAFNIUM_MAX_FRAGMENTS * PAGE_SIZE if profile == "spec" else PKVM_DESCRIPTOR_BUFFER
    assert h.machine.mediator.profile.descriptor_limit(PAGE_SIZE) == limit
    data = padded(d.build(h.own(tx([(BASE, 2), (BASE + 0x10000, 1)])), ffa.VERSION_1_2), limit)
    assert len(data) == limit and d.parse(data, ffa.VERSION_1_2).total_pages == 3
    before = state(h)
    answer = h.call(0, SHARE, limit + 1, PAGE_SIZE)
    assert h.error(answer) == "NO_MEMORY" and h.forwarded() == [] and state(h) == before
    answer = h.send_bytes(h.vm(0), SHARE, data)
    assert answer[0] == ffa.FFA_SUCCESS and len(h.ledger.snapshot()) == 3
    quiet(h)


@pytest.mark.parametrize("profile", ["spec", "pkvm"])
def test_fragment_count(make, profile: str) -> None:
    """Hafnium frees a transaction at its 21st fragment (NO_MEMORY); pKVM has no count, only the length."""
    h = make(profile)
    data = d.build(h.own(tx([(BASE + 2 * i * PAGE_SIZE, 1) for i in range(40)])), ffa.VERSION_1_2)
    assert len(data) // 16 > HAFNIUM_MAX_FRAGMENTS
    before = state(h)
    answer = h.send_bytes(h.vm(0), SHARE, data, fragment=16)
    if profile == "spec":
        assert h.error(answer) == "NO_MEMORY" and h.forwarded() == [] and state(h) == before
    else:
        assert answer[0] == ffa.FFA_SUCCESS and len(h.ledger.shares) == 1
    quiet(h)


# -- the SPMC's transaction slots -------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("vms", [1, 2, 3])
def test_one_vm_cannot_take_every_spmc_slot(make, profile: str, vms: int) -> None:
    h = make(profile, vms)
    quota = SPMC_TXN_SLOTS // vms
    held = []
    for i in range(quota):
        answer = h.send_memory(0, SHARE, tx([(BASE + i * PAGE_SIZE, 1)]))
        assert answer[0] == ffa.FFA_SUCCESS, (i, h.error(answer))
        held.append(handle_of(answer))
    h.forwarded()
    before = state(h)
    answer = h.send_memory(0, SHARE, tx([(BASE + quota * PAGE_SIZE, 1)]))
    assert h.error(answer) == "NO_MEMORY" and h.forwarded() == []  # as Hafnium out of share states
    assert state(h) == before
    for other in range(1, vms):
        for i in range(quota):  # every other VM still has its own share of the slots
            assert h.send_memory(other, SHARE, tx([(BASE + i * PAGE_SIZE, 1)]))[0] == ffa.FFA_SUCCESS
    assert h.reclaim(0, held[0])[0] == ffa.FFA_SUCCESS
    assert h.send_memory(0, SHARE, tx([(BASE + quota * PAGE_SIZE, 1)]))[0] == ffa.FFA_SUCCESS
    quiet(h)
