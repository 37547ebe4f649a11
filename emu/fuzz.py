"""Fuzz campaign: the fuzz guest (guests/fuzz) against every mediator profile, invariants checked throughout.

    python -m emu.fuzz --calls 100000 --seed 1 [--profile spec --profile xen] [--calls-per-run 4000]

For each profile the campaign runs machines of two fuzz VMs until the
requested number of guest calls is made: each run gets its own seeds
(written into the guests' ``fuzz_seed``/``fuzz_calls`` variables, found
through the ELF symbol table, before the run starts) and the SPMC version
cycles through 1.2, 1.1 and 1.0.  Every run has ``check=True``: the
invariant checker (emu.invariants) runs after every call.

It prints, per profile: calls made, distinct function IDs, errors by code,
crashes (a Python exception out of the emulator: must be 0), invariant
violations (must be 0) and unexpected guest stops (a fuzz VM that did not
power off, e.g. the SPMC failing on a forwarded call: must be 0), with the
seed and details of each problem.  Exit 0 when all three are 0, 1 otherwise,
2 on bad usage.  Same arguments, same figures: a campaign is deterministic.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from emu.platform.elf import load_elf
from emu.platform.image import GuestImage, ImageError
from emu.ffa import constants as ffa
from emu.ffa.profiles import PROFILES
from emu.machine import Machine, MachineConfig
from emu.secure.firmware import default_spmc
from emu.trace.records import HOP_CALL, TraceRecord
from emu.vm import VmSpec

DEFAULT_GUEST = Path("build/guests/fuzz.elf")
SPMC_VERSIONS = (ffa.VERSION_1_2, ffa.VERSION_1_1, ffa.VERSION_1_0)
VMS_PER_RUN = 2
FUZZ_RAM = 16 << 20  # the fuzz guest needs little RAM; small VMs build faster
SEED_MULTIPLIER = 0x9E37_79B9_7F4A_7C15
MASK64 = (1 << 64) - 1


class _Discard:
    def write(self, _text: str) -> None:
        pass


@dataclass
class Problem:
    kind: str  # crash | violation | stop
    seed: int
    profile: str
    spmc_version: int
    detail: str


@dataclass
class ProfileStats:
    profile: str
    calls: int = 0
    runs: int = 0
    fids: set[int] = field(default_factory=set)
    errors: Counter = field(default_factory=Counter)
    undef: int = 0
    spmc_hops: int = 0
    crashes: int = 0
    violations: int = 0
    stops: int = 0
    wall: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    def render(self) -> str:
        errors = ", ".join(f"{name} {count}" for name, count in sorted(self.errors.items(), key=lambda kv: -kv[1]))
        return (f"profile {self.profile}: calls {self.calls} in {self.runs} runs, distinct function IDs "
                f"{len(self.fids)}, forwarded to the SPMC {self.spmc_hops // 2}, UNDEF injected {self.undef}\n"
                f"  errors by code: {errors or 'none'}\n"
                f"  crashes {self.crashes}, invariant violations {self.violations}, unexpected guest stops "
                f"{self.stops}  ({self.wall:.1f} s)")


def run_seed(image_path: Path | GuestImage, spmc: Path | GuestImage, profile: str, seed: int, calls_per_vm: int, spmc_version: int,
             stats: ProfileStats, check: bool = True) -> None:
    """One machine of ``VMS_PER_RUN`` fuzz VMs; adds what it saw to ``stats``."""
    image = image_path if isinstance(image_path, GuestImage) else load_elf(image_path)
    seed_addr = image.symbols.address_of("fuzz_seed")
    calls_addr = image.symbols.address_of("fuzz_calls")
    if seed_addr is None or calls_addr is None:
        raise ImageError(f"{image_path}: no fuzz_seed/fuzz_calls symbols: not the fuzz guest")

    def count(rec: TraceRecord) -> None:
        if rec.hop == HOP_CALL:
            stats.calls += 1
            stats.fids.add(rec.fid)
            if rec.error:
                stats.errors[rec.error] += 1
            if rec.imm:
                stats.undef += 1
        else:
            stats.spmc_hops += 1

    last_request: list[list[int]] = []
    try:
        specs = [VmSpec(image, vm_id=i, endpoint_id=i, ram_size=FUZZ_RAM) for i in range(1, VMS_PER_RUN + 1)]
        machine = Machine(MachineConfig(vms=specs, profile=profile, spmc_image=spmc, spmc_version=spmc_version,
                                        check=check, keep_trace=False, symbolize=False))
        machine.trace.add_annotator(count)
        machine.trace.add_sink(_Discard(), "text")  # every record is decoded and rendered, as --trace would
        secure = machine.mediator.secure
        forward = secure.call

        def remember(request: list[int]):
            last_request[:] = [list(request)]
            return forward(request)

        secure.call = remember
        for i, vm in enumerate(machine.vms):
            vm.write_ipa(seed_addr, ((seed + i * SEED_MULTIPLIER) & MASK64 or 1).to_bytes(8, "little"))
            vm.write_ipa(calls_addr, calls_per_vm.to_bytes(8, "little"))
        result = machine.run()
    except ImageError:
        raise
    except Exception:  # noqa: BLE001 - a crash is what the campaign looks for
        stats.crashes += 1
        stats.problems.append(Problem("crash", seed, profile, spmc_version, traceback.format_exc()))
        return
    stats.runs += 1
    for violation in result.violations:
        stats.violations += 1
        stats.problems.append(Problem("violation", seed, profile, spmc_version, violation.text))
    for vm in result.vms:
        if vm.state != "off":
            stats.stops += 1
            frame = f"; last frame to the SPMC {[hex(v) for v in last_request[0]]}" if last_request else ""
            where = f" at pc {vm.fault.pc:#x}" if vm.fault else ""
            detail = vm.fault.detail if vm.fault else ""
            stats.problems.append(Problem("stop", seed, profile, spmc_version,
                                          f"{vm.name} {vm.state}: {vm.exit_reason}{where} {detail}{frame}"))


def campaign(calls: int, seed: int, profiles: list[str], calls_per_run: int = 4000, guest: Path = DEFAULT_GUEST,
             spmc: Path | None = None, check: bool = True, log=None) -> list[ProfileStats]:
    out = []
    guest_image, spmc_image = load_elf(guest), load_elf(spmc or default_spmc())
    for profile in profiles:
        stats = ProfileStats(profile)
        started = time.perf_counter()
        index = 0
        while stats.calls < calls:
            want = min(calls_per_run, calls - stats.calls)
            per_vm = max(1, -(-want // VMS_PER_RUN))
            run_seed(guest_image, spmc_image, profile, (seed * 1_000_003 + index) & MASK64, per_vm,
                     SPMC_VERSIONS[index % len(SPMC_VERSIONS)], stats, check)
            index += 1
            if log is not None:
                log(f"\r{profile}: {stats.calls}/{calls} calls, {stats.crashes} crashes, "
                    f"{stats.violations} violations")
            if index > 4 * (calls // max(calls_per_run, 1) + 1) + 100:
                break  # every run crashes early: stop rather than loop
        stats.wall = time.perf_counter() - started
        out.append(stats)
        if log is not None:
            log("\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emu.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000, help="guest calls per profile (default 10000)")
    parser.add_argument("--seed", type=lambda s: int(s, 0), default=1, help="campaign seed (default 1)")
    parser.add_argument("--profile", action="append", choices=sorted(PROFILES),
                        help="profile to fuzz (repeatable; default all)")
    parser.add_argument("--calls-per-run", type=int, default=4000,
                        help="calls per machine before a fresh one with new seeds (default 4000)")
    parser.add_argument("--guest", type=Path, default=DEFAULT_GUEST, help=f"fuzz guest image (default {DEFAULT_GUEST})")
    parser.add_argument("--spmc", type=Path, help="SPMC firmware (default: $FFA_EMU_SPMC, else the bundled one)")
    parser.add_argument("--no-check", action="store_true", help="do not run the invariant checker")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress line (never shown in a pipe)")
    parser.add_argument("--show", type=int, default=5, help="problems to print per profile (default 5)")
    args = parser.parse_args(argv)
    if args.calls <= 0 or args.calls_per_run <= 0:
        print("emu.fuzz: --calls and --calls-per-run must be positive", file=sys.stderr)
        return 2
    # The progress line is for a terminal; in a pipe or a log it would only pile up.
    show_progress = not args.quiet and sys.stderr.isatty()
    log = (lambda text: (sys.stderr.write(text), sys.stderr.flush())) if show_progress else None
    try:
        results = campaign(args.calls, args.seed, args.profile or sorted(PROFILES), args.calls_per_run,
                           args.guest, args.spmc, not args.no_check, log)
    except ImageError as exc:
        print(f"emu.fuzz: {exc}", file=sys.stderr)
        return 2
    bad = 0
    for stats in results:
        print(stats.render())
        for problem in stats.problems[:args.show]:
            print(f"  {problem.kind} (seed {problem.seed:#x}, SPMC {problem.spmc_version >> 16}."
                  f"{problem.spmc_version & 0xFFFF}): {problem.detail.rstrip()}")
        bad += stats.crashes + stats.violations + stats.stops
    total = sum(s.calls for s in results)
    print(f"total: {total} calls, crashes {sum(s.crashes for s in results)}, invariant violations "
          f"{sum(s.violations for s in results)}, unexpected guest stops {sum(s.stops for s in results)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
