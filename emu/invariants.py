"""Invariants of the emulated machine, checked after every call (``--check``, tests, fuzzing).

Two kinds:

* **register rules** of one call: what a call returns must follow the SMCCC
  convention it was made with and the FF-A rules as the active profile
  applies them (SMC32: upper halves of w0-w7 zero and x8-x17 preserved;
  SMC64: x8-x17 preserved, or zeroed by Xen once a VM's version is locked
  (its first non-VERSION call) at 1.2 or above, unless the response itself
  uses them; under a profile that does not mask the SVE hint (Xen), a
  hinted FF-A ID is refused with NOT_SUPPORTED; FFA_ERROR's reserved registers zero and a
  known error code in w2; SMCCC (non-FF-A) calls preserve every register
  they do not define).  pKVM writes x0-x17 on every return, SMC32 or not,
  and sign-extends its own error codes: a documented deviation, accepted
  under the ``pkvm`` profile.
* **state** of the machine: a VM's RX/TX buffers and its shared pages are its
  own RAM; no physical page is in two transactions, and none is both in a
  transaction and an RX/TX buffer (nor TX in RX) unless the profile lets
  RXTX_MAP take such pages (Xen); a handle belongs to one VM and names the
  pages the ledger says; pages lent or donated are exactly the ones missing
  from the VM's stage 2; the SPMC's transaction table (read from its memory
  through the firmware's symbol table, so nothing it does changes) holds the
  same handles, pages, sender and receivers as the mediator's ledger, and no
  half-sent (fragmenting) transaction between two calls.
* **the secure world across calls** (``emu/invariants_secure.py``): the SPMC
  idle at its exchange point, each response answering its request, who may
  retrieve, hold and act on each handle, and no VM's private page changed
  but by the VM itself.

The checker only reads state: with it on, traces and cycle counts are the
same as with it off.  Violations are recorded, not raised, so a campaign can
count them; ``Violation.text`` is one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from unicorn import UcError

from emu.el2 import pkvm_host, psci
from emu.el2 import smccc
from emu.ffa import constants as ffa
from emu.platform.memory_map import PAGE_SIZE
from emu.invariants_secure import SecureWorldAudit
from emu.secure.rmm_abi import RMI_VERSION, RSI_VERSION
from emu.secure.txn_table import SpmcTransaction, TransactionTable
from emu.el2.smccc import MASK32, MASK64, FunctionId

from emu.vm import VirtualMachine


class MachineParts(Protocol):
    """What the checker reads of a machine (which creates the checker)."""

    el2: Any
    mediator: Any
    profile: Any  # emu.ffa.profiles.Profile
    physmem: Any
    vms: list[VirtualMachine]

FRAME = 18
SMC32_REGS = 8

# Result registers of the non-FF-A calls the EL2 answers (x0.. x<n-1>); every other register is preserved.
SMCCC_RESULT_REGS = {
    smccc.SMCCC_VERSION: 1, smccc.SMCCC_ARCH_FEATURES: 1, smccc.SMCCC_ARCH_WORKAROUND_1: 1,
    smccc.SMCCC_ARCH_WORKAROUND_2: 1, smccc.SMCCC_ARCH_WORKAROUND_3: 1,
    smccc.STD_SVC_CALL_COUNT: 1, smccc.STD_SVC_UID: 4, smccc.STD_SVC_REVISION: 2,
    smccc.STD_HYP_CALL_COUNT: 1, smccc.STD_HYP_UID: 4, smccc.STD_HYP_REVISION: 2,
    psci.PSCI_VERSION: 1, psci.PSCI_FEATURES: 1, psci.PSCI_SYSTEM_OFF: 0, psci.PSCI_SYSTEM_RESET: 0,
    RMI_VERSION: 3, RSI_VERSION: 3,
}

# FF-A function IDs a call may get back in w0 (besides FFA_VERSION's version word).
RESPONSE_IDS = frozenset((
    ffa.FFA_ERROR, ffa.FFA_SUCCESS, ffa.FFA_FN64_SUCCESS, ffa.FFA_MSG_SEND_DIRECT_RESP,
    ffa.FFA_FN64_MSG_SEND_DIRECT_RESP, ffa.FFA_FN64_MSG_SEND_DIRECT_RESP2, ffa.FFA_MEM_FRAG_RX,
    ffa.FFA_INTERRUPT, ffa.FFA_MSG_WAIT, ffa.FFA_YIELD,
))
WIDE_RESPONSES = frozenset((ffa.FFA_FN64_SUCCESS, ffa.FFA_FN64_MSG_SEND_DIRECT_RESP2))
ERROR_CODES = frozenset(ffa.ERRORS.values())
# FFA_SUCCESS: registers w2.. the ABI defines (everything above, up to w7, is MBZ); default none.
SUCCESS_REGS = {
    "ID_GET": 3, "SPM_ID_GET": 3, "FEATURES": 4, "PARTITION_INFO_GET": 4, "MEM_SHARE": 4, "MEM_LEND": 4,
    "MEM_DONATE": 4, "MEM_FRAG_TX": 4, "PARTITION_INFO_GET_REGS": FRAME,
    "NOTIFICATION_GET": SMC32_REGS, "NOTIFICATION_INFO_GET": SMC32_REGS,  # bitmaps in w2-w7; ID lists in x2-x7
}


@dataclass(frozen=True)
class Violation:
    seq: int  # the call after which it was seen (0: outside any call)
    vm: str
    rule: str  # "registers" | "buffers" | "ledger" | "stage2" | "spmc" | "idle" | "exchange" | "handles" | "private"
    detail: str

    @property
    def text(self) -> str:
        where = f"call {self.seq} of {self.vm}" if self.seq else self.vm
        return f"invariant violated after {where}: {self.rule}: {self.detail}"


class InvariantChecker:
    """Checks one machine; ``violations`` collects what it found (at most ``limit``)."""

    def __init__(self, machine: MachineParts, limit: int = 1000) -> None:
        self.machine = machine
        self.violations: list[Violation] = []
        self.limit = limit
        self.checked_calls = 0
        mediator = machine.mediator
        self._spmc_table = TransactionTable.find(mediator.secure.image, machine.physmem) if mediator else None
        self._audit = SecureWorldAudit(mediator, machine.vms) if mediator else None

    # -- entry points ----------------------------------------------------------------------
    def after_call(self, vm: VirtualMachine, fid: FunctionId, frame: list[int], out: list[int], seq: int,
                   conduit: str) -> None:
        """Run every check after call ``seq`` of ``vm`` turned ``frame`` into ``out``."""
        self.checked_calls += 1
        for detail in self.register_problems(vm, fid, frame, out, conduit):
            self._add(seq, vm.name, "registers", detail)
        self.check_state(seq, vm.name, vm)

    def check_state(self, seq: int = 0, where: str = "machine", caller: VirtualMachine | None = None) -> None:
        """Check the machine's state; the calls since the last check were ``caller``'s (None: the mediator's)."""
        for rule, detail in self.state_problems(caller):
            self._add(seq, where, rule, detail)

    def _add(self, seq: int, vm: str, rule: str, detail: str) -> None:
        if len(self.violations) < self.limit:
            self.violations.append(Violation(seq, vm, rule, detail))

    # -- register rules ------------------------------------------------------------------------
    def register_problems(self, vm: VirtualMachine, fid: FunctionId, frame: list[int],
                          out: list[int], conduit: str) -> list[str]:
        frame = [v & MASK64 for v in frame]
        if len(out) != FRAME or any(not 0 <= v <= MASK64 for v in out):
            return [f"the returned frame is not 18 64-bit registers: {out!r}"]
        if self.machine.profile.host_hypercalls and conduit == "hvc" and pkvm_host.owns(fid.value) \
                and not fid.reserved_bits_set:
            return _host_hcall_problems(fid, frame, out)
        owner_ffa = self.machine.profile.owns(fid.value) and not fid.reserved_bits_set
        if owner_ffa and not self._ffa_unknown(conduit):
            return self._ffa_register_problems(vm, fid, frame, out)
        return self._smccc_register_problems(fid, frame, out, conduit)

    def _ffa_unknown(self, conduit: str) -> bool:
        """FF-A IDs are unknown SMCCC functions: through a conduit that does not reach the mediator (pKVM: HVC),
        or when Xen, without a usable SPMC, has no mediator (ffa.c ffa_probe)."""
        profile, mediator = self.machine.profile, self.machine.mediator
        if conduit not in profile.ffa_conduits:
            return True
        return profile.unknown_without_firmware and (mediator is None or not mediator.available)

    def _smccc_register_problems(self, fid: FunctionId, frame: list[int], out: list[int],
                                 conduit: str) -> list[str]:
        problems = []
        el2 = self.machine.el2
        # noqa: SLF001 - the checker reads EL2's table
        known = fid.value in el2._exact and not fid.reserved_bits_set and el2.handles(fid, conduit)  # noqa: SLF001
        if not known:
            if out[0] != MASK64:
                problems.append(f"unknown function {fid.raw:#x}: x0 {out[0]:#x}, not -1 as 64 bits")
            defined = 1
        else:
            defined = SMCCC_RESULT_REGS.get(fid.value, FRAME)
        for i in range(defined, FRAME):
            if out[i] != frame[i]:
                problems.append(f"{fid.raw:#x}: x{i} not preserved ({frame[i]:#x} -> {out[i]:#x})")
                break
        if known and not fid.smc64:
            problems += _smc32_problems(fid, frame, out, preserve_high=True)
        return problems

    def _ffa_register_problems(self, vm: VirtualMachine, fid: FunctionId, frame: list[int],
                               out: list[int]) -> list[str]:
        mediator = self.machine.mediator
        profile = mediator.profile if mediator is not None else None
        raw = profile is not None and profile.write_all_registers  # pKVM: x0-x17 written as they come
        name = ffa.NAMES.get(fid.value, f"{fid.raw:#x}")
        problems: list[str] = []
        w0 = out[0] & MASK32
        # Xen compares the whole w0 (ffa.c ffa_handle_call): an ID with the SVE hint is no ID it knows.
        hinted = fid.sve_hint and profile is not None and not profile.sve_hint_masked
        if hinted and not (w0 == ffa.FFA_ERROR and smccc.to_signed(out[2], 32) == ffa.NOT_SUPPORTED):
            problems.append(f"{name}: the SVE-hinted ID {fid.raw:#x} is not refused with NOT_SUPPORTED")
        if fid.value == ffa.FFA_VERSION and not hinted:
            if w0 >> 31 and smccc.to_signed(w0, 32) != ffa.NOT_SUPPORTED:
                problems.append(f"FFA_VERSION: w0 {w0:#x} is neither a version nor NOT_SUPPORTED")
            payload = 1
        elif w0 not in RESPONSE_IDS:
            problems.append(f"{name}: w0 {w0:#x} is not an FF-A response")
            payload = FRAME
        elif w0 == ffa.FFA_ERROR:
            code = smccc.to_signed(out[2], 32)
            if code not in ERROR_CODES:
                problems.append(f"{name}: FFA_ERROR with unknown code {out[2]:#x}")
            if out[2] >> 32 and not (raw and profile.error_sign_extended and out[2] >> 32 == MASK32):
                problems.append(f"{name}: FFA_ERROR code {out[2]:#x} has a non-zero upper half")
            if out[1] & MASK32:
                problems.append(f"{name}: FFA_ERROR w1 {out[1]:#x} is not zero")
            payload = 3
        elif w0 in (ffa.FFA_SUCCESS, ffa.FFA_FN64_SUCCESS):
            payload = SUCCESS_REGS.get(ffa.abi_short(name), 2)
            if out[1] & MASK32 and payload < FRAME:
                problems.append(f"{name}: FFA_SUCCESS w1 {out[1]:#x} is not zero")
        elif w0 == ffa.FFA_MEM_FRAG_RX:
            payload = 4
        else:
            payload = FRAME  # messages and SP answers: the payload is the partner's
        if not raw and not fid.smc64:
            problems += _smc32_problems(fid, frame, out, preserve_high=False)
        upper = SMC32_REGS if (not fid.smc64 or w0 not in WIDE_RESPONSES) else FRAME
        for i in range(payload, upper):
            if out[i] & (MASK64 if fid.smc64 or raw else MASK32):
                problems.append(f"{name}: x{i} = {out[i]:#x} in a reserved (MBZ) register of {w0:#x}")
                break
        if not raw and upper == SMC32_REGS:
            # Xen ffa_private.h ffa_set_regs: only once the VM's version is published (locked) and >= 1.2
            zeroed = profile is not None and profile.zero_x8_x17_from_1_2 and vm.ffa.version.locked and \
                mediator.vm_version(vm) >= ffa.VERSION_1_2
            want = [0] * (FRAME - SMC32_REGS) if zeroed else frame[SMC32_REGS:]
            if out[SMC32_REGS:] != want:
                what = "zeroed" if zeroed else "preserved"
                problems.append(f"{name}: x8-x17 not {what} ({[hex(v) for v in out[SMC32_REGS:]]})")
        return problems

    # -- state -----------------------------------------------------------------------------
    def state_problems(self, caller: VirtualMachine | None = None) -> list[tuple[str, str]]:
        mediator = self.machine.mediator
        if mediator is None:
            return []
        problems: list[tuple[str, str]] = []
        ledger = mediator.memory.ledger
        vms = {vm.name: vm for vm in self.machine.vms}
        page_owner: dict[int, int] = {}
        for handle, share in ledger.shares.items():
            if share.handle != handle:
                problems.append(("ledger", f"handle {handle:#x} holds a share recorded as {share.handle:#x}"))
            vm = vms.get(share.vm_name)
            if vm is None:
                problems.append(("ledger", f"handle {handle:#x} belongs to unknown VM {share.vm_name}"))
                continue
            if handle & ffa.MEM_HANDLE_HYPERVISOR:
                problems.append(("ledger", f"committed handle {handle:#x} has the hypervisor bit"))
            for pa in share.pa_pages:
                if pa % PAGE_SIZE or not vm.ram.contains(pa, PAGE_SIZE):
                    problems.append(("ledger", f"handle {handle:#x} of {vm.name} holds page {pa:#x} "
                                               f"outside its RAM"))
                    break
                if pa in page_owner:
                    problems.append(("ledger", f"page {pa:#x} is in handles {page_owner[pa]:#x} and {handle:#x}"))
                    break
                page_owner[pa] = handle
        indexed = ledger.indexed_pages()
        if indexed != page_owner:
            problems.append(("ledger", f"page index has {len(indexed)} pages, the shares {len(page_owner)}"))
        for vm in self.machine.vms:
            problems += self._vm_problems(vm, page_owner)
        committed = None
        if self._spmc_table is not None:
            try:
                committed, fragmenting = self.spmc_transactions()
            except Exception as exc:  # noqa: BLE001 - a corrupt table is itself a finding
                problems.append(("spmc", f"cannot read the SPMC's transaction table: {exc}"))
            else:
                problems += self._spmc_problems(ledger, vms, committed, fragmenting)
        problems += self._audit.problems(caller, committed)
        return problems

    def _vm_problems(self, vm: VirtualMachine, page_owner: dict[int, int]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        state = vm.ffa
        if state is None:
            return problems
        for handle in state.pending:
            if not handle & ffa.MEM_HANDLE_HYPERVISOR:
                problems.append(("ledger", f"{vm.name}: provisional handle {handle:#x} lacks the hypervisor bit"))
        buffers = state.buffers
        if buffers is not None:
            size = buffers.size
            pages: list[int] = []
            for label, ipa in (("TX", buffers.tx_ipa), ("RX", buffers.rx_ipa)):
                if ipa % PAGE_SIZE or not 1 <= buffers.pages <= 64:
                    problems.append(("buffers", f"{vm.name}: {label} buffer {ipa:#x} x{buffers.pages} pages "
                                                f"is not page aligned"))
                    return problems
                try:
                    runs = vm.stage2.translate_range(ipa, size)
                except Exception:  # noqa: BLE001 - TranslationFault: not the VM's memory
                    problems.append(("buffers", f"{vm.name}: {label} buffer {ipa:#x} is not its RAM"))
                    return problems
                for pa, n in runs:
                    if not vm.ram.contains(pa, n):
                        problems.append(("buffers", f"{vm.name}: {label} buffer {ipa:#x} maps outside its RAM"))
                    pages += range(pa, pa + n, PAGE_SIZE)
            if not self.machine.profile.rxtx_refuses_overlap:
                return problems  # Xen maps any RW RAM pair (ffa_rxtx.c ffa_handle_rxtx_map)
            if len(set(pages)) != len(pages):
                problems.append(("buffers", f"{vm.name}: TX and RX buffers overlap"))
            shared = sorted(set(pages) & page_owner.keys())
            if shared:
                problems.append(("buffers", f"{vm.name}: RX/TX page {shared[0]:#x} is in transaction "
                                            f"{page_owner[shared[0]]:#x}"))
        if vm.state == "running":
            problems += self._stage2_problems(vm)
        return problems

    def _stage2_problems(self, vm: VirtualMachine) -> list[tuple[str, str]]:
        """The IPA pages missing from the VM's engine are exactly its lent and donated pages."""
        ledger = self.machine.mediator.memory.ledger
        expected: list[tuple[int, int]] = []
        for share in ledger.of_vm(vm.name):
            if share.removes_access:
                expected += [(ipa, ipa + size) for ipa, size in share.ipa_ranges]
        ram_lo = vm.stage2.mappings[0].ipa
        ram_hi = vm.stage2.mappings[-1].ipa_end
        try:
            regions = sorted((begin, end + 1) for begin, end, _perms in vm.engine.uc.mem_regions())
        except UcError as exc:
            return [("stage2", f"{vm.name}: cannot list mapped regions: {exc}")]
        holes, cursor = [], ram_lo
        for begin, end in regions:
            if end <= ram_lo or begin >= ram_hi:
                continue
            if begin > cursor:
                holes.append((cursor, begin))
            cursor = max(cursor, end)
        if cursor < ram_hi:
            holes.append((cursor, ram_hi))
        if _merge(holes) != _merge(expected):
            return [("stage2", f"{vm.name}: unmapped RAM {_ranges_text(_merge(holes))} but lent/donated "
                               f"{_ranges_text(_merge(expected))}")]
        return []

    # -- the SPMC's view -------------------------------------------------------------------------
    def spmc_transactions(self) -> tuple[dict[int, SpmcTransaction], list[int]]:
        """The SPMC's committed transactions by handle, and its fragmenting handles."""
        return self._spmc_table.read()

    def _sender_id(self, vm: VirtualMachine) -> int:
        """The endpoint ID a VM's transactions carry (pKVM: every caller is the host)."""
        caller_id = getattr(self.machine.mediator, "caller_id", None)
        return caller_id(vm) if caller_id is not None else vm.endpoint_id

    def _spmc_problems(self, ledger, vms: dict, committed: dict[int, SpmcTransaction],
                       fragmenting: list[int]) -> list[tuple[str, str]]:
        problems = []
        if fragmenting:
            problems.append(("spmc", f"the SPMC holds half-sent transactions {[hex(h) for h in fragmenting]}"))
        mine = set(ledger.shares)
        theirs = set(committed)
        if mine - theirs:
            problems.append(("spmc", f"handles {[hex(h) for h in sorted(mine - theirs)]} are in the ledger, "
                                     f"not at the SPMC"))
        if theirs - mine:
            problems.append(("spmc", f"handles {[hex(h) for h in sorted(theirs - mine)]} are at the SPMC, "
                                     f"not in the ledger"))
        for handle in sorted(mine & theirs):
            share = ledger.shares[handle]
            txn = committed[handle]
            vm = vms.get(share.vm_name)
            expected = self._sender_id(vm) if vm is not None else None
            if vm is not None and txn.sender != expected:
                problems.append(("spmc", f"handle {handle:#x}: sender {txn.sender:#x} at the SPMC, {vm.name} "
                                         f"({expected:#x}) in the ledger"))
            if sorted(txn.receivers) != sorted(share.receivers):
                problems.append(("spmc", f"handle {handle:#x}: receivers {list(txn.receivers)} at the SPMC, "
                                         f"{share.receivers} in the ledger"))
            if txn.pages != set(share.pa_pages):
                problems.append(("spmc", f"handle {handle:#x}: the SPMC and the ledger name different pages"))
        return problems


def _smc32_problems(fid: FunctionId, frame: list[int], out: list[int], preserve_high: bool) -> list[str]:
    problems = []
    for i in range(SMC32_REGS):
        if out[i] >> 32 and not (preserve_high and out[i] == frame[i]):
            problems.append(f"SMC32 {fid.raw:#x}: x{i} = {out[i]:#x} has a non-zero upper half")
            break
    if preserve_high and out[SMC32_REGS:] != frame[SMC32_REGS:]:
        problems.append(f"SMC32 {fid.raw:#x}: x8-x17 not preserved")
    return problems


def _host_hcall_problems(fid: FunctionId, frame: list[int], out: list[int]) -> list[str]:
    """A pKVM host hypercall (hyp-main.c handle_host_hcall): taken, x0 = 0 and its result in x1; or not, x0 = -1
    and x1 untouched; the other registers are kept either way."""
    if out[0] not in (0, MASK64):
        return [f"host hypercall {fid.raw:#x}: x0 {out[0]:#x}, neither 0 nor -1"]
    kept = 2 if out[0] == 0 else 1
    if out[kept:] != frame[kept:]:
        return [f"host hypercall {fid.raw:#x}: x{kept}-x17 not preserved"]
    return []


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _ranges_text(ranges: list[tuple[int, int]]) -> str:
    shown = ", ".join(f"{lo:#x}-{hi:#x}" for lo, hi in ranges[:4])
    return f"[{shown}{', ...' if len(ranges) > 4 else ''}]"
