"""Every behaviour of emu/ffa/fidelity.py, under every profile it names: our answer is the one it records;
docs/fidelity.md is the page rendered from those records."""

from __future__ import annotations

from pathlib import Path

import pytest

from emu.ffa.fidelity import FIDELITY, Probe
from emu.ffa.fidelity_doc import render_markdown
from emu.platform.elf import load_elf

DOC = Path(__file__).resolve().parent.parent / "docs" / "fidelity.md"

CASES = [(b, profile) for b in FIDELITY for profile in b.real]


@pytest.fixture(scope="module")
def images(guest_image, spmc_image):
    return load_elf(guest_image("hello")), load_elf(spmc_image)


def test_keys_are_unique() -> None:
    keys = [b.key for b in FIDELITY]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("behaviour, profile", CASES, ids=[f"{b.key}-{p}" for b, p in CASES])
def test_behaviour(images, behaviour, profile: str) -> None:
    probe = Probe(profile, *images, spmc_version=behaviour.spmc_version, cpus=behaviour.cpus)
    assert behaviour.probe(probe) == behaviour.expected(profile)
    assert not probe.violations()


def test_docs_are_current() -> None:
    assert DOC.read_text() == render_markdown(), "regenerate it: ffa-emu fidelity > docs/fidelity.md"
