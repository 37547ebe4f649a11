"""Indirect messages (FFA_MSG_SEND2) from a VM to the service SP, under each mediator.

The guest (guests/ffa_msg_send2) prints one ``send2: key=value`` line per step.  The stub SPMC serves
FFA_MSG_SEND2 as Hafnium v2.15 does (firmware/msg.c, after src/api.c api_ffa_msg_send2): it reads the message
from the sender's TX buffer as the SPMC knows it, copies it into the SP's RX buffer and makes the "RX buffer full"
framework notification pending for the SP.
"""

from __future__ import annotations

import pytest

from ffa_helpers import PROFILES, guest_steps

READ = "size:64 sender:0x1 sum:2080 rx_full:1"  # 64 bytes 1..64 from VM 1, the notification pending
EXPECTED = {
    # Hafnium as the hypervisor is not modelled for indirect messages: refused.
    "spec": {"features": "ERROR(NOT_SUPPORTED)", "send": "ERROR(NOT_SUPPORTED)", "read": "none",
             "busy": "ERROR(NOT_SUPPORTED)", "spoofed": "ERROR(NOT_SUPPORTED)", "short_offset": "ERROR(NOT_SUPPORTED)",
             "to_a_vm": "ERROR(NOT_SUPPORTED)"},
    # Xen 4.22 ffa_msg.c ffa_handle_msg_send2: the header's sender must be the caller, the payload at 40 at least
    # for a 1.2 caller, the receiver an SP (CONFIG_FFA_VM_TO_VM is off); the SPMC reads the VM's own TX buffer,
    # registered at its RXTX_MAP (ffa_rxtx.c), and answers BUSY while the SP's RX buffer is full.
    "xen": {"features": "OK", "send": "OK", "read": READ, "busy": "ERROR(BUSY)",
            "spoofed": "ERROR(INVALID_PARAMETERS)", "short_offset": "ERROR(INVALID_PARAMETERS)",
            "to_a_vm": "ERROR(INVALID_PARAMETERS)"},
    # pKVM forwards FFA_MSG_SEND2 (ffa_call_supported) but registered its own buffers with the SPMC
    # (do_ffa_rxtx_map): the SPMC reads pKVM's TX buffer, not the host's message, and refuses what it finds.
    "pkvm": {"features": "OK", "send": "ERROR(INVALID_PARAMETERS)", "read": "none",
             "busy": "ERROR(INVALID_PARAMETERS)", "spoofed": "ERROR(INVALID_PARAMETERS)",
             "short_offset": "ERROR(INVALID_PARAMETERS)", "to_a_vm": "ERROR(INVALID_PARAMETERS)"},
}


@pytest.mark.parametrize("profile", PROFILES)
def test_each_mediator_answers_as_its_source(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_guests(guest_image("ffa_msg_send2"), spmc_image=spmc_image, profile=profile)
    vm = out.result.vms[0]
    assert vm.state == "off", vm.console
    steps = guest_steps(vm.console, "send2")
    expected = EXPECTED[profile]
    assert steps["rxtx_map"] == ["OK"] and steps["partinfo_release"] == ["OK"]
    assert steps["read"] == [expected["read"]] * 2  # after the first message, and after the BUSY one
    assert {key: values[0] for key, values in steps.items() if key not in ("rxtx_map", "partinfo_release",
                                                                          "read")} == \
        {key: value for key, value in expected.items() if key != "read"}


def test_xen_registers_the_vm_pair_and_passes_its_rx_buffer(guest_image, spmc_image, run_guests) -> None:
    """ffa_rxtx.c: the VM's RXTX_MAP registers its pair with the SPMC (an endpoint RX/TX descriptor, x1-x3 zero),
    the mediator takes the VM's RX buffer from the SPMC before filling it (FFA_RX_ACQUIRE naming the VM) and
    gives it back at the VM's RX_RELEASE; teardown unregisters the pair (RXTX_UNMAP naming the VM)."""
    out = run_guests(guest_image("ffa_msg_send2"), spmc_image=spmc_image, profile="xen")
    hops: dict[str, list] = {}  # the first call of each name: what it sent the SPMC
    for c in out.calls():
        hops.setdefault(c.name, [h for h in out.hops(c.seq) if h.hop == "el2->spmc"])
    assert [(h.name, h.args[:3]) for h in hops["FFA_FN64_RXTX_MAP"]] == [("FFA_FN64_RXTX_MAP", [0, 0, 0])]
    assert [(h.name, h.args[0]) for h in hops["FFA_PARTITION_INFO_GET"]] == [("FFA_RX_ACQUIRE", 1)]
    assert [(h.name, h.args[0]) for h in hops["FFA_RX_RELEASE"]] == [("FFA_RX_RELEASE", 1)]
    assert hops["FFA_MSG_SEND2"][0].args[0] == 1 << 16  # the VM named as the sender
    teardown = [r for r in out.machine.trace.records if r.vm == "el2" and r.hop == "el2->spmc"]
    assert ("FFA_RXTX_UNMAP", [1 << 16]) in [(r.name, r.args[:1]) for r in teardown]
