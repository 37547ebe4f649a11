"""A guest VM: its RAM (stage-2 mapped physical chunks), its vCPU, its console."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unicorn import UC_PROT_ALL, UcError

from emu.platform import memory_map
from emu.cpu.blockcost import Clock
from emu.platform.console import Console, ConsoleFlood
from emu.cpu.costmodel import BlockClassifier
from emu.platform.image import GuestImage
from emu.cpu.engine import Engine, Fault
from emu.platform.physmem import PhysicalMemory, Region
from emu.platform.stage2 import Mapping, Stage2

STAGE2_CHUNK = 2 * memory_map.MiB


@dataclass
class VmSpec:
    image: GuestImage
    vm_id: int
    endpoint_id: int
    ram_size: int = memory_map.GUEST_RAM_DEFAULT_SIZE


def scattered_mappings(region: Region, ipa: int) -> list[Mapping]:
    """Map RAM in 2 MiB chunks with each pair of neighbours swapped.

    IPA-contiguous memory is then not PA-contiguous at every other 2 MiB
    boundary, so a mediator that forgets to translate page by page is caught.
    """
    chunks = region.size // STAGE2_CHUNK
    if region.size % STAGE2_CHUNK or chunks < 2:
        return [Mapping(ipa, region.pa, region.size)]
    mappings = []
    for i in range(chunks):
        j = i ^ 1 if (i ^ 1) < chunks else i
        mappings.append(Mapping(ipa + i * STAGE2_CHUNK, region.pa + j * STAGE2_CHUNK, STAGE2_CHUNK))
    return mappings


@dataclass
class VirtualMachine:
    spec: VmSpec
    engine: Engine
    stage2: Stage2
    ram: Region
    console: Console
    state: str = "running"  # running | off | fault
    exit_reason: str = ""
    fault: Fault | None = None
    ffa: Any = None  # per-VM FF-A state, owned by the mediator

    @property
    def vm_id(self) -> int:
        return self.spec.vm_id

    @property
    def name(self) -> str:
        return f"vm{self.spec.vm_id}"

    @property
    def endpoint_id(self) -> int:
        return self.spec.endpoint_id

    @property
    def image(self) -> GuestImage:
        return self.spec.image

    def power_off(self, reason: str) -> None:
        self.state = "off"
        self.exit_reason = reason
        self.engine.request_stop()

    def read_ipa(self, ipa: int, size: int) -> bytes:
        """Read guest memory through stage 2 (raises TranslationFault)."""
        return b"".join(self.engine.physmem.read(pa, n) for pa, n in self.stage2.translate_range(ipa, size))

    def write_ipa(self, ipa: int, data: bytes) -> None:
        offset = 0
        for pa, n in self.stage2.translate_range(ipa, len(data)):
            self.engine.physmem.write(pa, data[offset:offset + n])
            offset += n


def create_vm(spec: VmSpec, physmem: PhysicalMemory, region: Region, classifier: BlockClassifier,
              clock: Clock, console: Console, native: bool | None = None) -> VirtualMachine:
    """Build a VM whose RAM is ``region``, load its image, and reset its vCPU."""
    spec.image.check_fits(memory_map.GUEST_RAM_IPA, spec.ram_size, "guest RAM")
    engine = Engine(f"vm{spec.vm_id}", physmem, classifier, clock, secure=False, native=native)
    stage2 = Stage2(scattered_mappings(region, memory_map.GUEST_RAM_IPA))
    for m in stage2.mappings:
        engine.map_physical(m.ipa, m.pa, m.size, UC_PROT_ALL)
    vm = VirtualMachine(spec, engine, stage2, region, console)
    _map_uart(vm)
    for seg in spec.image.segments:
        vm.write_ipa(seg.vaddr, seg.data + bytes(seg.memsz - len(seg.data)))
    engine.reset(spec.image.entry)
    return vm


def _map_uart(vm: VirtualMachine) -> None:
    flags = memory_map.UART_FR_TXFE | memory_map.UART_FR_RXFE

    def read(_uc, offset: int, _size: int, _data) -> int:
        return flags if offset == memory_map.UART_FR else 0

    def write(_uc, offset: int, _size: int, value: int, _data) -> None:
        if offset == memory_map.UART_DR:
            try:
                vm.console.putc(value)
            except ConsoleFlood as exc:
                vm.engine.stop_with_fault(Fault("console flood", vm.engine.pc, detail=str(exc)))

    try:
        vm.engine.uc.mmio_map(memory_map.UART_IPA, memory_map.UART_SIZE, read, None, write, None)
    except UcError as exc:
        raise RuntimeError(f"cannot map the UART: {exc}") from None
