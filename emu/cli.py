"""Command line: ``ffa-emu run|diff|trace|profiles|fidelity``.

``run`` exit codes: 0 every guest ended cleanly and its TAP passed; 1 TAP
failures; 2 bad usage or bad input (an SPMC firmware that does not boot
included); 3 a guest faulted, ran away or hung; 4 an internal error (a bug:
reported in one line, never a traceback);
5 ``--check`` found an invariant violation (it wins over 0, 1 and 3).
``diff``: 0 the two profiles gave the same calls and ends, 1 they differ,
2 bad usage.  ``trace``: 0, 1 when the filters match no call, 2 for an
unreadable file.
"""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import ExitStack, nullcontext
from functools import partial
from pathlib import Path
from typing import IO, NoReturn

from emu import __version__
from emu.limits import LimitError, check_vm_count
from emu.platform import memory_map
from emu.cpu.costmodel import CPUS, CostModelError, load_cost_model
from emu.platform.boot import BootOptions
from emu.platform.fdt import to_dtb, to_dts
from emu.platform.image import ImageError, read_file
from emu.platform.loaders import load_image
from emu.platform.pflash import BANK_ADDRESSES
from emu.platform.physmem import HostMemoryError
from emu.platform.virt_tree import VirtTreeParams, build_virt_tree
from emu.console_input import stdin_input
from emu.machine import DEFAULT_MAX_CYCLES, DEFAULT_QUANTUM, Machine, MachineConfig, RunResult
from emu.progress import progress_for
from emu.secure.firmware import ENV_VAR, default_spmc
from emu.secure.rmm_abi import DEFAULT_RMM_REVISIONS, parse_revisions
from emu.secure.spmd import SPMC_CALL_BUDGET, SpmcError
from emu.el2.smccc import version_str
from emu.scenario import ScenarioError, load_scenario, parse_size, parse_spmc_version
from emu.ffa.profile_loader import ProfileError, load_profile
from emu.ffa.profiles import PROFILES
from emu.ffa.stub_partitions import SPMC_FLAVOURS
from emu.trace.records import TRACE_FORMATS, TraceFileError, TraceRecord, read_jsonl
from emu.trace.text import render_text
from emu.stops import EXIT_OK, EXIT_TAP_FAILED, describe_stop, exit_code
from emu.vm import MAX_CPUS, VmSpec

EXIT_USAGE = 2
EXIT_INTERNAL = 4  # a bug in the emulator itself (a Python exception no input should reach)
EXIT_VIOLATION = 5  # run --check: an invariant of the mediator was violated (emu.invariants)
EXIT_DIFFERENT = 1  # ffa-emu diff: the profiles answered differently
_PROFILE_CHOICES = ", ".join(PROFILES) + " or a .py file defining PROFILE"
# A trace file's buffer: a forwarded call's records are some 5 KB of jsonl, and writing them out every 8 KB (the
# default) costs a system call per call or two, more than making them.
TRACE_FILE_BUFFER = 1 << 20
EXIT_NO_MATCH = 1  # ffa-emu trace: the filters matched no call


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _argtype(parse):
    """Turn a scenario parser (which raises ScenarioError) into an argparse type."""
    def convert(text: str):
        try:
            return parse(text, "value")
        except ScenarioError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix("value: ")) from None
    return convert


