"""Check the native word classifier (emu/cpu/native/wordclass.c) against capstone and emu/cpu/iclass.py.

The block-cost hook classifies new instruction words in C where it can, and
asks capstone (through ``iclass.classify``) otherwise; runs stay exact only
if the two agree on every word the C decoder claims.  This builds
``wordclass_check.c`` for the host against the capstone the package uses,
runs it over the 32-bit word space (every word, or every ``--stride``-th),
and checks each (claimed class, mnemonic, operands) triple it saw::

    python tools/check_wordclass.py                 # all 2**32 words: some 45 CPU minutes
    python tools/check_wordclass.py --stride 4099   # a spread sample, in seconds
    python tools/check_wordclass.py --only 0x0e000000:0x0e000000   # every word of one encoding group

Exit status 0 when every claim agrees, 1 on a disagreement (each listed
with an example word), 2 when the checker cannot be built.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import capstone
from elftools.elf.elffile import ELFFile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emu.cpu.iclass import classify  # noqa: E402
from tools.ffabuild import BuildError, zig_cc  # noqa: E402

NATIVE = ROOT / "emu" / "cpu" / "native"
SOURCES = [ROOT / "tools" / "wordclass_check.c", NATIVE / "wordclass.c"]
WORDS = 1 << 32


def _soname(library: Path) -> str:
    """The name a program linked with ``library`` asks the loader for (its DT_SONAME, else its file name)."""
    with library.open("rb") as f:
        dynamic = ELFFile(f).get_section_by_name(".dynamic")
        for tag in dynamic.iter_tags() if dynamic else ():
            if tag.entry.d_tag == "DT_SONAME":
                return tag.soname
    return library.name


def build(scratch: Path) -> Path:
    """The checker, linked against the capstone library shipped with the ``capstone`` package."""
    package = Path(capstone.__file__).parent
    library = package / "lib" / "libcapstone.so"
    # The library names itself libcapstone.so.<major>: give the loader that name beside the checker.
    (scratch / _soname(library)).symlink_to(library)
    out = scratch / "wordclass_check"
    argv = zig_cc() + ["-O2", "-Wall", "-Werror", f"-I{package / 'include'}", f"-I{NATIVE}", *map(str, SOURCES),
                       f"-L{package / 'lib'}", "-lcapstone", f"-Wl,-rpath,{scratch}", "-o", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode:
        raise BuildError(f"{' '.join(argv)} failed:\n{proc.stdout}{proc.stderr}")
    return out


def triples(checker: Path, stride: int, jobs: int, only: tuple[int, int] | None = None
            ) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(claimed class, mnemonic, operand prefix) -> (words, an example word), over the sampled word space
    (of it, the words ``w`` with ``w & mask == value`` when ``only`` is ``(mask, value)``)."""
    chunk = -(-WORDS // jobs)
    ranges = [(lo, min(lo + chunk, WORDS)) for lo in range(0, WORDS, chunk)]

    def run(bounds: tuple[int, int]) -> str:
        lo, hi = bounds
        first = -(-lo // stride) * stride  # the sample is every stride-th word of the whole space
        group = [str(n) for n in only] if only else []
        return subprocess.run([str(checker), str(first), str(hi), str(stride), *group], check=True,
                              capture_output=True, text=True).stdout

    seen: dict[tuple[str, str, str], tuple[int, int]] = {}
    with ThreadPoolExecutor(jobs) as pool:
        for output in pool.map(run, ranges):
            for line in output.splitlines():
                cls, mnemonic, prefix, count, example = line.split("\t")
                key = (cls, mnemonic, prefix)
                words, first = seen.get(key, (0, int(example, 16)))
                seen[key] = (words + int(count), first)
    return seen


def disagreements(seen: dict[tuple[str, str, str], tuple[int, int]]) -> list[str]:
    """One line per triple whose claimed class is not the class iclass.py gives (ALU for undecodable words)."""
    out = []
    for (claimed, mnemonic, prefix), (words, example) in sorted(seen.items()):
        expected = classify(mnemonic, prefix) if mnemonic else "alu"
        if claimed != expected:
            out.append(f"  {example:#010x} {mnemonic or '(undecodable)'} {prefix}...: claimed {claimed}, "
                       f"iclass.py says {expected} ({words} words like it)")
    return out


def _group(text: str) -> tuple[int, int]:
    try:
        mask, value = (int(part, 0) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not MASK:VALUE (two integers)") from None
    return mask, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stride", type=int, default=1, help="check every STRIDE-th word (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="checker processes to run")
    parser.add_argument("--only", type=_group, metavar="MASK:VALUE",
                        help="only the words w with w & MASK == VALUE (one encoding group)")
    args = parser.parse_args(argv)
    if args.stride < 1 or args.jobs < 1:
        parser.error("--stride and --jobs must be positive")
    with tempfile.TemporaryDirectory() as scratch:
        try:
            checker = build(Path(scratch))
        except BuildError as exc:
            print(f"check_wordclass: {exc}", file=sys.stderr)
            return 2
        seen = triples(checker, args.stride, args.jobs, args.only)
    claimed = sum(words for words, _example in seen.values())
    bad = disagreements(seen)
    scope = f"the words w & {args.only[0]:#x} == {args.only[1]:#x}" if args.only else "all words"
    sample = "every word" if args.stride == 1 else f"every {args.stride}th word"
    print(f"{claimed:,} claimed words checked ({sample} of {scope}) in "
          f"{len(seen)} distinct (class, mnemonic, operands): {len(bad)} disagreements")
    print("\n".join(bad) if bad else "every claim agrees with iclass.py")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
