"""A direct request answered over several runs: the SP yields (FFA_YIELD), or a normal-world interrupt preempts
it (FFA_INTERRUPT), and the caller resumes it (FFA_RUN).

A normal-world interrupt pending at the calling core reaches the SPMC as ISR_EL1.F (S-EL1 sees the normal world's
Group 1 interrupts as FIQ); the service SP checks it between the steps of a long WORK and gives the CPU back.

The stub SPMC keeps the SP blocked in the request it yielded in, answers another direct request to it BUSY (as
Hafnium's api_ffa_msg_send_direct_req for a vCPU that is not waiting), and answers FFA_RUN as the request would
have been answered once the SP is done.  Every mediator passes FFA_YIELD back to the caller (Xen ffa_msg.c
ffa_finish_direct_req_run lets FFA_MSG_YIELD through) and FFA_RUN on to the SPMC (Xen ffa_handle_run, when the
SPMC supports it; pKVM forwards it; Hafnium as the hypervisor forwards an SP's).
"""

from __future__ import annotations

import pytest

from ffa_helpers import PROFILES, guest_steps

YIELD = "YIELD w1=0x80020000 w2=0x0"  # the service SP (0x8002), vCPU 0, no timeout
COMMON = {
    "features": "OK", "req": YIELD, "busy": "ERROR(BUSY)", "run1": YIELD, "idle": "ERROR(DENIED)",
    "bad_vcpu": "ERROR(INVALID_PARAMETERS)", "bad_sp": "ERROR(INVALID_PARAMETERS)",
    # the timer fires during the SP's run: one FFA_INTERRUPT, the interrupt taken at once, one FFA_RUN to finish
    "preempted": "interrupts:1 timer_irqs:1 answer:DIRECT_RESP steps:40",
}
EXPECTED = {
    "spec": {**COMMON, "run2": "DIRECT_RESP w1=0x80020001 w3=3", "req2": YIELD,
             "req2_run": "DIRECT_RESP2 w1=0x80020001 x4=2"},
    "xen": {**COMMON, "run2": "DIRECT_RESP w1=0x80020001 w3=3", "req2": YIELD,
            "req2_run": "DIRECT_RESP2 w1=0x80020001 x4=2"},
    # pKVM's host is endpoint 0; v6.18 refuses DIRECT_REQ2 (ffa_call_supported), so there is nothing to resume.
    "pkvm": {**COMMON, "run2": "DIRECT_RESP w1=0x80020000 w3=3", "req2": "ERROR(NOT_SUPPORTED)",
             "req2_run": "ERROR(DENIED)"},
}


@pytest.mark.parametrize("profile", PROFILES)
def test_yield_and_run(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_guests(guest_image("ffa_run"), spmc_image=spmc_image, profile=profile)
    vm = out.result.vms[0]
    assert vm.state == "off", vm.console
    steps = {key: values[-1] for key, values in guest_steps(vm.console, "run").items()}
    assert steps == EXPECTED[profile]
    runs = out.calls(name="FFA_RUN")
    assert all([h.name for h in out.hops(c.seq) if h.hop == "el2->spmc"] == ["FFA_RUN"] for c in runs)
