"""pKVM's host hypercall numbers (Linux v6.18 arch/arm64/include/asm/kvm_asm.h) and the errors they return.

The host makes them with HVC: x0 = KVM_HOST_SMCCC_ID(n), a fast SMC64 call
of the vendor-specific hypervisor service; the arguments follow in x1...
EL2 answers x0 = SMCCC_RET_SUCCESS and the handler's int result in x1,
sign-extended (hyp-main.c handle_host_hcall), or x0 = -1 for a number it
does not take.
"""

from __future__ import annotations

from emu.el2.smccc import to_signed

HCALL_BASE = 0xC600_0000  # KVM_HOST_SMCCC_ID(0)
HCALL_COUNT = 35  # ARRAY_SIZE(host_hcall): __pkvm_tlb_flush_vmid is 34
# The numbers the model answers (enum __kvm_host_smccc_func); the host may no longer make those below
# __pkvm_prot_finalize once pKVM is initialised.
PROT_FINALIZE = 7
SHARE_HYP = 8
UNSHARE_HYP = 9
SHARE_GUEST = 10
UNSHARE_GUEST = 11
RELAX_PERMS_GUEST = 12
WRPROTECT_GUEST = 13
TEST_CLEAR_YOUNG_GUEST = 14
MKYOUNG_GUEST = 15
NAMES = {
    PROT_FINALIZE: "__pkvm_prot_finalize", SHARE_HYP: "__pkvm_host_share_hyp",
    UNSHARE_HYP: "__pkvm_host_unshare_hyp", SHARE_GUEST: "__pkvm_host_share_guest",
    UNSHARE_GUEST: "__pkvm_host_unshare_guest", RELAX_PERMS_GUEST: "__pkvm_host_relax_perms_guest",
    WRPROTECT_GUEST: "__pkvm_host_wrprotect_guest", TEST_CLEAR_YOUNG_GUEST: "__pkvm_host_test_clear_young_guest",
    MKYOUNG_GUEST: "__pkvm_host_mkyoung_guest",
}
ARGUMENTS = {PROT_FINALIZE: 0, SHARE_HYP: 1, UNSHARE_HYP: 1, SHARE_GUEST: 4, UNSHARE_GUEST: 3,
             RELAX_PERMS_GUEST: 2, WRPROTECT_GUEST: 3, TEST_CLEAR_YOUNG_GUEST: 4, MKYOUNG_GUEST: 1}

# Linux errno values, as the handlers return them (negated)
EPERM = 1
EBUSY = 16
EINVAL = 22
ERRNO_NAMES = {EPERM: "EPERM", EBUSY: "EBUSY", EINVAL: "EINVAL"}


def result_text(x1: int) -> str:
    """A taken hypercall's result in x1 as the handler returned it: ``0`` or ``-EPERM`` (an unknown errno as a
    number)."""
    errno = -to_signed(x1)
    return "0" if errno == 0 else f"-{ERRNO_NAMES.get(errno, errno)}"
