"""VM availability messages: Xen tells the SPs that subscribe when a VM is created and destroyed.

xen/arch/arm/tee/ffa_partinfo.c ffa_partinfo_domain_init / ffa_partinfo_domain_destroy send
ffa_direct_req_send_vm's FFA_MSG_SEND_DIRECT_REQ (SMC32, sender 0, w2 = framework flag | type, w3 = w4 = 0,
w5 = the VM's ID) to each SP whose partition properties have bit 6 (created) or 7 (destroyed); neither pKVM
nor Hafnium as the hypervisor sends them.  The service SP subscribes to both and counts the live VMs.
"""

from __future__ import annotations

import pytest

from emu.ffa import constants as ffa
from emu.ffa.stub_partitions import SERVICE_PROTOCOL, SERVICE_SP
from emu.harness import Harness, handle_of
from emu.machine import MachineConfig
from emu.platform.elf import load_elf
from emu.vm import VmSpec
from ffa_helpers import PROFILES
from mem_harness import BASE, SHARE, MemHarness, tx

FRAMEWORK = ffa.DIRECT_MSG_FRAMEWORK_FLAG


@pytest.fixture(scope="module")
def images(guest_image, spmc_image):
    return load_elf(guest_image("hello")), load_elf(spmc_image)


def _machine(images, profile: str) -> Harness:
    guest, firmware = images
    return Harness(MachineConfig(vms=[VmSpec(guest, vm_id=i, endpoint_id=i, ram_size=16 << 20) for i in (1, 2)],
                                 profile=profile, spmc_image=firmware, check=True))


def _live_vms(h: Harness, vm: int) -> tuple[int, int]:
    """The service SP's VMS command from VM index ``vm``: (VMs it was told of, 1 if the caller is one)."""
    h.call(vm, ffa.FFA_VERSION, ffa.VERSION_1_2)
    me = h.vm(vm).endpoint_id if h.machine.profile.host_endpoint is None else h.machine.profile.host_endpoint
    answer = h.call(vm, ffa.FFA_MSG_SEND_DIRECT_REQ, me << 16 | SERVICE_SP.endpoint_id, 0,
                    SERVICE_PROTOCOL["SERVICE_CMD_VMS"], conduit=h.machine.profile.psci_conduit)
    assert answer[0] == ffa.FFA_MSG_SEND_DIRECT_RESP
    return answer[3], answer[4]


def _framework_hops(h: Harness) -> list[tuple[int, int, int]]:
    """(type, receiver, VM ID) of every framework direct request the mediator sent, with its ACK checked."""
    records = [r for r in h.machine.trace.records if r.vm == "el2"]
    sent = []
    for request, response in zip(records[::2], records[1::2]):
        if request.name == "FFA_MSG_SEND_DIRECT_REQ" and request.args[1] & FRAMEWORK:
            kind = request.args[1] & 0xFF
            assert request.args[2:4] == [0, 0] and response.results[2] == FRAMEWORK | (kind + 1)
            sent.append((kind, request.args[0] & 0xFFFF, request.args[4]))
    return sent


@pytest.mark.parametrize("profile", PROFILES)
def test_sps_hear_of_vms_under_xen_only(images, profile: str) -> None:
    h = _machine(images, profile)
    xen = profile == "xen"
    assert _framework_hops(h) == ([(ffa.DIRECT_MSG_VM_CREATED, SERVICE_SP.endpoint_id, 1),
                                   (ffa.DIRECT_MSG_VM_CREATED, SERVICE_SP.endpoint_id, 2)] if xen else [])
    assert _live_vms(h, 0) == ((2, 1) if xen else (0, 0))


def test_a_destroyed_vm_is_withdrawn(images) -> None:
    """Teardown (ffa.c ffa_domain_teardown): the bitmap goes, then the shares, then VM_DESTROYED."""
    h = _machine(images, "xen")
    h.machine.mediator.detach(h.vm(0))
    assert _framework_hops(h)[-1] == (ffa.DIRECT_MSG_VM_DESTROYED, SERVICE_SP.endpoint_id, 1)
    assert _live_vms(h, 1) == (1, 1)


def test_the_spmc_checks_the_subscription(images) -> None:
    """Hafnium (src/ffa/spmc/direct_messaging.c check_vm_availability_message): a partition that did not ask for
    the message, or another framework message type, is INVALID_PARAMETERS; pKVM v6.17 passes them through."""
    h = _machine(images, "pkvm@v6.17")
    h.call(0, ffa.FFA_VERSION, ffa.VERSION_1_2)
    echo = 0x8001  # the echo SP subscribes to nothing
    for receiver, kind in ((echo, ffa.DIRECT_MSG_VM_CREATED), (SERVICE_SP.endpoint_id, 0x8)):
        answer = h.call(0, ffa.FFA_MSG_SEND_DIRECT_REQ, receiver, FRAMEWORK | kind, 0, 0, 7, conduit="smc")
        assert answer[0] == ffa.FFA_ERROR and answer[2] & 0xFFFF_FFFF == ffa.INVALID_PARAMETERS & 0xFFFF_FFFF
    answer = h.call(0, ffa.FFA_MSG_SEND_DIRECT_REQ, SERVICE_SP.endpoint_id, FRAMEWORK | ffa.DIRECT_MSG_VM_DESTROYED,
                    0, 0, 7, conduit="smc")
    # the SP was never told of VM 7: an illegal change of state, answered in the ACK
    assert answer[2] == FRAMEWORK | ffa.DIRECT_MSG_VM_DESTROYED_ACK and answer[3] == ffa.INVALID_PARAMETERS & 0xFFFF_FFFF