def _revisions(text: str) -> tuple[int, ...]:
    try:
        return parse_revisions(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _machine_options(parser: argparse.ArgumentParser) -> None:
    """Options that build a machine, shared by ``run`` and ``diff`` (``--profile`` is each one's own)."""
    parser.add_argument("images", nargs="*", metavar="GUEST.elf", help="guest images; one VM each (vm1, vm2, ...)")
    parser.add_argument("--scenario", metavar="FILE",
                        help="a TOML scenario (VMs, SPMC, profile, ...) instead of images")
    spmc = parser.add_mutually_exclusive_group()
    spmc.add_argument("--spmc", metavar="FILE",
                      help=f"SPMC firmware ELF (default: ${ENV_VAR}, else the stub firmware bundled with ffa-emu)")
    spmc.add_argument("--no-spmc", action="store_true",
                      help="run without a secure world: every FF-A call answers NOT_SUPPORTED")
    parser.add_argument("--spmc-version", type=_argtype(parse_spmc_version), metavar="X.Y",
                        help="FF-A version the SPMC implements (default: the firmware's build default, 1.2)")
    parser.add_argument("--spmc-flavour", choices=sorted(SPMC_FLAVOURS),
                        help="the partitions the stub SPMC hosts: stub (default: the echo and service SPs) or "
                             "optee (one partition answering OP-TEE's FF-A ABI, as OP-TEE's SPMC presents itself)")
    parser.add_argument("--max-cycles", type=_int, metavar="N",
                        help=f"stop a run that exceeds N cycles, exit 3 (default {DEFAULT_MAX_CYCLES})")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="stop a run that takes longer than SECONDS of wall-clock time, exit 3 (checked "
                             "between scheduler slices)")
    parser.add_argument("--quantum", type=_int, metavar="N",
                        help=f"cycles each VM runs before the next is scheduled (default {DEFAULT_QUANTUM})")
    parser.add_argument("--spmc-budget", type=_int, metavar="N",
                        help="cycles one call may run in the SPMC before it is aborted and rolled back "
                             f"(FFA_ERROR(ABORTED); default {SPMC_CALL_BUDGET})")
    parser.add_argument("--ram-size", type=_argtype(parse_size), default=memory_map.GUEST_RAM_DEFAULT_SIZE,
                        metavar="SIZE", help="RAM per VM, e.g. 128M (default 128M); must be a multiple of 2M")
    parser.add_argument("--cpus", type=_int, default=1, metavar="N",
                        help="vCPUs per VM (default 1); vCPU 0 boots, the others wait for PSCI CPU_ON")
    parser.add_argument("--cost-model", metavar="FILE", help="cycle cost model TOML (default: the packaged one)")
    parser.add_argument("--cpu", choices=CPUS,
                        help="time guest code on this core's pipeline, with its EL2/EL3 costs (instead of "
                             "--cost-model; see docs/cycles.md)")
    parser.add_argument("--pure-python", action="store_true",
                        help="account cycles in Python even when the native helper is built (same counts, slower)")
    boot = parser.add_argument_group("boot (as QEMU virt's -kernel, -dtb, -append, -initrd)")
    boot.add_argument("--dtb", metavar="FILE", type=Path,
                      help="device tree blob for the guest (default: one generated from the machine; "
                           "see 'ffa-emu dtb'); its address is in x0 at entry")
    boot.add_argument("--append", metavar="ARGS", help="kernel command line, in /chosen/bootargs")
    boot.add_argument("--initrd", metavar="FILE", type=Path,
                      help="initial ramdisk for a Linux Image, in /chosen/linux,initrd-start/end")
    boot.add_argument("--load-addr", type=_int, metavar="ADDR",
                      help="load the image as a raw binary at ADDR (ELF and Linux Image are recognised)")
    boot.add_argument("--entry", type=_int, metavar="ADDR", help="start at ADDR instead of the image's entry")
    boot.add_argument("--pflash", action="append", default=[], type=Path, metavar="FILE",
                      help="contents of flash bank 0 (then 1): read-only, up to 64 MiB each "
                           "(default: erased flash)")
    parser.add_argument("--rmm-revisions", type=_revisions, metavar="LIST",
                        help="interface revisions the RMM supports, e.g. 1.0,2.0 (default: "
                             + ",".join(version_str(r) for r in DEFAULT_RMM_REVISIONS) + ")")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ffa-emu",
        description="Run AArch64 guest ELF images at EL1 against an emulated EL2 FF-A mediator, "
                    "with a cycle-accounted, decoded trace of every HVC/SMC.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run guest images", description="Run one or more guest ELF images.")
    _machine_options(run)
    run.add_argument("--profile", metavar="PROFILE", help=f"mediator behaviour: {_PROFILE_CHOICES} (default spec)")
    run.add_argument("--trace", metavar="FILE", help="write the call trace to FILE ('-' for stderr)")
    run.add_argument("--trace-format", choices=TRACE_FORMATS + ("perfetto",),
                     help="trace format: text (default), jsonl (one JSON object per hop), perfetto "
                          "(Chrome trace-event JSON for ui.perfetto.dev, written when the run ends)")
    run.add_argument("--disasm", action="store_true",
                     help="add to each call the disassembly of its block, from the block start to the hvc/smc")
    run.add_argument("--gdb", type=_int, metavar="PORT",
                     help="wait for gdb on TCP PORT before running (gdb-multiarch GUEST.elf "
                          "-ex 'target remote :PORT')")
    run.add_argument("--gdb-vm", default="vm1", metavar="VM",
                     help="what gdb debugs: a VM (default vm1) or spmc, the SPMC firmware")
    run.add_argument("--check", action="store_true",
                     help="check the mediator's invariants after every call (register rules, buffer and page "
                          "ownership, the SPMC's view of transactions); a violation is reported and exits 5")
    run.add_argument("--quiet", "-q", action="store_true",
                     help="do not echo guest consoles, the summary or progress")
    run.add_argument("--expect", action="append", default=[], metavar="REGEX",
                     help="fail (exit 1) unless a guest console matches REGEX, for guests that do not "
                          "report with TAP or semihosting")
    run.add_argument("--fail-on", action="append", default=[], metavar="REGEX",
                     help="fail (exit 1) when a guest console matches REGEX (e.g. 'FAIL|panic')")
    dtb = sub.add_parser("dtb", help="write the device tree the emulated machine gives a guest",
                         description="Write the generated device tree of the emulated QEMU virt machine, as DTS "
                                     "text (default) or as a DTB, e.g. to edit it and pass it back with --dtb.")
    dtb.add_argument("-o", "--output", metavar="FILE", help="write here (default stdout); a .dtb name writes a blob")
    dtb.add_argument("--format", choices=("dts", "dtb"), help="dts or dtb (default: from the file name, else dts)")
    dtb.add_argument("--ram-size", type=_argtype(parse_size), default=memory_map.GUEST_RAM_DEFAULT_SIZE,
                     metavar="SIZE", help="RAM of the VM (default 128M)")
    dtb.add_argument("--profile", metavar="PROFILE", default="spec",
                     help="the profile whose PSCI conduit the tree names (default spec)")
    dtb.add_argument("--append", metavar="ARGS", help="kernel command line, in /chosen/bootargs")
    diff = sub.add_parser(
        "diff", help="run the same guests under two profiles and show where the calls differ",
        description="Run the same guests under two mediator profiles and print, call by call, where "
                    "the arguments or results differ. Exit 0 when nothing differs, 1 when something "
                    "does, 2 on bad usage.")
    _machine_options(diff)
    diff.add_argument("--profile", action="append", metavar="PROFILE", required=True,
                      help=f"a profile to compare ({_PROFILE_CHOICES}); give it twice "
                           "(e.g. --profile pkvm@v6.17 --profile pkvm)")
    trace = sub.add_parser(
        "trace", help="re-render or re-export a saved jsonl trace, filtered, or its statistics",
        description="Print a trace saved with --trace-format jsonl as text, or write it as jsonl or Perfetto. "
                    "Filters select whole calls (with their hops) and combine with AND; a repeated filter "
                    "matches any of its values; filters that match no call exit 1.")
    trace.add_argument("file", metavar="FILE.jsonl", help="a jsonl trace ('-' for stdin)")
    trace.add_argument("--vm", action="append", default=[], metavar="VM",
                       help="calls of this VM (vm1, ..., el2 for the mediator's own traffic)")
    trace.add_argument("--name", action="append", default=[], metavar="GLOB",
                       help="calls whose function name matches, e.g. FFA_VERSION or 'FFA_MSG_*'")
    trace.add_argument("--owner", action="append", type=_int, default=[], metavar="N",
                       help="calls of this SMCCC owner (function ID bits 29:24; 4 standard, 5 hypervisor)")
    trace.add_argument("--errors", action="store_true", help="only calls where a hop returned an error")
    trace.add_argument("--stats", action="store_true",
                       help="per function ID: count, errors and min/median/max cycles guest-side, in EL2 "
                            "and in the SPMC, instead of the records")
    trace.add_argument("--no-cycles", action="store_true", help="leave out cycle stamps and durations (text)")
    trace.add_argument("--format", choices=TRACE_FORMATS + ("perfetto",),
                       help="write the selected records as text (default), jsonl or perfetto")
    trace.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    sub.add_parser("profiles", help="print the table of mediator profile differences (markdown)",
                   description="Print how the spec, pkvm and xen profiles differ, generated from the profiles.")
    sub.add_parser("fidelity", help="print docs/fidelity.md: each profile against the code it models",
                   description="Print, for every behaviour recorded in emu/ffa/fidelity.py, what the real code "
                               "answers (file:function at the modelled release), what the profile answers and "
                               "the test that checks it (markdown).")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("profiles", "fidelity"):
        if args.command == "profiles":
            from emu.ffa import profile_table  # as fidelity_doc: only this command needs it

            print(profile_table.render_markdown(), end="")
        else:
            from emu.ffa import fidelity_doc  # probes every profile: only this command needs it

            print(fidelity_doc.render_markdown(), end="")
        return EXIT_OK
    commands = {"run": _run, "diff": _diff, "trace": _trace, "dtb": _dtb}
    try:
        return commands[args.command](args)
    except (UsageError, ImageError, CostModelError, ScenarioError, TraceFileError, LimitError,
            HostMemoryError, SpmcError, ProfileError) as exc:
        print(f"ffa-emu: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ffa-emu: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: never a traceback (exit 4)
        detail = " ".join(str(exc).split()) or "no detail"
        print(f"ffa-emu: internal error: {type(exc).__name__}: {detail}", file=sys.stderr)
        return EXIT_INTERNAL


def _config(args: argparse.Namespace, profile: str | None) -> MachineConfig:
    """The machine to build, from a scenario file or from the images and options."""
    if any(value is not None and value <= 0 for value in (args.max_cycles, args.quantum, args.spmc_budget)):
        raise UsageError("--max-cycles, --quantum and --spmc-budget must be positive")
    if args.cpu and args.cost_model:
        raise UsageError("give --cpu or --cost-model, not both")
    if args.timeout is not None and not args.timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    overrides = {
        "max_cycles": args.max_cycles, "quantum": args.quantum, "timeout": args.timeout,
        "spmc_budget": args.spmc_budget, "profile": profile,
        "spmc_version": args.spmc_version, "spmc_flavour": args.spmc_flavour,
        "rmm_revisions": args.rmm_revisions, "native": False if args.pure_python else None,
        "cost_model": load_cost_model(args.cost_model) if args.cost_model else None,
        "cpu": args.cpu,
        "spmc_image": Path(args.spmc) if args.spmc else None,
    }
    if args.scenario:
        if args.images:
            raise UsageError("give guest images or --scenario, not both")
        config = load_scenario(args.scenario, **overrides)
    elif not args.images:
        raise UsageError("no guest image given (or use --scenario FILE)")
    else:
        check_vm_count(len(args.images))
        boot = _boot_options(args)
        if not 1 <= args.cpus <= MAX_CPUS:
            raise UsageError(f"--cpus must be 1..{MAX_CPUS}")
        specs = [VmSpec(load_image(path, args.load_addr, args.entry), vm_id=i, endpoint_id=i,
                        ram_size=args.ram_size, boot=boot, cpus=args.cpus)
                 for i, path in enumerate(args.images, start=1)]
        config = MachineConfig(vms=specs, **{k: v for k, v in overrides.items() if v is not None})
    if args.no_spmc:
        config.spmc_image = None
    elif config.spmc_image is None:
        config.spmc_image = default_spmc()
    return config


def _boot_options(args: argparse.Namespace) -> BootOptions:
    if len(args.pflash) > len(BANK_ADDRESSES):
        raise UsageError(f"--pflash: at most {len(BANK_ADDRESSES)} files (flash banks 0 and 1)")
    return BootOptions(
        dtb=read_file(args.dtb) if args.dtb else None, dtb_name=str(args.dtb), bootargs=args.append,
        initrd=read_file(args.initrd) if args.initrd else None, pflash=list(args.pflash))


def _dtb(args: argparse.Namespace) -> int:
    params = VirtTreeParams(memory_map.GUEST_RAM_IPA, args.ram_size,
                            psci_method=load_profile(args.profile).psci_conduit, bootargs=args.append)
    tree = build_virt_tree(params)
    binary = (args.format or ("dtb" if args.output and args.output.endswith(".dtb") else "dts")) == "dtb"
    data = to_dtb(tree) if binary else to_dts(tree).encode()
    if args.output is None:
        sys.stdout.buffer.write(data)
        return EXIT_OK
    try:
        Path(args.output).write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    if args.trace_format is not None and args.trace is None:
        raise UsageError(f"--trace-format {args.trace_format}: give the trace a destination with --trace FILE")
    trace_format = args.trace_format or "text"
    config = _config(args, args.profile)
    config.check = args.check
    # Text and jsonl traces stream as the run goes; only a Perfetto timeline needs every record at the end.
    config.keep_trace = args.trace is not None and args.trace_format == "perfetto"
    for pattern in args.expect + args.fail_on:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"bad regular expression {pattern!r}: {exc}") from None
    progress = None if args.quiet else progress_for(sys.stderr)
    config.console_stream = None if args.quiet else sys.stdout
    if progress is not None:
        config.progress = progress
        config.console_stream = progress.wrap(sys.stdout)
    with ExitStack() as stack:
        trace_stream = _open_trace(args.trace, stack)
        if trace_stream is sys.stderr and progress is not None:
            trace_stream = progress.wrap(trace_stream)
        config.console_input = stack.enter_context(stdin_input())
        machine = Machine(config)
        if args.disasm:
            from emu.trace.disasm import attach_disassembler  # capstone: loaded for --disasm only

            attach_disassembler(machine)
        if trace_stream is not None and trace_format != "perfetto":
            machine.trace.add_sink(trace_stream, trace_format)
        if args.gdb is not None:
            _serve_gdb(machine, args.gdb_vm, args.gdb)
        result = machine.run()
        if progress is not None:
            progress.clear()
        if trace_stream is not None and trace_format == "perfetto":
            from emu.trace.perfetto import write_perfetto  # the trace tools are imported where used

            write_perfetto(result.trace.records, trace_stream)
    code = report(result, quiet=args.quiet)
    code = _console_verdict(result, args.expect, args.fail_on, code)
    if report_violations(result):
        return EXIT_VIOLATION
    return code


