"""The table of differences between mediator profiles, generated from the profiles.

Version negotiation rows are computed by running each profile's own
negotiation hook on the canonical cases, so the table cannot drift from the
behaviour.  ``ffa-emu profiles`` prints it; the README embeds it.
"""

from __future__ import annotations

from emu.ffa import constants as ffa
from emu.ffa.profiles import PROFILES, Profile, VersionAnswer, VersionState
from emu.el2.smccc import version_str


def _answer(answer: VersionAnswer) -> str:
    text = ffa.ERROR_NAMES[answer.w0] if answer.w0 < 0 else version_str(answer.w0)
    notes = []
    if answer.ask_firmware:
        notes.append(f"asks the SPMC for {version_str(answer.record)}")
    if answer.record is not None:
        notes.append(f"records {version_str(answer.record)}")
    if answer.lock:
        notes.append("locks")
    return f"{text} ({', '.join(notes)})" if notes else text


def _negotiation_rows(profile: Profile) -> list[str]:
    own = profile.own_version
    lower = own - 1  # one minor below its own

    def fresh(requested: int) -> str:
        return _answer(profile.negotiate(VersionState(), requested, own))

    locked = VersionState(requested=own, locked=True)
    before = profile.before_version_error
    if profile.lock_on_first_other_call:
        locks = "first non-VERSION call"
    else:
        locks = "first FFA_VERSION" if profile.negotiate(VersionState(), own, own).lock else "never"
    return [
        version_str(own),
        "accepted" if before is None else f"ERROR({ffa.ERROR_NAMES[before]})",
        fresh(0x2_0000),
        fresh(ffa.VERSION_MBZ | own),
        fresh(ffa.make_version(1, 3)),
        f"{version_str(lower)}: " + fresh(lower),
        locks,
        f"{version_str(lower)}: " + _answer(profile.negotiate(locked, lower, own)),
        "per VM" if profile.version_per_vm else "one for the whole host",
    ]


_NEGOTIATION_CASES = [
    "the mediator's own version",
    "non-VERSION call before any FFA_VERSION",
    "FFA_VERSION(2.0): major mismatch",
    "FFA_VERSION(own version with bit 31 set)",
    "FFA_VERSION(1.3): higher minor",
    "FFA_VERSION(a lower minor) before the lock",
    "the version locks at",
    "FFA_VERSION(a lower minor) after locking at its own",
    "negotiated version kept",
]


def _abi_rows(profiles: list[Profile]) -> list[tuple[str, list[str]]]:
    keys = sorted({key for p in profiles for key in p.abis})
    rows = []
    for key in keys:
        short = key.removesuffix("64")
        name = f"FFA_{short}" + (" (64-bit)" if key.endswith("64") else "")
        rows.append((name, [p.disposition(short, key.endswith("64")).value for p in profiles]))
    rows.append(("any other FF-A function ID", [p.unlisted.value for p in profiles]))
    return rows


def _descriptor_bound(profile: Profile) -> str:
    if not profile.fragments_allowed:
        return "one TX buffer"
    bounds = [f"{profile.max_descriptor_length} bytes"] if profile.max_descriptor_length is not None else []
    if profile.max_fragments is not None:
        bounds.append(f"{profile.max_fragments} fragments")
    return " and ".join(bounds) + " (NO_MEMORY beyond)"


def render_markdown() -> str:
    profiles = list(PROFILES.values())
    header = "| case | " + " | ".join(f"`{p.name}` ({p.release})" for p in profiles) + " |"
    rule = "|---" * (len(profiles) + 1) + "|"
    lines = ["Version negotiation (with a 1.2 SPMC):", "", header, rule]
    columns = [_negotiation_rows(p) for p in profiles]
    for i, case in enumerate(_NEGOTIATION_CASES):
        lines.append(f"| {case} | " + " | ".join(col[i] for col in columns) + " |")
    lines += ["", "ABIs (refused: FFA_ERROR(NOT_SUPPORTED)):", "", header, rule]
    for name, cells in _abi_rows(profiles):
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Registers, errors and limits:", "", header, rule]
    facts = [
        ("FFA_ERROR code in x2", lambda p: "64-bit sign-extended" if p.error_sign_extended else "zero-extended w2"),
        ("registers written on return", lambda p: "x0-x17, SMC32 or not" if p.write_all_registers
         else "x0-x7 (x0-x17 for 64-bit responses that use them)"),
        ("x8-x17 on return", lambda p: "zeroed once the VM's version is locked at 1.2" if p.zero_x8_x17_from_1_2
         else ("results built by EL2 start zeroed" if p.write_all_registers else "preserved (SMCCC 1.2)")),
        ("direct request sender must be the caller", lambda p: "yes" if p.check_direct_sender else "no (forwarded)"),
        ("RXTX_MAP page count", lambda p: f"exactly {p.rxtx_max_pages}" if p.rxtx_exact_pages
         else f"1..{p.rxtx_max_pages}"),
        ("PARTITION_INFO_GET source", lambda p: "list cached at boot" if p.partition_info_cached
         else "SPMC, through the mediator's RX buffer"),
        ("FFA_FEATURES", lambda p: "forwarded to the SPMC unless refused" if p.features_forwarded
         else "answered by the mediator per negotiated version"),
        ("VM's RX buffer ownership", lambda p: "the SPMC's: RX_RELEASE forwarded frees the mediator's buffer"
         if p.rx_release_forwarded else "tracked by the mediator (BUSY until FFA_RX_RELEASE)"),
        ("the caller in its own partition list", lambda p: "yes, for 1.2 callers" if p.lists_caller else "no"),
        ("memory descriptor in fragments", lambda p: "yes" if p.fragments_allowed else "no (NOT_SUPPORTED)"),
        ("a fragmented descriptor, at most", _descriptor_bound),
        ("borrowers per transaction", lambda p: "any" if p.single_borrower_error is None
         else f"one ({ffa.ERROR_NAMES[p.single_borrower_error]} otherwise)"),
        ("the caller's endpoint ID", lambda p: "the VM's own" if p.host_endpoint is None
         else f"{p.host_endpoint} (the host) for every VM"),
        ("PSCI conduit in the guest's device tree", lambda p: p.psci_conduit.upper()),
        ("conduits reaching FF-A", lambda p: " or ".join(c.upper() for c in p.ffa_conduits)
         + ("" if "hvc" in p.ffa_conduits else " (over HVC: -1 in x0 only)")),
        ("FF-A function numbers", lambda p: f"{ffa.FFA_FNUM_MIN:#x}-{p.ffa_fnum_max:#x}"),
        ("memory a VM may share", lambda p: "RW normal write-back only" if p.require_rw_normal else "RO or RW"),
        ("pages per transaction", lambda p: "any" if p.max_pages_per_share is None
         else f"at most {p.max_pages_per_share}"),
        ("transactions per VM", lambda p: "any" if p.max_shares_per_vm is None
         else f"at most {p.max_shares_per_vm}"),
        ("memory ABIs towards the SPMC", lambda p: "64-bit IDs" if p.mem_forward_fn64 else "as the VM called"),
    ]
    for label, fact in facts:
        lines.append(f"| {label} | " + " | ".join(fact(p) for p in profiles) + " |")
    notes = [f"- `{p.name}`: {note}" for p in profiles for note in p.notes]
    if notes:
        lines += ["", "Known gaps of the release variants:", "", *notes]
    return "\n".join(lines) + "\n"
