"""The FF-A mediator at EL2: checks, answers or forwards every FF-A call of every VM.

One implementation; what differs between the spec, pKVM and Xen is read
from the active ``Profile``.  Guest addresses are always translated through
the VM's stage 2; the mediator talks to the SPMC through its own RX/TX pair
in hypervisor memory, never through a guest's pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from emu.trace import decode
from emu.cpu.blockcost import Account
from emu.cpu.costmodel import CostModel
from emu.el2.hypervisor import UNKNOWN, Call, CallResult
from emu.ffa import constants as ffa
from emu.ffa.errors import FfaError
from emu.ffa.indirect_msg import IndirectMessaging
from emu.ffa.mem_sharing import MemorySharing
from emu.ffa.memory import PendingTransaction
from emu.ffa.notifications import Notifications
from emu.ffa.partition_info import PartitionInfo, entry_size_for, unpack_entries, uuid_from_regs, uuid_from_words
from emu.ffa.profiles import Disposition, Profile, VersionState
from emu.ffa.vm_availability import VmAvailability
from emu.ffa.vm_list import VmList
from emu.secure.spmd import SecureWorld, SpmcError, SpmcExchange
from emu.platform.physmem import PhysicalMemory, Region
from emu.platform.memory_map import PAGE_SIZE
from emu.el2.smccc import MASK32, MASK64, SMC32_REGS, decode_fid, to_signed
from emu.platform.stage2 import TranslationFault
from emu.trace.records import BOOT_VM, HOP_FROM_SPMC, HOP_TO_SPMC, Trace, hop_record
from emu.vm import VirtualMachine

FRAME = 18
NEVER = 1 << 64  # a cycle the clock never reaches
HOP_SHAPES_CACHED = 4096  # forwarded x0 values remembered (a fuzzer's random IDs must not fill memory)


@dataclass
class RxTx:
    """A VM's mapped buffer pair (IPAs) and who owns its RX buffer."""

    tx_ipa: int
    rx_ipa: int
    pages: int
    rx_held_by_vm: bool = False  # the VM (consumer) owns RX until FFA_RX_RELEASE

    @property
    def size(self) -> int:
        return self.pages * PAGE_SIZE


@dataclass
class VmFfaState:
    """A VM's FF-A state in the mediator: its version, RX/TX pair and fragmented sends."""

    version: VersionState
    buffers: RxTx | None = None
    pending: dict[int, PendingTransaction] = field(default_factory=dict)  # fragmented sends in progress


def _zeros() -> list[int]:
    return [0] * FRAME


# Responses whose payload uses x8-x17 (every other FF-A response defines x0-x7 only).
_WIDE_RESPONSES = frozenset((ffa.FFA_FN64_MSG_SEND_DIRECT_RESP2, ffa.FFA_FN64_SUCCESS))

_UNAVAILABLE = [ffa.FFA_ERROR, 0, ffa.NOT_SUPPORTED & MASK32, 0, 0, 0, 0, 0]
_UNAVAILABLE_VERSION = [ffa.NOT_SUPPORTED & MASK32, 0, 0, 0, 0, 0, 0, 0]


def _refused(call: Call) -> CallResult:
    if call.fid.value == ffa.FFA_VERSION:
        return CallResult(_UNAVAILABLE_VERSION)
    return CallResult(_UNAVAILABLE)


def ffa_unavailable(profile: Profile) -> Callable[[Call], CallResult]:
    """How FF-A calls are answered with no usable secure world (none configured, or one the profile refuses).

    Xen then has no mediator at all (ffa.c ffa_probe fails), so an FF-A call
    is an unknown SMCCC function (vsmc.c vsmccc_handle_call: x0 = -1, nothing
    else written).  Otherwise every call is NOT_SUPPORTED: FFA_VERSION says so
    in w0 (it has no FFA_ERROR form); the reserved registers of the answer
    are zero, not left as the caller had them.
    """
    if profile.unknown_without_firmware:
        return lambda call: UNKNOWN
    return _refused