def _serve_gdb(machine: Machine, target: str, port: int) -> None:
    """Wait for gdb on ``port``; the stub's problems (no udbserver, a busy port, ...) are usage errors."""
    from emu.gdbstub import GdbError, serve_gdb  # sockets and threads: loaded for --gdb only

    try:
        serve_gdb(machine, target, port)
    except GdbError as exc:
        raise UsageError(str(exc)) from None


def report_violations(result: RunResult, shown: int = 10) -> bool:
    """Print the invariant violations of a ``--check`` run (one line each); True if there were any."""
    for violation in result.violations[:shown]:
        print(f"ffa-emu: {violation.text}", file=sys.stderr)
    if len(result.violations) > shown:
        print(f"ffa-emu: ... and {len(result.violations) - shown} more invariant violations", file=sys.stderr)
    return bool(result.violations)


def _diff(args: argparse.Namespace) -> int:
    if len(args.profile) != 2:
        raise UsageError("diff compares two profiles: give --profile twice")
    if args.no_spmc:
        raise UsageError("diff compares how profiles mediate FF-A calls, which needs a secure world: "
                         "drop --no-spmc")
    from emu.trace.diff import render_diff  # the trace tools are imported where used: `run` starts faster

    names = (args.profile[0], args.profile[1])
    runs = tuple(Machine(_config(args, profile)).run() for profile in names)
    text, differs = render_diff(names, runs)
    print(text, end="")
    return EXIT_DIFFERENT if differs else EXIT_OK


