"""Snapshots of a machine between two scheduler steps, to branch several runs from one point.

A snapshot holds everything a run changes: the physical memory (one copy
of the host buffer), each engine's Unicorn context (registers and system
registers) with its cycle and counter state, the machine clock, the
scheduler, the trace, and the Python state of the EL2 handler, the mediator,
the secure world and every VM (consoles, devices, stage 2, FF-A state).
Restoring puts all of it back into the same objects and remaps each VM's RAM
from its restored stage 2 (lent pages come back, or go again), so a restored
machine runs on exactly as it did from the snapshot.  Taking one costs a
copy of physical memory (the RAM of every VM).
"""

from __future__ import annotations

import copy
import ctypes
from dataclasses import dataclass
from typing import Any

from unicorn.unicorn_py3.unicorn import UcContext

from emu.cpu.engine import Engine
from emu.machine import Machine
from emu.platform import memory_map
from emu.vm import VirtualMachine

_COUNTER_FIELDS = ("cycles", "insns", "stop_at", "last_addr", "last_size", "stopped")


@dataclass
class EngineState:
    context: UcContext
    counter: dict[str, int]
    timer: bytes  # the counter (MRS) hook's state struct
    fault: Any
    stop_requested: bool


@dataclass
class Snapshot:
    memory: bytes
    clock: int
    engines: list[EngineState]
    python: list[dict[str, Any]]  # the attributes of each of _stateful(machine), deep-copied


def _engines(machine: Machine) -> list[Engine]:
    engines = [engine for vm in machine.vms for engine in vm.engines]
    if machine.mediator is not None:
        engines.append(machine.mediator.secure.engine)
    return engines


def _stateful(machine: Machine) -> list[Any]:
    """The Python objects a run changes, restored in place (Unicorn hooks and closures hold some of them)."""
    objects: list[Any] = [machine, machine.el2, machine.el2.account, machine.trace, machine.checker]
    for vm in machine.vms:
        objects += [vm, vm.console, vm.uart, vm.stage2, vm.gic]
        for vcpu in vm.vcpus:
            objects += [vcpu, vcpu.timer]
    if machine.mediator is not None:
        secure = machine.mediator.secure
        objects += [machine.mediator, machine.mediator.memory, secure, secure.account]
    return [obj for obj in objects if obj is not None]


def _memo(machine: Machine) -> dict[int, Any]:
    """A deepcopy memo sharing the stateful objects and the parts no run changes (engines, memory, images)."""
    # The sites taught to the engines' trap hooks stay true whatever the run does, as the engines are shared.
    shared: list[Any] = _stateful(machine) + [machine.clock, machine.physmem, machine.config,
                                               machine.config.cost_model, machine.classifier, machine.rmm,
                                               machine.el2.fixed_answers]
    for vm in machine.vms:
        shared += [vm.spec, vm.image, vm.ram, vm.pflash, vm.console._stream, vm.uart._input]
    if machine.mediator is not None:
        secure = machine.mediator.secure
        # the journals, the tracker, the TLB's store watch and the call entry hold state only within one SPMC
        # call, and a snapshot is taken between calls
        shared += [machine.mediator.profile, secure.image, secure.journal, secure._vm_writes, secure._writes,
                   secure._stores, secure._entry]
    for engine in _engines(machine):
        shared += [engine, engine.uc]
    return {id(obj): obj for obj in shared}


def take(machine: Machine) -> Snapshot:
    """The machine's state now (between two ``advance`` calls, or before the first)."""
    engines = []
    for engine in _engines(machine):
        counter = engine.counter._s
        engines.append(EngineState(engine.uc.context_save(), {f: getattr(counter, f) for f in _COUNTER_FIELDS},
                                   bytes(engine.timer._state), engine.fault, engine.stop_requested))
    python = copy.deepcopy([obj.__dict__ for obj in _stateful(machine)], _memo(machine))
    return Snapshot(bytes(machine.physmem._view), machine.clock.now, engines, python)


def restore(machine: Machine, snap: Snapshot) -> None:
    """Put ``machine`` back in the state of ``snap`` (taken from this machine; it can be restored again)."""
    machine.physmem._view[:] = snap.memory
    machine.clock.advance(snap.clock - machine.clock.now)
    for engine, saved in zip(_engines(machine), snap.engines, strict=True):
        engine.uc.context_restore(saved.context)
        for name, value in saved.counter.items():
            setattr(engine.counter._s, name, value)
        ctypes.memmove(ctypes.addressof(engine.timer._state), saved.timer, len(saved.timer))
        engine.fault, engine.stop_requested = saved.fault, saved.stop_requested
    for obj, attributes in zip(_stateful(machine), copy.deepcopy(snap.python, _memo(machine)), strict=True):
        obj.__dict__.clear()
        obj.__dict__.update(attributes)
    for vm in machine.vms:
        _remap_ram(machine, vm)


def _remap_ram(machine: Machine, vm: VirtualMachine) -> None:
    """Map the VM's RAM into its vCPUs' engines as restored: stage 2, less the pages it has lent or donated."""
    low, high = memory_map.GUEST_RAM_IPA, memory_map.GUEST_RAM_IPA + vm.spec.ram_size
    shares = machine.mediator.memory.ledger.shares.values() if machine.mediator is not None else ()
    taken = [r for share in shares if share.vm_name == vm.name and share.removes_access for r in share.ipa_ranges]
    for engine in vm.engines:
        for begin, end, _perms in list(engine.uc.mem_regions()):
            if low <= begin and end < high:
                engine.unmap(begin, end - begin + 1)
        engine.map_ram(vm.stage2.mappings)
        for ipa, size in taken:
            engine.unmap(ipa, size)