class Mediator:
    def __init__(self, profile: Profile, secure: SecureWorld, physmem: PhysicalMemory, hyp_region: Region,
                 cost: CostModel, account: Account, trace: Trace) -> None:
        self.profile = profile
        self.secure = secure
        self.physmem = physmem
        self.cost = cost
        self.account = account
        self._call_charges = account.group((cost.work_cost("ffa_call"), "ffa_call"))  # on every call: a fixed group
        self.trace = trace
        self.own_version = profile.own_version
        self.version = self.own_version  # what it runs at with the firmware: min(firmware, own)
        self.firmware_version = 0
        self.available = True  # False once boot found an SPMC the profile does not work with
        self.firmware_abis: frozenset[int] = frozenset()  # the profile's firmware_probe IDs the SPMC supports
        self._gates = dict(profile.firmware_gates)
        self._own_features = dict(profile.extra_features)
        self._unavailable = ffa_unavailable(profile)
        self.spmc_id: int | None = None
        self.partitions: list[PartitionInfo] = []
        self._partition_ids: frozenset[int] = frozenset()  # their endpoint IDs, for the direct-request checks
        self._caller: VirtualMachine | None = None  # whose vCPU the SPMC runs on during a call
        secure.normal_world_irq = self._caller_irq
        self.tx_pa = hyp_region.pa
        self.rx_pa = hyp_region.pa + PAGE_SIZE
        self._host_version = VersionState()  # pKVM keeps one version for the whole host
        self.vms: list[VirtualMachine] = []  # attached, in order
        # pKVM: whether the host shared a page of a range with the hypervisor by hypercall (emu/el2/pkvm_host.py)
        self.hyp_shared: Callable[[VirtualMachine, int, int], bool] = lambda vm, ipa, size: False
        self._handlers: dict[str, Callable[[Call], list[int]]] = {
            "VERSION": self._version, "FEATURES": self._features, "ID_GET": self._id_get,
            "SPM_ID_GET": self._spm_id_get, "RXTX_MAP": self._rxtx_map, "RXTX_UNMAP": self._rxtx_unmap,
            "RX_RELEASE": self._rx_release, "RX_ACQUIRE": self._rx_acquire,
            "PARTITION_INFO_GET": self._partition_info_get,
            "PARTITION_INFO_GET_REGS": self._partition_info_get_regs,
            "MSG_SEND_DIRECT_REQ": self._direct_req, "MSG_SEND_DIRECT_REQ2": self._direct_req2,
            "CONSOLE_LOG": self._console_log,
        }
        self._routes: dict[int, tuple] = {}  # function ID -> _route(), filled on first use
        self._hop_shapes: dict[int, tuple[int, str, int]] = {}  # x0 -> _hop_shape(), filled on first use
        self.memory = MemorySharing(self)
        for name in ("MEM_SHARE", "MEM_LEND", "MEM_DONATE"):
            self._handlers[name] = self.memory.send
        self._handlers["MEM_FRAG_TX"] = self.memory.frag_tx
        self._handlers["MEM_RECLAIM"] = self.memory.reclaim
        self.notifications = Notifications(self)
        self.vm_availability = VmAvailability(self)
        self.indirect = IndirectMessaging(self)
        self.vm_list = VmList()  # CONFIG_FFA_VM_TO_VM: the VMs the others see
        self._teardowns: list[tuple[int, VirtualMachine]] = []  # (cycle due, VM) teardowns left to finish
        # VMs the mediator failed to create at boot, and why (Xen: arch_domain_create fails, the VM never runs)
        self.refused: list[tuple[VirtualMachine, str]] = []
        self.teardown_due = NEVER  # the first of them
        self._handlers["MSG_SEND2"] = self.indirect.send2
        self._handlers.update({
            "NOTIFICATION_BIND": self.notifications.bind, "NOTIFICATION_UNBIND": self.notifications.bind,
            "NOTIFICATION_SET": self.notifications.set, "NOTIFICATION_GET": self.notifications.get,
            "NOTIFICATION_INFO_GET": self.notifications.info_get,
        })

    # -- boot ------------------------------------------------------------------
    def boot(self) -> None:
        """Negotiate with the SPMC, map the mediator's RX/TX pair, cache the partition list.

        Raises SpmcError when the secure world does not boot or refuses any of these.
        """
        self.secure.boot()
        answer = self._boot_call([ffa.FFA_VERSION, self.own_version])
        if to_signed(answer[0], 32) < 0 or ffa.version_major(answer[0]) != 1:
            raise SpmcError(f"SPMC refused FF-A version negotiation (answered {answer[0]:#x})")
        self.firmware_version = answer[0] & MASK32
        self.version = min(self.firmware_version, self.own_version)
        if self.firmware_version < self.profile.min_firmware_version:
            self.available = False
            return
        self.firmware_abis = frozenset(fid for fid in self.profile.firmware_probe if self._firmware_supports(fid))
        self._routes.clear()  # a route's disposition holds the firmware's gates
        answer = self._boot_call([ffa.FFA_FN64_RXTX_MAP, self.tx_pa, self.rx_pa, 1])
        if answer[0] != ffa.FFA_SUCCESS:
            raise SpmcError(f"SPMC refused the mediator's RXTX_MAP ({decode.error_of(answer) or hex(answer[0])})")
        try:
            self.partitions = self._fetch_partitions(self._boot_call)
            self._partition_ids = frozenset(p.endpoint_id for p in self.partitions)
        except FfaError as err:
            raise SpmcError(f"SPMC refused PARTITION_INFO_GET at boot ({err})") from None
        if self.version >= ffa.VERSION_1_1:
            answer = self._boot_call([ffa.FFA_SPM_ID_GET])
            if answer[0] == ffa.FFA_SUCCESS:
                self.spmc_id = answer[2] & 0xFFFF
        self.notifications.boot()
        for vm in self.vms:
            refusal = self._create(vm)
            if refusal is not None and self.profile.creation_fails_on_refusal:
                self.refused.append((vm, refusal))

    def _create(self, vm: VirtualMachine) -> str | None:
        """A VM's creation (Xen ffa_domain_init): the SPs told of it, then its notification bitmap; the first
        refusal, or None."""
        return self.vm_availability.created(vm) or self.notifications.create_bitmap(vm)

    def _boot_call(self, regs: list[int]) -> list[int]:
        return self.spmc_call(None, regs)

    def _firmware_supports(self, fid: int) -> bool:
        return self._boot_call([ffa.FFA_FEATURES, fid])[0] in (ffa.FFA_SUCCESS, ffa.FFA_FN64_SUCCESS)

    def _fetch_partitions(self, call_spmc: Callable[[list[int]], list[int]], uuid: tuple[int, ...] = (0, 0, 0, 0),
                          flags: int = 0, release: bool = True) -> list[PartitionInfo]:
        """FFA_PARTITION_INFO_GET into the mediator's RX buffer, then (unless the caller will) release it."""
        answer = call_spmc([ffa.FFA_PARTITION_INFO_GET, *uuid, flags])
        if answer[0] != ffa.FFA_SUCCESS:
            raise FfaError(to_signed(answer[2], 32))
        count, size = answer[2] & MASK32, answer[3] & MASK32
        try:
            entries = unpack_entries(self.physmem.read(self.rx_pa, min(count * size, PAGE_SIZE)), count, size)
        finally:
            if release:
                call_spmc([ffa.FFA_RX_RELEASE])
        self.account.charge(self.cost.copy_cost(count * size), "copy")
        if size != ffa.PARTITION_INFO_SIZE_V1_0 or any(uuid):
            return entries  # a specific UUID's entries carry no UUID (the SPMC zeroes it)
        known = {p.endpoint_id: p.uuid for p in self.partitions}
        return [e._replace(uuid=known.get(e.endpoint_id, e.uuid)) for e in entries]

    # -- per-VM state ------------------------------------------------------------
    def attach(self, vm: VirtualMachine) -> None:
        version = VersionState() if self.profile.version_per_vm else self._host_version
        vm.ffa = VmFfaState(version)
        self.vms.append(vm)
        for engine in vm.engines:
            engine.mem_fault_classifier = lambda address, _access: self._stage2_fault(vm, address)

    def _stage2_fault(self, vm: VirtualMachine, ipa: int) -> str | None:
        handle = self.memory.lent_page_handle(vm, ipa)
        return None if handle is None else f"stage-2 fault: page lent to a secure partition (handle {handle:#x})"

    def detach(self, vm: VirtualMachine) -> None:
        """VM teardown, in Xen's order (ffa.c ffa_domain_teardown, ffa_domain_teardown_continue): its buffers, its
        notification bitmap, the SPs told of its creation, then every handle it still holds.  What is left (an SP
        asking to be told again, a share an SP still holds) is tried again after the profile's delay (Xen:
        every second, ffa_teardown_timer_callback); without one it stays as it is, recorded.  Under
        CONFIG_FFA_VM_TO_VM it first leaves the list of VMs the others see."""
        self.vm_list.withdraw(vm)
        self.indirect.unregister(None, vm)
        vm.ffa.buffers = None
        self.notifications.detach(vm)
        self._continue_teardown(vm)

    def _continue_teardown(self, vm: VirtualMachine) -> None:
        told = self.vm_availability.destroyed(vm)
        reclaimed = self.memory.teardown(vm)
        delay = int(self.profile.teardown_retry_seconds * self.cost.core_hz)
        if not (told and reclaimed) and delay:
            self._teardowns.append((self.secure.clock.now + delay, vm))
            self.teardown_due = min(due for due, _ in self._teardowns)

    def tick(self) -> None:
        """Go on with the teardowns that are due (the machine calls this once the clock passes teardown_due)."""
        now = self.secure.clock.now
        due = [vm for at, vm in self._teardowns if at <= now]
        self._teardowns = [(at, vm) for at, vm in self._teardowns if at > now]
        self.teardown_due = min((at for at, _ in self._teardowns), default=NEVER)
        for vm in due:
            self._continue_teardown(vm)

    def caller_id(self, vm: VirtualMachine) -> int:
        """The endpoint ID a VM's calls carry (pKVM: the host's, 0, for every caller)."""
        host = self.profile.host_endpoint
        return vm.endpoint_id if host is None else host

    def offered_version(self) -> int:
        """The highest version VMs are offered: the one run with the SPMC, or (Xen) the mediator's own."""
        return self.version if self.profile.vm_version_capped_by_firmware else self.own_version

    def vm_version(self, vm: VirtualMachine) -> int:
        requested = vm.ffa.version.requested
        offered = self.offered_version()
        return offered if requested is None or requested > offered else requested

    def firmware_refuses(self, fid: int) -> bool:
        """The profile gates ``fid`` on an ID the SPMC did not report in FFA_FEATURES at boot."""
        gate = self._gates.get(fid)
        return gate is not None and gate not in self.firmware_abis

    def implemented(self) -> int:
        """How many FF-A function IDs this profile does not refuse (for STD_SVC_CALL_COUNT)."""
        if not self.available:
            return 0
        return sum(1 for fid in ffa.FUNCTION_IDS.values()
                   if self.profile.fid_disposition(fid) is not Disposition.REFUSE)

    # -- dispatch ---------------------------------------------------------------------
    def handle(self, call: Call) -> CallResult:
        if not self.available:
            return self._unavailable(call)
        self.account.charge_all(self._call_charges)
        fid, profile = call.fid, self.profile
        route = self._routes.get(fid.value)
        if route is None:
            route = self._routes[fid.value] = self._route(fid.value)
        short, disposition, handler, since_minor = route
        hinted = fid.sve_hint and not profile.sve_hint_masked
        if short != "VERSION" or hinted:
            version = call.vm.ffa.version
            if not version.negotiated and profile.before_version_error is not None:
                return self._reply(call, self.error(profile.before_version_error))
            if profile.lock_on_first_other_call and not version.locked:
                version.locked = True
                if profile.vm_to_vm:
                    self.vm_list.publish(call.vm)
        if hinted:  # Xen compares the whole w0 (ffa.c ffa_handle_call): a hinted ID is no ID it knows
            return self._reply(call, self.error(ffa.NOT_SUPPORTED))
        try:
            if disposition is Disposition.REFUSE:
                raise FfaError(ffa.NOT_SUPPORTED)
            if disposition is Disposition.FORWARD:
                return self._reply(call, self._spmc(call, self._request(call)))
            if handler is None or since_minor > ffa.version_minor(self.vm_version(call.vm)):
                raise FfaError(ffa.NOT_SUPPORTED)  # not implemented, or newer than the caller's version
            return self._reply(call, handler(call))
        except FfaError as err:
            return self._reply(call, self.error(err.code))
        except TranslationFault:
            return self._reply(call, self.error(ffa.INVALID_PARAMETERS))

    def _route(self, fid: int) -> tuple[str | None, Disposition, Callable[[Call], list[int]] | None, int]:
        """(ABI short name, disposition, handler, FF-A minor version it appeared in) of a function ID; an ID
        outside our ABI table has no name and is refused or forwarded as the profile says.  An ID the profile
        gates on one the firmware did not report is refused."""
        name = ffa.NAMES.get(fid)
        disposition = Disposition.REFUSE if self.firmware_refuses(fid) else self.profile.fid_disposition(fid)
        if name is None:
            return None, disposition, None, 0
        short = ffa.abi_short(name)
        return short, disposition, self._handlers.get(short), ffa.ABI_BY_NAME[f"FFA_{short}"].since_minor

    # -- talking to the SPMC ----------------------------------------------------------
    def _request(self, call: Call) -> list[int]:
        """The frame forwarded to the SPMC: pKVM passes x0-x17 as they are, others the convention's view (for
        SMC64 that is ``call.args``, already a copy of the frame that no handler changes)."""
        if call.fid.smc64:
            return call.args
        if self.profile.write_all_registers:
            return list(call.frame)
        return call.args + [0] * (FRAME - SMC32_REGS)

    def spmc_call(self, call: Call | None, regs: list[int]) -> list[int]:
        """Send a call the mediator builds itself (registers from x0, the rest zero)."""
        return self._spmc(call, regs + [0] * (FRAME - len(regs)))

    def spmc_call_ok(self, call: Call | None, regs: list[int]) -> list[int]:
        """``spmc_call`` for a call that must succeed: the SPMC's error is raised as FfaError (anything but
        FFA_SUCCESS or FFA_ERROR as NOT_SUPPORTED, as Xen's ffa_simple_call reads it)."""
        answer = self.spmc_call(call, regs)
        if answer[0] in (ffa.FFA_SUCCESS, ffa.FFA_FN64_SUCCESS):
            return answer
        code = to_signed(answer[2], 32) if answer[0] == ffa.FFA_ERROR else 0
        raise FfaError(code or ffa.NOT_SUPPORTED)

    def _caller_irq(self) -> bool:
        vm = self._caller
        return vm is not None and vm.gic.pending_irq(vm.running)

    def _spmc(self, call: Call | None, request: list[int]) -> list[int]:
        """Forward one frame to the SPMC, recording both hops in the trace."""
        start = self.secure.clock.cell.value  # as Clock.now, without a property call (twice per call)
        self._caller = None if call is None else call.vm
        exchange = self.secure.call(request)
        if self.trace.listened:
            self._hops(call, exchange, start)
        if exchange.sgis:
            self.notifications.schedule_receiver(call, exchange.sgis)
        return exchange.response

    def _hops(self, call: Call | None, exchange: SpmcExchange, start: int) -> None:
        request, response = exchange.request, exchange.response
        fid, name, nargs = self._hop_shape(request[0])
        seq = call.seq if call is not None else 0
        vm = call.vm.name if call is not None else BOOT_VM
        wide = response[0] in _WIDE_RESPONSES
        note = None if exchange.aborted is None else f"aborted and rolled back: {exchange.aborted}"
        to_spmc = hop_record(seq, vm, HOP_TO_SPMC, fid, name, request[1:nargs + 1], [], start, exchange.entered,
                             None, None)
        from_spmc = hop_record(seq, vm, HOP_FROM_SPMC, fid, name, [], response[:FRAME if wide else 8],
                               exchange.left, self.secure.clock.cell.value, decode.error_of(response), note)
        if call is not None:
            call.hops += [to_spmc, from_spmc]
        else:
            self.trace.emit(to_spmc, from_spmc)

    def _hop_shape(self, x0: int) -> tuple[int, str, int]:
        """(function ID as traced, its name, how many arguments are shown) of a forwarded frame's x0, found once
        per x0 (a forwarded call's two hops need them, and decoding them costs more than the lookup)."""
        shape = self._hop_shapes.get(x0)
        if shape is None:
            fid = decode_fid(x0)
            name, nargs, _nresults = decode.shape(fid)
            shape = fid.raw, name, nargs
            if len(self._hop_shapes) < HOP_SHAPES_CACHED:
                self._hop_shapes[x0] = shape
        return shape

    # -- replies ----------------------------------------------------------------------
    def error(self, code: int) -> list[int]:
        out = _zeros()
        out[0] = ffa.FFA_ERROR
        out[2] = code & (MASK64 if self.profile.error_sign_extended else MASK32)
        return out

    @staticmethod
    def success(*values: int, wide: bool = False) -> list[int]:
        out = _zeros()
        out[0] = ffa.FFA_FN64_SUCCESS if wide else ffa.FFA_SUCCESS
        for i, value in enumerate(values, start=2):
            out[i] = value
        return out

    def _reply(self, call: Call, response: list[int]) -> CallResult:
        """Write a response frame back per the profile's register rules."""
        profile = self.profile
        if profile.write_all_registers:
            return CallResult(response, True, call.note)  # by position: once per call
        if call.fid.smc64:
            regs = response[:FRAME if response[0] in _WIDE_RESPONSES else SMC32_REGS]
        else:
            regs = [value & MASK32 for value in response[:SMC32_REGS]]
        if profile.zero_x8_x17_from_1_2 and call.vm.ffa.version.locked and self.vm_version(call.vm) >= ffa.VERSION_1_2:
            return CallResult(regs + [0] * (FRAME - len(regs)), True, call.note)
        return CallResult(regs, False, call.note)

    # -- handlers: each returns the response frame or raises FfaError ---------------------
    def _version(self, call: Call) -> list[int]:
        state = call.vm.ffa.version
        requested = call.args[1] & MASK32
        answer = self.profile.negotiate(state, requested, self.offered_version())
        if answer.ask_firmware:
            reply = self._spmc(call, [ffa.FFA_VERSION, answer.record] + [0] * (FRAME - 2))
            if to_signed(reply[0], 32) < 0:
                return [ffa.NOT_SUPPORTED & MASK64] + [0] * (FRAME - 1)
            self.version = answer.record
        if answer.record is not None:
            state.requested = answer.record
        if answer.lock:
            state.locked = True
        out = _zeros()
        out[0] = answer.w0 & (MASK64 if answer.w0 < 0 else MASK32)
        return out

    def _id_get(self, call: Call) -> list[int]:
        return self.success(call.vm.endpoint_id)

    def _spm_id_get(self, call: Call) -> list[int]:
        if self.vm_version(call.vm) < ffa.VERSION_1_1 or self.spmc_id is None:
            raise FfaError(ffa.NOT_SUPPORTED)
        return self.success(self.spmc_id)

    def _features(self, call: Call) -> list[int]:
        w1 = call.args[1] & MASK32
        if w1 in self._own_features and not self.firmware_refuses(w1):
            return self.success(self._own_features[w1])
        name = ffa.NAMES.get(w1)
        if self.profile.features_forwarded:
            # pKVM do_ffa_features: NOT_SUPPORTED for what it refuses, MEM_SHARE/LEND answered (no dynamic
            # buffers), anything else (feature IDs and unknown IDs too) forwarded to the firmware.
            if self.profile.fid_disposition(w1) is Disposition.REFUSE:
                raise FfaError(ffa.NOT_SUPPORTED)
            if name is not None and ffa.abi_short(name) in ("MEM_SHARE", "MEM_LEND"):
                return self.success(0)
            return self._spmc(call, self._request(call))
        if not w1 >> 31 or name is None or self.profile.fid_disposition(w1) is Disposition.REFUSE \
                or self.firmware_refuses(w1):
            raise FfaError(ffa.NOT_SUPPORTED)  # feature IDs: answered only from the profile's own table
        abi = ffa.ABI_BY_NAME[f"FFA_{ffa.abi_short(name)}"]
        version = self.vm_version(call.vm)
        if abi.since_minor > ffa.version_minor(version):
            raise FfaError(ffa.NOT_SUPPORTED)
        properties = 0
        if ffa.abi_short(name) == "RXTX_MAP":
            properties = ffa.RXTX_MAP_MIN_BUF_4K
            if version >= ffa.VERSION_1_2:
                properties |= self.profile.rxtx_max_pages << ffa.RXTX_MAP_MAX_PAGES_SHIFT
        return self.success(properties)

    def _rxtx_map(self, call: Call) -> list[int]:
        """Hafnium (api_vm_configure_pages) refuses a second pair first; pKVM (do_ffa_rxtx_map) and Xen
        (ffa_handle_rxtx_map) check the count (the whole w3) and the alignment before.  Overlapping buffers and
        pages in a share are INVALID_PARAMETERS (Hafnium: not owned and exclusive; pKVM: __pkvm_host_share_hyp
        fails); Xen maps any pair of RW RAM pages."""
        state: VmFfaState = call.vm.ffa
        profile = self.profile
        if profile.rxtx_mapped_checked_first and state.buffers is not None:
            raise FfaError(ffa.DENIED)
        tx, rx, pages = call.args[1], call.args[2], call.args[3] & MASK32
        limit = profile.rxtx_max_pages
        if pages == 0 or pages > limit or (profile.rxtx_exact_pages and pages != limit):
            raise FfaError(ffa.INVALID_PARAMETERS)
        if tx % PAGE_SIZE or rx % PAGE_SIZE:
            raise FfaError(ffa.INVALID_PARAMETERS)
        if state.buffers is not None:
            raise FfaError(ffa.DENIED)
        size = pages * PAGE_SIZE
        strict = profile.rxtx_refuses_overlap
        if strict and tx < rx + size and rx < tx + size:
            raise FfaError(ffa.INVALID_PARAMETERS)
        stage2 = call.vm.stage2
        if not stage2.contains(tx, size) or not stage2.contains(rx, size):
            raise FfaError(ffa.INVALID_PARAMETERS)
        if strict and self.memory.in_transaction(call.vm, [(tx, size), (rx, size)]):
            raise FfaError(ffa.INVALID_PARAMETERS)  # pages the VM has shared, lent or donated
        if self.hyp_shared(call.vm, tx, size) or self.hyp_shared(call.vm, rx, size):
            raise FfaError(ffa.INVALID_PARAMETERS)  # pKVM: __pkvm_host_share_hyp fails (mem_protect.c)
        self.indirect.register(call, tx, rx, pages)
        state.buffers = RxTx(tx, rx, pages)
        return self.success()

    def _rxtx_unmap(self, call: Call) -> list[int]:
        state: VmFfaState = call.vm.ffa
        if call.args[1] & self.profile.rxtx_unmap_w1_mask or state.buffers is None:
            raise FfaError(ffa.INVALID_PARAMETERS)
        if self.profile.rxtx_unmap_denied_while_rx_held and state.buffers.rx_held_by_vm:
            raise FfaError(ffa.DENIED)
        self.indirect.unregister(call, call.vm)
        state.buffers = None
        return self.success()

    def _rx_release(self, call: Call) -> list[int]:
        buffers = call.vm.ffa.buffers
        if buffers is None or not buffers.rx_held_by_vm:
            raise FfaError(ffa.DENIED)
        self.indirect.release_rx(call, call.vm)
        buffers.rx_held_by_vm = False
        return self.success()

    def _rx_acquire(self, call: Call) -> list[int]:
        buffers = call.vm.ffa.buffers
        if self.vm_version(call.vm) < ffa.VERSION_1_1:
            raise FfaError(ffa.NOT_SUPPORTED)
        if buffers is None or buffers.rx_held_by_vm:
            raise FfaError(ffa.DENIED)
        buffers.rx_held_by_vm = True
        return self.success()

    def _matching(self, uuid: tuple[int, int, int, int]) -> list[PartitionInfo]:
        """The partitions a UUID names; for a specific UUID the entries' UUID field is zero (DEN0077A
        13.8: it is implied by the request; Hafnium api_partition_info_get, Xen ffa_partinfo.c)."""
        if uuid == (0, 0, 0, 0):
            return list(self.partitions)
        found = [p for p in self.partitions if p.uuid == uuid]
        if self.profile.partition_info_uuid_zeroed:
            found = [p._replace(uuid=(0, 0, 0, 0)) for p in found]
        if not found:
            raise FfaError(ffa.INVALID_PARAMETERS)
        return found

    def _partition_info_get(self, call: Call) -> list[int]:
        vm = call.vm
        uuid = uuid_from_words(call.args[1:5])
        flags = call.args[5] & MASK32
        version = self.vm_version(vm)
        profile = self.profile
        is_1_0 = version < ffa.VERSION_1_1
        refused = flags & ~ffa.PARTITION_INFO_FLAG_COUNT_ONLY or \
            flags and is_1_0 and profile.partition_info_v1_0_no_flags
        if profile.partition_info_flags_checked and refused:
            raise FfaError(ffa.INVALID_PARAMETERS)  # reserved flag bits (Xen: and any flag from a 1.0 caller)
        count_only = bool(flags & ffa.PARTITION_INFO_FLAG_COUNT_ONLY)
        buffers = vm.ffa.buffers
        tracks_rx = not profile.rx_release_forwarded
        if not count_only and buffers is None:
            raise FfaError(profile.partition_info_no_buffer_error)
        if not count_only and tracks_rx and buffers.rx_held_by_vm:
            raise FfaError(ffa.BUSY)
        if count_only:
            if profile.partition_info_cached:
                return self.success(len(self._listed(vm, uuid)), 0)
            answer = self.spmc_call(call, [ffa.FFA_PARTITION_INFO_GET, *uuid, flags])
            if answer[0] != ffa.FFA_SUCCESS:
                raise FfaError(to_signed(answer[2], 32))
            return self.success(answer[2] & MASK32, 0)
        self.indirect.acquire_rx(call, vm)
        size = entry_size_for(version)
        try:
            if profile.partition_info_cached:
                entries = self._listed(vm, uuid)
            else:
                entries = self._fetch_partitions(lambda regs: self.spmc_call(call, regs), uuid, flags, tracks_rx)
            data = b"".join(entry.pack(size) for entry in entries)
            if len(data) > buffers.size:
                raise FfaError(ffa.NO_MEMORY)
        except FfaError:
            self.indirect.release_rx(call, vm)  # Xen ffa_handle_partition_info_get: out_rx_release
            raise
        vm.write_ipa(buffers.rx_ipa, data)
        self.account.charge(self.cost.copy_cost(len(data)), "copy")
        buffers.rx_held_by_vm = tracks_rx
        return self.success(len(entries), 0 if is_1_0 and profile.partition_info_v1_0_no_size else size)

    def _listed(self, vm: VirtualMachine, uuid: tuple[int, int, int, int]) -> list[PartitionInfo]:
        """The partitions a mediator answering from its own list gives ``vm`` for ``uuid``: the SPs, then the VMs."""
        return self._matching(uuid) + self._vm_entries(vm, uuid)

    def _vm_entries(self, vm: VirtualMachine, uuid: tuple[int, int, int, int]) -> list[PartitionInfo]:
        """The VMs Xen lists after the SPs, for a nil UUID only (ffa_partinfo.c ffa_get_vm_partinfo): the caller
        itself for a caller of FF-A 1.2, then (CONFIG_FFA_VM_TO_VM) the other VMs in the order they joined; one
        execution context per vCPU."""
        if uuid != (0, 0, 0, 0):
            return []
        listed = [vm] if self.profile.lists_caller and self.vm_version(vm) >= ffa.VERSION_1_2 else []
        if self.profile.vm_to_vm:
            listed += [other for other in self.vm_list.vms if other is not vm]
        return [PartitionInfo(v.endpoint_id, len(v.vcpus), self.profile.own_entry_properties) for v in listed]

    def _partition_info_get_regs(self, call: Call) -> list[int]:
        if self.vm_version(call.vm) < ffa.VERSION_1_2:
            raise FfaError(ffa.NOT_SUPPORTED)
        x = call.args
        uuid = uuid_from_regs(x[1], x[2])
        entries = self._listed(call.vm, uuid)
        start, tag = x[3] & 0xFFFF, (x[3] >> 16) & 0xFFFF
        current = self.vm_list.tag if self.profile.vm_to_vm else self.profile.info_regs_tag
        if current is None:
            if tag:
                raise FfaError(ffa.RETRY)
        elif start == 0 and tag:  # Xen ffa_handle_partition_info_get_regs: a first call carries no tag
            raise FfaError(ffa.INVALID_PARAMETERS)
        elif start and tag != current:
            raise FfaError(ffa.RETRY)
        tag = current or 0
        if start >= len(entries):
            raise FfaError(ffa.INVALID_PARAMETERS)
        chosen = entries[start:start + ffa.PARTITION_INFO_REGS_MAX_ENTRIES]
        last = start + len(chosen) - 1
        out = _zeros()
        out[0] = ffa.FFA_FN64_SUCCESS
        out[2] = ffa.PARTITION_INFO_SIZE_V1_1 << 48 | tag << 32 | last << 16 | (len(entries) - 1)
        for i, entry in enumerate(chosen):
            out[3 + 3 * i:6 + 3 * i] = entry.to_regs()
        return out

    def _check_endpoints(self, call: Call) -> None:
        w1 = call.args[1] & MASK32
        sender, receiver = w1 >> 16, w1 & 0xFFFF
        caller = self.caller_id(call.vm)
        if self.profile.check_direct_sender and (sender != caller or receiver == caller):
            raise FfaError(ffa.INVALID_PARAMETERS)
        if not receiver & ffa.SECURE_ID_BIT:
            raise FfaError(self.profile.direct_vm_receiver_error)  # Xen ffa_msg.c: NOT_SUPPORTED
        if receiver not in self._partition_ids and not self.profile.direct_unknown_sp_forwarded:
            raise FfaError(ffa.INVALID_PARAMETERS)

    def _direct_req(self, call: Call) -> list[int]:
        self._check_endpoints(call)
        return self._spmc(call, self._request(call))

    def _direct_req2(self, call: Call) -> list[int]:
        # A caller at a version before 1.2 was refused NOT_SUPPORTED by handle() (the ABI's since_minor).
        self._check_endpoints(call)
        return self._spmc(call, self._request(call))

    def _console_log(self, call: Call) -> list[int]:
        count = call.args[1] & MASK32
        width, first, last = (8, 2, FRAME) if call.fid.smc64 else (4, 2, SMC32_REGS)
        if count == 0 or count > (last - first) * width:
            raise FfaError(ffa.INVALID_PARAMETERS)
        packed = b"".join((call.args[i] & ((1 << 8 * width) - 1)).to_bytes(width, "little")
                          for i in range(first, last))
        text = packed[:count].decode("ascii", errors="replace")
        console = call.vm.console
        for char in text:
            console.putc(ord(char))
        return self.success()
