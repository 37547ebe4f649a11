"""FF-A memory sharing through the mediator: SHARE, LEND, DONATE, FRAG_TX, RECLAIM.

A VM's descriptor names IPAs; the SPMC must see PAs.  The mediator reads the
descriptor from the VM's TX buffer (gathering fragments, under a provisional
hypervisor-allocated handle, until the whole descriptor is in), validates it,
translates every range through stage 2 (merging contiguous pages and
splitting where the physical layout breaks), checks every page is the VM's
own and in no other transaction, writes the rewritten descriptor into its own
TX buffer (in fragments when it does not fit) and forwards it.  Only on the
SPMC's success does it record ownership and, for LEND/DONATE, take the
pages out of the VM's stage 2; any failure leaves every page as it was.

Whatever a guest claims, the work of a call follows the size of what it
sent: a fragmented descriptor is bounded by the profile (length, fragments:
NO_MEMORY beyond) before any byte is buffered; ranges are checked against the
VM's RAM, against one another (sorted, not expanded to pages) and against
the RX/TX buffers before anything is done per page, and the ledger holds
ranges.  Each VM may hold at most its share of the SPMC's transaction slots,
so one VM cannot starve another.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, Protocol

from emu.el2.hypervisor import Call
from emu.ffa import constants as ffa
from emu.ffa import descriptors
from emu.ffa.descriptors import DescriptorError, Range, Transaction
from emu.ffa.errors import FfaError
from emu.ffa.memory import Ledger, OwnershipError, PendingTransaction, Share
from emu.ffa.stub_partitions import SPMC_TXN_SLOTS
from emu.platform.memory_map import PAGE_SIZE
from emu.el2.smccc import MASK32, to_signed
from emu.platform.stage2 import TranslationFault
from emu.vm import VirtualMachine



class MediatorCore(Protocol):
    """What memory sharing uses of the mediator (which owns it): buffers, the SPMC link, answers."""

    profile: Any
    physmem: Any
    cost: Any
    account: Any
    partitions: Any
    tx_pa: int
    vms: list  # VMs attached: the SPMC's transaction slots are split between them

    def spmc_call(self, call: Call | None, regs: list[int]) -> list[int]: ...
    def success(self, *values: int, wide: bool = False) -> list[int]: ...
    def error(self, code: int) -> list[int]: ...
    def caller_id(self, vm: VirtualMachine) -> int: ...
    def hyp_shared(self, vm: VirtualMachine, ipa: int, size: int) -> bool: ...

KINDS = {"MEM_SHARE": "share", "MEM_LEND": "lend", "MEM_DONATE": "donate"}
_FORWARD_IDS = {
    ("share", False): ffa.FFA_MEM_SHARE, ("share", True): ffa.FFA_FN64_MEM_SHARE,
    ("lend", False): ffa.FFA_MEM_LEND, ("lend", True): ffa.FFA_FN64_MEM_LEND,
    ("donate", False): ffa.FFA_MEM_DONATE, ("donate", True): ffa.FFA_FN64_MEM_DONATE,
}


def _is_aborted(answer: list[int]) -> bool:
    return answer[0] == ffa.FFA_ERROR and answer[2] & MASK32 == ffa.ABORTED & MASK32


def split_handle(handle: int) -> tuple[int, int]:
    return handle & MASK32, handle >> 32


class MemorySharing:
    def __init__(self, mediator: MediatorCore) -> None:
        self.mediator = mediator
        self.ledger = Ledger()
        self._next_provisional = 1
        self._given_up: set[int] = set()  # handles a torn-down VM's reclaim failed for good

    # -- entry points (each returns a response frame or raises FfaError) ----------------
    def send(self, call: Call) -> list[int]:
        vm, args = call.vm, call.args
        kind = KINDS[ffa.abi_short(ffa.NAMES[call.fid.value])]
        total, fragment = args[1] & MASK32, args[2] & MASK32
        if args[3] or args[4] & MASK32:
            raise FfaError(ffa.INVALID_PARAMETERS)  # only the TX buffer carries descriptors here
        buffers = vm.ffa.buffers
        if buffers is None:
            raise FfaError(self.mediator.profile.mem_no_tx_error)
        if fragment == 0 or fragment > total or fragment > buffers.size:
            raise FfaError(ffa.INVALID_PARAMETERS)
        if vm.ffa.pending:
            raise FfaError(ffa.BUSY)
        data = vm.read_ipa(buffers.tx_ipa, fragment)
        self._charge_copy(fragment)
        if fragment == total:
            return self._commit(call, kind, call.fid.smc64, bytes(data))
        profile = self.mediator.profile
        if not profile.fragments_allowed:
            raise FfaError(ffa.NOT_SUPPORTED)
        if total > profile.descriptor_limit(buffers.size):
            raise FfaError(ffa.NO_MEMORY)  # as pKVM (nvhe/ffa.c __do_ffa_mem_xfer): nothing is buffered
        handle = ffa.MEM_HANDLE_HYPERVISOR | self._next_provisional
        self._next_provisional += 1
        vm.ffa.pending[handle] = PendingTransaction(kind, call.fid.smc64, total, bytearray(data))
        return self._frag_rx(handle, fragment)

    def frag_tx(self, call: Call) -> list[int]:
        vm, args = call.vm, call.args
        handle = (args[1] & MASK32) | (args[2] & MASK32) << 32
        fragment = args[3] & MASK32
        pending = vm.ffa.pending.get(handle)
        if pending is None:
            raise FfaError(ffa.INVALID_PARAMETERS)
        buffers = vm.ffa.buffers
        if buffers is None or fragment == 0 or fragment > buffers.size or \
                len(pending.data) + fragment > pending.total:
            del vm.ffa.pending[handle]  # a bad fragment aborts the whole transaction
            raise FfaError(ffa.INVALID_PARAMETERS)
        max_fragments = self.mediator.profile.max_fragments
        if max_fragments is not None and pending.fragments >= max_fragments:
            del vm.ffa.pending[handle]  # it cannot complete: Hafnium frees it (ffa_memory_send_continue_validate)
            raise FfaError(ffa.NO_MEMORY)
        pending.fragments += 1
        pending.data += vm.read_ipa(buffers.tx_ipa, fragment)
        self._charge_copy(fragment)
        if len(pending.data) < pending.total:
            return self._frag_rx(handle, len(pending.data))
        del vm.ffa.pending[handle]
        return self._commit(call, pending.kind, pending.smc64, bytes(pending.data))

    def reclaim(self, call: Call) -> list[int]:
        handle = (call.args[1] & MASK32) | (call.args[2] & MASK32) << 32
        share = self.ledger.shares.get(handle)
        if share is None or share.vm_name != call.vm.name:
            raise FfaError(ffa.INVALID_PARAMETERS)  # not this VM's handle
        lo, hi = split_handle(handle)
        answer = self.mediator.spmc_call(call, [ffa.FFA_MEM_RECLAIM, lo, hi, call.args[3] & MASK32])
        if answer[0] != ffa.FFA_SUCCESS:
            return answer
        self._restore(call.vm, self.ledger.remove(handle))
        return self.mediator.success()

    def teardown(self, vm: VirtualMachine) -> bool:
        """A VM is going away: reclaim every handle it still holds (traced as EL2 calls).  True when none is left
        worth asking again: a DENIED reclaim (an SP still holds the memory) may succeed later; any other error
        is taken as final, the share staying recorded and its pages out of use (Xen ffa_shm.c
        ffa_shm_domain_destroy)."""
        vm.ffa.pending.clear()
        done = True
        for share in self.ledger.of_vm(vm.name):
            if share.handle in self._given_up:
                continue
            lo, hi = split_handle(share.handle)
            answer = self.mediator.spmc_call(None, [ffa.FFA_MEM_RECLAIM, lo, hi, 0])
            if answer[0] == ffa.FFA_SUCCESS:
                self.ledger.remove(share.handle)
            elif answer[0] == ffa.FFA_ERROR and to_signed(answer[2], 32) == ffa.DENIED:
                done = False
            else:
                self._given_up.add(share.handle)
        return done

    # -- the transaction ------------------------------------------------------------
    def _commit(self, call: Call, kind: str, smc64: bool, data: bytes) -> list[int]:
        mediator, vm = self.mediator, call.vm
        try:
            tx = descriptors.parse(data, mediator.vm_version(vm))
        except DescriptorError as exc:
            call.note = f"descriptor refused: {exc}"
            raise FfaError(exc.code) from None
        call.note = f"{kind} {tx.summary()}"
        self._charge("memory_transaction")
        self._charge("constituent", len(tx.ranges))
        self._validate(vm, kind, tx)
        self._check_ranges(vm, tx.ranges)
        pa_ranges = self._translate(vm, tx.ranges)
        self._charge("translate_page", tx.total_pages)
        try:
            self.ledger.check_free((r.address, r.size) for r in pa_ranges)
        except OwnershipError:
            raise FfaError(ffa.DENIED) from None
        forwarded = Transaction(tx.sender, tx.attributes, tx.flags, 0, tx.tag, tx.receivers, pa_ranges)
        answer = self._forward(call, kind, smc64, descriptors.build(forwarded, mediator.version))
        if answer[0] != ffa.FFA_SUCCESS:
            return answer
        handle = (answer[2] & MASK32) | (answer[3] & MASK32) << 32
        share = Share(handle, vm.name, kind, [(r.address, r.size) for r in tx.ranges],
                      [(r.address, r.size) for r in pa_ranges], [r.endpoint_id for r in tx.receivers], forwarded)
        self.ledger.add(share)
        if share.removes_access:
            for ipa, size in share.ipa_ranges:
                for engine in vm.engines:
                    engine.unmap(ipa, size)
            self._charge("unmap_page", tx.total_pages)
            self._charge("tlb_invalidate", tx.total_pages)
        return mediator.success(*split_handle(handle))

    def _validate(self, vm: VirtualMachine, kind: str, tx: Transaction) -> None:
        profile, mediator = self.mediator.profile, self.mediator
        sps = {p.endpoint_id for p in mediator.partitions}
        if tx.sender != mediator.caller_id(vm) or tx.handle != 0:
            raise FfaError(ffa.INVALID_PARAMETERS)
        for receiver in tx.receivers:
            if receiver.endpoint_id not in sps or receiver.data_access not in (descriptors.DATA_RO,
                                                                               descriptors.DATA_RW):
                raise FfaError(ffa.INVALID_PARAMETERS)
        if kind == "donate" and len(tx.receivers) != 1:
            raise FfaError(ffa.INVALID_PARAMETERS)
        if profile.single_borrower_error is not None and len(tx.receivers) != 1:
            raise FfaError(profile.single_borrower_error)
        if profile.require_rw_normal and (tx.attributes != descriptors.NORMAL_WB_INNER or any(
                r.data_access != descriptors.DATA_RW for r in tx.receivers)):
            raise FfaError(ffa.INVALID_PARAMETERS)
        if profile.max_pages_per_share is not None and tx.total_pages > profile.max_pages_per_share:
            raise FfaError(ffa.NO_MEMORY)
        if len(self.ledger.of_vm(vm.name)) >= self._transaction_quota():
            raise FfaError(ffa.NO_MEMORY)  # as Hafnium out of share states (src/ffa_memory.c ffa_memory_send)

    def _transaction_quota(self) -> int:
        """Transactions one VM may hold: its share of the SPMC's slots, within the profile's own limit."""
        quota = SPMC_TXN_SLOTS // max(len(self.mediator.vms), 1)
        limit = self.mediator.profile.max_shares_per_vm
        return quota if limit is None else min(quota, limit)

    def _check_ranges(self, vm: VirtualMachine, ranges: list[Range]) -> None:
        """The ranges lie in the VM's RAM (INVALID_PARAMETERS), name no page twice, not the VM's RX/TX
        buffers and (pKVM) no page the host shared with the hypervisor (DENIED): checked on the sorted ranges,
        before anything is done per page."""
        if not all(vm.stage2.contains(r.address, r.size) for r in ranges):
            raise FfaError(ffa.INVALID_PARAMETERS)
        spans = sorted((r.address, r.address + r.size) for r in ranges)
        if any(end > start for (_, end), (start, _) in zip(spans, spans[1:])):
            raise FfaError(ffa.DENIED)  # a page named twice
        buffers = vm.ffa.buffers
        if buffers is not None:
            for start in (buffers.tx_ipa, buffers.rx_ipa):
                if _overlaps(spans, start, start + buffers.size):
                    raise FfaError(ffa.DENIED)  # the VM's RX/TX buffers cannot be shared
        if any(self.mediator.hyp_shared(vm, r.address, r.size) for r in ranges):
            raise FfaError(ffa.DENIED)  # pKVM ffa_host_share_ranges: __pkvm_host_share_ffa fails

    @staticmethod
    def _translate(vm: VirtualMachine, ranges: list[Range]) -> list[Range]:
        """IPA ranges to PA ranges through stage 2, a stage-2 chunk at a time, merged where contiguous."""
        out: list[Range] = []
        for r in ranges:
            for pa, size in vm.stage2.translate_range(r.address, r.size):
                out.append(Range(pa, size // PAGE_SIZE))
        return descriptors.merge_ranges(out)

    def _forward(self, call: Call, kind: str, smc64: bool, desc: bytes) -> list[int]:
        """Send the rewritten descriptor through the mediator's TX buffer, in fragments if needed."""
        mediator = self.mediator
        fid = _FORWARD_IDS[kind, smc64 or mediator.profile.mem_forward_fn64]
        chunk = desc[:PAGE_SIZE]
        mediator.physmem.write(mediator.tx_pa, chunk)
        self._charge_copy(len(chunk))
        answer = mediator.spmc_call(call, [fid, len(desc), len(chunk), 0, 0])
        sent = len(chunk)
        while answer[0] == ffa.FFA_MEM_FRAG_RX:
            lo, hi = answer[1] & MASK32, answer[2] & MASK32
            if sent >= len(desc) or answer[3] & MASK32 != sent:
                self._abandon(call, lo, hi)
                return mediator.error(ffa.ABORTED)  # the SPMC broke the fragment protocol
            chunk = desc[sent:sent + PAGE_SIZE]
            mediator.physmem.write(mediator.tx_pa, chunk)
            self._charge_copy(len(chunk))
            answer = mediator.spmc_call(call, [ffa.FFA_MEM_FRAG_TX, lo, hi, len(chunk)])
            if _is_aborted(answer):
                self._abandon(call, lo, hi)  # rolled back: the SPMC still waits for this fragment
                return answer
            sent += len(chunk)
        if answer[0] not in (ffa.FFA_SUCCESS, ffa.FFA_ERROR):
            return mediator.error(ffa.ABORTED)  # not an answer to a transaction
        return answer  # success, or the SPMC's error passed through as it came

    def _abandon(self, call: Call, lo: int, hi: int) -> None:
        """Drop a half-sent transaction at the SPMC: an empty fragment is an error, and any error in
        FFA_MEM_FRAG_TX drops the transaction (firmware/mem_share.c, mem_frag_tx)."""
        self.mediator.spmc_call(call, [ffa.FFA_MEM_FRAG_TX, lo, hi, 0])

    def _restore(self, vm: VirtualMachine, share: Share) -> None:
        if share.removes_access and vm.state == "running":
            for (ipa, size) in share.ipa_ranges:
                for pa, length in vm.stage2.translate_range(ipa, size):
                    for engine in vm.engines:
                        engine.map_physical(vm.stage2.pa_to_ipa(pa), pa, length)
            self._charge("map_page", sum(size for _pa, size in share.pa_ranges) // PAGE_SIZE)

    def _frag_rx(self, handle: int, received: int) -> list[int]:
        lo, hi = split_handle(handle)
        out = [0] * 18
        out[:4] = [ffa.FFA_MEM_FRAG_RX, lo, hi, received]
        return out

    def _charge_copy(self, nbytes: int) -> None:
        self.mediator.account.charge(self.mediator.cost.copy_cost(nbytes), "copy")

    def _charge(self, kind: str, units: int = 1) -> None:
        """EL2 work of ``kind`` (emu.cpu.costmodel.EL2_WORK), ``units`` times."""
        self.mediator.account.charge(self.mediator.cost.work_cost(kind, units), kind)

    def in_transaction(self, vm: VirtualMachine, ipa_ranges: list[tuple[int, int]]) -> bool:
        """Whether any page of these IPA ranges is shared, lent or donated."""
        return any(self.ledger.holder(pa, pa + size) is not None
                   for ipa, length in ipa_ranges for pa, size in vm.stage2.translate_range(ipa, length))

    def lent_page_handle(self, vm: VirtualMachine, ipa: int) -> int | None:
        """The handle of a lent/donated page a guest touched (for stage-2 fault reports)."""
        try:
            pa = vm.stage2.translate(ipa)
        except TranslationFault:
            return None
        handle = self.ledger.handle_of_page(pa)
        if handle is not None and self.ledger.shares[handle].removes_access:
            return handle
        return None


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether ``[start, end)`` meets one of the sorted, disjoint ``spans``."""
    index = bisect_right(spans, (start, end)) - 1
    return any(lo < end and start < hi for lo, hi in spans[max(index, 0):index + 2])
