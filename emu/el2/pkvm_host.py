"""pKVM's host hypercalls that move page ownership, and the host's page states they and FF-A share.

pKVM tracks who owns each page of the host's memory (Linux v6.18
arch/arm64/kvm/hyp/nvhe/mem_protect.c, page states in nvhe/memory.h): a
page is the host's alone (OWNED) until the host shares it, then
SHARED_OWNED.  Three things share host pages, and each needs the page
OWNED first, so a page shared one way cannot be shared another:

- FF-A: a MEM_SHARE or MEM_LEND (ffa.c ffa_host_share_ranges ->
  __pkvm_host_share_ffa; refused: DENIED) until its RECLAIM succeeds;
- the hypervisor itself: the host's RX/TX pair, shared and pinned while
  mapped (ffa.c do_ffa_rxtx_map; refused: INVALID_PARAMETERS), and pages the
  host shares with the __pkvm_host_share_hyp hypercall;
- guests: __pkvm_host_share_guest, which needs a vCPU of a guest loaded on
  the calling CPU.  The emulator runs no pKVM guests, so the host never has
  one loaded, and the guest calls answer as pKVM does then (-EINVAL).

This module answers those hypercalls (hyp-main.c handle_host_hcall and the
handle___pkvm_host_* handlers) from the host's page states, and tells the
FF-A mediator which pages the host shared with the hypervisor.  The
hypercalls that need state the emulator does not have (vCPU runs, TLB
maintenance, VM creation: numbers 16 and up) answer -1, marked "not
modelled" in the trace.  Linux v6.18 has no __pkvm_host_donate_guest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emu.el2 import pkvm_hcall_abi as abi
from emu.el2.hypervisor import UNKNOWN, Call, CallResult, ret
from emu.el2.smccc import MASK64
from emu.platform.memory_map import PAGE_SIZE
from emu.vm import VirtualMachine

if TYPE_CHECKING:
    from emu.ffa.mediator import Mediator

SUCCESS = 0  # SMCCC_RET_SUCCESS in x0: the call was taken; its result is in x1
_NOT_MODELLED = CallResult({0: MASK64}, raw=True, note="not modelled")


def _result(errno: int = 0) -> CallResult:
    """x0 = SMCCC_RET_SUCCESS, x1 = the handler's result (0 or -errno, as 64 bits)."""
    return ret(SUCCESS, -errno & MASK64)


def owns(fid_value: int) -> bool:
    """The function IDs handle_host_hcall looks up (the SVE hint already cleared)."""
    return abi.HCALL_BASE <= fid_value < abi.HCALL_BASE + abi.HCALL_COUNT


class HostPages:
    """The host's pages shared with the hypervisor by hypercall, and the hypercalls' answers."""

    def __init__(self, mediator: Mediator | None) -> None:
        self.mediator = mediator
        self._hyp_shared: dict[int, set[int]] = {}  # VM ID -> page IPAs shared by __pkvm_host_share_hyp

    def shared_with_hyp(self, vm: VirtualMachine, ipa: int, size: int) -> bool:
        """Whether any page of ``[ipa, ipa + size)`` is one the host shared with the hypervisor by hypercall."""
        pages = self._hyp_shared.get(vm.vm_id)
        if not pages:
            return False
        first = ipa - ipa % PAGE_SIZE
        if (ipa + size - first) // PAGE_SIZE < len(pages):  # walk whichever is shorter: the range or the set
            return any(page in pages for page in range(first, ipa + size, PAGE_SIZE))
        return any(first <= page < ipa + size for page in pages)

    def handle(self, call: Call) -> CallResult:
        number = call.fid.value - abi.HCALL_BASE
        if number < abi.PROT_FINALIZE:
            return UNKNOWN  # the calls of pKVM's own set-up, refused once it is initialised
        if number == abi.PROT_FINALIZE:
            return _result(abi.EPERM)  # this CPU is finalised already
        if number == abi.SHARE_HYP:
            return _result(self._share_hyp(call.vm, call.args[1]))
        if number == abi.UNSHARE_HYP:
            return _result(self._unshare_hyp(call.vm, call.args[1]))
        if number in abi.NAMES:
            # share/relax_perms/mkyoung need a guest's vCPU loaded on this CPU, unshare/wrprotect/test_clear_young
            # a non-protected guest's handle: the host has no guest here
            return _result(abi.EINVAL)
        return _NOT_MODELLED

    # -- the page states (mem_protect.c) --------------------------------------------------------------
    def _page(self, vm: VirtualMachine, pfn: int) -> int | None:
        """The IPA of host page ``pfn`` if it is memory (check_range_allowed_memory: anything else is -EPERM).
        The host's stage 2 is an identity map: the host's physical addresses are its VM's IPAs."""
        if pfn >= 1 << 52:
            return None
        ipa = pfn * PAGE_SIZE
        return ipa if vm.stage2.contains(ipa, PAGE_SIZE) else None

    def _buffer_page(self, vm: VirtualMachine, ipa: int) -> bool:
        """One of the host's mapped RX/TX pages: shared with the hypervisor and pinned (do_ffa_rxtx_map)."""
        buffers = vm.ffa.buffers if vm.ffa is not None else None
        return buffers is not None and any(start <= ipa < start + buffers.size
                                           for start in (buffers.tx_ipa, buffers.rx_ipa))

    def _ffa_shared(self, vm: VirtualMachine, ipa: int) -> bool:
        return self.mediator is not None and self.mediator.memory.in_transaction(vm, [(ipa, PAGE_SIZE)])

    def _share_hyp(self, vm: VirtualMachine, pfn: int) -> int:
        """__pkvm_host_share_hyp: the page must be memory the host owns alone (OWNED), not yet the
        hypervisor's (NOPAGE)."""
        ipa = self._page(vm, pfn)
        if ipa is None or self.shared_with_hyp(vm, ipa, PAGE_SIZE) or self._buffer_page(vm, ipa) \
                or self._ffa_shared(vm, ipa):
            return abi.EPERM
        self._hyp_shared.setdefault(vm.vm_id, set()).add(ipa)
        return 0

    def _unshare_hyp(self, vm: VirtualMachine, pfn: int) -> int:
        """__pkvm_host_unshare_hyp: the page must be shared with the hypervisor (host SHARED_OWNED, hypervisor
        SHARED_BORROWED; an FF-A share alone is not) and not pinned (an RX/TX page: -EBUSY)."""
        ipa = self._page(vm, pfn)
        if ipa is None:
            return abi.EPERM
        if self._buffer_page(vm, ipa):
            return abi.EBUSY
        if not self.shared_with_hyp(vm, ipa, PAGE_SIZE):
            return abi.EPERM
        self._hyp_shared[vm.vm_id].discard(ipa)
        return 0
