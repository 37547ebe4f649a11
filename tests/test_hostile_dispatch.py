"""Property-based tests: random frames, descriptors and RX/TX sequences against the mediator's dispatch.

Every example builds a fresh two-VM machine (check=True: the invariant
checker runs after every call), drives ``Hypervisor.handle_frame`` with what
hypothesis generates, and requires: no Python exception, no invariant
violation, for every profile (and the SPMC at 1.0 and 1.1 too).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emu.el2 import psci
from emu.el2 import smccc
from emu.platform.elf import load_elf
from emu.ffa import constants as ffa
from emu.ffa import descriptors as d
from emu.harness import RX_IPA, TX_IPA, Harness, handle_of
from emu.machine import MachineConfig
from emu.platform.memory_map import GUEST_RAM_IPA, PAGE_SIZE
from emu.secure.rmm_abi import RMI_VERSION, RSI_VERSION
from emu.vm import VmSpec

PROFILES = ("spec", "pkvm", "xen")
RAM = 16 << 20
ARENA = GUEST_RAM_IPA + 0x90_0000  # pages the examples share, clear of the image and of TX/RX
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_IMAGES: dict[str, object] = {}


@pytest.fixture(scope="module")
def images(guest_image, spmc_image):
    if not _IMAGES:
        _IMAGES["guest"] = load_elf(guest_image("hello"))
        _IMAGES["spmc"] = load_elf(spmc_image)
    return _IMAGES


def harness(images, profile: str, spmc_version: int = 0) -> Harness:
    specs = [VmSpec(images["guest"], vm_id=i, endpoint_id=i, ram_size=RAM) for i in (1, 2)]
    return Harness(MachineConfig(vms=specs, profile=profile, spmc_image=images["spmc"], spmc_version=spmc_version,
                                 check=True, keep_trace=False, symbolize=False))


def assert_clean(h: Harness) -> None:
    h.machine.checker.check_state()
    violations = [v.text for v in h.machine.checker.violations]
    assert not violations, "\n".join(violations[:10])


# -- strategies -------------------------------------------------------------------------------
POWER_OFF = {psci.PSCI_SYSTEM_OFF, psci.PSCI_SYSTEM_RESET}
FIDS = sorted(set(ffa.FUNCTION_IDS.values()) | {
    smccc.SMCCC_VERSION, smccc.SMCCC_ARCH_FEATURES, smccc.SMCCC_ARCH_SOC_ID, smccc.SMCCC_ARCH_WORKAROUND_1,
    smccc.STD_SVC_CALL_COUNT, smccc.STD_SVC_UID, smccc.STD_SVC_REVISION, smccc.STD_HYP_CALL_COUNT,
    smccc.STD_HYP_UID, smccc.STD_HYP_REVISION, psci.PSCI_VERSION, psci.PSCI_FEATURES, RMI_VERSION, RSI_VERSION,
    0x8400_0001, 0xC400_0003, 0x8600_0000, 0,
})
u64 = st.integers(0, 2**64 - 1)
u32 = st.integers(0, 2**32 - 1)
interesting = st.sampled_from([
    0, 1, 2, 63, 64, 0x8000, 0x8001, 0x8002, 0x8003, 0xFFFF, 0x1_8001, 0x2_8002, 0x1_0000, 0x1_0001, 0x1_0002,
    0x1_0003, 0x2_0000, 0x8001_0002, 0xFFFF_FFFF, 2**64 - 1, 2**63, TX_IPA, RX_IPA, ARENA, ARENA + 8,
    GUEST_RAM_IPA, GUEST_RAM_IPA + RAM - PAGE_SIZE, GUEST_RAM_IPA + RAM, 0x0900_0000, 0x1_0000_0000,
    ffa.MEM_HANDLE_HYPERVISOR | 1, 0x5350_4D43_0000_0001,
])
register = st.one_of(interesting, u64, u32, st.integers(0, 0x2000))


@st.composite
def fids(draw) -> int:
    fid = draw(st.one_of(st.sampled_from(FIDS), u32))
    if draw(st.integers(0, 9)) == 0:
        fid |= smccc.SVE_HINT
    if draw(st.integers(0, 9)) == 0:
        fid |= draw(u32) << 32
    if smccc.decode_fid(fid).value in POWER_OFF:
        fid = ffa.FFA_VERSION
    return fid


@st.composite
def frames(draw) -> tuple[int, str, list[int]]:
    regs = [draw(fids())] + draw(st.lists(register, min_size=17, max_size=17))
    return draw(st.integers(0, 1)), draw(st.sampled_from(["hvc", "smc"])), regs


# -- random frames ----------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
@given(calls=st.lists(frames(), min_size=1, max_size=25), setup=st.booleans())
@SETTINGS
def test_random_frames(images, profile: str, calls, setup: bool) -> None:
    h = harness(images, profile)
    if setup:
        h.setup_ffa(0)
        h.setup_ffa(1)
    for vm, conduit, regs in calls:
        out = h.call(vm, *regs, conduit=conduit)
        assert len(out) == 18
    assert_clean(h)


@pytest.mark.parametrize("spmc_version", [ffa.VERSION_1_0, ffa.VERSION_1_1], ids=["spmc-1.0", "spmc-1.1"])
@pytest.mark.parametrize("profile", PROFILES)
@given(calls=st.lists(frames(), min_size=1, max_size=30))
@settings(SETTINGS, max_examples=15)
def test_random_frames_older_spmc(images, profile: str, spmc_version: int, calls) -> None:
    h = harness(images, profile, spmc_version)
    if h.machine.mediator.available:  # Xen has none below a 1.1 SPMC (ffa.c ffa_probe_fw): FF-A IDs are unknown
        h.setup_ffa(0, ffa.VERSION_1_1 if spmc_version > ffa.VERSION_1_0 else ffa.VERSION_1_0)
    for vm, conduit, regs in calls:
        h.call(vm, *regs, conduit=conduit)
    assert_clean(h)


# -- random descriptors -----------------------------------------------------------------------
SENDS = [ffa.FFA_MEM_SHARE, ffa.FFA_FN64_MEM_SHARE, ffa.FFA_MEM_LEND, ffa.FFA_FN64_MEM_LEND, ffa.FFA_MEM_DONATE,
         ffa.FFA_FN64_MEM_DONATE]


@st.composite
def transactions(draw, sender: int = 1) -> d.Transaction:
    receivers = draw(st.lists(st.builds(d.Receiver, st.sampled_from([0x8001, 0x8002, 0x8003, 1, 2, 0xFFFF]),
                                        st.sampled_from([0, 1, 2, 3, 6, 0xFF])), min_size=1, max_size=3))
    ranges = draw(st.lists(st.builds(d.Range, st.one_of(
        st.integers(0, 40).map(lambda p: ARENA + p * PAGE_SIZE),
        st.sampled_from([TX_IPA, RX_IPA, GUEST_RAM_IPA, GUEST_RAM_IPA + RAM - PAGE_SIZE, GUEST_RAM_IPA + RAM,
                         0x1_0000_0000, 2**64 - PAGE_SIZE])),
        st.one_of(st.integers(1, 4), st.sampled_from([0x1000, 2**32 - 1]))), min_size=1, max_size=4))
    return d.Transaction(draw(st.sampled_from([sender, sender, 2, 0x8001])),
                         draw(st.sampled_from([d.NORMAL_WB_INNER, d.NORMAL_WB_INNER, 0, 0x10, 0xFF])),
                         draw(st.sampled_from([0, 0, 1, 0xFFFF_FFFF])), draw(st.sampled_from([0, 0, 5])),
                         draw(u64), receivers, ranges)


@st.composite
def descriptor_bytes(draw) -> bytes:
    version = draw(st.sampled_from([ffa.VERSION_1_0, ffa.VERSION_1_2]))
    tx = draw(transactions())
    if tx.total_pages > 0xFFFF_FFFF:  # not representable: the composite's count is 32 bits
        tx = d.Transaction(tx.sender, tx.attributes, tx.flags, tx.handle, tx.tag, tx.receivers, tx.ranges[:1])
    data = bytearray(d.build(tx, version))
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.sampled_from([None, None, None, 0, 8, 40, 48, 64]))
    if cut is not None:
        data = data[:cut] if draw(st.booleans()) else data + bytes(cut)
    return bytes(data)


@pytest.mark.parametrize("profile", PROFILES)
@given(sends=st.lists(st.tuples(st.sampled_from(SENDS), st.one_of(descriptor_bytes(), st.binary(max_size=200)),
                                st.sampled_from([None, None, 16, 48, 100]), st.integers(0, 1)),
                      min_size=1, max_size=12),
       reclaims=st.lists(st.integers(0, 11), max_size=6))
@SETTINGS
def test_random_descriptors(images, profile: str, sends, reclaims) -> None:
    h = harness(images, profile)
    h.setup_ffa(0)
    h.setup_ffa(1)
    handles: list[tuple[int, int]] = []
    for fid, data, fragment, vm in sends:
        if not data:
            continue
        answer = h.send_bytes(h.vm(vm), fid, data, fragment)
        if answer[0] & 0xFFFF_FFFF == ffa.FFA_SUCCESS:
            handles.append((vm, handle_of(answer)))
        if answer[0] & 0xFFFF_FFFF == ffa.FFA_MEM_FRAG_RX:  # give up on it: a bad fragment aborts it
            h.call(vm, ffa.FFA_MEM_FRAG_TX, answer[1], answer[2], 0)
    for index in reclaims:
        if index < len(handles):
            owner, handle = handles[index]
            thief = 1 - owner
            stolen = h.call(thief, ffa.FFA_MEM_RECLAIM, handle & 0xFFFF_FFFF, handle >> 32, 0)
            assert stolen[0] & 0xFFFF_FFFF == ffa.FFA_ERROR, "a VM reclaimed another VM's handle"
            h.call(owner, ffa.FFA_MEM_RECLAIM, handle & 0xFFFF_FFFF, handle >> 32, 0)
    assert_clean(h)


# -- RX/TX ownership sequences ------------------------------------------------------------------
BUFFER_PAGES = [TX_IPA, RX_IPA, ARENA, ARENA + PAGE_SIZE, ARENA + 2 * PAGE_SIZE, ARENA + 8,
                GUEST_RAM_IPA + RAM - PAGE_SIZE, GUEST_RAM_IPA + RAM, 0x0900_0000]
operations = st.one_of(
    st.tuples(st.just("map"), st.sampled_from([ffa.FFA_RXTX_MAP, ffa.FFA_FN64_RXTX_MAP]),
              st.sampled_from(BUFFER_PAGES), st.sampled_from(BUFFER_PAGES), st.sampled_from([0, 1, 2, 63, 64, 0x41])),
    st.tuples(st.just("unmap"), st.sampled_from([0, 1 << 16, 2 << 16, 0xFFFF_0000])),
    st.tuples(st.just("release")), st.tuples(st.just("acquire")),
    st.tuples(st.just("info"), st.sampled_from([0, 1, 2])),
    st.tuples(st.just("share"), st.sampled_from(SENDS), st.integers(0, 3), st.integers(1, 3)),
    st.tuples(st.just("reclaim"), st.integers(0, 7)),
    st.tuples(st.just("version"), st.sampled_from([ffa.VERSION_1_0, ffa.VERSION_1_1, ffa.VERSION_1_2])),
)


@pytest.mark.parametrize("profile", PROFILES)
@given(ops=st.lists(st.tuples(st.integers(0, 1), operations), min_size=1, max_size=40))
@SETTINGS
def test_rxtx_ownership_sequences(images, profile: str, ops) -> None:
    h = harness(images, profile)
    handles: list[int] = []
    for vm, op in ops:
        kind = op[0]
        if kind == "map":
            _, fid, tx, rx, pages = op
            h.call(vm, fid, tx, rx, pages)
        elif kind == "unmap":
            h.call(vm, ffa.FFA_RXTX_UNMAP, op[1] | (vm + 1))
        elif kind == "release":
            h.call(vm, ffa.FFA_RX_RELEASE)
        elif kind == "acquire":
            h.call(vm, ffa.FFA_RX_ACQUIRE, vm + 1)
        elif kind == "info":
            h.call(vm, ffa.FFA_PARTITION_INFO_GET, 0, 0, 0, 0, op[1])
        elif kind == "share":
            _, fid, first, pages = op
            tx = d.Transaction(h.machine.checker._sender_id(h.vm(vm)), d.NORMAL_WB_INNER, 0, 0, 0,
                               [d.Receiver(0x8001, d.DATA_RW)],
                               [d.Range(ARENA + first * PAGE_SIZE, pages)])
            buffers = h.vm(vm).ffa.buffers
            if buffers is not None:  # the descriptor goes where this VM's TX buffer is now
                data = d.build(tx, h.machine.mediator.vm_version(h.vm(vm)))
                h.vm(vm).write_ipa(buffers.tx_ipa, data)
                answer = h.call(vm, fid, len(data), len(data))
            else:
                answer = h.call(vm, fid, 64, 64)
            if answer[0] & 0xFFFF_FFFF == ffa.FFA_SUCCESS:
                handles.append(handle_of(answer))
        elif kind == "reclaim" and handles:
            handle = handles[op[1] % len(handles)]
            h.call(vm, ffa.FFA_MEM_RECLAIM, handle & 0xFFFF_FFFF, handle >> 32, 0)
        elif kind == "version":
            h.call(vm, ffa.FFA_VERSION, op[1])
    assert_clean(h)
