"""A profile by name (``spec``, ``pkvm@v6.17``, ...) or from a Python file of the user's own project.

A profile file defines ``PROFILE``, an ``emu.ffa.profiles.Profile``: the same
dataclass the built-in profiles are made of.  The short way is to start from
a built-in one::

    from dataclasses import replace
    from emu.ffa.profiles import PROFILES

    PROFILE = replace(PROFILES["xen"], name="myhyp", release="myhyp 0.3", rxtx_max_pages=4)

and pass ``--profile path/to/myhyp.py`` (or ``profile = "myhyp.py"`` in a
scenario, relative to it).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from emu.ffa.profiles import PROFILES, Profile


class ProfileError(ValueError):
    """An unknown profile name, or a file that does not give a Profile."""


def load_profile(spec: str) -> Profile:
    """The profile ``spec`` names: a built-in profile's name or the path of a ``.py`` file defining PROFILE."""
    if spec in PROFILES:
        return PROFILES[spec]
    path = Path(spec)
    if path.suffix != ".py":
        raise ProfileError(f"unknown profile {spec!r} (one of {', '.join(PROFILES)}, or a .py file defining PROFILE)")
    module_spec = importlib.util.spec_from_file_location(f"ffa_emu_profile_{path.stem}", path)
    if not path.is_file() or module_spec is None or module_spec.loader is None:
        raise ProfileError(f"{spec}: no such profile file")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's code: any failure is a bad profile file
        raise ProfileError(f"{spec}: {type(exc).__name__}: {exc}") from None
    profile = getattr(module, "PROFILE", None)
    if not isinstance(profile, Profile):
        raise ProfileError(f"{spec}: defines no PROFILE (an emu.ffa.profiles.Profile)")
    return profile
