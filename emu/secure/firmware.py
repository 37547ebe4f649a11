"""Which SPMC firmware a run uses: ``$FFA_EMU_SPMC``, else the stub firmware bundled with the package.

The wheel's build (and ``make`` in a checkout) compiles ``firmware/`` into
``emu/data/spmc.elf``.
"""

from __future__ import annotations

import os
from pathlib import Path

from emu.platform.image import ImageError

ENV_VAR = "FFA_EMU_SPMC"
BUNDLED = Path(__file__).resolve().parent.parent / "data" / "spmc.elf"


def bundled_spmc() -> Path:
    """The SPMC stub firmware shipped in the package."""
    if not BUNDLED.is_file():
        raise ImageError(f"the bundled SPMC firmware {BUNDLED} is missing (run make in a checkout, or reinstall "
                         f"ffa-emu); give one with --spmc FILE or ${ENV_VAR}, or run without one with --no-spmc")
    return BUNDLED


def default_spmc() -> Path:
    """``$FFA_EMU_SPMC`` when set, else the bundled firmware."""
    named = os.environ.get(ENV_VAR)
    return Path(named) if named else bundled_spmc()
