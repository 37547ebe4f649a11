"""A guest VM on the QEMU virt platform: RAM (stage-2 mapped physical chunks), a vCPU and devices.

``create_vm`` wires a VM the way QEMU's virt board is wired: RAM at
0x40000000, the PL011 at 0x09000000, the two flash banks at 0x0 and
0x04000000, semihosting on ``hlt #0xf000``, and the image, initrd and device
tree placed by ``emu.platform.boot``.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from unicorn import UC_MEM_WRITE_PROT, UC_PROT_EXEC, UC_PROT_READ, UcError
from unicorn.arm64_const import UC_ARM64_REG_X0, UC_ARM64_REG_X1

from emu.cpu.blockcost import Clock
from emu.cpu.costmodel import BlockClassifier
from emu.cpu.counters import CNTFRQ_HZ, ticks_per_256
from emu.cpu.codecache import CodeCache
from emu.cpu.engine import DeviceAction, Engine, Fault
from emu.cpu.sysregs import MPIDR_RES1, VMPIDR_EL2
from emu.cpu.vmem import read_virtual, write_virtual
from emu.platform import memory_map
from emu.platform.boot import BootOptions, plan_boot
from emu.platform.console import Console
from emu.platform.image import GuestImage
from emu.platform.gicv3 import GICD_BASE, GICD_SIZE, GICR_BASE, GICR_STRIDE, GicV3
from emu.platform.pflash import Pflash
from emu.platform.physmem import PhysicalMemory, Region
from emu.platform import pl011
from emu.platform.pl011 import InputSource, Pl011
from emu.platform.semihosting import Semihosting, SemihostingError
from emu.platform.stage2 import Mapping, Stage2
from emu.platform.virt_tree import mpidr_affinity
from emu.vcpu_run import InterruptingVcpu

STAGE2_CHUNK = 2 * memory_map.MiB
MAX_CPUS = 8  # vCPUs per VM: each is a Unicorn instance, and they share one host core's time
# Unicorn's memory map costs grow with the cube of its region count (2048 regions take 2 s to map, 8192 take
# three minutes), so a VM's RAM is mapped in at most this many chunks: 2 MiB up to 512 MiB of RAM, larger above.
MAX_STAGE2_CHUNKS = 256


@dataclass
class VmSpec:
    """A VM to create: its image, IDs, RAM, boot options and vCPU count."""

    image: GuestImage
    vm_id: int
    endpoint_id: int
    ram_size: int = memory_map.GUEST_RAM_DEFAULT_SIZE
    boot: BootOptions = field(default_factory=BootOptions)
    cpus: int = 1


def scattered_mappings(region: Region, ipa: int) -> list[Mapping]:
    """Map RAM in chunks (2 MiB, or the power-of-two multiple that keeps them within ``MAX_STAGE2_CHUNKS``)
    with each pair of neighbours swapped; a tail shorter than a chunk is mapped as it lies.

    IPA-contiguous memory is then not PA-contiguous at every other chunk
    boundary, so a mediator that forgets to translate page by page is caught.
    """
    chunk = STAGE2_CHUNK
    while region.size // chunk > MAX_STAGE2_CHUNKS:
        chunk *= 2
    chunks = region.size // chunk
    mappings = []
    for i in range(chunks):
        j = i ^ 1 if (i ^ 1) < chunks else i
        mappings.append(Mapping(ipa + i * chunk, region.pa + j * chunk, chunk))
    rest = region.size - chunks * chunk
    if rest:
        mappings.append(Mapping(ipa + chunks * chunk, region.pa + chunks * chunk, rest))
    return mappings


class VirtualMachine:
    """A running VM: its vCPU engines, stage-2 tables, RAM, console and run state."""

    def __init__(self, spec: VmSpec, engine: Engine, stage2: Stage2, ram: Region, console: Console,
                 dtb_address: int = 0) -> None:
        self.spec = spec
        self.engine = engine
        self.stage2 = stage2
        self.ram = ram
        self.console = console
        self.state = "running"  # running | off | fault
        self.exit_reason = ""
        self.fault: Fault | None = None
        self.ffa: Any = None  # per-VM FF-A state, owned by the mediator
        self.exit_status: int | None = None  # the status a semihosting SYS_EXIT gave
        self.uart: Pl011 | None = None
        self.pflash: Pflash | None = None
        self.gic: GicV3 | None = None
        self.vcpus: list[InterruptingVcpu] = []  # vCPU 0 (``engine``) boots, the others wait
        self.running = 0  # the vCPU executing now (vCPUs of a VM run one at a time)
        self.dtb_address = dtb_address

    @property
    def vm_id(self) -> int:
        return self.spec.vm_id

    @cached_property
    def name(self) -> str:  # made once: every trace record of the VM carries it
        return f"vm{self.spec.vm_id}"

    @property
    def endpoint_id(self) -> int:
        return self.spec.endpoint_id

    @property
    def image(self) -> GuestImage:
        return self.spec.image

    @property
    def engines(self) -> list[Engine]:
        return [vcpu.engine for vcpu in self.vcpus]

    def power_off(self, reason: str) -> None:
        self.state = "off"
        self.exit_reason = reason
        self.vcpus[self.running].engine.request_stop()

    def read_ipa(self, ipa: int, size: int) -> bytes:
        """Read guest memory through stage 2 (raises TranslationFault)."""
        return b"".join(self.engine.physmem.read(pa, n) for pa, n in self.stage2.translate_range(ipa, size))

    def write_ipa(self, ipa: int, data: bytes) -> None:
        view = memoryview(data)  # a slice of it per chunk copies nothing (an image is megabytes)
        offset = 0
        for pa, n in self.stage2.translate_range(ipa, len(data)):
            self.engine.physmem.write(pa, view[offset:offset + n])
            offset += n


def create_vm(spec: VmSpec, physmem: PhysicalMemory, region: Region, classifier: BlockClassifier,
              clock: Clock, console: Console, native: bool | None = None,
              console_input: InputSource | None = None, psci_method: str = "hvc") -> VirtualMachine:
    """Build a VM whose RAM is ``region``, load its image, initrd and device tree, and reset vCPU 0."""
    ram_base = memory_map.GUEST_RAM_IPA
    spec.image.check_fits(ram_base, spec.ram_size, "guest RAM")
    plan = plan_boot(spec.image, ram_base, spec.ram_size, spec.boot, psci_method, spec.cpus)
    stage2 = Stage2(scattered_mappings(region, ram_base))
    engines = [Engine(f"vm{spec.vm_id}" + (f".{i}" if i else ""), physmem, classifier, clock, secure=False,
                      native=native) for i in range(spec.cpus)]
    CodeCache.share_domain([engine.code for engine in engines])
    vm = VirtualMachine(spec, engines[0], stage2, region, console, dtb_address=plan.dtb_addr)
    vm.uart = Pl011(console, lambda exc: vm.engines[vm.running].stop_with_fault(
        Fault("console flood", vm.engines[vm.running].pc, detail=str(exc))), console_input)
    affinities = [mpidr_affinity(i) for i in range(spec.cpus)]
    vm.gic = GicV3(affinities)
    vm.pflash = Pflash(spec.boot.pflash)
    if plan.dtb_in_flash:
        vm.pflash.overlay(plan.dtb_addr, plan.dtb)
    semihosting = _semihosting(vm, clock, classifier.model.core_hz, console_input)
    for index, engine in enumerate(engines):
        engine.map_ram(stage2.mappings)
        engine.uc.cpr_write(*VMPIDR_EL2, MPIDR_RES1 | affinities[index])
        _map_devices(engine, vm.uart, vm.gic, lambda: vm.vcpus[vm.running].recheck())
        engine.device_memory = lambda address, access, engine=engine: _flash_access(vm, engine, address, access)
        engine.semihosting = semihosting
        vm.vcpus.append(InterruptingVcpu(engine, vm.gic, index, engine.timer.timer, lambda: clock.now,
                                         clock.advance, [(pl011.INTID, vm.uart.irq_level)], powered=index == 0))
    vm.gic.sample_lines = lambda: [vcpu.sample_lines() for vcpu in vm.vcpus]
    for seg in spec.image.segments:  # written as they are, then the rest (an ELF's .bss) zeroed: no copy joins them
        if seg.data:
            vm.write_ipa(seg.vaddr, seg.data)
        if seg.memsz > len(seg.data):
            vm.write_ipa(seg.vaddr + len(seg.data), bytes(seg.memsz - len(seg.data)))
    if not plan.dtb_in_flash:
        vm.write_ipa(plan.dtb_addr, plan.dtb)
    if plan.initrd is not None and spec.boot.initrd:
        vm.write_ipa(plan.initrd[0], spec.boot.initrd)
    engines[0].reset(spec.image.entry, x0=plan.dtb_addr)
    return vm


def _map_devices(engine: Engine, uart: Pl011, gic: GicV3, recheck: Callable[[], None]) -> None:
    """The PL011 and the GIC's two frames, as MMIO of this vCPU (the devices are the VM's, shared).

    A write to the GIC may let an interrupt in: ``recheck`` has the running vCPU look at once.
    """
    uc = engine.uc

    def gic_write(write: Callable[[int, int, int], None], offset: int, size: int, value: int) -> None:
        write(offset, size, value)
        recheck()

    try:
        uc.mmio_map(memory_map.UART_IPA, memory_map.UART_SIZE,
                    lambda _uc, offset, _size, _data: uart.read(offset), None,
                    lambda _uc, offset, _size, value, _data: uart.write(offset, value), None)
        uc.mmio_map(GICD_BASE, GICD_SIZE, lambda _uc, offset, size, _data: gic.dist_read(offset, size), None,
                    lambda _uc, offset, size, value, _data: gic_write(gic.dist_write, offset, size, value), None)
        uc.mmio_map(GICR_BASE, GICR_STRIDE * len(gic.cpus),
                    lambda _uc, offset, size, _data: gic.redist_read(offset, size), None,
                    lambda _uc, offset, size, value, _data: gic_write(gic.redist_write, offset, size, value), None)
    except UcError as exc:
        raise RuntimeError(f"cannot map the devices: {exc}") from None


def _flash_access(vm: VirtualMachine, engine: Engine, address: int, access: int) -> DeviceAction | None:
    """Back a flash chunk on first touch (read-only); drop writes to flash (no CFI commands)."""
    flash = vm.pflash
    if flash is None or not flash.contains(address):
        return None
    if access == UC_MEM_WRITE_PROT:
        flash.ignored_writes += 1
        return DeviceAction.IGNORE
    base, host = flash.chunk(address)
    try:
        engine.uc.mem_map_ptr(base, len(host), UC_PROT_READ | UC_PROT_EXEC,
                                 ctypes.addressof(ctypes.c_char.from_buffer(host)))
    except UcError:
        return None  # already mapped: a write to it, handled above
    return DeviceAction.MAP


def _semihosting(vm: VirtualMachine, clock: Clock, core_hz: int, console_input: InputSource | None):
    """The ``hlt #0xf000`` service of one VM; a SYS_EXIT powers it off with the guest's status."""
    pending = bytearray()
    per_256 = ticks_per_256(core_hz)

    def read(va: int, size: int) -> bytes:
        data = read_virtual(vm.engines[vm.running].uc, va, size)
        if data is None:
            raise SemihostingError(f"guest address {va:#x} is not mapped")
        return data

    def write(va: int, data: bytes) -> None:
        if not write_virtual(vm.engines[vm.running].uc, va, data):
            raise SemihostingError(f"guest address {va:#x} is not writable")
        vm.engine.code.virtual_written(va, len(data))

    def getc() -> int | None:
        if not pending and console_input is not None:
            pending.extend(console_input())
        return pending.pop(0) if pending else None

    service = Semihosting(read, write, vm.console.putc, getc, lambda: clock.now * per_256 // 256, CNTFRQ_HZ)

    def call(engine: Engine) -> None:
        op, x1 = engine.uc.reg_read(UC_ARM64_REG_X0) & 0xFFFF_FFFF, engine.uc.reg_read(UC_ARM64_REG_X1)
        try:
            result = service.call(op, x1)
        except SemihostingError as exc:
            engine.stop_with_fault(Fault("semihosting call with a bad address", engine.pc, detail=str(exc)))
            return
        engine.uc.reg_write(UC_ARM64_REG_X0, result)
        if service.exit is not None:
            vm.exit_status = service.exit.status
            vm.power_off(f"semihosting exit {service.exit.status}")

    return call
