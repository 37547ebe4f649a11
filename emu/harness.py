"""Drive the EL2 handler with call frames directly, without guest code: a ``Session`` with FF-A set-up helpers.

Property tests and fuzzers use it to throw arbitrary x0-x17 frames and
descriptors at the mediator (through the same ``Hypervisor.handle_frame``
path a trapped HVC takes) and to check invariants after every call.
"""

from __future__ import annotations

from collections.abc import Sequence

from emu.ffa import constants as ffa
from emu.ffa import descriptors
from emu.machine import Machine, MachineConfig
from emu.session import Session
from emu.platform.memory_map import GUEST_RAM_IPA, PAGE_SIZE
from emu.vm import VirtualMachine

TX_IPA = GUEST_RAM_IPA + 0x80_0000  # buffers well clear of a small guest image
RX_IPA = TX_IPA + PAGE_SIZE


class Harness(Session):
    def __init__(self, config: MachineConfig) -> None:
        super().__init__(Machine(config))
        self.machine.boot()

    def call(self, vm: VirtualMachine | int, *regs: int, conduit: str | None = None) -> list[int]:
        """One call from ``vm`` (or VM index) with x0.. = ``regs`` (the rest zero); returns x0-x17 after it."""
        return super().call(*regs, vm=vm, conduit=conduit)

    def setup_ffa(self, vm: VirtualMachine | int, version: int = ffa.VERSION_1_2) -> None:
        """FFA_VERSION and an RX/TX pair, as a guest would start."""
        self.call(vm, ffa.FFA_VERSION, version)
        answer = self.call(vm, ffa.FFA_FN64_RXTX_MAP, TX_IPA, RX_IPA, 1)
        if answer[0] != ffa.FFA_SUCCESS:
            raise RuntimeError(f"RXTX_MAP failed: {answer[:4]}")

    def send_memory(self, vm: VirtualMachine | int, fid: int, tx: descriptors.Transaction,
                    version: int = ffa.VERSION_1_2, fragment: int | None = None) -> list[int]:
        """MEM_SHARE/LEND/DONATE of ``tx`` through the TX buffer, in fragments of ``fragment`` bytes."""
        vm = self.vm(vm) if isinstance(vm, int) else vm
        data = descriptors.build(tx, version)
        return self.send_bytes(vm, fid, data, fragment)

    def send_bytes(self, vm: VirtualMachine, fid: int, data: bytes, fragment: int | None = None) -> list[int]:
        step = min(fragment or PAGE_SIZE, PAGE_SIZE)
        vm.write_ipa(TX_IPA, data[:step])
        answer = self.call(vm, fid, len(data), min(step, len(data)))
        sent = min(step, len(data))
        while answer[0] == ffa.FFA_MEM_FRAG_RX and sent < len(data):
            chunk = data[sent:sent + step]
            vm.write_ipa(TX_IPA, chunk)
            answer = self.call(vm, ffa.FFA_MEM_FRAG_TX, answer[1], answer[2], len(chunk))
            sent += len(chunk)
        return answer


def handle_of(answer: Sequence[int]) -> int:
    return (answer[2] & 0xFFFF_FFFF) | (answer[3] & 0xFFFF_FFFF) << 32
