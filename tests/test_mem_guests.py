"""Memory sharing guests (guests/ffa_mem_*) per mediator profile: exit code, TAP, and the trace.

Each guest's TAP accepts "SUCCESS or NOT_SUPPORTED" where a profile refuses an ABI; these
tests pin exactly which profile answers what, the SP's checksum/fill results in the
DIRECT_RESP payloads, the descriptor summary in the MEM_* call's note, the hops forwarded
to the SPMC, and that every run ends with an empty ownership ledger.
"""

from __future__ import annotations

import pytest
from ffa_helpers import MASK32, MASK64, PROFILES, SERVICE_SP_ID, diag, is_error, is_success, run_ok, spmc_hops

from emu.ffa import constants as ffa
from emu.ffa.stub_partitions import SERVICE_PROTOCOL as SP
from emu.trace.records import HOP_TO_SPMC

HANDLE_BASE = 0x5350_4D43_0000_0000  # firmware/mem.h: MEM_HANDLE_BASE ("SPMC") + a counter from 1
DATA_IPA = 0x4100_0000  # guests/ffa_mem_share/mem_guest.h: MEM_DATA_IPA
WORDS = 512


def sender(profile: str, vm: int = 1) -> str:
    """The sender a guest puts in its descriptors: its FFA_ID_GET answer (pKVM: the host's, 0)."""
    return "0x0" if profile == "pkvm" else f"{vm:#x}"


def checksum(words) -> int:
    return sum(words) & MASK64


def handle(record) -> int:
    return (record.results[2] & MASK32) | (record.results[3] & MASK32) << 32


def direct(out, cmd: str, vm: str = "vm1") -> list:
    return [c for c in out.calls(name="FFA_FN64_MSG_SEND_DIRECT_REQ", vm=vm) if c.args[2] == SP[cmd]]


def forwarded(out, record) -> list[str]:
    to_spmc, _ = spmc_hops(out, record)
    return [h.name for h in to_spmc]


def ledger_empty(out) -> None:
    assert out.machine.mediator.memory.ledger.snapshot() == {}
    assert out.machine.mediator.memory.ledger.shares == {}


# -- ffa_mem_share ------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_share_lifecycle(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_mem_share", profile=profile)
    share, share32 = out.calls(name="FFA_FN64_MEM_SHARE")[0], out.calls(name="FFA_MEM_SHARE")[0]
    assert is_success(share) and handle(share) == HANDLE_BASE + 1
    assert share.note == f"share sender={sender(profile)} receivers=[{SERVICE_SP_ID:#x}:RW] ranges=[{DATA_IPA:#x}+1] pages=1"
    # Forwarded with the same kind; pKVM uses the 64-bit IDs towards the SPMC whatever the VM used.
    assert forwarded(out, share) == ["FFA_FN64_MEM_SHARE"]
    assert forwarded(out, share32) == ["FFA_FN64_MEM_SHARE" if profile == "pkvm" else "FFA_MEM_SHARE"]
    assert is_success(share32) and handle(share32) == HANDLE_BASE + 2
    # The SP's checksum of the guest's pattern (word i = INITIAL + i * STEP), then FILL.
    initial, step = 0x1111222233334444, 0x0101010101010101
    first, after_fill, after_reclaim = direct(out, "SERVICE_CMD_MEM_CHECKSUM")
    assert first.args[3] == HANDLE_BASE + 1
    assert first.results[0] == ffa.FFA_FN64_MSG_SEND_DIRECT_RESP
    assert first.results[3:5] == [checksum(initial + i * step for i in range(WORDS)), 1]
    (fill,) = direct(out, "SERVICE_CMD_MEM_FILL")
    assert fill.args[3:5] == [HANDLE_BASE + 1, 0xF111_0000_0000_0000] and fill.results[3] == 1
    assert after_fill.results[3:5] == [checksum(0xF111_0000_0000_0000 + i for i in range(WORDS)), 1]
    assert after_reclaim.results[3] == SP["SERVICE_ERR_NO_HANDLE"]
    (retrieve,), (relinquish,) = direct(out, "SERVICE_CMD_MEM_RETRIEVE"), direct(out, "SERVICE_CMD_MEM_RELINQUISH")
    assert retrieve.results[3] == 1 and relinquish.results[3] == 0
    held, ok, again, made_up, second = out.calls(name="FFA_MEM_RECLAIM")
    assert held.seq > retrieve.seq and ok.seq > relinquish.seq
    assert is_error(held, "DENIED") and forwarded(out, held) == ["FFA_MEM_RECLAIM"]  # the SPMC's answer
    assert is_success(ok) and forwarded(out, ok) == ["FFA_MEM_RECLAIM"]
    # Unknown handles never reach the SPMC.
    for record in (again, made_up):
        assert is_error(record, "INVALID_PARAMETERS") and forwarded(out, record) == []
    assert made_up.args[:2] == [0xBEEF, 0xDEAD]
    assert is_success(second)
    ledger_empty(out)


