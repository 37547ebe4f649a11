"""ffa-emu: a cycle-level AArch64 EL2 FF-A mediator emulator."""

__version__ = "0.1.0"
