"""Guest MIPS on bench_compute: raw Unicorn vs native C accounting vs pure-Python accounting."""

from __future__ import annotations

from pathlib import Path

from unicorn import UC_ARCH_ARM64, UC_HOOK_INTR, UC_MODE_ARM, UC_PROT_ALL, UC_PROT_READ, Uc
from unicorn.arm64_const import UC_ARM64_REG_PC, UC_ARM64_REG_PSTATE, UC_ARM64_REG_SP, UC_ARM64_REG_X0

from benchmarks.common import Report, Stopwatch, Timing, guest, qemu_cpu_seconds, qemu_trap_costs, timed_run
from emu.cpu import blockcost
from emu.platform import memory_map, pflash
from emu.el2 import psci
from emu.platform.elf import load_elf
from emu.platform.image import GuestImage
from emu.cpu.engine import EXCP_HVC
from emu.cpu.exceptions import PSTATE_EL1H_DAIF_MASKED
from emu.cpu.sysregs import SCR_EL3, SCR_NONSECURE, VBAR_EL1
from emu.platform.physmem import PhysicalMemory
from emu.vm import scattered_mappings

ACCOUNTING_AIM = 1.1  # native-accounted time / raw Unicorn time
PURE_PYTHON_CYCLES = 20_000_000  # the pure-Python run is capped: ~1 MIPS would take a minute


def raw_unicorn(image: GuestImage) -> tuple[Timing, str]:
    """Run ``image`` on a bare Unicorn: no block hook, no cycle accounting; stop at PSCI SYSTEM_OFF.

    Memory is laid out as the machine does it (the same scattered 2 MiB
    stage-2 chunks, mapped with mem_map_ptr) so the only difference from an
    accounted run is the accounting.  Returns (seconds of emu_start, console).
    """
    ram = memory_map.GUEST_RAM_DEFAULT_SIZE
    physmem = PhysicalMemory(ram)
    region = physmem.allocate("vm1", ram)
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    uc.cpr_write(*SCR_EL3, SCR_NONSECURE)
    for m in scattered_mappings(region, memory_map.GUEST_RAM_IPA):
        uc.mem_map_ptr(m.ipa, m.size, UC_PROT_ALL, physmem.host_pointer(m.pa))
    console: list[str] = []

    def uart_read(_uc, offset, _size, _data):
        return memory_map.UART_FR_TXFE | memory_map.UART_FR_RXFE if offset == memory_map.UART_FR else 0

    def uart_write(_uc, offset, _size, value, _data):
        if offset == memory_map.UART_DR:
            console.append(chr(value & 0xFF))

    uc.mmio_map(memory_map.UART_IPA, memory_map.UART_SIZE, uart_read, None, uart_write, None)
    # flash bank 0, empty (zeros) as on QEMU virt: where the guest library looks for a device tree
    uc.mem_map(pflash.BANK_ADDRESSES[0], memory_map.PAGE_SIZE, UC_PROT_READ)
    for seg in image.segments:
        uc.mem_write(seg.vaddr, seg.data + bytes(seg.memsz - len(seg.data)))
    uc.reg_write(UC_ARM64_REG_SP, 0)
    uc.reg_write(UC_ARM64_REG_PSTATE, PSTATE_EL1H_DAIF_MASKED)
    uc.cpr_write(*VBAR_EL1, 0)
    uc.reg_write(UC_ARM64_REG_PC, image.entry)
    stopped = []

    def on_intr(uc_, intno, _data):
        x0 = uc_.reg_read(UC_ARM64_REG_X0) & 0xFFFF_FFFF
        stopped.append((intno, x0))
        uc_.emu_stop()  # SYSTEM_OFF (or anything unexpected): the run is over

    uc.hook_add(UC_HOOK_INTR, on_intr)
    with Stopwatch() as watch:
        uc.emu_start(image.entry, 0)
    if stopped != [(EXCP_HVC, psci.PSCI_SYSTEM_OFF)]:
        raise RuntimeError(f"raw run of {image.path} ended unexpectedly: {stopped}")
    return watch.elapsed, "".join(console)


def run(report: Report) -> None:
    report.section("guest MIPS: bench_compute, best of 3 (pure Python: one capped run)")
    path = guest("bench_compute")
    image = load_elf(path)

    # Raw and accounted runs alternate, so a change in host load hits both alike;
    # the accounted run also tells how many instructions the workload is.
    native = blockcost.native_available()
    if not native:
        report.note(f"native helper {blockcost.NATIVE_LIBRARY} not available: no native figure")
    raw_runs, native_runs = [], []
    for _ in range(3 if native else 1):
        raw_runs.append(raw_unicorn(image))
        if native:
            native_runs.append(timed_run(path, native=True))
    if not native:
        native_runs.append(timed_run(path, native=False))
    t_raw, raw_console = min(raw_runs, key=lambda run: run[0])
    t_native, result = min(native_runs, key=lambda run: run[0])
    vm = result.vms[0]
    if vm.state != "off":
        report.note(f"bench_compute did not finish: {vm.state} {vm.exit_reason}")
        return
    insns = result.instructions
    report.note(f"workload: {insns:,} instructions, {result.cycles:,} cycles; {vm.console.strip()}")
    if raw_console != vm.console:
        report.note(f"raw run printed {raw_console!r}, accounted run {vm.console!r}: figures not comparable")
    raw_mips = insns / t_raw / 1e6
    report.figure("mips_raw", "(a) raw Unicorn, no accounting", raw_mips, "MIPS", _seconds(t_raw))
    if native:
        native_mips = insns / t_native / 1e6
        report.figure("mips_native", "(b) Machine, native C block hook", native_mips, "MIPS", _seconds(t_native))

    t_py, capped = timed_run(path, native=False, max_cycles=PURE_PYTHON_CYCLES)
    py_mips = capped.instructions / t_py / 1e6
    report.figure("mips_python", f"(c) Machine, pure-Python hook ({PURE_PYTHON_CYCLES:,}-cycle cap)", py_mips, "MIPS",
                  f"{capped.instructions:,} instructions, {_seconds(t_py)}")
    if native:
        ratio = t_native / t_raw
        report.figure("accounting_overhead", "MIPS ratio: raw / native-accounted", ratio, "x",
                      f"aim <= {ACCOUNTING_AIM}x: {'met' if ratio <= ACCOUNTING_AIM else 'NOT met'}; "
                      f"by CPU time {t_native.cpu / t_raw.cpu:.2f}x")
        report.figure("python_vs_native", "MIPS ratio: native-accounted / pure-Python", native_mips / py_mips, "x")
        qemu_side(report, path, insns, native_mips)


def qemu_side(report: Report, path: Path, insns: int, native_mips: float) -> None:
    """QEMU TCG on the same image, its start-up (measured on bench_psci) taken off."""
    qemu, costs = qemu_cpu_seconds(path), qemu_trap_costs()
    if qemu is None or costs is None:
        report.note("qemu-system-aarch64 not installed: no side-by-side figure")
        return
    seconds = max(qemu - costs[1], 1e-3)
    report.figure("mips_qemu", "(d) QEMU TCG, start-up taken off", insns / seconds / 1e6, "MIPS",
                  f"{seconds:.3f} s CPU; native-accounted / QEMU = {native_mips / (insns / seconds / 1e6):.2f}")


def _seconds(t: Timing) -> str:
    return f"{t:.3f} s wall, {t.cpu:.3f} s CPU"
