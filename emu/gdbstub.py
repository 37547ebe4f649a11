"""``--gdb PORT``: a GDB remote stub on one VM's engine, through the ``udbserver`` package.

``serve_gdb`` blocks until gdb connects to PORT, then hands control to it:
gdb can break, step, read and write the VM's registers and memory (guest
virtual = IPA: the MMU is off).  The run goes on when gdb continues; the
connection closes when the process ends.  udbserver listens on every
interface: use it on a trusted network.
"""

from __future__ import annotations

import sys

from emu.machine import Machine


class GdbError(Exception):
    """The stub could not start (package missing, port taken, no such VM)."""


def serve_gdb(machine: Machine, vm_name: str, port: int) -> None:
    try:
        from udbserver import udbserver
    except ImportError as exc:
        raise GdbError(f"--gdb needs the udbserver package ({exc})") from None
    vm = next((vm for vm in machine.vms if vm.name == vm_name), None)
    if vm is None:
        names = ", ".join(vm.name for vm in machine.vms)
        raise GdbError(f"--gdb-vm {vm_name}: no such VM (this run has {names})")
    print(f"ffa-emu: {vm.name} waits for gdb on port {port}: "
          f"gdb-multiarch {vm.image.path} -ex 'target remote :{port}'", file=sys.stderr, flush=True)
    try:
        udbserver(vm.engine.uc, port, 0)
    except RuntimeError as exc:
        raise GdbError(f"gdb stub on port {port} failed: {exc}") from None
