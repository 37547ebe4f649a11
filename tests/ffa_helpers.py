"""Shared helpers for the FF-A guest tests (tests/test_ffa_*.py)."""

from __future__ import annotations

import re

from emu.ffa import constants as ffa
from emu.trace.records import HOP_FROM_SPMC, HOP_TO_SPMC

PROFILES = ("spec", "pkvm", "xen")
MASK32 = (1 << 32) - 1
MASK64 = (1 << 64) - 1

ECHO_SP_ID = 0x8001
SERVICE_SP_ID = 0x8002
V1_0, V1_1, V1_2 = ffa.VERSION_1_0, ffa.VERSION_1_1, ffa.VERSION_1_2


def code(name: str, bits: int) -> int:
    """An FF-A error code as the register holds it: zero-extended (32) or sign-extended (64)."""
    return ffa.ERRORS[name] & (MASK32 if bits == 32 else MASK64)


def local_error(profile: str, name: str) -> int:
    """x2 of an FFA_ERROR the mediator builds itself: pKVM sign-extends, Xen and the spec zero-extend."""
    return code(name, 64 if profile == "pkvm" else 32)


_RUNS: dict[tuple, object] = {}


def run_ok(run_guests, guest_image, spmc_image, *guests: str, profile: str, **options):
    """Run guests on one machine; every VM must power off with its whole TAP plan passed.

    Runs are deterministic, so one run per (images, profile, options) is shared by the tests
    that assert on it (keyed on the images' mtimes, so a rebuilt image runs again).
    """
    images = [guest_image(g) for g in guests]
    key = (tuple((str(i), i.stat().st_mtime_ns) for i in images), str(spmc_image),
           spmc_image.stat().st_mtime_ns, profile, tuple(sorted(options.items())))
    if key not in _RUNS:
        _RUNS[key] = run_guests(*images, spmc_image=spmc_image, profile=profile, **options)
    out = _RUNS[key]
    for vm in out.result.vms:
        assert vm.state == "off", f"{vm.name}: {vm.exit_reason}\n{vm.console}"
        assert vm.tap.plan and vm.tap.plan == len(vm.tap.passed) and not vm.tap.problems, vm.console
    assert out.exit_code == 0, out.console()
    return out


def diags(out, vm: str = "vm1") -> list[str]:
    """The TAP diagnostic lines a guest printed, without the leading '# '."""
    return [line.strip()[2:] for line in out.console(vm).splitlines() if line.strip().startswith("# ")]


def diag(out, prefix: str, vm: str = "vm1") -> str:
    """The one diagnostic line starting with ``prefix``."""
    found = [d for d in diags(out, vm) if d.startswith(prefix)]
    assert len(found) == 1, (prefix, diags(out, vm))
    return found[0]


def spmc_hops(out, record) -> tuple[list, list]:
    """(el2->spmc, spmc->el2) hops of one guest call."""
    hops = out.hops(record.seq)
    return [h for h in hops if h.hop == HOP_TO_SPMC], [h for h in hops if h.hop == HOP_FROM_SPMC]


def is_error(record, name: str) -> bool:
    return record.results[0] & MASK32 == ffa.FFA_ERROR and record.error == name


def is_success(record) -> bool:
    return record.results[0] & MASK32 in (ffa.FFA_SUCCESS, ffa.FFA_FN64_SUCCESS) and record.error is None


def guest_steps(console: str, prefix: str) -> dict[str, list[str]]:
    """A guest's ``<prefix>: key=value`` lines (guests/lib/ffa.h ffa_print_step), each key's values in order, an
    error's words without its raw x2."""
    steps: dict[str, list[str]] = {}
    for key, value in re.findall(rf"^{prefix}: (\w+)=(.*)$", console, re.MULTILINE):
        steps.setdefault(key, []).append(re.sub(r" x2=0x[0-9a-f]+$", "", value))
    return steps
