"""System register encodings (op0, op1, CRn, CRm, op2) and the reset state of a guest PE.

A guest starts at EL1, as under QEMU virt without ``virtualization=on``, but
the EL2 and EL3 controls are those a hypervisor and TF-A would have set
before entering it: without HCR_EL2.RW, QEMU takes EL1 for AArch32 and walks
the guest's translation tables in the 32-bit format (so an MMU-on guest
dies on its first fetch); without SCR_EL3.HCE, HVC is undefined.  The
pointer-authentication enables (SCR_EL3.API/APK, HCR_EL2.API/APK) let a
kernel that uses PAC run without trapping on a CPU that has it, and
CPTR_EL3.EZ does the same for SVE.  The emulated Cortex-A72 has neither, and
Unicorn masks the bits away.
"""

from __future__ import annotations

from unicorn import Uc

SysReg = tuple[int, int, int, int, int]

SCR_EL3: SysReg = (3, 6, 1, 1, 0)
CPTR_EL3: SysReg = (3, 6, 1, 1, 2)
HCR_EL2: SysReg = (3, 4, 1, 1, 0)
SCTLR_EL1: SysReg = (3, 0, 1, 0, 0)
VBAR_EL1: SysReg = (3, 0, 12, 0, 0)
ESR_EL1: SysReg = (3, 0, 5, 2, 0)
ELR_EL1: SysReg = (3, 0, 4, 0, 1)
SPSR_EL1: SysReg = (3, 0, 4, 0, 0)
FAR_EL1: SysReg = (3, 0, 6, 0, 0)
VMPIDR_EL2: SysReg = (3, 4, 0, 0, 5)  # what MPIDR_EL1 reads at EL1: each vCPU's affinity
MPIDR_RES1 = 1 << 31
CTR_EL0: SysReg = (3, 3, 0, 0, 1)

SCR_NS, SCR_HCE, SCR_RW, SCR_APK, SCR_API = 1 << 0, 1 << 8, 1 << 10, 1 << 16, 1 << 17
SCR_NONSECURE = SCR_NS | SCR_HCE | SCR_RW | SCR_APK | SCR_API
SCR_SECURE = SCR_RW | SCR_APK | SCR_API
HCR_RW, HCR_APK, HCR_API = 1 << 31, 1 << 40, 1 << 41
HCR_GUEST = HCR_RW | HCR_APK | HCR_API
CPTR_EL3_EZ = 1 << 8


def reset_higher_els(uc: Uc, secure: bool) -> None:
    """Write the EL3 and EL2 controls a PE at EL1 runs under (see the module docstring)."""
    uc.cpr_write(*SCR_EL3, SCR_SECURE if secure else SCR_NONSECURE)
    uc.cpr_write(*HCR_EL2, HCR_GUEST)
    uc.cpr_write(*CPTR_EL3, CPTR_EL3_EZ)