# -- ffa_mem_scatter ------------------------------------------------------------------
def _scatter_sums() -> tuple[int, int, int]:
    scattered = []
    for i in range(64):
        scattered += [((i + 1) << 40) + j * (i + 1) for j in range(WORDS)]
    scattered += [0xC805_5000_0000_0000 + 3 * j for j in range(8 * WORDS)]
    big = []
    for i in range(300):
        big += [0xB160_0000_0000 * (i + 1) + j * (7 * i + 1) for j in range(WORDS)]
    fill = [0x5CA7_0000_0000_0000 + k for k in range(72 * WORDS)]
    return checksum(scattered), checksum(big), checksum(fill)


@pytest.mark.parametrize("profile", PROFILES)
def test_scatter(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_mem_scatter", profile=profile)
    scattered_sum, big_sum, _ = _scatter_sums()
    first, *rest = out.calls(name="FFA_FN64_MEM_SHARE")
    assert is_success(first)
    assert first.note.startswith(f"share sender={sender(profile)} receivers=[0x8002:RW] ranges=[0x41000000+1 0x41002000+1 "
                                 "0x41004000+1 0x41006000+1 (+61 more)] pages=72")
    (to_spmc,), _ = spmc_hops(out, first)
    assert to_spmc.name == "FFA_FN64_MEM_SHARE"
    checksums = direct(out, "SERVICE_CMD_MEM_CHECKSUM")
    assert checksums[0].results[3:5] == [scattered_sum, 72]
    (fill,) = direct(out, "SERVICE_CMD_MEM_FILL")
    assert fill.results[3] == 72
    # The fragmented 300-page share: 5 guest fragments of <= 1000 bytes of a 4880-byte descriptor.
    frags = out.calls(name="FFA_MEM_FRAG_TX")
    if profile == "xen":
        (big,) = rest
        assert big.args[:2] == [4880, 1000] and is_error(big, "NOT_SUPPORTED")
        assert big.note is None and forwarded(out, big) == []  # refused before the descriptor is read
        assert frags == [] and len(checksums) == 1
        assert diag(out, "fragments sent") == "fragments sent: 1"
    else:
        (big,) = rest
        assert big.args[:2] == [4880, 1000]
        assert big.results[0] == ffa.FFA_MEM_FRAG_RX and big.results[3] == 1000
        assert handle_of_frag(big) >> 63 == 1  # provisional, the mediator's
        assert forwarded(out, big) == []  # nothing reaches the SPMC until the descriptor is whole
        assert [f.args[2] for f in frags] == [1000, 1000, 1000, 880]
        assert [f.results[0] for f in frags[:3]] == [ffa.FFA_MEM_FRAG_RX] * 3
        assert [f.results[3] for f in frags[:3]] == [2000, 3000, 4000]
        last = frags[-1]
        assert is_success(last) and handle(last) == HANDLE_BASE + 2
        assert last.note.startswith(f"share sender={sender(profile)} receivers=[0x8002:RW] ranges=[0x41400000+1 ") and \
            last.note.endswith("(+296 more)] pages=300")
        # The mediator re-sends it to the SPMC in fragments of its own (the rewrite is over 4 KiB).
        assert forwarded(out, last) == ["FFA_FN64_MEM_SHARE", "FFA_MEM_FRAG_TX"]
        to_spmc, from_spmc = spmc_hops(out, last)
        assert to_spmc[0].args[:2] == [4880, 4096] and to_spmc[1].args[2] == 784
        assert from_spmc[0].results[0] == ffa.FFA_MEM_FRAG_RX
        assert checksums[1].results[3:5] == [big_sum, 300]
        assert diag(out, "fragments sent") == "fragments sent: 5"
    ledger_empty(out)


def handle_of_frag(record) -> int:
    return (record.results[1] & MASK32) | (record.results[2] & MASK32) << 32


def test_scatter_fill_checksum(guest_image, spmc_image, run_guests) -> None:
    """FILL's words run across all 72 pages in descriptor order: the guest checked it; the sum agrees."""
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_mem_scatter", profile="spec")
    assert diag(out, "scattered: 65") == f"scattered: 65 constituents, 72 pages, guest checksum {_scatter_sums()[0]:#x}"


# -- ffa_mem_lend / ffa_mem_lent_touch / ffa_mem_hold ----------------------------------------
LEND = {"spec": "SUCCESS", "pkvm": "SUCCESS", "xen": "NOT_SUPPORTED"}
DONATE = {"spec": "SUCCESS", "pkvm": "NOT_SUPPORTED", "xen": "NOT_SUPPORTED"}


@pytest.mark.parametrize("profile", PROFILES)
def test_lend_donate(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_mem_lend", profile=profile)
    lend, donate = out.calls(name="FFA_FN64_MEM_LEND")[0], out.calls(name="FFA_FN64_MEM_DONATE")[0]
    lend32 = out.calls(name="FFA_MEM_LEND")
    fills = direct(out, "SERVICE_CMD_MEM_FILL")
    if LEND[profile] == "SUCCESS":
        assert is_success(lend) and lend.note == f"lend sender={sender(profile)} receivers=[0x8002:RW] ranges=[0x41010000+1] pages=1"
        assert forwarded(out, lend) == ["FFA_FN64_MEM_LEND"]
        assert fills[0].results[3] == 1
        assert is_success(lend32[0]) and lend32[0].note.endswith("ranges=[0x41020000+2] pages=2")
        assert forwarded(out, lend32[0]) == ["FFA_FN64_MEM_LEND" if profile == "pkvm" else "FFA_MEM_LEND"]
        (two,) = direct(out, "SERVICE_CMD_MEM_CHECKSUM")
        assert two.results[3:5] == [checksum(0x22 + 0x10001 * i for i in range(2 * WORDS)), 2]
    else:
        assert is_error(lend, "NOT_SUPPORTED") and lend.note is None and forwarded(out, lend) == []
        assert fills == [] and lend32 == []
    if DONATE[profile] == "SUCCESS":
        assert is_success(donate) and donate.note.startswith(f"donate sender={sender(profile)}")
        assert forwarded(out, donate) == ["FFA_FN64_MEM_DONATE"]
        reclaim = next(c for c in out.calls(name="FFA_MEM_RECLAIM") if c.args[0] == handle(donate) & MASK32)
        assert is_success(reclaim)
    else:
        assert is_error(donate, "NOT_SUPPORTED") and forwarded(out, donate) == []
    reclaims = out.calls(name="FFA_MEM_RECLAIM")
    assert all(is_success(r) for r in reclaims)
    assert len(reclaims) == {"spec": 4, "pkvm": 3, "xen": 1}[profile]
    ledger_empty(out)


@pytest.mark.parametrize("profile", ["spec", "pkvm"])
def test_lent_page_touch_faults(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_guests(guest_image("ffa_mem_lent_touch"), spmc_image=spmc_image, profile=profile)
    assert out.exit_code == 3
    vm = out.vm("vm1")
    assert vm.state == "fault"
    assert vm.fault.kind == f"stage-2 fault: page lent to a secure partition (handle {HANDLE_BASE + 1:#x})"
    assert vm.fault.address == DATA_IPA + 0x50000
    assert vm.tap.passed and len(vm.tap.passed) == 4 and vm.tap.plan == 5
    # Teardown: the mediator reclaims the handle the faulted VM still held, as EL2's own call.
    el2 = [r for r in out.records if r.vm == "el2" and r.hop == HOP_TO_SPMC and r.name == "FFA_MEM_RECLAIM"]
    assert [(r.args[0], r.args[1]) for r in el2] == [(1, HANDLE_BASE >> 32)]
    ledger_empty(out)


def test_lent_touch_xen_refuses(guest_image, spmc_image, run_guests) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_mem_lent_touch", profile="xen")
    assert is_error(out.calls(name="FFA_FN64_MEM_LEND")[0], "NOT_SUPPORTED")
    ledger_empty(out)


@pytest.mark.parametrize("profile", PROFILES)
def test_power_off_holding_shares(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_mem_hold", profile=profile)
    held = [c for c in out.calls() if c.name.startswith("FFA_FN64_MEM_") and is_success(c)]
    el2 = [r for r in out.records if r.vm == "el2" and r.hop == HOP_TO_SPMC and r.name == "FFA_MEM_RECLAIM"]
    assert len(held) == (1 if profile == "xen" else 2)
    assert [r.args[0] | r.args[1] << 32 for r in el2] == [handle(c) for c in held]
    off = out.calls(name="PSCI_SYSTEM_OFF")[0]
    assert all(r.cycle_start >= off.cycle_start for r in el2)
    ledger_empty(out)


# -- ffa_mem_errors -------------------------------------------------------------------
DESCRIPTOR_ERRORS = [  # (what the guest diag says, error), in the guest's order
    ("pages outside the VM's RAM (IPA 0x20000000)", "INVALID_PARAMETERS"),
    ("a range running past the end of RAM", "INVALID_PARAMETERS"),
    ("composite offset outside the descriptor and TX buffer", "INVALID_PARAMETERS"),
    ("a sender ID other than the caller's", "INVALID_PARAMETERS"),
    ("a receiver that is not an SP (0x0002)", "INVALID_PARAMETERS"),
    ("a receiver SP that does not exist (0x8009)", "INVALID_PARAMETERS"),
    ("a constituent of zero pages", "INVALID_PARAMETERS"),
    ("total page count not the constituents' sum", "INVALID_PARAMETERS"),
    ("an unaligned constituent address", "INVALID_PARAMETERS"),
    ("EMAD size 0", "INVALID_PARAMETERS"),
    ("the same receiver twice", "INVALID_PARAMETERS"),
    ("a non-zero handle in the header", "INVALID_PARAMETERS"),
    ("sharing its own TX buffer", "DENIED"),
    ("sharing its own RX buffer", "DENIED"),
    ("the same page twice in one descriptor", "DENIED"),
    ("pages overlapping an existing share", "DENIED"),
]


@pytest.mark.parametrize("profile", PROFILES)
def test_errors(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_mem_errors", profile=profile)
    shares = out.calls(name="FFA_FN64_MEM_SHARE")
    held, cases, registers = shares[0], shares[1:17], shares[17:21]
    assert is_success(held) and handle(held) == HANDLE_BASE + 1
    for (what, error), record in zip(DESCRIPTOR_ERRORS, cases, strict=True):
        assert is_error(record, error), (what, record.result_text)
        assert forwarded(out, record) == [], what  # the mediator refuses them all itself
        assert f"-> ERROR({error})" in diag(out, f"MEM_SHARE: {what} ->")
    # The descriptor is summarised when it parsed, and the refusal explained when it did not.
    assert cases[0].note.endswith("ranges=[0x20000000+1] pages=1")
    assert cases[2].note.startswith("descriptor refused: composite descriptor")
    assert cases[9].note == "descriptor refused: memory access descriptor size 0 is invalid"
    assert cases[3].note.startswith(f"share sender={int(sender(profile), 16) + 1:#x} ")  # own ID + 1
    assert cases[15].note.endswith("ranges=[0x410ff000+3] pages=3")
    for record in registers:
        assert is_error(record, "INVALID_PARAMETERS") and forwarded(out, record) == []
    (frag_tx_unknown, *frag_tx) = out.calls(name="FFA_MEM_FRAG_TX")
    two = shares[21]
    if profile == "xen":
        assert is_error(frag_tx_unknown, "NOT_SUPPORTED") and frag_tx == []
        assert two.args[:2] == [96, 48] and is_error(two, "NOT_SUPPORTED")
    else:
        assert is_error(frag_tx_unknown, "INVALID_PARAMETERS")
        assert two.results[0] == ffa.FFA_MEM_FRAG_RX and two.results[3] == 48
        (rest,) = frag_tx
        assert rest.args[2] == 48 and is_success(rest) and forwarded(out, rest) == ["FFA_FN64_MEM_SHARE"]
    final = shares[-1]
    assert is_success(final) and final.note.endswith("ranges=[0x410ff000+3] pages=3")
    assert all(is_success(r) for r in out.calls(name="FFA_MEM_RECLAIM"))
    ledger_empty(out)


# -- ffa_mem_owner + ffa_mem_thief ------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_thief_cannot_reclaim(guest_image, spmc_image, run_guests, profile: str) -> None:
    out = run_ok(run_guests, guest_image, spmc_image, "ffa_mem_owner", "ffa_mem_thief", profile=profile)
    (share,) = out.calls(name="FFA_FN64_MEM_SHARE", vm="vm1")
    owner = handle(share)
    assert owner == HANDLE_BASE + 1 and diag(out, "owner handle") == f"owner handle {owner:#x}"
    theft = [c for c in out.calls(name="FFA_MEM_RECLAIM", vm="vm2") if c.args[0] | c.args[1] << 32 == owner]
    (own_reclaim, _) = out.calls(name="FFA_MEM_RECLAIM", vm="vm1")
    # vm2 tried vm1's live handle while vm1 held it, and was refused without the SPMC asked.
    assert len(theft) == 1 and share.seq < theft[0].seq < own_reclaim.seq
    assert is_error(theft[0], "INVALID_PARAMETERS") and forwarded(out, theft[0]) == []
    attempts = out.calls(name="FFA_MEM_RECLAIM", vm="vm2")[:-1]
    assert len(attempts) == 8 and all(is_error(c, "INVALID_PARAMETERS") for c in attempts)
    assert is_success(own_reclaim)
    (checksum_after,) = direct(out, "SERVICE_CMD_MEM_CHECKSUM")
    assert checksum_after.results[3] == checksum(0x0EE0_0000_0000_0000 + 5 * i for i in range(WORDS))
    (vm2_share,) = out.calls(name="FFA_FN64_MEM_SHARE", vm="vm2")
    assert vm2_share.note.startswith(f"share sender={sender(profile, 2)} ") and handle(vm2_share) == HANDLE_BASE + 2
    ledger_empty(out)