def _trace(args: argparse.Namespace) -> int:
    from emu.trace.filter import CallFilter, select  # as in _diff
    from emu.trace.stats import function_stats, render_stats

    try:
        with (nullcontext(sys.stdin) if args.file == "-" else open(args.file, encoding="utf-8")) as stream:
            records = read_jsonl(stream)
    except OSError as exc:
        raise UsageError(f"cannot read trace file {args.file}: {exc.strerror}") from None
    except TraceFileError as exc:
        raise TraceFileError(f"{args.file}: {exc}") from None
    keep = CallFilter(tuple(args.vm), tuple(args.name), tuple(args.owner), args.errors)
    selected = select(records, keep)
    if not selected and keep != CallFilter():
        print(f"ffa-emu: no call in {args.file} matches the filters", file=sys.stderr)
        return EXIT_NO_MATCH
    if args.stats and args.format:
        raise UsageError("--stats prints a table: give --format only to re-export the records")
    with ExitStack() as stack:
        out = _open_output(args.output, stack, "output file")
        if args.stats:
            out.write(render_stats(function_stats(selected)))
        elif args.format == "perfetto":
            from emu.trace.perfetto import write_perfetto

            write_perfetto(selected, out)
        else:
            render = TraceRecord.to_json if args.format == "jsonl" else partial(render_text, cycles=not args.no_cycles)
            out.writelines(render(rec) + "\n" for rec in selected)
    return EXIT_OK


