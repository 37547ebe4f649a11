"""Why a run ended: its exit code, and one line per stopped VM (where it was, what it last called)."""

from __future__ import annotations

from emu.machine import RunResult, VmOutcome
from emu.trace.decode import fill_text
from emu.trace.records import TraceRecord

EXIT_OK, EXIT_TAP_FAILED, EXIT_FAULT = 0, 1, 3


def exit_code(result: RunResult) -> int:
    """0 clean and TAP passed, 1 TAP failures, 3 a VM faulted, ran away or hung.

    A guest that ended with semihosting SYS_EXIT gives its own status, as
    under ``qemu -semihosting`` (the first non-zero one of the VMs).
    """
    if any(vm.state != "off" for vm in result.vms):
        return EXIT_FAULT
    statuses = [vm.exit_status for vm in result.vms if vm.exit_status]
    if statuses:
        return statuses[0]
    if any(vm.tap.problems for vm in result.vms):
        return EXIT_TAP_FAILED
    return EXIT_OK


def describe_stop(vm: VmOutcome) -> str:
    """One line saying why a VM stopped, where (PC, symbol, instruction, fault address) and its last call."""
    if vm.state == "runaway":
        text = f"{vm.name}: runaway guest: {vm.exit_reason}, at {_where(vm, vm.pc)}"
    elif vm.state == "timeout":
        text = f"{vm.name}: timeout: {vm.exit_reason}, at {_where(vm, vm.pc)}"
    elif vm.state == "idle":
        text = f"{vm.name}: guest hung: {vm.exit_reason}, at {_where(vm, vm.pc)}"
    elif vm.fault is None:
        text = f"{vm.name}: {vm.exit_reason}"
    else:
        fault = vm.fault
        text = f"{vm.name}: guest fault: {fault.kind}"
        if fault.address is not None:
            text += f" at {fault.address:#x}"
        text += f", {_where(vm, fault.pc)}"
        insn = disassemble_at(vm, fault.pc)
        if insn:
            text += f": {insn}"
        if fault.detail:
            text += f" ({fault.detail})"
    return f"{text}; {describe_call(vm.last_call)}"


def describe_call(rec: TraceRecord | None, label: str = "last call") -> str:
    """``last call #3 FFA_VERSION(1.2) = 1.2 @ main+0x60 (main.c:9)``, or ``no call made``."""
    if rec is None:
        return "no call made"
    fill_text(rec)
    text = f"{label} #{rec.seq} {rec.name}({rec.args_text})"
    if rec.result_text:
        text += f" = {rec.result_text}"
    return text + (f" @ {rec.site}" if rec.site else "")


def _where(vm: VmOutcome, pc: int) -> str:
    """``pc 0x40001000 <main+0x10 (main.c:12)>``: the site named at the stop, else the symbol."""
    name = vm.stop_site if pc == vm.pc and vm.stop_site else vm.image.symbols.lookup(pc)
    return f"pc {pc:#x}" + (f" <{name}>" if name else "")


def disassemble_at(vm: VmOutcome, pc: int) -> str | None:
    from emu.trace.disasm import disassemble  # a fault's report only: a clean run never loads it

    for seg in vm.image.segments:
        if seg.vaddr <= pc < seg.vaddr + len(seg.data) - 3:
            code = seg.data[pc - seg.vaddr:pc - seg.vaddr + 4]
            return next(iter(disassemble(code, pc)), None)
    return None
