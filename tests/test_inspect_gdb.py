"""``ffa-emu run --gdb PORT``: gdb-multiarch breaks, steps and reads a VM through udbserver."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest

from emu.cli import main
from emu.gdbstub import PacketParser, frame, with_cpsr
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
             "-ex", "continue", "-ex", "info registers pc", "-ex", f"x/4xw {main_addr:#x}", "-ex", "p/x $cpsr",
             "-ex", "info registers cpsr", "-ex", "stepi",
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
    cpsr = int(next(line for line in gdb.stdout.splitlines() if line.startswith("$1 = ")).split()[-1], 16)
    assert cpsr & 0x3FF == 0x3C5  # EL1h, DAIF masked (the guest's C code leaves them so)
    assert "EL=1" in next(line for line in gdb.stdout.splitlines() if line.startswith("cpsr "))
    assert run.returncode == 0 and "vm1| PSCI version 1.1" in out and "SYSTEM_OFF" in err


@pytest.mark.skipif(GDB is None, reason="gdb-multiarch is not installed (Debian: apt-get install gdb-multiarch)")
def test_gdb_attaches_to_the_spmc(guest_image, spmc_image) -> None:
    port = _free_port()
    run = subprocess.Popen([sys.executable, "-m", "emu", "run", "--gdb", str(port), "--gdb-vm", "spmc",
                            str(guest_image("hello"))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert f"spmc waits for gdb on port {port}: gdb-multiarch {spmc_image}" in run.stderr.readline()
        gdb = subprocess.run(
            [GDB, "-batch", "-nx", str(spmc_image), "-ex", f"target remote :{port}", "-ex", "break spmc_main",
             "-ex", "continue", "-ex", "info registers cpsr", "-ex", "continue"],
            capture_output=True, text=True, timeout=60)
        out, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert "Breakpoint 1, spmc_main (" in gdb.stdout, gdb.stdout + gdb.stderr
    assert "EL=1" in gdb.stdout
    assert run.returncode == 0 and "SYSTEM_OFF" in err and "Waiting for a GDB connection" not in err


def test_gdb_on_a_missing_vm_is_a_usage_error(guest_image, capsys) -> None:
    assert main(["run", "--gdb", "1", "--gdb-vm", "vm2", str(guest_image("hello"))]) == 2
    assert "--gdb-vm vm2: no such VM (this run has vm1, spmc)" in capsys.readouterr().err
    assert main(["run", "--no-spmc", "--gdb", "1", "--gdb-vm", "spmc", str(guest_image("hello"))]) == 2
    assert "--gdb-vm spmc: this run has no SPMC" in capsys.readouterr().err


def test_gdb_on_a_taken_port_is_one_line(guest_image) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "emu", "run", "--gdb", str(port), str(guest_image("hello"))],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == f"ffa-emu: --gdb {port}: cannot listen on the port: Address already in use\n"


def test_relay_puts_pstate_into_register_replies() -> None:
    regs = b"00" * 8 * 33 + b"00000000" + b"11" * 16
    assert with_cpsr(b"g", regs, lambda: 0x600003C5)[33 * 16:33 * 16 + 8] == b"c5030060"
    encoded = b"0*" + bytes([29 + 19]) + b"0" * (33 * 16 + 8 - 20) + b"11" * 16  # 20 zeros as a run
    assert with_cpsr(b"g", encoded, lambda: 0x3C5) == b"0" * 33 * 16 + b"c5030000" + b"11" * 16
    assert with_cpsr(b"p21", b"00000000", lambda: 0x3C5) == b"c5030000"
    assert with_cpsr(b"p20", b"0010000040000000", lambda: 0x3C5) == b"0010000040000000"  # pc: untouched
    assert with_cpsr(b"g", b"E01", lambda: 0x3C5) == b"E01"
    parser = PacketParser()
    assert parser.feed(b"+$g#6") == [("raw", b"+")]
    assert parser.feed(b"7$m0,4#fd") == [("packet", b"g"), ("packet", b"m0,4")]
    assert frame(b"OK") == b"$OK#9a"
