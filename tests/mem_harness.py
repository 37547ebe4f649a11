"""Shared helpers for the memory sharing tests that drive the mediator through ``emu.harness``."""

from __future__ import annotations

import dataclasses

from functools import cache
from pathlib import Path

from emu.platform.elf import load_elf
from emu.ffa import constants as ffa
from emu.ffa import descriptors as d
from emu.ffa.stub_partitions import ECHO_SP, SERVICE_PROTOCOL, SERVICE_SP
from emu.harness import RX_IPA, TX_IPA, Harness, handle_of
from emu.machine import MachineConfig
from emu.platform.memory_map import GUEST_RAM_IPA, PAGE_SIZE
from emu.vm import VirtualMachine, VmSpec

MASK32 = (1 << 32) - 1
RAM = 16 << 20  # per VM: eight 2 MiB stage-2 chunks, each pair swapped
RAM_END = GUEST_RAM_IPA + RAM
BASE = GUEST_RAM_IPA + 0x90_0000  # clear of the image and of the harness's TX/RX at +8 MiB
BOUNDARY = GUEST_RAM_IPA + 0xA0_0000  # a 2 MiB chunk boundary: physical contiguity breaks here
SERVICE, ECHO = SERVICE_SP.endpoint_id, ECHO_SP.endpoint_id
V1_0, V1_1, V1_2 = ffa.VERSION_1_0, ffa.VERSION_1_1, ffa.VERSION_1_2
SHARE, LEND, DONATE = ffa.FFA_FN64_MEM_SHARE, ffa.FFA_FN64_MEM_LEND, ffa.FFA_FN64_MEM_DONATE
__all__ = ["RX_IPA", "TX_IPA", "handle_of"]


@cache
def _image(path: str):
    return load_elf(Path(path))


class MemHarness(Harness):
    """A Harness with N VMs (endpoint IDs 1..N) and a spy on what reaches the SPMC."""

    def __init__(self, image: Path, spmc: Path, profile: str, vms: int = 1, **options) -> None:
        """``options``: more MachineConfig fields (``check``, ``spmc_budget``, ...)."""
        specs = [VmSpec(_image(str(image)), i, i, RAM) for i in range(1, vms + 1)]
        options.setdefault("keep_trace", False)
        super().__init__(MachineConfig(vms=specs, spmc_image=spmc, profile=profile, **options))
        self.to_spmc: list[list[int]] = []
        secure = self.machine.mediator.secure
        real = secure.call

        def spy(request: list[int]):
            self.to_spmc.append(list(request))
            return real(request)

        secure.call = spy

    def call(self, vm, *regs: int, conduit: str | None = None) -> list[int]:
        self.to_spmc.clear()  # forwarded() reports the SPMC traffic of the last call only
        return super().call(vm, *regs, conduit=conduit)

    def send_memory(self, vm, fid, tx, version=ffa.VERSION_1_2, fragment=None):
        """Harness.send_memory, with a ``SELF`` sender replaced by the VM's own endpoint ID as the
        mediator sees it (pKVM: the host's, 0)."""
        vm = self.vm(vm) if isinstance(vm, int) else vm
        return super().send_memory(vm, fid, self.own(tx, vm), version, fragment)

    def own(self, tx: d.Transaction, vm=0) -> d.Transaction:
        """``tx`` with a ``SELF`` sender replaced by the VM's endpoint ID as the mediator sees it."""
        vm = self.vm(vm) if isinstance(vm, int) else vm
        if tx.sender != SELF:
            return tx
        return dataclasses.replace(tx, sender=self.machine.mediator.caller_id(vm))

    @property
    def ledger(self):
        return self.machine.mediator.memory.ledger

    def forwarded(self) -> list[str]:
        """Names of the calls the last call (or teardown since) sent to the SPMC."""
        names = [ffa.NAMES.get(r[0] & MASK32, hex(r[0])) for r in self.to_spmc]
        self.to_spmc.clear()
        return names

    def error(self, answer: list[int]) -> str | None:
        if answer[0] & MASK32 != ffa.FFA_ERROR:
            return None
        code = answer[2] & MASK32
        return next(name for name, value in ffa.ERRORS.items() if value & MASK32 == code)

    def service(self, vm: int, command: str, handle: int, arg: int = 0) -> int:
        """A service SP memory command from VM ``vm`` (index), sent as its endpoint as the mediator sees it
        (pKVM: the host's, 0, the sender of its descriptors); returns x3 of the DIRECT_RESP."""
        endpoint = self.machine.mediator.caller_id(self.vm(vm))
        answer = self.call(vm, ffa.FFA_FN64_MSG_SEND_DIRECT_REQ, endpoint << 16 | SERVICE, 0,
                           SERVICE_PROTOCOL[command], handle, arg)
        assert answer[0] == ffa.FFA_FN64_MSG_SEND_DIRECT_RESP, answer[:4]
        return answer[3]

    def reclaim(self, vm: int, handle: int) -> list[int]:
        return self.call(vm, ffa.FFA_MEM_RECLAIM, handle & MASK32, handle >> 32, 0)


SELF = -1  # "the sending VM's own endpoint ID", filled in by MemHarness.send_memory


def tx(ranges, receivers=None, sender: int = SELF, attributes: int = d.NORMAL_WB_INNER) -> d.Transaction:
    """A transaction of ``ranges`` ((ipa, pages) pairs) to the service SP, RW unless told."""
    receivers = receivers or [d.Receiver(SERVICE, d.DATA_RW)]
    return d.Transaction(sender, attributes, 0, 0, 0, receivers, [d.Range(a, n) for a, n in ranges])


def mapped(vm: VirtualMachine, ipa: int) -> bool:
    """Whether the VM's Unicorn instance maps ``ipa`` (its stage 2 as the guest sees it)."""
    return any(begin <= ipa <= end for begin, end, _ in vm.engine.uc.mem_regions())


def mappings(vm: VirtualMachine) -> list[tuple[int, int, int]]:
    return sorted(vm.engine.uc.mem_regions())


def pages_of(ranges) -> list[int]:
    return [a + i * PAGE_SIZE for a, n in ranges for i in range(n)]
