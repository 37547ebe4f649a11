"""FF-A: constants, the EL2 mediator, its profiles and the secure-world relay."""
