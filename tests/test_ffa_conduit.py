"""Which conduit reaches the FF-A mediator: pKVM's host reaches it only by SMC."""

from __future__ import annotations

import pytest

from emu.ffa import constants as ffa
from emu.harness import Harness
from emu.machine import MachineConfig
from emu.platform.elf import load_elf
from emu.vm import VmSpec
from ffa_helpers import MASK64, PROFILES

GARBAGE = [0xA5A5_0000_0000_0000 | i for i in range(1, 18)]


@pytest.fixture(scope="module")
def images(guest_image, spmc_image):
    return load_elf(guest_image("hello")), load_elf(spmc_image)


def _harness(images, profile: str) -> Harness:
    guest, firmware = images
    return Harness(MachineConfig(vms=[VmSpec(guest, vm_id=1, endpoint_id=1, ram_size=16 << 20)], profile=profile,
                                 spmc_image=firmware, check=True, keep_trace=False, symbolize=False))


@pytest.mark.parametrize("profile", PROFILES)
def test_ffa_over_hvc(images, profile: str) -> None:
    """pKVM: an HVC from the host goes to handle_host_hcall (arch/arm64/kvm/hyp/nvhe/hyp-main.c), where an FF-A ID
    is no KVM hypercall: SMCCC_RET_NOT_SUPPORTED (-1) in x0, x1-x17 untouched; only handle_host_smc reaches
    kvm_host_ffa_handler.  Xen (vsmc.c vsmccc_handle_call) and the spec take either conduit."""
    h = _harness(images, profile)
    hvc = h.call(0, ffa.FFA_VERSION, ffa.VERSION_1_2, *GARBAGE[1:], conduit="hvc")
    smc = h.call(0, ffa.FFA_VERSION, ffa.VERSION_1_2, conduit="smc")
    if profile == "pkvm":
        assert hvc == [MASK64, ffa.VERSION_1_2] + GARBAGE[1:]
    else:
        assert hvc[0] == ffa.VERSION_1_2
    assert smc[0] == ffa.VERSION_1_2
    assert not h.machine.checker.violations, [v.text for v in h.machine.checker.violations]


def test_guests_find_the_conduit_in_the_device_tree(guest_image, spmc_image, run_guests) -> None:
    """Guests call FF-A through the device tree's PSCI method (as Linux's FF-A driver, arm_smccc_1_1_get_conduit):
    SMC under pkvm, whose tree says "smc"."""
    for profile, conduit in (("pkvm", "smc"), ("xen", "hvc")):
        out = run_guests(guest_image("ffa_version_v12"), spmc_image=spmc_image, profile=profile)
        assert out.exit_code == 0, out.console()
        assert {c.conduit for c in out.calls() if c.name.startswith("FFA_")} == {conduit}
