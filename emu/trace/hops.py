"""The hops a trace record can be of.

A call a guest makes is the ``call`` hop (VM -> EL2 -> VM, the guest's view:
its arguments and the results it got).  A call the mediator forwards adds
``el2->spmc`` and ``spmc->el2`` hops, so a reader sees what the mediator
changed on the way.
"""

HOP_CALL = "call"
HOP_TO_SPMC = "el2->spmc"
HOP_FROM_SPMC = "spmc->el2"
