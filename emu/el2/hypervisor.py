"""The EL2 trap handler: every HVC and SMC a guest makes lands here.

It decodes the conduit, the immediate and the function ID, routes the call
to the service that owns it (SMCCC architecture calls, PSCI, the standard
hypervisor service, FF-A, the RMM), applies the SMCCC 1.2 register rules to
the result, charges the transition costs and records the trace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple

from emu.trace import decode
from emu.el2 import psci
from emu.el2 import smccc
from emu.cpu.blockcost import Account, CallLedger, Charges, Clock
from emu.cpu.costmodel import CostModel
from emu.cpu.engine import EXCP_HVC, Engine
from emu.cpu.exceptions import EC_UNKNOWN, ESR_IL
from emu.cpu.trapentry import FixedAnswerLog, NativeTrapEntry
from emu.cpu.vmem import read_virtual
from emu.el2.fixed_answers import FixedAnswers, Site
from emu.el2.smccc import FRAME_REGS, MASK64, FunctionId, decode_fid
from emu.trace.records import Trace, TraceRecord, call_record
from emu.trace.sites import SiteNamer
from emu.vm import VirtualMachine


class CallResult:
    """What a service answers: result registers and how to write them.

    ``regs`` maps register number to value, or is a list of x0, x1, ... in
    order (no dict built for a frame that is already a list).  Normally the SMCCC convention
    of the call is enforced when writing them back (SMC32: w0-w7 only,
    zero-extended); ``raw`` writes them as given, for behaviours that a real
    mediator has even though SMCCC does not allow them (e.g. pKVM writing
    x0-x17 on every return).
    """

    __slots__ = ("regs", "raw", "note")

    def __init__(self, regs: dict[int, int] | list[int], raw: bool = False, note: str | None = None) -> None:
        self.regs = regs
        self.raw = raw
        self.note = note


class Call:
    """One trapped call, as a service sees it."""

    __slots__ = ("vm", "fid", "frame", "args", "conduit", "seq", "hops", "note")

    def __init__(self, vm: VirtualMachine, fid: FunctionId, frame: list[int], args: list[int], conduit: str,
                 seq: int) -> None:
        self.vm = vm
        self.fid = fid
        self.frame = frame  # x0-x17 as the guest left them
        self.args = args  # what the convention lets the callee see (w0-w7 or x0-x17)
        self.conduit = conduit
        self.seq = seq
        self.hops: list[TraceRecord] = []
        self.note: str | None = None  # what the handler wants shown beside the result in the trace


Handler = Callable[[Call], CallResult]


def ret(*values: int) -> CallResult:
    """Results in x0, x1, ... in order."""
    return CallResult(list(values))


class _Constant:
    """A handler whose answer never changes: the trap path takes ``result`` without making a Call."""

    __slots__ = ("result",)

    def __init__(self, result: CallResult) -> None:
        self.result = result

    def __call__(self, call: Call) -> CallResult:
        return self.result


def constant(result: CallResult) -> Handler:
    """A handler whose answer never changes (built once, not per call)."""
    return _Constant(result)


ROUTES_CACHED = 65536  # x0 values remembered per conduit (a fuzzer's random IDs must not fill memory)
UNKNOWN = CallResult({0: MASK64}, raw=True)  # -1 as 64 bits, as Xen, pKVM and TF-A write it
_unknown = constant(UNKNOWN)


class _Route(NamedTuple):
    """A function ID (as x0 holds it), where it goes and how its call is traced (decode.shape).

    ``answer`` is set when the handler is a constant one whose results are x0, x1, ... (see fixed_answer):
    a trapped call then returns ``answer`` followed by the rest of its frame.  When the results the trace
    shows all lie in it, ``answer_results`` holds them and ``answer_error`` what they decode to (else None).
    """

    fid: FunctionId
    handler: Handler
    name: str
    nargs: int
    nresults: int
    answer: list[int] | None
    answer_results: list[int] | None
    answer_error: str | None


def fixed_answer(fid: FunctionId, result: CallResult) -> list[int] | None:
    """x0, x1, ... as ``result`` leaves them in any trapped frame (``apply_results`` gives them followed by the
    rest of the frame), or None when it writes registers that are not such a prefix.

    Found by applying it to two frames that differ in every bit: the registers it writes come out equal.
    """
    zeros = smccc.apply_results(fid, [0] * FRAME_REGS, result.regs, result.raw)
    ones = smccc.apply_results(fid, [MASK64] * FRAME_REGS, result.regs, result.raw)
    written = [zero == one for zero, one in zip(zeros, ones)]
    count = written.index(False) if False in written else FRAME_REGS
    return None if any(written[count:]) else zeros[:count]


def _answered(route: _Route, frame: list[int]) -> tuple[list[int], list[int]]:
    """A fixed answer's frame back (``route.answer`` then the rest of ``frame``) and the arguments the call's
    record is made of ([x0] when the trace shows none)."""
    answer = route.answer
    return answer + frame[len(answer):], smccc.call_args(route.fid, frame) if route.nargs else frame[:1]


def _results(route: _Route, out: list[int]) -> tuple[list[int], str | None]:
    """The results a call's record shows of the frame ``out`` it answered, and the error they decode to."""
    if route.answer_results is not None:  # a fixed answer's results (whatever the frame): decoded once
        return route.answer_results[:], route.answer_error
    results = out[:route.nresults]
    return results, decode.error_of(results)


