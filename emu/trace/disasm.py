"""``--disasm``: the basic block of each trapping ``hvc``/``smc``, disassembled into its call record.

The block is the one the engine was executing when it trapped (the block
counter's last block), from its first instruction to the trap: what the
guest did just before the call, e.g. how it loaded x0-x7.
"""

from __future__ import annotations

from emu.cpu.disassembler import disassembler
from emu.cpu.engine import Engine
from emu.cpu.vmem import read_virtual
from emu.machine import Machine
from emu.trace.records import HOP_CALL, TraceRecord
from emu.vm import VirtualMachine


def disassemble(code: bytes, addr: int) -> list[str]:
    """``mnemonic ops`` for each instruction of ``code`` loaded at ``addr``."""
    return [f"{mnemonic} {ops}".strip() for _addr, _size, mnemonic, ops in disassembler().disasm_lite(code, addr)]


def trapping_block(engine: Engine) -> list[str]:
    """``addr: mnemonic ops`` lines from the start of the trapping block to the trap (PC is past it)."""
    trap_pc = engine.pc - 4
    start, size = engine.counter.last_block
    if not start <= trap_pc < start + size:
        start = trap_pc
    code = read_virtual(engine.uc, start, trap_pc + 4 - start, execute=True) or b""  # virtual once the MMU is on
    return [f"{start + 4 * i:#x}: {text}" for i, text in enumerate(disassemble(code, start))]


def attach_disassembler(machine: Machine) -> None:
    """Give every guest call record of ``machine`` a ``disasm`` field."""
    pending: dict[str, list[str]] = {}
    for vm in machine.vms:
        _capture_blocks(vm, pending)

    def annotate(rec: TraceRecord) -> None:
        if rec.hop == HOP_CALL:
            rec.disasm = pending.pop(rec.vm, None)

    machine.trace.add_annotator(annotate)


def _capture_blocks(vm: VirtualMachine, pending: dict[str, list[str]]) -> None:
    handler = vm.engine.trap_handler
    assert handler is not None, "attach after the EL2 handler"

    def on_trap(engine: Engine, intno: int) -> None:
        pending[vm.name] = trapping_block(engine)
        handler(engine, intno)

    vm.engine.trap_handler = on_trap
