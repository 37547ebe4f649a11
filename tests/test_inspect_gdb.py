"""``ffa-emu run --gdb PORT``: gdb-multiarch breaks, steps and reads a VM through udbserver."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest

from emu.cli import main
from emu.platform.elf import load_elf

GDB = shutil.which("gdb-multiarch")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(GDB is None, reason="gdb-multiarch is not installed (Debian: apt-get install gdb-multiarch)")
def test_gdb_breaks_at_main_reads_registers_and_memory(guest_image, spmc_image) -> None:
    image = guest_image("hello")
    main_addr = load_elf(image).symbols.address_of("main")
    port = _free_port()
    run = subprocess.Popen([sys.executable, "-m", "emu", "run", "--spmc", str(spmc_image), "--gdb", str(port),
                            str(image)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "waits for gdb on port" in run.stderr.readline()
        gdb = subprocess.run(
            [GDB, "-batch", "-nx", str(image), "-ex", f"target remote :{port}", "-ex", "break main",
             "-ex", "continue", "-ex", "info registers pc", "-ex", f"x/4xw {main_addr:#x}", "-ex", "stepi",
             "-ex", "info registers pc", "-ex", "continue"],
            capture_output=True, text=True, timeout=60)
        out, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert "Breakpoint 1, main ()" in gdb.stdout, gdb.stdout + gdb.stderr
    pcs = [int(line.split()[1], 16) for line in gdb.stdout.splitlines() if line.startswith("pc ")]
    assert len(pcs) == 2 and main_addr <= pcs[0] < main_addr + 0x40 and pcs[1] == pcs[0] + 4
    words = next(line for line in gdb.stdout.splitlines() if line.startswith(f"{main_addr:#x} <main>:"))
    seg = next(s for s in load_elf(image).segments if s.vaddr <= main_addr < s.vaddr + len(s.data))
    code = seg.data[main_addr - seg.vaddr:main_addr - seg.vaddr + 16]
    expected = [f"{int.from_bytes(code[i:i + 4], 'little'):#010x}" for i in range(0, 16, 4)]
    assert words.split(":", 1)[1].split() == expected  # gdb reads the guest's memory
    assert run.returncode == 0 and "vm1| PSCI version 1.1" in out and "SYSTEM_OFF" in err


def test_gdb_on_a_missing_vm_is_a_usage_error(guest_image, capsys) -> None:
    assert main(["run", "--gdb", "1", "--gdb-vm", "vm2", str(guest_image("hello"))]) == 2
    assert "--gdb-vm vm2: no such VM (this run has vm1)" in capsys.readouterr().err
