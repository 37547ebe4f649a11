"""``--gdb PORT``: a GDB remote stub on one engine (a VM's vCPU or the SPMC), through the ``udbserver`` package.

``serve_gdb`` blocks until gdb connects to PORT (on the loopback interface),
then hands control to it: gdb can break, step, read and write the engine's
registers and memory.  The run goes on when gdb continues; the connection
closes when the process ends.

udbserver 0.3.0's AArch64 register map has no Unicorn register behind
``cpsr`` (it always reads 0, so gdb shows ``[ EL=0 ]``), and it panics with a
Rust backtrace when its port is taken.  So gdb talks to a small relay here:
the relay owns PORT (a taken port is a one-line error), passes every packet
through to udbserver on a private loopback port, and puts PSTATE, read from
the stopped engine, into the ``cpsr`` field of the register replies
(``g`` and ``p21``).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from unicorn import Uc
from unicorn.arm64_const import UC_ARM64_REG_PSTATE

from emu.machine import Machine
from emu.platform.image import GuestImage

CPSR_REGNUM = 33  # gdb's AArch64 numbering: x0-x30, sp, pc, cpsr
CPSR_HEX_OFFSET = CPSR_REGNUM * 16  # 33 eight-byte registers before it, two hex digits a byte
CPSR_HEX_WIDTH = 8  # cpsr is 32 bits in gdb's aarch64 core feature
CONNECT_TIMEOUT = 10.0  # seconds the relay waits for udbserver's private port to listen


class GdbError(Exception):
    """The stub could not start (package missing, port taken, no such VM or SPMC)."""


@dataclass
class Target:
    """What gdb debugs: an engine and the image its symbols come from."""

    name: str
    uc: Uc
    image: GuestImage


def find_target(machine: Machine, name: str) -> Target:
    """``vm1``, ``vm2``, ... or ``spmc``."""
    if name == "spmc":
        if machine.mediator is None:
            raise GdbError("--gdb-vm spmc: this run has no SPMC (--no-spmc)")
        secure = machine.mediator.secure
        return Target("spmc", secure.engine.uc, secure.image)
    vm = next((vm for vm in machine.vms if vm.name == name), None)
    if vm is None:
        names = ", ".join([vm.name for vm in machine.vms] + (["spmc"] if machine.mediator else []))
        raise GdbError(f"--gdb-vm {name}: no such VM (this run has {names})")
    return Target(vm.name, vm.engine.uc, vm.image)


def serve_gdb(machine: Machine, target_name: str, port: int) -> None:
    try:
        from udbserver import udbserver
    except ImportError as exc:
        raise GdbError(f"--gdb needs the udbserver package ({exc})") from None
    target = find_target(machine, target_name)
    listener = _listen(port)
    inner = _free_port()
    print(f"ffa-emu: {target.name} waits for gdb on port {port}: "
          f"gdb-multiarch {target.image.path} -ex 'target remote :{port}'", file=sys.stderr, flush=True)
    threading.Thread(target=_relay, args=(listener, inner, target.uc), daemon=True).start()
    try:
        with _quiet_stderr():  # udbserver announces its private port: not the one gdb should use
            udbserver(target.uc, inner, 0)
    except RuntimeError as exc:
        raise GdbError(f"gdb stub on port {port} failed: {exc}") from None


def _listen(port: int) -> socket.socket:
    if not 0 < port < 65536:
        raise GdbError(f"--gdb {port}: not a TCP port (1-65535)")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise GdbError(f"--gdb {port}: cannot listen on the port: {exc.strerror}") from None
    sock.listen(1)
    return sock


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 to /dev/null for the span of a native call that prints there."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _relay(listener: socket.socket, inner: int, uc: Uc) -> None:
    client, _addr = listener.accept()
    listener.close()
    server = _connect(inner)
    if server is None:
        client.close()
        return
    last = _LastCommand()
    threading.Thread(target=_pump_requests, args=(client, server, last), daemon=True).start()
    _pump_replies(server, client, last, uc)


def _connect(port: int) -> socket.socket | None:
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while time.monotonic() < deadline:
        try:
            return socket.create_connection(("127.0.0.1", port))
        except ConnectionRefusedError:
            time.sleep(0.02)
    return None


class _LastCommand:
    """The payload of gdb's most recent packet, so a reply can be matched with its request."""

    def __init__(self) -> None:
        self.payload = b""


def _pump_requests(src: socket.socket, dst: socket.socket, last: _LastCommand) -> None:
    parser = PacketParser()
    while data := _recv(src):
        for kind, payload in parser.feed(data):
            if kind == "packet":
                last.payload = payload
        dst.sendall(data)
    dst.close()


def _pump_replies(src: socket.socket, dst: socket.socket, last: _LastCommand, uc: Uc) -> None:
    parser = PacketParser()
    while data := _recv(src):
        out = bytearray()
        for kind, payload in parser.feed(data):
            if kind == "packet":
                out += frame(with_cpsr(last.payload, payload, lambda: uc.reg_read(UC_ARM64_REG_PSTATE)))
            else:
                out += payload
        dst.sendall(bytes(out))
    dst.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


class PacketParser:
    """Splits a GDB remote protocol byte stream into packets (``$payload#cs``) and other bytes (acks, ^C)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        self._buf += data
        items: list[tuple[str, bytes]] = []
        while self._buf:
            if self._buf[0] != ord("$"):
                items.append(("raw", bytes(self._buf[:1])))
                del self._buf[:1]
                continue
            end = self._buf.find(b"#")
            if end < 0 or len(self._buf) < end + 3:
                break
            items.append(("packet", bytes(self._buf[1:end])))
            del self._buf[:end + 3]
        return items


def frame(payload: bytes) -> bytes:
    return b"$" + payload + b"#" + f"{sum(payload) & 0xFF:02x}".encode()


def expand_rle(payload: bytes) -> bytes:
    """Undo the protocol's run-length encoding (``c*n``: c repeated n - 29 more times)."""
    out = bytearray()
    i = 0
    while i < len(payload):
        if payload[i] == ord("*") and out and i + 1 < len(payload):
            out += out[-1:] * (payload[i + 1] - 29)
            i += 2
        else:
            out.append(payload[i])
            i += 1
    return bytes(out)


def with_cpsr(request: bytes, reply: bytes, read_pstate: Callable[[], int]) -> bytes:
    """``reply`` to ``request``, with PSTATE (read only then) in the cpsr field of a register read."""
    if request not in (b"g", f"p{CPSR_REGNUM:x}".encode()) or reply.startswith(b"E"):
        return reply
    cpsr = (read_pstate() & 0xFFFF_FFFF).to_bytes(4, "little").hex().encode()
    if request == b"g":
        regs = expand_rle(reply)
        if len(regs) < CPSR_HEX_OFFSET + CPSR_HEX_WIDTH:
            return reply
        return regs[:CPSR_HEX_OFFSET] + cpsr + regs[CPSR_HEX_OFFSET + CPSR_HEX_WIDTH:]
    return cpsr
