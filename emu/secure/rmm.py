"""The emulated RMM: answers RMI_VERSION and RSI_VERSION (rule in ``rmm_abi``).

Cycles: RMI_VERSION goes from the (normal world) EL2 through EL3 to the RMM at
realm EL2 and back, two EL3 legs each of which switches worlds.  RSI_VERSION
is taken by the RMM directly (it is the realm's EL2), so it costs only the
EL1 <-> EL2 trap the Hypervisor already charges.
"""

from __future__ import annotations

from collections.abc import Iterable

from emu.el2.hypervisor import Call, CallResult, Hypervisor, ret
from emu.secure.rmm_abi import RMI_VERSION, RSI_VERSION, check_revisions, negotiate

# One way between the normal-world EL2 and the RMM: SMC to EL3, world switch, ERET.
_EL3_LEG = ("el2_to_el3", "el3_world_switch", "el3_to_el2")


class RmmResponder:
    """The RMM's answers to RMI_VERSION and RSI_VERSION, for one supported set."""

    def __init__(self, revisions: Iterable[int]) -> None:
        self.revisions = check_revisions(revisions)

    def register(self, hypervisor: Hypervisor) -> None:
        """Answer both calls; RMI_VERSION also pays the EL3 round trip (see the module docstring)."""
        el3_round_trip = 2 * sum(hypervisor.cost.transition[step] for step in _EL3_LEG)

        def rmi_version(call: Call) -> CallResult:
            hypervisor.account.charge(el3_round_trip)
            return self.answer(call)

        hypervisor.register(RMI_VERSION, rmi_version)
        hypervisor.register(RSI_VERSION, self.answer)

    def answer(self, call: Call) -> CallResult:
        return ret(*negotiate(call.args[1], self.revisions))
