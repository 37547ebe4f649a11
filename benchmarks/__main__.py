"""``python -m benchmarks [NAME ...]``: run the benchmarks (all, or the named ones) and print figures."""

from __future__ import annotations

import argparse
import platform
import sys
import time

from benchmarks import compute, cores, ffa, linux, mem_share, memory, trap_path, traps, uboot
from benchmarks.common import Report

# (name, run function taking a Report).  Append new benchmark modules here.
BENCHMARKS = [
    ("trap_path", trap_path.run),
    ("traps", traps.run),
    ("compute", compute.run),
    ("cores", cores.run),
    ("ffa", ffa.run),
    ("mem_share", mem_share.run),
    ("uboot", uboot.run),
    ("linux", linux.run),
    ("memory", memory.run),
]


def main(argv: list[str] | None = None) -> int:
    names = [name for name, _ in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("only", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default all): {', '.join(names)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only) - set(names))
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(names)}")
    report = Report()
    print(f"ffa-emu benchmarks on {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()} (best of 3 where noted; wall-clock figures vary by host)")
    started = time.perf_counter()
    for name, run in BENCHMARKS:
        if not args.only or name in args.only:
            run(report)
    print(f"\n({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
