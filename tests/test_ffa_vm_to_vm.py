"""FF-A between VMs: Xen built with CONFIG_FFA_VM_TO_VM (profile ``xen+vm-to-vm``) against the default build.

Two VMs run guests/ffa_vm_to_vm, which prints one ``v2v: key=value`` line per step.  Expected values come from
Xen 4.22's sources:
- ffa.c ffa_negotiate_version: a VM joins the list at its first call after FFA_VERSION;
  ffa_partinfo.c ffa_get_vm_partinfo: after the SPs, the caller (FF-A 1.2), then the other VMs in that order;
- ffa_msg.c ffa_handle_msg_send2 and ffa_msg_send2_vm: the receiver must be a listed VM other than the sender
  (INVALID_PARAMETERS) whose RX buffer is free (BUSY, ffa_rxtx.c ffa_rx_acquire); Xen writes a 1.2 header (the
  payload at 40) and copies the payload;
- ffa_notif.c ffa_raise_rx_buffer_full: the notification pending interrupt (SGI 8, GUEST_FFA_NOTIF_PEND_INTR_ID)
  to the receiver's vCPU 0; ffa_handle_notification_info_get names the VM once; ffa_handle_notification_get
  reports FFA_NOTIF_RX_BUFFER_FULL (bit 0) in w7 for the hypervisor's bitmap, once;
- ffa_rxtx.c ffa_handle_rxtx_unmap: DENIED while the VM holds its RX buffer.
"""

from __future__ import annotations

from ffa_helpers import guest_steps

SEND = "offset:40 endpoints:0x10002 size:64 sum:2080"  # bytes 1..64 from VM 1 to VM 2
REPLY = "offset:40 endpoints:0x20001 size:16 sum:1720"  # bytes 100..115 from VM 2 to VM 1
RECEIVED = {"irq": ["8"], "get": ["1"], "get_again": ["0"]}


def _run(guest_image, spmc_image, run_guests, profile: str):
    image = guest_image("ffa_vm_to_vm")
    out = run_guests(image, image, spmc_image=spmc_image, profile=profile, check=True)
    assert [vm.state for vm in out.result.vms] == ["off", "off"], [vm.console for vm in out.result.vms]
    assert [v.text for v in out.result.violations] == []
    return out, [guest_steps(vm.console, "v2v") for vm in out.result.vms]


def test_vms_exchange_messages_with_vm_to_vm(guest_image, spmc_image, run_guests) -> None:
    _out, (vm1, vm2) = _run(guest_image, spmc_image, run_guests, "xen+vm-to-vm")
    assert vm1["listed"] == ["0x8001,0x8002,0x1,0x2"] and vm2["listed"] == ["0x8001,0x8002,0x2,0x1"]
    assert vm1["count"] == vm2["count"] == ["4"]
    assert {key: vm1[key] for key in ("to_self", "to_absent", "send", "busy")} == {
        "to_self": ["ERROR(INVALID_PARAMETERS)"],
        "to_absent": ["ERROR(INVALID_PARAMETERS)"],
        "send": ["OK"], "busy": ["ERROR(BUSY)"]}
    assert {key: vm2[key] for key in RECEIVED} == RECEIVED and vm2["info_get"] == ["0x2"]
    assert vm2["message"] == [SEND]
    assert vm2["unmap_held"] == ["ERROR(DENIED)"]
    assert vm2["release"] == ["OK"] and vm2["reply"] == ["OK"]
    assert {key: vm1[key] for key in RECEIVED} == RECEIVED and vm1["info_get"] == ["0x1"]
    assert vm1["message"] == [REPLY]


def test_the_receivers_rx_buffer_is_taken_from_the_spmc(guest_image, spmc_image, run_guests) -> None:
    """ffa_rxtx.c ffa_rx_acquire / ffa_rx_release: the receiver's pair is registered with the SPMC, so Xen takes
    its RX buffer there (naming the receiver) before writing it, and the receiver's RX_RELEASE hands it back."""
    out, _steps = _run(guest_image, spmc_image, run_guests, "xen+vm-to-vm")
    delivered = [c for c in out.calls(name="FFA_MSG_SEND2", vm="vm1") if c.error is None]
    assert len(delivered) == 1
    assert [(h.name, h.args[:1]) for h in out.hops(delivered[0].seq) if h.hop == "el2->spmc"] == \
        [("FFA_RX_ACQUIRE", [2])]


def test_without_the_option_vms_do_not_see_each_other(guest_image, spmc_image, run_guests) -> None:
    """The default build lists only the caller after the SPs (ffa_partinfo.c ffa_get_vm_partinfo)."""
    _out, steps = _run(guest_image, spmc_image, run_guests, "xen")
    assert [s["listed"] for s in steps] == [["none"], ["none"]]