class Hypervisor:
    """The Python EL2: one per machine, shared by every VM."""

    def __init__(self, clock: Clock, cost: CostModel, trace: Trace, symbolize: bool = True) -> None:
        self.clock = clock
        self.cost = cost
        self.trace = trace
        self.account = Account("el2", clock)
        self.symbolize = symbolize
        self.traps = 0
        self._checker = None
        # Calls with a fixed answer, answered by the engines' native trap hooks once Python has answered them
        # from the same site (while no one must see each call as it happens).
        self.fixed_answers = FixedAnswers(clock.address, self._fixed_call)
        trace.on_streaming(self.fixed_answers.forget)
        self._ledger = CallLedger()  # the groups each call charges, in the accounts it is attributed to
        self._ledger.attribute(self.account)
        transitions = cost.transition
        # EL2's charges, fixed groups built once from the cost model (a forwarded call's breakdown is then looked
        # up, not summed: see CallLedger): the entry, the return (handler and exit), and the two as one for a
        # constant call; an UNDEF injection's exit alone.
        entry = (transitions["el1_to_el2"], "entry_exit")
        exit_ = (transitions["el2_to_el1"], "entry_exit")
        group = self.account.group
        self._entry_charges = group(entry)
        self._exit_charges = group(exit_)
        self._return_charges = group((transitions["el2_handler"], "handler"), exit_)
        self._answer_charges = group(entry, *self._return_charges.pairs)  # a whole constant call
        self._sites: dict[str, SiteNamer] = {}  # VM name -> its calling-site namer
        # VM name -> its latest call: the record, or while the trace needs none, what call_record makes it of
        self._last_calls: dict[str, TraceRecord | tuple] = {}
        self._exact: dict[int, Handler] = {}
        self._ranges: list[tuple[Callable[[int], bool], Handler, Callable[[], int], tuple[str, ...]]] = []
        self._routes: dict[str, dict[int, _Route]] = {"hvc": {}, "smc": {}}  # conduit -> x0 -> route, as calls come
        self._dedicated: dict[str, tuple[Callable[[int], bool], Handler]] = {}  # conduit -> its one service
        self._register_core()

    # -- registration -------------------------------------------------------
    def register(self, fid: int, handler: Handler) -> None:
        self._exact[fid] = handler
        self._forget_routes()

    def register_range(self, owns: Callable[[int], bool], handler: Handler, count: Callable[[], int],
                       conduits: tuple[str, ...] = ("hvc", "smc")) -> None:
        """A service owning a set of IDs (e.g. FF-A); ``count`` says how many it implements, ``conduits``
        which conduits reach it (through any other, its IDs are unknown functions)."""
        self._ranges.append((owns, handler, count, conduits))
        self._forget_routes()

    def dedicate(self, conduit: str, owns: Callable[[int], bool], handler: Handler) -> None:
        """``conduit`` reaches the service owning ``owns`` alone: through it any other ID is an unknown function
        (pKVM: the host's HVCs all go to KVM's hypercall table, hyp-main.c handle_host_hcall)."""
        self._dedicated[conduit] = (owns, handler)
        self._forget_routes()

    def _forget_routes(self) -> None:
        for routes in self._routes.values():
            routes.clear()
        self.fixed_answers.forget()

    @property
    def checker(self):  # an emu.invariants.InvariantChecker when the machine runs with check=True, else None
        return self._checker

    @checker.setter
    def checker(self, checker) -> None:
        self._checker = checker
        self.fixed_answers.forget()  # the checker sees every call

    def handles(self, fid: FunctionId, conduit: str) -> bool:
        """Whether a call of ``fid`` through ``conduit`` reaches a service (else it is an unknown function)."""
        return self._handler_of(fid, conduit) is not _unknown

    def implemented_in_owner(self, owner: int) -> int:
        count = sum(1 for fid in self._exact if (fid >> 24) & 0x3F == owner)
        if owner == smccc.Owner.STANDARD:
            count += sum(count_fn() for _owns, _handler, count_fn, _conduits in self._ranges)
        return count

    def attribute(self, account: Account) -> None:
        """Show ``account``'s charges (e.g. EL3's) in each call's breakdown; the rest of a call is the SPMC's."""
        self._ledger.attribute(account)

    def attach(self, vm: VirtualMachine) -> None:
        for engine in vm.engines:
            engine.trap_handler = partial(self.on_trap, vm)
            if engine.trap_entry.answers_calls:
                engine.trap_entry.on_log = partial(self._take_log, vm)

    # -- the trap path --------------------------------------------------------
    def on_trap(self, vm: VirtualMachine, engine: Engine, intno: int) -> None:
        self.traps += 1
        conduit = "hvc" if intno == EXCP_HVC else "smc"
        start = self.clock.cell.value
        entry = engine.trap_entry
        frame, pc, insn = entry.trap()
        call_pc = pc - 4
        imm = insn >> 5 & 0xFFFF
        route = self._routes[conduit].get(frame[0]) or self._route(frame[0], conduit)
        if imm == 0 and route.answer is not None:
            out = self._answer(vm, conduit, route, frame, start, call_pc)
            if entry.answers_calls and self._checker is None and not self.trace.streaming:
                self._teach(vm, entry, intno, conduit, route, frame[0], pc, insn, call_pc)
        else:
            self._ledger.open()
            self.account.charge_all(self._entry_charges)
            if imm != 0:
                # Xen's behaviour: SMCCC uses immediate 0 only; anything else is UNDEFINED.
                engine.inject_sync(EC_UNKNOWN << 26 | ESR_IL, call_pc, f"{conduit} #{imm}")
                self.account.charge_all(self._exit_charges)
                self._record(vm, self.trace.next_seq(), conduit, imm, route, frame, None, start, call_pc,
                             "UNDEF injected", [], smccc.call_args(route.fid, frame), self._ledger.close())
                return
            out = self._handle(vm, conduit, route, frame, self.trace.next_seq(), start, call_pc)
        if out != frame:
            entry.write(out)

    def handle_frame(self, vm: VirtualMachine, conduit: str, frame: list[int]) -> list[int]:
        """Handle one SMCCC call frame of ``vm`` as if it had trapped, and return the frame the VM gets back.

        Tests, fuzzers and the Python API call it to drive the mediator with
        arbitrary frames; it is traced like a trapped call, without a site.
        """
        start = self.clock.cell.value
        self._ledger.open()
        return self._handle(vm, conduit, self._route(frame[0], conduit), frame, self.trace.next_seq(), start, None)

    def _answer(self, vm: VirtualMachine, conduit: str, route: _Route, frame: list[int], start: int,
                call_pc: int) -> list[int]:
        """A trapped call with a fixed answer (``route.answer``): no Call made, no ledger opened (EL2's own
        charges are all there is to it), the same charges, results and trace as ``_handle`` gives."""
        seq = self.trace.next_seq()
        breakdown = self.account.charge_alone(self._answer_charges)
        out, args = _answered(route, frame)
        self._record(vm, seq, conduit, 0, route, frame, out, start, call_pc, route.handler.result.note, (), args,
                     breakdown)
        return out

    def _teach(self, vm: VirtualMachine, entry: NativeTrapEntry, intno: int, conduit: str, route: _Route, x0: int,
               pc: int, insn: int, call_pc: int) -> None:
        """Let the engine's trap hook answer this site's calls itself, as ``_answer`` just did."""
        charges = self._answer_charges
        note = route.handler.result.note
        site = Site(vm.name, conduit, route, self._site(vm, call_pc), note, self.account.breakdown_alone(charges),
                    charges.total)
        self.fixed_answers.teach(entry, intno, x0, pc, insn, route.answer, site)

    def _take_log(self, vm: VirtualMachine, log: FixedAnswerLog) -> None:
        """The calls of ``vm`` its engine's trap hook answered: counted, numbered and traced as ``_answer`` would."""
        self.traps += log.count
        self.account.charged_natively(log.cycles)
        first = self.trace.take_seqs(log.count)
        self._last_calls[vm.name] = self.fixed_answers.last_call(log, first)
        if self.trace.kept:
            calls = self.fixed_answers.calls_later(log, first)
            self.trace.keep_later(lambda: [self._call_record(*args) for args in calls()])

    @staticmethod
    def _fixed_call(site: Site, frame: list[int], seq: int, start: int) -> tuple:
        """``_call_record``'s arguments for a call the trap hook answered at ``site`` (see ``_answer``)."""
        route = site.route
        out, args = _answered(route, frame)
        return (seq, site.vm_name, site.conduit, 0, route, args, out, start, start + site.cycles, site.name,
                site.note, site.breakdown.copy())

    def _handle(self, vm: VirtualMachine, conduit: str, route: _Route, frame: list[int], seq: int, start: int,
                call_pc: int | None) -> list[int]:
        fid, handler = route.fid, route.handler
        args = smccc.call_args(fid, frame)
        if type(handler) is _Constant:  # SMCCC_VERSION, the CPU workarounds, PSCI_VERSION...: the hottest calls
            result, hops = handler.result, []
        else:
            call = Call(vm, fid, frame, args, conduit, seq)
            result, hops = handler(call), call.hops
        self.account.charge_all(self._return_charges)
        out = smccc.apply_results(fid, frame, result.regs, result.raw)
        self._record(vm, seq, conduit, 0, route, frame, out, start, call_pc, result.note, hops, args,
                     self._ledger.close())
        return out

    def _route(self, x0: int, conduit: str) -> _Route:
        """The function ID in ``x0``, its handler through a conduit and its shape in the trace, found once (the
        trap path looks in ``_routes`` first)."""
        routes = self._routes.setdefault(conduit, {})  # the trap path's two are there from the start
        route = routes.get(x0)
        if route is None:
            fid = decode_fid(x0)
            handler = self._handler_of(fid, conduit)
            name, nargs, nresults = decode.shape(fid)
            answer = fixed_answer(fid, handler.result) if type(handler) is _Constant else None
            results = answer[:nresults] if answer is not None and nresults <= len(answer) else None
            error = decode.error_of(results) if results is not None else None
            route = _Route(fid, handler, name, nargs, nresults, answer, results, error)
            if len(routes) < ROUTES_CACHED:
                routes[x0] = route
        return route

    def _handler_of(self, fid: FunctionId, conduit: str) -> Handler:
        dedicated = self._dedicated.get(conduit)
        if dedicated is not None:
            owns, handler = dedicated
            return handler if owns(fid.value) and not fid.reserved_bits_set else _unknown
        handler = self._exact.get(fid.value)
        if handler is None:
            for owns, range_handler, _count, conduits in self._ranges:
                if owns(fid.value):
                    handler = range_handler if conduit in conduits else None
                    break
        if handler is None or fid.reserved_bits_set:
            return _unknown
        return handler

    def _record(self, vm: VirtualMachine, seq: int, conduit: str, imm: int, route: _Route, frame: list[int],
                out: list[int] | None, start: int, call_pc: int | None, note: str | None,
                hops: Sequence[TraceRecord], args: list[int],
                breakdown: dict[str, int] | tuple[Charges, ...]) -> None:
        """Trace a call (``out``: what it answered; None when it was not answered) and let the invariant checker
        see an answered one.  ``breakdown``: the call's, or the sequence its ledger closed with."""
        site, end, trace = self._site(vm, call_pc), self.clock.cell.value, self.trace
        if trace.listened:
            rec = self._last_calls[vm.name] = self._call_record(seq, vm.name, conduit, imm, route, args, out, start,
                                                                end, site, note, breakdown)
            if hops:
                trace.emit(rec, *hops)
            else:  # a positional call costs less than one that unpacks
                trace.emit(rec)
        else:  # _call_record's arguments: the record is made if last_call() asks for it
            self._last_calls[vm.name] = (seq, vm.name, conduit, imm, route, args, out, start, end, site, note,
                                         breakdown)
        if out is not None and self._checker is not None:
            self._checker.after_call(vm, route.fid, frame, out, seq, conduit)

    def _site(self, vm: VirtualMachine, call_pc: int | None) -> Callable[[], str | None] | None:
        """What names the calling site at ``call_pc`` when the trace shows it (None: no site to name)."""
        if not self.symbolize or call_pc is None:
            return None
        found = (self._sites.get(vm.name) or self.site_namer(vm)).site(call_pc)
        return found.name if found is not None else None

    def last_call(self, vm_name: str) -> TraceRecord | None:
        """The record of the latest call VM ``vm_name`` made, None before its first."""
        last = self._last_calls.get(vm_name)
        if type(last) is tuple:
            last = self._last_calls[vm_name] = self._call_record(*last)
        return last

    def _call_record(self, seq: int, vm_name: str, conduit: str, imm: int, route: _Route, args: list[int],
                     out: list[int] | None, start: int, end: int, site: Callable[[], str | None] | None,
                     note: str | None, breakdown: dict[str, int] | tuple[Charges, ...]) -> TraceRecord:
        """The ``call`` record of a call (``out``: what it answered, None when it was not answered), made when
        the trace or ``last_call`` needs it; ``breakdown`` may be the sequence the call's ledger closed with."""
        results, error = ([], None) if out is None else _results(route, out)
        if type(breakdown) is tuple:
            breakdown = self._ledger.breakdown(breakdown, start, end)
        return call_record(seq, vm_name, conduit, imm, route.fid.raw, route.name, args[1:route.nargs + 1], results,
                           start, end, error, site, note, breakdown)

    def site_namer(self, vm: VirtualMachine) -> SiteNamer:
        """Names code addresses of ``vm`` (``function+0xoff (file:line)``), relocated code too."""
        namer = self._sites.get(vm.name)
        if namer is None:
            namer = self._sites[vm.name] = SiteNamer(
                vm.image, lambda va, size: read_virtual(vm.engines[vm.running].uc, va, size, True))
        return namer

    # -- SMCCC architecture, standard service and standard hypervisor queries --
    def _register_core(self) -> None:
        for fid in (smccc.SMCCC_ARCH_WORKAROUND_1, smccc.SMCCC_ARCH_WORKAROUND_2, smccc.SMCCC_ARCH_WORKAROUND_3):
            self.register(fid, constant(ret(smccc.SUCCESS)))
        self.register(smccc.SMCCC_VERSION, constant(ret(smccc.SMCCC_VERSION_1_2)))
        self.register(smccc.SMCCC_ARCH_FEATURES, self._arch_features)
        self.register(smccc.STD_SVC_CALL_COUNT, lambda call: ret(self.implemented_in_owner(smccc.Owner.STANDARD)))
        self.register(smccc.STD_SVC_UID, constant(ret(*smccc.STD_SVC_UID_WORDS)))
        self.register(smccc.STD_SVC_REVISION,
                      constant(ret(smccc.STD_SVC_REVISION_MAJOR, smccc.STD_SVC_REVISION_MINOR)))
        self.register(smccc.STD_HYP_CALL_COUNT,
                      lambda call: ret(self.implemented_in_owner(smccc.Owner.STANDARD_HYP)))
        self.register(smccc.STD_HYP_UID, constant(ret(*smccc.STD_HYP_UID_WORDS)))
        self.register(smccc.STD_HYP_REVISION,
                      constant(ret(smccc.STD_HYP_REVISION_MAJOR, smccc.STD_HYP_REVISION_MINOR)))
        self.register(psci.PSCI_VERSION, constant(ret(psci.PSCI_VERSION_1_1)))
        self.register(psci.PSCI_FEATURES, self._psci_features)
        self.register(psci.PSCI_SYSTEM_OFF, lambda call: self._power_off(call, "SYSTEM_OFF"))
        self.register(psci.PSCI_SYSTEM_RESET, lambda call: self._power_off(call, "SYSTEM_RESET"))

    def _arch_features(self, call: Call) -> CallResult:
        queried = call.args[1] & smccc.MASK32
        if queried in (smccc.SMCCC_VERSION, smccc.SMCCC_ARCH_FEATURES):
            return ret(smccc.SUCCESS)
        if queried in (smccc.SMCCC_ARCH_WORKAROUND_1, smccc.SMCCC_ARCH_WORKAROUND_2,
                       smccc.SMCCC_ARCH_WORKAROUND_3):
            return ret(smccc.NOT_REQUIRED)  # the emulated PE does not speculate
        return ret(smccc.NOT_SUPPORTED)

    def _psci_features(self, call: Call) -> CallResult:
        queried = call.args[1] & smccc.MASK32
        implemented = queried in psci.IMPLEMENTED or queried == smccc.SMCCC_VERSION
        return ret(psci.PSCI_SUCCESS if implemented else psci.PSCI_NOT_SUPPORTED)

    def _power_off(self, call: Call, reason: str) -> CallResult:
        call.vm.power_off(reason)
        return CallResult({})
