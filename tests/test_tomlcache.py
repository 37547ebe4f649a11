"""The kept tables of a TOML file: the same as parsing it, and never those of an older version of it."""

from __future__ import annotations

import os
import tomllib

import pytest

from emu import tomlcache
from emu.cpu.costmodel import DATA_DIR


@pytest.fixture
def writing(monkeypatch) -> None:
    monkeypatch.setattr("sys.dont_write_bytecode", False)


def test_the_packaged_files_read_back_as_they_parse() -> None:
    for path in sorted(DATA_DIR.glob("*.toml")):
        assert tomlcache.load(path) == tomllib.loads(path.read_text(encoding="utf-8")), path.name


def test_kept_tables_are_read_back_until_the_file_changes(tmp_path, writing) -> None:
    path = tmp_path / "model.toml"
    path.write_text("a = 1\n")
    assert tomlcache.load(path) == {"a": 1}
    assert tomlcache.cache_path(path).exists()
    stamp = path.stat().st_mtime_ns
    tomlcache.keep(path, (stamp, path.stat().st_size), {"a": "kept"})
    assert tomlcache.load(path) == {"a": "kept"}  # read back, not parsed
    path.write_text("a = 22\n")
    os.utime(path, ns=(stamp + 1, stamp + 1))
    assert tomlcache.load(path) == {"a": 22}


def test_nothing_is_kept_without_bytecode_or_for_dates(tmp_path, monkeypatch, writing) -> None:
    path = tmp_path / "dated.toml"
    path.write_text("when = 2024-01-01\n")
    assert tomlcache.load(path)["when"].year == 2024
    assert not tomlcache.cache_path(path).exists() and not list(tomlcache.cache_path(path).parent.iterdir())
    monkeypatch.setattr("sys.dont_write_bytecode", True)
    plain = tmp_path / "plain.toml"
    plain.write_text("a = 1\n")
    assert tomlcache.load(plain) == {"a": 1} and not tomlcache.cache_path(plain).exists()


def test_a_bad_file_raises_as_tomllib_does(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("a = \n")
    with pytest.raises(tomllib.TOMLDecodeError):
        tomlcache.load(path)
