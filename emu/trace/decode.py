"""Human-readable decoding of calls and results, for traces.

For each known function ID: its name, how many argument registers it
defines, and how to print its arguments and its result (error names,
versions as major.minor, endpoint pairs).  Unknown calls print as hex.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from emu.el2 import psci
from emu.secure import rmm_abi as rmm
from emu.el2 import pkvm_hcall_abi as pkvm_hcall
from emu.el2 import smccc
from emu.ffa import constants as ffa
from emu.el2.smccc import FunctionId, to_signed, version_str

ArgFormatter = Callable[[Sequence[int]], str]
ResultFormatter = Callable[[Sequence[int]], str]


class Signature(NamedTuple):
    """How a known function ID is named and its registers printed."""

    name: str
    nargs: int  # argument registers after x0 that the call defines
    fmt_args: ArgFormatter
    fmt_result: ResultFormatter
    nresults: int  # result registers from x0 that the call defines


_HEX_LISTS: list[str] = []  # n -> "%#x, %#x, ..." (n of them): formats n registers in one operation


def _hex_list(regs: Sequence[int], first: int = 0) -> str:
    """``", ".join(map(hex, regs[first:]))``, with one format string per count (the same text: ``"%#x" % v`` is
    ``hex(v)``, for negative values too), which writes each number straight into the result."""
    values = tuple(regs[first:])
    try:
        return _HEX_LISTS[len(values)] % values
    except IndexError:
        while len(_HEX_LISTS) <= len(values):
            _HEX_LISTS.append(", ".join(["%#x"] * len(_HEX_LISTS)))
        return _HEX_LISTS[len(values)] % values


def _hex_args(args: Sequence[int]) -> str:
    return _hex_list(args, 1)


def _smccc_status(regs: Sequence[int]) -> str:
    code = to_signed(regs[0], 32) if regs[0] >> 32 == 0 else to_signed(regs[0])
    return {0: "SUCCESS", -1: "NOT_SUPPORTED", -2: "NOT_REQUIRED", -3: "INVALID_PARAMETER"}.get(code, str(code))


def _version_or_error(regs: Sequence[int]) -> str:
    if to_signed(regs[0], 32) < 0:
        return _smccc_status(regs)
    return version_str(regs[0])


def fid_name(value: int) -> str:
    """The name of a function ID, or its hex value."""
    value &= smccc.MASK32
    sig = _SIGNATURES.get(value & ~smccc.SVE_HINT)
    return sig.name if sig else f"{value:#010x}"


def _fid_arg(args: Sequence[int]) -> str:
    return fid_name(args[1])


def _uid(regs: Sequence[int]) -> str:
    if to_signed(regs[0], 32) == -1:
        return "NOT_SUPPORTED"
    return "-".join(f"{r & smccc.MASK32:08x}" for r in regs[:4])


def _revision(regs: Sequence[int]) -> str:
    return f"{regs[0] & smccc.MASK32}.{regs[1] & smccc.MASK32}"


def _count(regs: Sequence[int]) -> str:
    return str(regs[0] & smccc.MASK32)


def _none(_: Sequence[int]) -> str:
    return ""


def _endpoints(word: int) -> str:
    return "%#x->%#x" % ((word >> 16) & 0xFFFF, word & 0xFFFF)  # half the cost of an f-string's "#x" specs


def ffa_error_name(code: int) -> str:
    return ffa.ERROR_NAMES.get(code, str(code))


def ffa_result(regs: Sequence[int]) -> str:
    """Decode an FF-A response frame by its x0."""
    x0 = regs[0] & smccc.MASK32
    name = ffa.NAMES.get(x0)
    if name is None:
        return f"{regs[0]:#x}"
    if name == "FFA_ERROR":
        return f"FFA_ERROR({ffa_error_name(to_signed(regs[2], 32))})"
    if name in ("FFA_SUCCESS", "FFA_FN64_SUCCESS"):
        fields = [f"w{i}={regs[i]:#x}" for i in range(2, min(len(regs), 8)) if regs[i]]
        return f"{name}({', '.join(fields)})"
    if "DIRECT_RESP" in name:
        first = 4 if name.endswith("RESP2") else 3
        return f"{name}({_endpoints(regs[1])}, {_framework(name, regs[2])}{_hex_list(regs, first)})"
    return f"{name}({', '.join(f'{v:#x}' for v in regs[1:8] if v)})"


def _ffa_version_args(args: Sequence[int]) -> str:
    return version_str(args[1]) if not args[1] >> 31 else f"{args[1]:#x}"


def _ffa_version_result(regs: Sequence[int]) -> str:
    if to_signed(regs[0], 32) < 0:
        return ffa_error_name(to_signed(regs[0], 32))
    return version_str(regs[0])


_FRAMEWORK_MESSAGES = {ffa.DIRECT_MSG_VM_CREATED: "VM_CREATED", ffa.DIRECT_MSG_VM_CREATED_ACK: "VM_CREATED_ACK",
                       ffa.DIRECT_MSG_VM_DESTROYED: "VM_DESTROYED",
                       ffa.DIRECT_MSG_VM_DESTROYED_ACK: "VM_DESTROYED_ACK"}


def _framework(name: str, w2: int) -> str:
    """``framework VM_CREATED, `` for a framework direct message (w2 bit 31; not in the 1.2 REQ2/RESP2)."""
    if name.endswith("2") or not w2 & ffa.DIRECT_MSG_FRAMEWORK_FLAG:
        return ""
    kind = w2 & 0xFF
    return f"framework {_FRAMEWORK_MESSAGES.get(kind, hex(kind))}, "


def _ffa_direct_args(args: Sequence[int]) -> str:
    return f"{_endpoints(args[1])}, {_framework('', args[2])}{_hex_list(args, 3)}"


def _ffa_direct2_args(args: Sequence[int]) -> str:
    return "%s, uuid=%#x:%#x, %s" % (_endpoints(args[1]), args[2], args[3], _hex_list(args, 4))


def _ffa_notif_pair_args(args: Sequence[int]) -> str:
    """BIND, UNBIND, SET: ``0x8002->0x1, flags=0x0, bitmap=0x10000000008`` (w3/w4 the bitmap's halves)."""
    bitmap = (args[3] & smccc.MASK32) | (args[4] & smccc.MASK32) << 32
    return f"{_endpoints(args[1])}, flags={args[2] & smccc.MASK32:#x}, bitmap={bitmap:#x}"


def _ffa_features_args(args: Sequence[int]) -> str:
    w1 = args[1] & smccc.MASK32
    return fid_name(w1) if w1 >> 31 else f"feature {w1}"


def _pkvm_hcall_result(regs: Sequence[int]) -> str:
    """x0 = 0 (taken) and the handler's result in x1: 0 or -errno; or x0 = -1 (not taken)."""
    if regs[0]:
        return _smccc_status(regs)
    return pkvm_hcall.result_text(regs[1] if len(regs) > 1 else 0)


def _rmm_revision(word: int) -> str:
    """major.minor, or hex when reserved bits 63:31 are set (never a revision)."""
    return version_str(word) if word <= rmm.REVISION_MAX else f"{word:#x}"


def _rmm_args(args: Sequence[int]) -> str:
    return _rmm_revision(args[1])


def _rmm_result(interface: str) -> ResultFormatter:
    """``RMI_ERROR_INPUT lower=1.0 higher=2.0`` (status names carry the interface: RMI or RSI)."""
    def fmt(regs: Sequence[int]) -> str:
        status = rmm.STATUS_NAMES.get(regs[0])
        status = f"{interface}_{status}" if status else str(regs[0])
        return f"{status} lower={_rmm_revision(regs[1])} higher={_rmm_revision(regs[2])}"
    return fmt


_FFA_ARGS: dict[str, tuple[int, ArgFormatter]] = {
    "VERSION": (1, _ffa_version_args),
    "FEATURES": (2, _ffa_features_args),
    "ID_GET": (0, _none),
    "SPM_ID_GET": (0, _none),
    "RX_RELEASE": (1, _hex_args),
    "RX_ACQUIRE": (1, _hex_args),
    "RXTX_MAP": (3, _hex_args),
    "RXTX_UNMAP": (1, _hex_args),
    "PARTITION_INFO_GET": (5, _hex_args),
    "PARTITION_INFO_GET_REGS": (3, _hex_args),
    "MSG_SEND_DIRECT_REQ": (7, _ffa_direct_args),
    "MSG_SEND_DIRECT_RESP": (7, _ffa_direct_args),
    "MSG_SEND_DIRECT_REQ2": (17, _ffa_direct2_args),
    "MSG_SEND_DIRECT_RESP2": (17, _ffa_direct2_args),
    "MSG_WAIT": (0, _none),
    "YIELD": (0, _none),
    "RUN": (1, _hex_args),
    "MEM_DONATE": (4, _hex_args),
    "MEM_LEND": (4, _hex_args),
    "MEM_SHARE": (4, _hex_args),
    "MEM_RECLAIM": (3, _hex_args),
    "MEM_FRAG_TX": (4, _hex_args),
    "MEM_FRAG_RX": (4, _hex_args),
    "MSG_SEND2": (2, _hex_args),
    "NOTIFICATION_BITMAP_CREATE": (2, _hex_args),
    "NOTIFICATION_BITMAP_DESTROY": (1, _hex_args),
    "NOTIFICATION_BIND": (4, _ffa_notif_pair_args),
    "NOTIFICATION_UNBIND": (4, _ffa_notif_pair_args),
    "NOTIFICATION_SET": (4, _ffa_notif_pair_args),
    "NOTIFICATION_GET": (2, _hex_args),
    "NOTIFICATION_INFO_GET": (0, _none),
}


def _build() -> dict[int, Signature]:
    sigs: dict[int, Signature] = {}

    def add(fid: int, name: str, nargs: int, fmt_args: ArgFormatter, fmt_result: ResultFormatter,
            nresults: int = 1) -> None:
        sigs[fid] = Signature(name, nargs, fmt_args, fmt_result, nresults)

    add(smccc.SMCCC_VERSION, "SMCCC_VERSION", 0, _none, _version_or_error)
    add(smccc.SMCCC_ARCH_FEATURES, "SMCCC_ARCH_FEATURES", 1, _fid_arg, _smccc_status)
    add(smccc.SMCCC_ARCH_SOC_ID, "SMCCC_ARCH_SOC_ID", 1, _hex_args, _smccc_status)
    for fid in (smccc.SMCCC_ARCH_WORKAROUND_1, smccc.SMCCC_ARCH_WORKAROUND_2, smccc.SMCCC_ARCH_WORKAROUND_3):
        add(fid, smccc.ARCH_NAMES[fid], 1, _hex_args, _smccc_status)
    for prefix in ("STD_SVC", "STD_HYP"):
        add(getattr(smccc, f"{prefix}_CALL_COUNT"), f"{prefix}_CALL_COUNT", 0, _none, _count)
        add(getattr(smccc, f"{prefix}_UID"), f"{prefix}_UID", 0, _none, _uid, 4)
        add(getattr(smccc, f"{prefix}_REVISION"), f"{prefix}_REVISION", 0, _none, _revision, 2)
    add(psci.PSCI_VERSION, "PSCI_VERSION", 0, _none, _version_or_error)
    add(psci.PSCI_FEATURES, "PSCI_FEATURES", 1, _fid_arg, _smccc_status)
    add(psci.PSCI_SYSTEM_OFF, "PSCI_SYSTEM_OFF", 0, _none, _none, 0)
    add(psci.PSCI_SYSTEM_RESET, "PSCI_SYSTEM_RESET", 0, _none, _none, 0)
    add(rmm.RMI_VERSION, "RMI_VERSION", 1, _rmm_args, _rmm_result("RMI"), 3)
    for number, name in pkvm_hcall.NAMES.items():
        add(pkvm_hcall.HCALL_BASE | number, name, pkvm_hcall.ARGUMENTS[number], _hex_args, _pkvm_hcall_result, 2)
    add(rmm.RSI_VERSION, "RSI_VERSION", 1, _rmm_args, _rmm_result("RSI"), 3)
    for name, fid in ffa.FUNCTION_IDS.items():
        short = ffa.abi_short(name)
        smc64 = bool(fid & smccc.SMC64)
        nargs, fmt = _FFA_ARGS.get(short, (17 if smc64 else 7, _hex_args))
        fmt_result = _ffa_version_result if short == "VERSION" else ffa_result
        add(fid, name, nargs, fmt, fmt_result, 18 if smc64 else 8)
    return sigs


_SIGNATURES = _build()


def signature(fid: FunctionId) -> Signature | None:
    return _SIGNATURES.get(fid.value)


def describe(fid: FunctionId, args: Sequence[int], results: Sequence[int] | None) -> tuple[str, str, str]:
    """(name, argument text, result text) for a call."""
    sig = signature(fid)
    name = sig.name if sig is not None else f"{fid.raw:#010x}"
    plan = _plan(fid.raw)
    return name, _args_text(plan, args), _result_text(plan, results) if results else ""


class _TextPlan(NamedTuple):
    """How a function ID's texts are made: the formatter and how many registers it is given, for the
    arguments (x0 first; no formatter: no text) and for the results."""

    fmt_args: ArgFormatter | None
    args_count: int
    fmt_result: ResultFormatter
    results_count: int


def _unknown_result(regs: Sequence[int]) -> str:
    return f"{regs[0]:#x}"


_plans: dict[int, _TextPlan] = {}


def _plan(fid: int) -> _TextPlan:
    """The text plan of a function ID (as x0 holds it), made once per ID."""
    plan = _plans.get(fid)
    if plan is None:
        sig = signature(smccc.decode_fid(fid))
        if sig is None:
            plan = _TextPlan(_hex_args, 8, _unknown_result, 1)
        else:
            plan = _TextPlan(sig.fmt_args if sig.nargs else None, sig.nargs + 1,
                             sig.fmt_result, max(sig.nresults, 1))
        _plans[fid] = plan
    return plan


def _args_text(plan: _TextPlan, args: Sequence[int]) -> str:
    """The argument text of ``args`` (x0 first)."""
    if plan.fmt_args is None:
        return ""
    return _text(plan.fmt_args, args[:plan.args_count])


def _result_text(plan: _TextPlan, results: Sequence[int]) -> str:
    return _text(plan.fmt_result, results[:plan.results_count])


class RecentTexts:
    """The texts of the last few register lists formatted, to give again when a list comes back.

    A forwarded call's hops show its registers again (its arguments went to
    the SPMC, its results came from there), and formatting or printing them
    costs far more than comparing two lists.  Registers are ints: equal
    lists, same text.
    """

    SIZE = 8

    def __init__(self) -> None:
        self._recent: list[tuple[Callable[[Sequence[int]], str], Sequence[int], str]] = []
        self._next = 0  # the slot the next new text replaces

    def text(self, fmt: Callable[[Sequence[int]], str], regs: Sequence[int]) -> str:
        """``fmt(regs)``."""
        for seen_fmt, seen, text in self._recent:
            if seen_fmt is fmt and seen == regs:
                return text
        text = fmt(regs)
        entry = (fmt, list(regs), text)
        if len(self._recent) < self.SIZE:
            self._recent.append(entry)
        else:
            self._recent[self._next] = entry
            self._next = (self._next + 1) % self.SIZE
        return text


_text = RecentTexts().text


_shapes: dict[int, tuple[str, int, int]] = {}


def shape(fid: FunctionId) -> tuple[str, int, int]:
    """(name, argument count, result count) of a function ID, as the trace records it; computed once per ID."""
    found = _shapes.get(fid.raw)
    if found is None:
        sig = signature(fid)
        found = (sig.name, sig.nargs, sig.nresults) if sig else (f"{fid.raw:#010x}", 17 if fid.smc64 else 7, 1)
        _shapes[fid.raw] = found
    return found


def defined_args(fid: FunctionId, args: Sequence[int]) -> list[int]:
    """The argument registers (x1...) a call defines, for the trace."""
    sig = signature(fid)
    count = sig.nargs if sig else (17 if fid.smc64 else 7)
    return list(args[1:count + 1])


def defined_results(fid: FunctionId, regs: Sequence[int]) -> list[int]:
    sig = signature(fid)
    count = sig.nresults if sig else 1
    return list(regs[:count])


_SMCCC_ERRORS = {0xFFFF_FFFF: "NOT_SUPPORTED", 0xFFFF_FFFE: "NOT_REQUIRED", 0xFFFF_FFFD: "INVALID_PARAMETER"}  # by w0


def error_of(results: Sequence[int]) -> str | None:
    """The error a result frame carries: an FF-A error name or an SMCCC status."""
    if not results:
        return None
    w0 = results[0] & smccc.MASK32
    if w0 == ffa.FFA_ERROR and len(results) > 2:
        return ffa_error_name(to_signed(results[2], 32))
    return _SMCCC_ERRORS.get(w0)


def fill_text(rec) -> None:
    """Render a trace record's argument and result text from its registers, and name its site, once.

    Everything needed is in the record (function ID, defined arguments,
    defined results, what names the site), so the trap path only stores numbers.
    """
    if not rec.text_pending:
        return
    rec.text_pending = False
    if rec.site_pending is not None:
        rec.site, rec.site_pending = rec.site_pending(), None
    if rec.hop == "spmc->el2":
        rec.args_text = ""
        rec.result_text = _text(_ffa_version_result if rec.fid == ffa.FFA_VERSION else ffa_result, rec.results)
        return
    plan = _plans.get(rec.fid) or _plan(rec.fid)
    rec.args_text = _args_text(plan, [rec.fid, *rec.args]) if plan.fmt_args is not None else ""
    rec.result_text = _result_text(plan, rec.results) if rec.results else ""


# -- layouts: the texts the native jsonl encoder writes itself ---------------------------------------------------
# A formatter whose text is fixed steps over its registers has a layout, which native/tracejson.c follows instead of
# the formatter being called: the number of registers the formatter is given (the record's are cut to it), then
# steps: b"L" n and n bytes (written as they are: printable ASCII, no quote or backslash), b"X" i (%#x of register
# i), b"E" i (_endpoints of register i), b"H" i (_hex_list from i), b"N" i j (the nonzero ones of registers i..j-1,
# as _hex_list writes them), b"W" i j (as b"N", each as w<k>=%#x).  Registers are the formatter's: x0 first.

_X0_ONLY = (_smccc_status, _version_or_error, _ffa_version_result, _count)  # their text depends on x0 alone


def _literal(text: str) -> bytes | None:
    """The step that writes ``text``, or None if it needs escaping in JSON or is too long for one step."""
    if len(text) > 255 or not text.isascii() or not text.isprintable() or '"' in text or "\\" in text:
        return None
    return b"L" + bytes([len(text)]) + text.encode()


def _steps(fmt: Callable[[Sequence[int]], str], x0: int) -> bytes | None:
    """``fmt``'s steps, for registers whose x0 is ``x0``, or None when its text depends on more than they show."""
    if fmt is _none:
        return b""
    if fmt is _hex_args:
        return b"H\x01"
    if fmt is _unknown_result:
        return b"X\x00"
    if fmt is _ffa_direct2_args:
        return b"E\x01" + _literal(", uuid=") + b"X\x02" + _literal(":") + b"X\x03" + _literal(", ") + b"H\x04"
    if fmt in _X0_ONLY:
        return _literal(fmt([x0]))
    if fmt is not ffa_result:
        return None
    name = ffa.NAMES.get(x0 & smccc.MASK32)
    if name is None:
        return b"X\x00"
    if name == "FFA_ERROR" or ("DIRECT_RESP" in name and not name.endswith("RESP2")):
        return None  # the error's name, the framework message: from registers' values
    opened, closed = _literal(f"{name}("), _literal(")")
    if name in ("FFA_SUCCESS", "FFA_FN64_SUCCESS"):
        return opened + b"W\x02\x08" + closed
    if "DIRECT_RESP" in name:
        return opened + b"E\x01" + _literal(", ") + b"H\x04" + closed
    return opened + b"N\x01\x08" + closed


def _layout(fmt: Callable[[Sequence[int]], str] | None, count: int, x0: int) -> bytes | None:
    steps = b"" if fmt is None else _steps(fmt, x0)
    return None if steps is None else bytes([min(count, 255)]) + steps


def args_layout(hop: str, fid: int) -> bytes | None:
    """The layout of a pending record's argument text (as ``fill_text`` makes it), or None: only Python makes it."""
    if hop == "spmc->el2":
        return _layout(None, 0, fid)
    plan = _plans.get(fid) or _plan(fid)
    return _layout(plan.fmt_args, plan.args_count, fid)


def result_layout(hop: str, fid: int, x0: int) -> bytes | None:
    """The layout of a pending record's result text when its results' x0 is ``x0``, or None."""
    if hop == "spmc->el2":
        return _layout(_ffa_version_result if fid == ffa.FFA_VERSION else ffa_result, 255, x0)
    plan = _plans.get(fid) or _plan(fid)
    return _layout(plan.fmt_result, plan.results_count, x0)
