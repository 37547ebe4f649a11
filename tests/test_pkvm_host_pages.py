"""The pKVM host's page ownership: its KVM hypercalls and FF-A memory sharing see the same page states.

guests/pkvm_host_pages prints one ``pages: key=value`` line per step.  Expected values come from Linux v6.18:
- hyp-main.c handle_host_hcall: x0 = 0xC6000000 | n over HVC; x0 = 0 and the result in x1 (-errno,
  sign-extended), or x0 = -1 for a number below __pkvm_prot_finalize (7) once pKVM is up, or past the table;
- mem_protect.c __pkvm_host_share_hyp: the page must be memory the host owns alone (-EPERM: EPERM = 1);
  __pkvm_host_unshare_hyp: it must be shared with the hypervisor (-EPERM), and not pinned (-EBUSY = -16: the
  RX/TX pair, pinned by ffa.c do_ffa_rxtx_map); __pkvm_prot_finalize on a finalised CPU: -EPERM;
- hyp-main.c handle___pkvm_host_share_guest: no guest vCPU loaded on this CPU: -EINVAL (-22);
- ffa.c ffa_host_share_ranges: MEM_SHARE/LEND of a page the host does not own alone is DENIED; LEND leaves the
  page the host's, shared (__pkvm_host_share_ffa for both); do_ffa_mem_reclaim gives it back;
  do_ffa_rxtx_map: a buffer page __pkvm_host_share_hyp refuses is INVALID_PARAMETERS.
"""

from __future__ import annotations

import pytest

from ffa_helpers import guest_steps

PKVM = {
    "share_hyp": "0", "share_hyp_again": "-1", "ffa_share_hyp": "ERROR(DENIED)", "unshare_hyp": "0",
    "ffa_share": "OK", "share_hyp_ffa": "-1", "unshare_hyp_ffa": "-1", "share_guest": "-22", "reclaim": "OK",
    "share_hyp_back": "0", "lend": "OK", "share_hyp_lent": "-1", "share_hyp_tx": "-1", "unshare_hyp_tx": "-16",
    "rxtx_unmap": "OK", "rxtx_map_shared": "ERROR(INVALID_PARAMETERS)", "share_hyp_mmio": "-1",
    "prot_finalize": "-1", "init": "unknown", "past_table": "unknown",
}
HYPERCALLS = [key for key, value in PKVM.items() if not value.startswith(("ERROR", "OK"))]


def _steps(guest_image, spmc_image, run_guests, profile: str) -> dict[str, str]:
    out = run_guests(guest_image("pkvm_host_pages"), spmc_image=spmc_image, profile=profile, check=True)
    vm = out.result.vms[0]
    assert vm.state == "off", vm.console
    assert out.machine.checker.violations == []
    return {key: values[0] for key, values in guest_steps(vm.console, "pages").items()}


@pytest.mark.parametrize("profile", ["pkvm", "pkvm@v6.17"])
def test_pkvm_host_pages_follow_mem_protect(guest_image, spmc_image, run_guests, profile: str) -> None:
    steps = _steps(guest_image, spmc_image, run_guests, profile)
    assert steps.pop("rxtx_map") == "OK"
    assert steps == PKVM


@pytest.mark.parametrize("profile", ["spec", "xen"])
def test_other_mediators_have_no_such_hypercalls(guest_image, spmc_image, run_guests, profile: str) -> None:
    steps = _steps(guest_image, spmc_image, run_guests, profile)
    assert {key: steps[key] for key in HYPERCALLS} == dict.fromkeys(HYPERCALLS, "unknown")


def test_the_trace_names_the_hypercalls(guest_image, spmc_image, run_guests) -> None:
    out = run_guests(guest_image("pkvm_host_pages"), spmc_image=spmc_image, profile="pkvm")
    names = [c.name for c in out.calls(vm="vm1") if c.conduit == "hvc"]
    assert names[:2] == ["__pkvm_host_share_hyp", "__pkvm_host_share_hyp"]
    first_tx_unshare = next(c for c in out.calls(name="__pkvm_host_unshare_hyp") if c.results[1] != 0
                            and c.results[1] != (1 << 64) - 1)
    assert first_tx_unshare.result_text == "-EBUSY"
