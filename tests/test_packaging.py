"""What the package brings along: the bundled SPMC and the native helper, or a word that it is missing."""

from __future__ import annotations

import subprocess
import sys

from emu.cpu import nativelib
from emu.platform.elf import load_elf
from emu.secure import firmware


def test_the_bundled_spmc_is_an_aarch64_firmware_that_boots(run_guests, guest_image, monkeypatch) -> None:
    monkeypatch.delenv(firmware.ENV_VAR, raising=False)
    path = firmware.default_spmc()
    assert path == firmware.bundled_spmc() == firmware.BUNDLED
    assert load_elf(path).symbols.address_of("spmc_main") is not None
    out = run_guests(guest_image("ffa_demo"), spmc_image=path)
    assert out.exit_code == 0


def test_the_environment_names_another_spmc(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(firmware.ENV_VAR, str(tmp_path / "mine.elf"))
    assert firmware.default_spmc() == tmp_path / "mine.elf"


def test_a_missing_native_helper_is_said_once(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.delenv("FFA_EMU_PURE_PYTHON", raising=False)
    monkeypatch.setattr(nativelib, "LIBRARY", tmp_path / "libcpuhooks.so")
    nativelib.load.cache_clear()
    try:
        assert nativelib.load() is None and nativelib.load() is None
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "slow pure-Python" in err and "is not built" in err
        (tmp_path / "libcpuhooks.so").write_bytes(b"not a library")
        nativelib.load.cache_clear()
        assert nativelib.load() is None
        assert "does not load" in capsys.readouterr().err
    finally:
        nativelib.load.cache_clear()


def test_the_checkout_has_its_native_helper() -> None:
    """make (and an editable install) build the helper in place: no message, the fast path."""
    proc = subprocess.run([sys.executable, "-c", "from emu.cpu import nativelib; print(nativelib.load() is not None)"],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "True" and proc.stderr == ""
