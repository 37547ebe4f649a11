"""RMI_VERSION / RSI_VERSION: negotiation rules, revision parsing, decode, guests and CLI."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emu.trace import decode
from emu.secure import rmm_abi as rmm
from emu.cli import main
from emu.secure.rmm import RmmResponder
from emu.secure.rmm_abi import ERROR_INPUT, REVISION_MAX, SUCCESS, negotiate, parse_revisions, revision
from emu.el2.smccc import MASK64, decode_fid, version_str

V0_1, V1_0, V1_1, V2_0, V3_0 = revision(0, 1), revision(1, 0), revision(1, 1), revision(2, 0), revision(3, 0)
UNIVERSE = (V0_1, V1_0, V1_1, V2_0, V3_0)
SUPPORTED_SETS = [subset for size in range(1, len(UNIVERSE) + 1) for subset in combinations(UNIVERSE, size)]
RESERVED_BIT_32 = 1 << 32
REQUESTS = UNIVERSE + (
    revision(0, 0), revision(0, 2), revision(1, 2), revision(2, 5), revision(4, 0), REVISION_MAX,
    RESERVED_BIT_32 | V1_0, MASK64,
)
RMM_1_0_AND_2_0 = (V1_0, V2_0)


def _set_id(revisions: tuple[int, ...]) -> str:
    return "{" + ",".join(version_str(r) for r in revisions) + "}"


def assert_negotiation_rules(requested: int, supported: tuple[int, ...] | set[int]) -> None:
    """The three cases of the RMM spec, stated independently of how ``negotiate`` computes them."""
    status, lower, higher = negotiate(requested, tuple(supported))
    highest = max(supported)
    older = [r for r in supported if r < requested]
    assert lower <= higher
    assert higher == highest
    if requested in supported:
        assert (status, lower) == (SUCCESS, requested)
    elif older:
        assert (status, lower) == (ERROR_INPUT, max(older))
        assert not any(lower < r < requested for r in supported)
    else:
        assert (status, lower) == (ERROR_INPUT, highest)
    assert negotiate(higher, tuple(supported))[0] == SUCCESS, "retrying with higher must succeed"


# -- negotiate ---------------------------------------------------------------

@pytest.mark.parametrize("supported", SUPPORTED_SETS, ids=_set_id)
@pytest.mark.parametrize("requested", REQUESTS, ids=lambda r: version_str(r) if r <= REVISION_MAX else hex(r))
def test_negotiate_every_request_and_supported_set(requested: int, supported: tuple[int, ...]) -> None:
    assert_negotiation_rules(requested, supported)


@pytest.mark.parametrize("requested, expected", [
    (V1_0, (SUCCESS, V1_0, V2_0)),
    (V2_0, (SUCCESS, V2_0, V2_0)),
    (V1_1, (ERROR_INPUT, V1_0, V2_0)),
    (V3_0, (ERROR_INPUT, V2_0, V2_0)),
    (V0_1, (ERROR_INPUT, V2_0, V2_0)),
    (RESERVED_BIT_32 | V1_0, (ERROR_INPUT, V2_0, V2_0)),
], ids=["supported-low", "supported-high", "between", "above-all", "below-all", "reserved-upper-half"])
def test_negotiate_against_1_0_and_2_0(requested: int, expected: tuple[int, int, int]) -> None:
    assert negotiate(requested, RMM_1_0_AND_2_0) == expected


def test_negotiate_does_not_depend_on_order() -> None:
    assert negotiate(V1_1, (V2_0, V1_0)) == negotiate(V1_1, (V1_0, V2_0))


def test_negotiate_needs_a_supported_revision() -> None:
    with pytest.raises(ValueError, match="at least one"):
        negotiate(V1_0, ())


revisions = st.integers(min_value=0, max_value=REVISION_MAX)


@given(st.data(), st.sets(revisions, min_size=1, max_size=8))
def test_negotiate_property(data: st.DataObject, supported: set[int]) -> None:
    requested = data.draw(st.one_of(st.sampled_from(sorted(supported)), revisions,
                                    st.integers(min_value=0, max_value=MASK64)))
    assert_negotiation_rules(requested, supported)


# -- parse_revisions and the responder ------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("1.0", (V1_0,)),
    ("1.0,2.0", (V1_0, V2_0)),
    (" 2.0 , 1.0,1.0", (V1_0, V2_0)),
    ("0.1,32767.65535", (V0_1, REVISION_MAX)),
])
def test_parse_revisions(text: str, expected: tuple[int, ...]) -> None:
    assert parse_revisions(text) == expected


@pytest.mark.parametrize("text, message", [
    ("", "no RMM revisions given"),
    ("  ", "no RMM revisions given"),
    ("1", "expected MAJOR.MINOR"),
    ("1.0,", "expected MAJOR.MINOR"),
    ("1.0,,2.0", "expected MAJOR.MINOR"),
    ("1.0;2.0", "expected MAJOR.MINOR"),
    ("v1.0", "expected MAJOR.MINOR"),
    ("1.0.0", "expected MAJOR.MINOR"),
    ("-1.0", "expected MAJOR.MINOR"),
    ("0x1.0", "expected MAJOR.MINOR"),
    ("\N{FULLWIDTH DIGIT ONE}.0", "expected MAJOR.MINOR"),
    ("32768.0", "out of range"),
    ("1.65536", "out of range"),
])
def test_parse_revisions_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_revisions(text)


def test_responder_sorts_and_checks_revisions() -> None:
    assert RmmResponder([V2_0, V1_0, V2_0]).revisions == (V1_0, V2_0)
    with pytest.raises(ValueError, match="at least one"):
        RmmResponder([])
    with pytest.raises(ValueError, match="not an RMM revision word"):
        RmmResponder([REVISION_MAX + 1])


# -- trace decode --------------------------------------------------------------

@pytest.mark.parametrize("fid, name", [(rmm.RMI_VERSION, "RMI_VERSION"), (rmm.RSI_VERSION, "RSI_VERSION")])
def test_decode(fid: int, name: str) -> None:
    iface = name[:3]
    assert decode.describe(decode_fid(fid), [fid, V1_1], [ERROR_INPUT, V1_0, V2_0]) == (
        name, "1.1", f"{iface}_ERROR_INPUT lower=1.0 higher=2.0")
    assert decode.describe(decode_fid(fid), [fid, V2_0], [SUCCESS, V2_0, V2_0])[2] == \
        f"{iface}_SUCCESS lower=2.0 higher=2.0"
    assert decode.describe(decode_fid(fid), [fid, RESERVED_BIT_32 | V1_0], [ERROR_INPUT, V2_0, V2_0])[1] == (
        "0x100010000")


# -- guests --------------------------------------------------------------------

def test_rmm_versions_guest(guest_image, run_guests) -> None:
    out = run_guests(guest_image("rmm_versions"), rmm_revisions=RMM_1_0_AND_2_0)
    assert out.exit_code == 0, out.console()
    tap = out.tap()
    assert tap.plan == len(tap.passed) > 0 and not tap.problems
    for name in ("RMI_VERSION", "RSI_VERSION"):
        calls = out.calls(name=name)
        assert [c.conduit for c in calls] == ["smc"] * len(calls)
        assert [c.args[0] for c in calls] == [V1_0, V2_0, V1_1, V3_0, V0_1, RESERVED_BIT_32 | V1_0]
        for c in calls:
            assert c.results == list(negotiate(c.args[0], RMM_1_0_AND_2_0))
        iface = name[:3]
        assert [c.result_text for c in calls[:3]] == [
            f"{iface}_SUCCESS lower=1.0 higher=2.0", f"{iface}_SUCCESS lower=2.0 higher=2.0",
            f"{iface}_ERROR_INPUT lower=1.0 higher=2.0"]


def test_rmm_versions_guest_fails_against_another_rmm(guest_image, run_guests) -> None:
    out = run_guests(guest_image("rmm_versions"), rmm_revisions=(V1_0,))
    assert out.exit_code == 1
    assert out.tap().failed


def test_rmm_retry_guest(guest_image, run_guests) -> None:
    out = run_guests(guest_image("rmm_retry"), rmm_revisions=RMM_1_0_AND_2_0)
    assert out.exit_code == 0, out.console()
    assert not out.tap().problems and out.tap().passed
    for name in ("RMI_VERSION", "RSI_VERSION"):
        first, retry = out.calls(name=name)
        assert (first.args, first.results) == ([V1_1], [ERROR_INPUT, V1_0, V2_0])
        assert (first.args_text, first.result_text) == ("1.1", f"{name[:3]}_ERROR_INPUT lower=1.0 higher=2.0")
        assert (retry.args, retry.results) == ([V2_0], [SUCCESS, V2_0, V2_0])
        assert (retry.args_text, retry.result_text) == ("2.0", f"{name[:3]}_SUCCESS lower=2.0 higher=2.0")
        assert f"{name} negotiated 2.0" in out.console()


@pytest.mark.parametrize("supported", [(V1_0,), (V2_0,), (V1_0, V1_1, V2_0), (V1_0, V3_0)], ids=_set_id)
def test_rmm_retry_guest_fails_against_another_rmm(guest_image, run_guests, supported: tuple[int, ...]) -> None:
    out = run_guests(guest_image("rmm_retry"), rmm_revisions=supported)
    assert out.exit_code == 1
    assert out.tap().failed


def test_rmi_pays_the_el3_round_trip_and_rsi_does_not(guest_image, run_guests) -> None:
    out = run_guests(guest_image("rmm_retry"), rmm_revisions=RMM_1_0_AND_2_0)
    transition = out.machine.el2.cost.transition
    el3_round_trip = 2 * (transition["el2_to_el3"] + transition["el3_world_switch"] + transition["el3_to_el2"])
    plain_trap = [c.cycle_end - c.cycle_start for c in out.calls(name="PSCI_SYSTEM_OFF")]
    rmi = [c.cycle_end - c.cycle_start for c in out.calls(name="RMI_VERSION")]
    rsi = [c.cycle_end - c.cycle_start for c in out.calls(name="RSI_VERSION")]
    assert rsi == plain_trap * 2
    assert rmi == [plain_trap[0] + el3_round_trip] * 2


# -- command line ----------------------------------------------------------------

@pytest.mark.parametrize("revisions, code", [("1.0,2.0", 0), ("2.0,1.0,2.0", 0), ("1.0", 1)])
def test_cli_rmm_revisions(guest_image, capsys, revisions: str, code: int) -> None:
    assert main(["run", "--quiet", "--rmm-revisions", revisions, str(guest_image("rmm_retry"))]) == code


@pytest.mark.parametrize("revisions, message", [
    ("", "no RMM revisions given"),
    ("1", "bad RMM revision '1'"),
    ("1.0,,2.0", "bad RMM revision ''"),
    ("32768.0", "RMM revision '32768.0' out of range"),
])
def test_cli_rejects_bad_rmm_revisions(capsys, revisions: str, message: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", f"--rmm-revisions={revisions}", "guest.elf"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("ffa-emu run: error: argument --rmm-revisions: ") and message in last