def _open_trace(target: str | None, stack: ExitStack) -> IO[str] | None:
    if target is None:
        return None
    if target == "-":
        return sys.stderr
    return _open_output(target, stack, "trace file")


def _open_output(target: str | None, stack: ExitStack, what: str) -> IO[str]:
    """``target`` opened for writing (stdout for None), closed with ``stack``."""
    if target is None:
        return sys.stdout
    try:
        return stack.enter_context(open(target, "w", encoding="utf-8", buffering=TRACE_FILE_BUFFER))
    except OSError as exc:
        raise UsageError(f"cannot write {what} {target}: {exc.strerror}") from None


def _console_verdict(result: RunResult, expect: list[str], fail_on: list[str], code: int) -> int:
    """Exit 1 when a console misses an --expect pattern or hits a --fail-on one (a clean run only)."""
    consoles = "\n".join(vm.console for vm in result.vms)
    problems = [f"no console line matches --expect {p!r}" for p in expect if not re.search(p, consoles, re.M)]
    problems += [f"a console line matches --fail-on {p!r}" for p in fail_on if re.search(p, consoles, re.M)]
    for problem in problems:
        print(f"ffa-emu: {problem}", file=sys.stderr)
    return EXIT_TAP_FAILED if problems and code == EXIT_OK else code


def report(result: RunResult, quiet: bool = False) -> int:
    """Print problems and the summary; return the exit code."""
    for vm in result.vms:
        if vm.state != "off":
            print(f"ffa-emu: {describe_stop(vm)}", file=sys.stderr)
        for problem in vm.tap.problems:
            print(f"ffa-emu: {vm.name}: {problem}", file=sys.stderr)
    if not quiet:
        rate = result.instructions / result.wall_seconds / 1e6 if result.wall_seconds else 0.0
        ends = ", ".join(f"{vm.name} {vm.exit_reason or vm.state}" for vm in result.vms)
        print(f"ffa-emu: {ends} | instructions {result.instructions}, cycles {result.cycles}, "
              f"traps {result.traps}, wall {result.wall_seconds:.3f} s ({rate:.1f} MIPS)", file=sys.stderr)
    return exit_code(result)


if __name__ == "__main__":
    sys.exit(main())