@pytest.mark.parametrize("profile", PROFILES)
def test_teardown_tells_the_sp_before_it_reclaims(guest_image, spmc_image, profile: str) -> None:
    """ffa.c ffa_domain_teardown_continue: VM_DESTROYED (ffa_partinfo_domain_destroy) before the reclaims
    (ffa_shm_domain_destroy), so an SP that lets go of a dead VM's memory when told lets the reclaim succeed.
    Without the message (pKVM, the spec's hypervisor) the SP still holds it: the reclaim is DENIED and the share
    stays recorded."""
    h = MemHarness(guest_image("hello"), spmc_image, profile)
    h.setup_ffa(0)
    handle = handle_of(h.send_memory(0, SHARE, tx([(BASE, 1)])))
    assert h.service(0, "SERVICE_CMD_MEM_RETRIEVE", handle) == 1
    h.forwarded()
    h.machine.mediator.detach(h.vm(0))
    sent = h.forwarded()
    if profile == "xen":
        assert sent.index("FFA_MSG_SEND_DIRECT_REQ") < sent.index("FFA_MEM_RECLAIM")
        assert h.ledger.snapshot() == {}
    else:
        assert "FFA_MSG_SEND_DIRECT_REQ" not in sent and "FFA_MEM_RECLAIM" in sent
        assert h.ledger.shares.keys() == {handle}


def test_xen_teardown_waits_for_the_sp(guest_image, spmc_image) -> None:
    """ffa.c ffa_domain_teardown_continue: while an SP asks to be told again (RETRY) and still holds shares (the
    reclaim DENIED), Xen tries again every second (FFA_CTX_TEARDOWN_DELAY) until it lets go.  The service SP
    relinquishes two handles per VM_DESTROYED; Xen asks eleven times a pass (ffa_direct_req_send_vm)."""
    h = MemHarness(guest_image("hello"), spmc_image, "xen", max_cycles=10 * 10**9)  # room for the second's wait
    h.setup_ffa(0)
    handles = [handle_of(h.send_memory(0, SHARE, tx([(BASE + i * 0x10000, 1)]))) for i in range(30)]
    for handle in handles:
        assert h.service(0, "SERVICE_CMD_MEM_RETRIEVE", handle) == 1
    mediator, clock = h.machine.mediator, h.machine.clock
    mediator.detach(h.vm(0))
    assert len(h.ledger.shares) == 30 - 22  # eleven VM_DESTROYED, two handles each
    assert mediator.teardown_due == clock.now + h.machine.cost_model.core_hz  # a second from now
    clock.advance(mediator.teardown_due - clock.now - 1)
    mediator.tick()  # not yet due: nothing happens
    assert len(h.ledger.shares) == 8
    clock.advance(1)
    mediator.tick()
    assert h.ledger.shares == {} and mediator.teardown_due > 1 << 63


@pytest.mark.parametrize("profile", ["xen", "spec"])
def test_a_refused_vm_created_fails_the_domain_under_xen(guest_image, spmc_image, run_guests, profile: str) -> None:
    """The service SP keeps 16 VMs (firmware/sp_service.c) and refuses a 17th VM_CREATED.  Xen's ffa_domain_init
    then fails (ffa_partinfo_domain_init: -EIO), so arch_domain_create fails and the domain never runs; its
    teardown still destroys its notification bitmap (ffa_notif_domain_destroy).  Without VM availability
    messages (spec) the 17th VM runs."""
    image = guest_image("hello")
    out = run_guests(*[image] * 17, spmc_image=spmc_image, profile=profile, ram_size=4 << 20)
    last = out.result.vms[-1]
    assert [vm.state for vm in out.result.vms[:16]] == ["off"] * 16
    if profile == "spec":
        assert last.state == "off"
        return
    assert last.state == "not created" and out.exit_code == 3
    assert "SP 0x8002 answered VM_CREATED with INVALID_PARAMETERS" in last.exit_reason
    assert out.calls(vm="vm17") == []
    to_spmc = [(r.name, r.args[:5]) for r in out.machine.trace.records if r.hop == "el2->spmc"]
    created = [SERVICE_SP.endpoint_id, FRAMEWORK | ffa.DIRECT_MSG_VM_CREATED, 0, 0, 17]
    assert ("FFA_MSG_SEND_DIRECT_REQ", created) in to_spmc
    assert ("FFA_NOTIFICATION_BITMAP_CREATE", [17]) not in [(n, a[:1]) for n, a in to_spmc]
    assert ("FFA_NOTIFICATION_BITMAP_DESTROY", [17]) in [(n, a[:1]) for n, a in to_spmc]
