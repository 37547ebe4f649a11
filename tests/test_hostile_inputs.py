"""Broken inputs on the command line: each bad ELF or scenario is one line naming the problem, exit 2."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from emu import cli
from test_elf import E_ENTRY, E_MACHINE, EM_X86_64, P_MEMSZ, P_TYPE, PT_NULL, Elf


BREAKERS = {
    "truncated": (lambda e: e.path.write_bytes(bytes(e.data[:40])), "truncated ELF header"),
    "wrong machine": (lambda e: e.set(E_MACHINE, EM_X86_64).save(), "not an AArch64 ELF"),
    "32-bit": (lambda e: (e.data.__setitem__(4, 1), e.save()), "32-bit ELF"),
    "big-endian": (lambda e: (e.data.__setitem__(5, 2), e.save()), "big-endian ELF"),
    "no loadable segment": (lambda e: [e.set(P_TYPE, PT_NULL, off) for off in e.loads()] and e.save(),
                            "no loadable segment"),
    "overlapping segments": (lambda e: e.move_segment(1, 0x4000_0000).save(), "overlap"),
    "segment outside guest RAM": (lambda e: e.move_segment(-1, 0x8000_0000).save(), "lies outside guest RAM"),
    "entry outside any segment": (lambda e: e.set(E_ENTRY, 0x1234_5678).save(), "entry point 0x12345678"),
    "huge p_memsz": (lambda e: e.set_segment(P_MEMSZ, 1 << 40, 0).save(), "larger than 1 GiB"),
}


@pytest.mark.parametrize("what", sorted(BREAKERS))
def test_bad_elf_one_line_exit_2(what: str, guest_image, tmp_path, capsys) -> None:
    elf = Elf(guest_image("hello"), tmp_path / "bad.elf")
    breaker, expected = BREAKERS[what]
    breaker(elf)
    code = cli.main(["run", "--quiet", str(elf.path)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert err.count("\n") == 1 and err.startswith(f"ffa-emu: {elf.path}: "), err
    assert expected in err, err


def _scenario(tmp_path: Path, text: str, guest: Path) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text.replace("GUEST", str(guest)))
    return path


SCENARIOS = {
    "unknown top key": ('colour = "red"\n[[vm]]\nimage = "GUEST"\n', "colour: unknown key"),
    "unknown vm key": ('[[vm]]\nimage = "GUEST"\nram_pa = 0x40000000\n', "vm[0].ram_pa: unknown key"),
    "unknown spmc key": ('[spmc]\nimage = "GUEST"\nspeed = 1\n[[vm]]\nimage = "GUEST"\n', "spmc.speed: unknown key"),
    "bad type: id": ('[[vm]]\nimage = "GUEST"\nid = "one"\n', "vm[0].id: expected int"),
    "bad type: quantum": ('quantum = "fast"\n[[vm]]\nimage = "GUEST"\n', "quantum: expected int"),
    "bad type: profile": ('profile = 3\n[[vm]]\nimage = "GUEST"\n', "profile: expected str"),
    "unknown profile": ('profile = "xen@4.0"\n[[vm]]\nimage = "GUEST"\n', "profile: unknown profile 'xen@4.0'"),
    "missing profile file": ('profile = "mine.py"\n[[vm]]\nimage = "GUEST"\n', "mine.py: no such profile file"),
    "bad type: vm": ('vm = 3\n', "vm: expected list"),
    "bad type: ram": ('[[vm]]\nimage = "GUEST"\nram = true\n', "vm[0].ram: expected a size"),
    "duplicate VM ids": ('[[vm]]\nimage = "GUEST"\nid = 4\n[[vm]]\nimage = "GUEST"\nid = 4\n',
                         "vm[1].id: duplicate VM id 4"),
    # RAM is placed by the emulator (each VM its own physical range), so a scenario cannot make two VMs'
    # RAM overlap: there is no key for an address, and one trying to give it is an unknown key.
    "overlapping RAM": ('[[vm]]\nimage = "GUEST"\nipa = 0x40000000\n[[vm]]\nimage = "GUEST"\nipa = 0x40000000\n',
                        "vm[0].ipa: unknown key"),
    "RAM too small for the image": ('[[vm]]\nimage = "GUEST"\nram = "2M"\n[[vm]]\nimage = "GUEST"\nram = "3M"\n',
                                    "vm[1].ram: must be a positive multiple of 2M"),
    "not TOML": ('[[vm]\nimage = \n', "not valid TOML"),
    "thousands of VMs": ('[[vm]]\nimage = "GUEST"\n' * 5000, "vm: 5000 VMs, more than the 32 a machine may have"),
    "64G of RAM": ('[[vm]]\nimage = "GUEST"\nram = "64G"\n', "vm1: 64G of RAM, more than the 16G"),
    "more RAM than a machine has": ('[[vm]]\nimage = "GUEST"\nram = "8G"\n' * 3,
                                    "24G of guest RAM in 3 VMs, more than the 16G a machine may have"),
}


@pytest.mark.parametrize("what", sorted(SCENARIOS))
def test_bad_scenario_one_line_naming_the_key(what: str, guest_image, tmp_path, capsys) -> None:
    text, expected = SCENARIOS[what]
    path = _scenario(tmp_path, text, guest_image("hello"))
    code = cli.main(["run", "--quiet", "--scenario", str(path)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE, err
    assert err.count("\n") == 1 and err.startswith("ffa-emu: "), err
    assert expected in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv, expected", [
    (["--ram-size", "64G"], "vm1: 64G of RAM, more than the 16G of guest RAM a machine may have"),
    (["--ram-size", "6G", "EXTRA", "EXTRA"], "18G of guest RAM in 3 VMs, more than the 16G a machine may have"),
    (["EXTRA"] * 32, "33 VMs, more than the 32 a machine may have"),
])
def test_machine_too_large_one_line_exit_2(argv: list[str], expected: str, guest_image, capsys) -> None:
    hello = str(guest_image("hello"))
    code = cli.main(["run", "--quiet", *[hello if a == "EXTRA" else a for a in argv], hello])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE, err
    assert err.count("\n") == 1 and err.startswith(f"ffa-emu: {expected}"), err


def test_host_refusing_the_memory_is_one_line_exit_2(guest_image, capsys, monkeypatch) -> None:
    def refuse(*_args):
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr("emu.platform.physmem.mmap.mmap", refuse)
    code = cli.main(["run", "--quiet", str(guest_image("hello"))])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert err.count("\n") == 1 and "would not reserve" in err and "Cannot allocate memory" in err, err


def test_16g_of_ram_starts_at_once(guest_image, capsys) -> None:
    """It took three minutes to map 16 GiB in 8192 chunks of 2 MiB into Unicorn."""
    started = time.perf_counter()
    code = cli.main(["run", "--quiet", "--ram-size", "16G", str(guest_image("hello"))])
    assert code == cli.EXIT_OK, capsys.readouterr().err
    assert time.perf_counter() - started < 20
