"""Invariants of the secure world across calls, checked with the others after every call (``--check``).

* **idle**: between calls the SPMC waits at its exchange point with nothing
  of a call left uncommitted (no later call can resume a half-done one);
* **exchange**: each response answers the request that was sent: a function
  the request's ABI completes with (DEN0077A 1.2: a direct request with its
  own direct response, an error, or a preemption (FFA_INTERRUPT, FFA_YIELD);
  FFA_MEM_SHARE/LEND/DONATE and FFA_MEM_FRAG_TX with FFA_SUCCESS, FFA_ERROR
  or FFA_MEM_FRAG_RX for the same handle; every other ABI the mediator
  forwards with FFA_SUCCESS or FFA_ERROR), and a direct response swaps the
  request's endpoints;
* **handles**: a retrieve the SPMC grants during a call is of a handle the
  caller's endpoint sent (none during the mediator's own calls: boot and
  teardown), so an SP retrieves, holds and works on memory only at the
  request of the endpoint that shared it; every normal-world page the SPMC
  writes is in a transaction the caller's endpoint shared read-write;
* **private**: no VM's private page (in no transaction) changes except by
  the VM itself.  Besides the VM, the SPMC is the only agent that writes VM
  RAM (the mediator writes only the caller's RX buffer), and the SPMD lists
  every VM RAM page the SPMC stores to during each call (a write hook on the
  SPMC's engine alone): exact, and nothing to hash.

Reading the SPMC's state changes nothing in it: with the checks on, traces
and cycle counts are the same as with them off.
"""

from __future__ import annotations

from typing import Any

from emu.el2.smccc import MASK32, decode_fid
from emu.ffa import constants as ffa
from emu.ffa.descriptors import DATA_RW
from emu.platform.memory_map import PAGE_SIZE
from emu.secure.spmd import SpmcExchange
from emu.secure.txn_table import SpmcTransaction
from emu.vm import VirtualMachine

_DIRECT = {  # request -> its direct response
    ffa.FFA_MSG_SEND_DIRECT_REQ: ffa.FFA_MSG_SEND_DIRECT_RESP,
    ffa.FFA_FN64_MSG_SEND_DIRECT_REQ: ffa.FFA_FN64_MSG_SEND_DIRECT_RESP,
    ffa.FFA_FN64_MSG_SEND_DIRECT_REQ2: ffa.FFA_FN64_MSG_SEND_DIRECT_RESP2,
}
_COMPLETION = frozenset((ffa.FFA_SUCCESS, ffa.FFA_FN64_SUCCESS, ffa.FFA_ERROR))
_PREEMPTION = frozenset((ffa.FFA_INTERRUPT, ffa.FFA_YIELD))
_TRANSACTION = _COMPLETION | {ffa.FFA_MEM_FRAG_RX}
_ANSWERS = {
    **{request: frozenset({response, ffa.FFA_ERROR}) | _PREEMPTION for request, response in _DIRECT.items()},
    **{fid: _TRANSACTION for fid in (ffa.FFA_MEM_SHARE, ffa.FFA_FN64_MEM_SHARE, ffa.FFA_MEM_LEND,
                                     ffa.FFA_FN64_MEM_LEND, ffa.FFA_MEM_DONATE, ffa.FFA_FN64_MEM_DONATE,
                                     ffa.FFA_MEM_FRAG_TX)},
    ffa.FFA_RUN: _COMPLETION | _PREEMPTION | {ffa.FFA_MSG_WAIT, *_DIRECT.values()},
}


def answer_problems(exchange: SpmcExchange) -> list[str]:
    """Whether the SPMC's response answers the request it was sent."""
    request, response = exchange.request, exchange.response
    fid = decode_fid(request[0]).value
    name = ffa.NAMES.get(fid, f"{request[0]:#x}")
    w0 = response[0] & MASK32
    if fid == ffa.FFA_VERSION:
        if w0 >> 31 and w0 != ffa.NOT_SUPPORTED & MASK32:
            return [f"{name} answered {w0:#x}: neither a version nor NOT_SUPPORTED"]
        return []
    allowed = _ANSWERS.get(fid, _COMPLETION)
    if w0 not in allowed:
        return [f"{name} answered {ffa.NAMES.get(w0, hex(w0))}"]
    w1 = request[1] & MASK32
    if w0 == _DIRECT.get(fid) and response[1] & MASK32 != (w1 & 0xFFFF) << 16 | w1 >> 16:
        return [f"{name} from {w1 >> 16:#x} to {w1 & 0xFFFF:#x} answered for endpoints {response[1] & MASK32:#x}"]
    if fid == ffa.FFA_MEM_FRAG_TX and w0 == ffa.FFA_MEM_FRAG_RX and _handle(response) != _handle(request):
        return [f"{name} for handle {_handle(request):#x} answered FFA_MEM_FRAG_RX for {_handle(response):#x}"]
    return []


