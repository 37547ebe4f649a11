"""--spmc-flavour optee: the stub SPMC presents one partition the way OP-TEE's SPMC does, and answers the part
of OP-TEE's FF-A ABI a normal-world driver probes with (Linux drivers/tee/optee/optee_ffa.h; the driver's
probe is ffa_abi.c optee_ffa_probe).  Run with Linux itself in tests/platform/test_linux.py."""

from __future__ import annotations

import struct

import pytest

from emu.ffa import constants as ffa
from emu.ffa import descriptors as d
from emu.ffa.stub_partitions import OPTEE_SP
from emu.platform.memory_map import PAGE_SIZE
from emu.scenario import ScenarioError, load_scenario
from emu.secure.spmd import SpmcError
from emu.session import Session
from tests.mem_harness import BASE, MASK32, RX_IPA, MemHarness, handle_of, tx

OPTEE = OPTEE_SP.endpoint_id
OPTEE_UUID = bytes.fromhex("486178e0e7f811e3bc5e0002a5d5c51b")  # ffa_abi.c optee_ffa_device_id
GET_API_VERSION, GET_OS_VERSION, EXCHANGE_CAPABILITIES = 0, 1, 2
YIELDING_CALL_WITH_ARG = 0x8000_0000
OPEN_SESSION, INVOKE_COMMAND = 0, 1  # optee_msg.h OPTEE_MSG_CMD_*
TEEC_ERROR_ITEM_NOT_FOUND, TEEC_ERROR_NOT_SUPPORTED, TEEC_ORIGIN_TEE = 0xFFFF_0008, 0xFFFF_000A, 3


@pytest.fixture(params=["spec", "xen", "pkvm"])
def optee(request, guest_image, spmc_image) -> MemHarness:
    harness = MemHarness(guest_image("hello"), spmc_image, request.param, spmc_flavour="optee")
    harness.setup_ffa(0)
    return harness


def direct(h: MemHarness, *payload: int) -> list[int]:
    """An SMC32 direct request to the OP-TEE partition, as the driver sends them (mode_32bit_set)."""
    sender = h.machine.mediator.caller_id(h.vm(0))
    answer = h.call(0, ffa.FFA_MSG_SEND_DIRECT_REQ, sender << 16 | OPTEE, 0, *payload)
    assert answer[0] & MASK32 == ffa.FFA_MSG_SEND_DIRECT_RESP, answer[:4]
    return [r & MASK32 for r in answer[3:8]]


def test_one_partition_with_optees_uuid_and_properties(optee: MemHarness) -> None:
    answer = optee.call(0, ffa.FFA_PARTITION_INFO_GET, 0, 0, 0, 0)
    assert answer[0] & MASK32 == ffa.FFA_SUCCESS and answer[2] >= 1
    data = optee.vm(0).read_ipa(RX_IPA, 24 * answer[2])
    entries = [data[i:i + 24] for i in range(0, len(data), 24)]
    secure = [e for e in entries if struct.unpack_from("<H", e)[0] & 0x8000]  # Xen lists the caller too
    assert len(secure) == 1
    sp_id, _contexts, properties = struct.unpack_from("<HHI", secure[0])
    assert (sp_id, properties, secure[0][8:24]) == (OPTEE, 0x103, OPTEE_UUID)


def test_the_probe_calls(optee: MemHarness) -> None:
    assert direct(optee, GET_API_VERSION)[:2] == [1, 0]  # optee_ffa_api_is_compatible: 1.x
    assert direct(optee, GET_OS_VERSION)[:3] == [0, 0, 0]
    assert direct(optee, EXCHANGE_CAPABILITIES)[:4] == [0, 0, 0, 0]  # success, no RPC args, no capabilities
    assert direct(optee, 0x77)[0] == ffa.NOT_SUPPORTED & MASK32


def test_a_yielding_call_is_answered_in_the_shared_argument(optee: MemHarness) -> None:
    vm = optee.vm(0)
    for cmd, expected in ((OPEN_SESSION, TEEC_ERROR_ITEM_NOT_FOUND), (INVOKE_COMMAND, TEEC_ERROR_NOT_SUPPORTED)):
        vm.write_ipa(BASE, struct.pack("<8I", cmd, 0, 0, 0, 0, 0, 0, 0) + bytes(PAGE_SIZE - 32))
        share = tx([(BASE, 1)], [d.Receiver(OPTEE, d.DATA_RW)])
        shared = optee.send_memory(0, ffa.FFA_FN64_MEM_SHARE, share)
        assert shared[0] & MASK32 == ffa.FFA_SUCCESS, shared[:4]
        handle = handle_of(shared)
        assert direct(optee, YIELDING_CALL_WITH_ARG, handle & MASK32, handle >> 32, 0)[:2] == [0, 0]  # DONE
        ret, origin = struct.unpack_from("<II", vm.read_ipa(BASE + 20, 8))
        assert (ret, origin) == (expected, TEEC_ORIGIN_TEE)
        assert optee.reclaim(0, handle)[0] & MASK32 == ffa.FFA_SUCCESS  # the SP relinquished it
    assert direct(optee, YIELDING_CALL_WITH_ARG, 0x1234, 0, 0)[0] == ffa.INVALID_PARAMETERS & MASK32


def test_lending_is_not_supported(optee: MemHarness) -> None:
    """OP-TEE's SPMC shares but does not lend (what Linux's optee driver uses is MEM_SHARE)."""
    share = tx([(BASE, 1)], [d.Receiver(OPTEE, d.DATA_RW)])
    assert optee.error(optee.send_memory(0, ffa.FFA_FN64_MEM_LEND, share)) == "NOT_SUPPORTED"


def test_an_unknown_flavour_is_refused(guest_image, tmp_path) -> None:
    with pytest.raises(SpmcError, match="unknown SPMC flavour 'tee'"):
        Session.build(guest_image("hello"), spmc_flavour="tee")
    scenario = tmp_path / "s.toml"
    for flavour, outcome in (("optee", None), ("tee", "spmc.flavour: 'tee' is not one of stub, optee")):
        scenario.write_text(f'[spmc]\nflavour = "{flavour}"\n[[vm]]\nimage = "{guest_image("hello")}"\n')
        if outcome is None:
            assert load_scenario(scenario).spmc_flavour == flavour
        else:
            with pytest.raises(ScenarioError, match=outcome):
                load_scenario(scenario)
