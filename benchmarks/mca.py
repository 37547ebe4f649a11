"""The core models against llvm-mca: per block and per run, for the benchmark guests.

``python -m benchmarks.mca [--guest NAME ...] [--mca PATH] [--top N]`` runs
each guest once with a block hook that counts how often each basic block
runs, then times every executed block two ways for each core of
``emu.cpu.costmodel.CPUS``:

- ffa-emu: the block's cost in the core model (``BlockClassifier``);
- llvm-mca: the block as one code region, ``-iterations=100``, in one
  llvm-mca run per core: its cycles per iteration (steady state).

Per run, each side's block cycles are weighted by the block's execution
count, so the comparison is of whole-run cycles per instruction over the
executed block sequence.  Per block, the error is printed for the blocks
that weigh most.  Needs ``llvm-mca`` (Debian: the ``llvm`` package); the
newest ``llvm-mca-N`` on PATH is used unless ``--mca`` names one.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs
from unicorn import UC_HOOK_BLOCK

from benchmarks.common import guest, machine
from emu.cpu.costmodel import CPUS, BlockClassifier, load_cpu_model
from emu.cpu.vmem import read_virtual

GUESTS = ("bench_compute",)
ITERATIONS = 100
_TARGET = re.compile(r"#(-?0x[0-9a-f]+|-?\d+)$")
_PC_RELATIVE = ("b", "bl", "adr", "adrp", "cbz", "cbnz", "tbz", "tbnz", "ldr", "ldrsw", "prfm")
_REGION = re.compile(r"\[\d+\] Code Region - (\S+)")
_TOTAL = re.compile(r"Total Cycles:\s+(\d+)")


@dataclass
class Block:
    address: int
    code: bytes
    count: int

    @property
    def instructions(self) -> int:
        return len(self.code) // 4


@dataclass
class Comparison:
    cpu: str
    instructions: int  # executed, over the run
    model_cycles: float  # whole-run cycles of the executed blocks, core model
    mca_cycles: float  # the same, llvm-mca
    blocks: list[tuple[Block, float, float]]  # (block, model cycles, llvm-mca cycles) per execution

    @property
    def model_cpi(self) -> float:
        return self.model_cycles / self.instructions

    @property
    def mca_cpi(self) -> float:
        return self.mca_cycles / self.instructions

    @property
    def error(self) -> float:
        return self.model_cycles / self.mca_cycles - 1


def find_mca() -> str | None:
    """The newest llvm-mca on PATH (llvm-mca-N before plain llvm-mca)."""
    versioned = sorted((int(p.name.rsplit("-", 1)[1]), p) for d in map(Path, _path_dirs())
                       for p in d.glob("llvm-mca-*") if p.name.rsplit("-", 1)[1].isdigit())
    if versioned:
        return str(versioned[-1][1])
    return shutil.which("llvm-mca")


def _path_dirs() -> list[str]:
    return [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and Path(d).is_dir()]


def executed_blocks(image: Path) -> list[Block]:
    """Every basic block the guest ran, with its execution count (one accounted run, default model)."""
    m = machine(image)
    engine = m.vms[0].engine
    counts: Counter[tuple[int, int]] = Counter()
    engine.uc.hook_add(UC_HOOK_BLOCK, lambda _uc, addr, size, _data: counts.update(((addr, size),)))
    m.run()
    return [Block(addr, bytes(read_virtual(engine.uc, addr, size, execute=True)), n)
            for (addr, size), n in counts.items()]


def assembly(block: Block, cs: Cs) -> list[str]:
    """The block as llvm-mc reads it: PC-relative targets become ``.`` (timing does not depend on them)."""
    lines = []
    for _addr, _size, mnemonic, op_str in cs.disasm_lite(block.code, block.address):
        if mnemonic.split(".")[0] in _PC_RELATIVE or mnemonic.startswith("b."):
            op_str = _TARGET.sub(".", op_str)
        lines.append(f"{mnemonic} {op_str}".strip())
    return lines


class McaError(RuntimeError):
    """llvm-mca did not run (too old for the options used, or it failed on the input)."""


def mca_cycles(blocks: list[Block], cpu: str, mca: str) -> dict[int, float]:
    """llvm-mca's steady-state cycles per iteration of each block, by block index."""
    cs = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
    source = []
    for i, block in enumerate(blocks):
        source += [f"# LLVM-MCA-BEGIN b{i}", *assembly(block, cs), f"# LLVM-MCA-END b{i}"]
    out = subprocess.run([mca, "-mtriple=aarch64", f"-mcpu={cpu}", f"-iterations={ITERATIONS}",
                          "-skip-unsupported-instructions=lack-sched", "-resource-pressure=false",
                          "-instruction-info=false"],
                         input="\n".join(source) + "\n", capture_output=True, text=True)
    if out.returncode != 0 and not out.stdout:
        raise McaError(f"{mca} failed: {' '.join(out.stderr.strip().splitlines()[:1])} (a newer llvm-mca, with "
                       "-skip-unsupported-instructions, is needed)")
    cycles: dict[int, float] = {}
    region = None
    for line in out.stdout.splitlines():
        named = _REGION.search(line)
        if named:
            region = int(named.group(1)[1:])
        total = _TOTAL.search(line)
        if total and region is not None:
            cycles[region] = int(total.group(1)) / ITERATIONS
    return cycles


def compare(blocks: list[Block], cpu: str, mca: str) -> Comparison:
    classifier = BlockClassifier(load_cpu_model(cpu))
    theirs = mca_cycles(blocks, cpu, mca)
    rows = []
    for i, block in enumerate(blocks):
        if i in theirs:  # a block llvm-mca cannot read is left out of both sides
            rows.append((block, sum(classifier.instruction_costs(block.address, block.code)), theirs[i]))
    return Comparison(cpu, sum(b.instructions * b.count for b, _m, _t in rows),
                      sum(m * b.count for b, m, _t in rows), sum(t * b.count for b, _m, t in rows), rows)


def report(image_name: str, comparisons: list[Comparison], top: int) -> str:
    lines = [f"{image_name}: whole-run cycles per instruction over the executed blocks"]
    lines.append(f"  {'cpu':<12} {'ffa-emu CPI':>11} {'llvm-mca CPI':>12} {'error':>7}")
    for c in comparisons:
        lines.append(f"  {c.cpu:<12} {c.model_cpi:>11.3f} {c.mca_cpi:>12.3f} {c.error:>+7.1%}")
    for c in comparisons:
        lines.append(f"  {c.cpu}: the {top} blocks that weigh most (cycles per execution)")
        heaviest = sorted(c.blocks, key=lambda row: -row[2] * row[0].count)[:top]
        for block, mine, theirs in heaviest:
            lines.append(f"    {block.address:#x} {block.instructions:>3} insns x{block.count:<9} "
                         f"ffa-emu {mine:7.2f}  llvm-mca {theirs:7.2f}  {mine / theirs - 1:+7.1%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mca", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guest", action="append", help=f"guest image name (default: {', '.join(GUESTS)})")
    parser.add_argument("--mca", help="llvm-mca binary (default: the newest on PATH)")
    parser.add_argument("--top", type=int, default=8, help="blocks listed per core (default 8)")
    args = parser.parse_args(argv)
    mca = args.mca or find_mca()
    if mca is None:
        print("llvm-mca not found (Debian: apt-get install llvm)", file=sys.stderr)
        return 2
    print(f"using {mca}")
    for name in args.guest or GUESTS:
        blocks = executed_blocks(guest(name))
        print(report(name, [compare(blocks, cpu, mca) for cpu in CPUS], args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