def _handle(frame: list[int]) -> int:
    return (frame[1] & MASK32) | (frame[2] & MASK32) << 32


class SecureWorldAudit:
    """Watches one machine's secure world between checks; ``problems()`` says what the calls since broke."""

    def __init__(self, mediator: Any, vms: list[VirtualMachine]) -> None:
        self.mediator = mediator
        self.secure = mediator.secure
        self.vms = vms
        self._exchanges: list[SpmcExchange] = []
        self.secure.observer = self._exchanges.append
        self._before: dict[int, SpmcTransaction] = {}

    def problems(self, vm: VirtualMachine | None, committed: dict[int, SpmcTransaction] | None) -> \
            list[tuple[str, str]]:
        """What the calls since the last check broke; ``vm`` made them (None: the mediator's own calls).

        ``committed``: the SPMC's transactions now (None when its table cannot be read).
        """
        endpoint = self.mediator.caller_id(vm) if vm is not None else None
        who = f"a call of {vm.name} (endpoint {endpoint:#x})" if vm is not None else "the mediator's own calls"
        problems: list[tuple[str, str]] = []
        secure = self.secure
        if not secure.idle:
            problems.append(("idle", f"the SPMC is not waiting at its exchange point (pc {secure.engine.pc:#x}, "
                                     f"exchange point {secure.exchange_pc or 0:#x}, "
                                     f"{len(secure.journal.written())} secure pages uncommitted)"))
        for exchange in self._exchanges:
            problems += [("exchange", detail) for detail in answer_problems(exchange)]
            problems += self._write_problems(exchange.vm_pages_written, endpoint, who)
        self._exchanges.clear()
        if committed is not None:
            for handle, txn in committed.items():
                sender = self._sender(handle)
                sender = txn.sender if sender is None else sender
                if txn.retrieved_since(self._before.get(handle)) and sender != endpoint:
                    problems.append(("handles", f"handle {handle:#x} of endpoint {sender:#x} was retrieved by "
                                                f"{list(txn.receivers)} during {who}"))
            self._before = committed
        return problems

    def _sender(self, handle: int) -> int | None:
        """The endpoint that shared ``handle`` (its VM's, by the mediator's ledger), None when not in the ledger."""
        share = self.mediator.memory.ledger.shares.get(handle)
        if share is None:
            return None
        return self.mediator.caller_id(next(vm for vm in self.vms if vm.name == share.vm_name))

    def _write_problems(self, pages: tuple[int, ...], endpoint: int | None, who: str) -> list[tuple[str, str]]:
        """Every VM RAM page the SPMC wrote: in a transaction the caller's endpoint shared read-write."""
        ledger = self.mediator.memory.ledger
        for pa in pages:
            owner = next((vm for vm in self.vms if vm.ram.contains(pa, PAGE_SIZE)), None)
            handle = ledger.handle_of_page(pa)
            if owner is None:
                return [("private", f"the SPMC wrote page {pa:#x}, outside every VM's RAM, during {who}")]
            if handle is None:
                return [("private", f"the SPMC wrote {owner.name}'s private page {pa:#x} "
                                    f"(IPA {owner.stage2.pa_to_ipa(pa) or 0:#x}) during {who}")]
            share = ledger.shares[handle]
            if self._sender(handle) != endpoint:
                return [("handles", f"the SPMC wrote page {pa:#x} of {share.vm_name}'s handle {handle:#x} "
                                    f"during {who}")]
            if not any(r.data_access == DATA_RW for r in share.transaction.receivers):
                return [("handles", f"the SPMC wrote page {pa:#x} of handle {handle:#x}, shared read-only")]
        return []
