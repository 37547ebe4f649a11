"""Scenario files (TOML): several VMs, the SPMC, the profile and the cost model in one place.

    profile = "xen"                 # spec | pkvm | xen | xen@4.21 | pkvm@v6.17 | myhyp.py (a profile file)
    max_cycles = 100000000          # optional
    quantum = 200000                # optional
    cost_model = "my-core.toml"     # optional
    cpu = "cortex-a72"              # optional, instead of cost_model: cortex-a72 | neoverse-n1 | cortex-a55
    rmm_revisions = "1.0,2.0"       # optional

    [spmc]                          # optional
    image = "my-spmc.elf"           # optional: the bundled SPMC stub firmware by default
    version = "1.1"                 # optional: the FF-A version the SPMC implements

    [[vm]]
    image = "build/guests/ffa_version.elf"
    id = 1                          # FF-A endpoint ID (default: the VM's position, from 1)
    ram = "64M"                     # optional, a multiple of 2M

Relative paths are relative to the scenario file.  Every error names the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emu.limits import LimitError, check_vm_count
from emu.platform import memory_map
from emu.cpu.costmodel import CPUS, load_cost_model
from emu.platform.loaders import load_image
from emu.ffa import constants as ffa
from emu.ffa.profile_loader import ProfileError, load_profile
from emu.ffa.stub_partitions import SPMC_FLAVOURS
from emu.machine import MachineConfig
from emu.secure.rmm_abi import parse_revisions
from emu.vm import MAX_CPUS, VmSpec

_TOP_KEYS = {"profile", "max_cycles", "quantum", "cost_model", "cpu", "rmm_revisions", "spmc", "vm"}
_SPMC_KEYS = {"image", "version", "flavour"}
_VM_KEYS = {"image", "id", "ram", "cpus"}
_SIZE_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class ScenarioError(Exception):
    """A scenario file that cannot be used, with a one-line reason naming the key."""


def parse_size(text: str | int, key: str) -> int:
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    elif isinstance(text, str) and text:
        scale = _SIZE_UNITS.get(text[-1].upper(), 1)
        digits = text[:-1] if scale != 1 else text
        try:
            value = int(digits, 0) * scale
        except ValueError:
            raise ScenarioError(f"{key}: not a size: {text!r}") from None
    else:
        raise ScenarioError(f"{key}: expected a size such as \"128M\", got {text!r}")
    if value <= 0 or value % memory_map.REGION_ALIGN:
        raise ScenarioError(f"{key}: must be a positive multiple of 2M, got {text!r}")
    return value


def parse_spmc_version(text: Any, key: str) -> int:
    """An FF-A version ``"X.Y"`` the SPMC stub firmware can implement (1.0, 1.1 or 1.2)."""
    known = ", ".join(f"{v >> 16}.{v & 0xFFFF}" for v in ffa.SPMC_STUB_VERSIONS)
    if not isinstance(text, str) or text.count(".") != 1:
        raise ScenarioError(f"{key}: expected a version such as \"1.2\", got {text!r}")
    major, minor = text.split(".")
    version = int(major) << 16 | int(minor) if major.isdigit() and minor.isdigit() else None
    if version not in ffa.SPMC_STUB_VERSIONS:
        raise ScenarioError(f"{key}: the SPMC stub implements FF-A {known}, not {text!r}")
    return version


def _expect(value: Any, kind: type, key: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ScenarioError(f"{key}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def _unknown(table: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise ScenarioError(f"{where}{extra[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")


def load_scenario(path: str | Path, **overrides: Any) -> MachineConfig:
    """Read a scenario file into a ``MachineConfig``; ``overrides`` win over the file."""
    import tomllib  # for --scenario only: a run from images imports no TOML parser

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    base = path.parent
    _unknown(data, _TOP_KEYS, "")
    options: dict[str, Any] = {}
    if "profile" in data:
        profile = _expect(data["profile"], str, "profile")
        if profile.endswith(".py"):
            profile = str(base / profile)
        try:
            load_profile(profile)
        except ProfileError as exc:
            raise ScenarioError(f"profile: {exc}") from None
        options["profile"] = profile
    for key in ("max_cycles", "quantum"):
        if key in data:
            if _expect(data[key], int, key) <= 0:
                raise ScenarioError(f"{key}: must be positive")
            options[key] = data[key]
    if "cost_model" in data:
        options["cost_model"] = load_cost_model(base / _expect(data["cost_model"], str, "cost_model"))
    if "cpu" in data:
        if "cost_model" in data:
            raise ScenarioError("cpu: give cpu or cost_model, not both")
        if _expect(data["cpu"], str, "cpu") not in CPUS:
            raise ScenarioError(f"cpu: unknown cpu {data['cpu']!r} (one of {', '.join(CPUS)})")
        options["cpu"] = data["cpu"]
    if "rmm_revisions" in data:
        try:
            options["rmm_revisions"] = parse_revisions(_expect(data["rmm_revisions"], str, "rmm_revisions"))
        except ValueError as exc:
            raise ScenarioError(f"rmm_revisions: {exc}") from None
    if "spmc" in data:
        spmc = _expect(data["spmc"], dict, "spmc")
        _unknown(spmc, _SPMC_KEYS, "spmc.")
        if "image" in spmc:
            options["spmc_image"] = base / _expect(spmc["image"], str, "spmc.image")
        if "version" in spmc:
            options["spmc_version"] = parse_spmc_version(spmc["version"], "spmc.version")
        if "flavour" in spmc:
            flavour = _expect(spmc["flavour"], str, "spmc.flavour")
            if flavour not in SPMC_FLAVOURS:
                raise ScenarioError(f"spmc.flavour: {flavour!r} is not one of {', '.join(SPMC_FLAVOURS)}")
            options["spmc_flavour"] = flavour
    options["vms"] = _vms(data.get("vm"), base)
    given = {k: v for k, v in overrides.items() if v is not None}
    if "cost_model" in given:
        options.pop("cpu", None)  # a cost model from the command line replaces the scenario's cpu
    options.update(given)
    return MachineConfig(**options)


def _vms(tables: Any, base: Path) -> list[VmSpec]:
    if tables is None:
        raise ScenarioError("vm: at least one [[vm]] table is needed")
    tables = _expect(tables, list, "vm")
    try:
        check_vm_count(len(tables))  # before loading thousands of images
    except LimitError as exc:
        raise ScenarioError(f"vm: {exc}") from None
    specs, seen = [], set()
    for index, table in enumerate(tables):
        where = f"vm[{index}]."
        _expect(table, dict, f"vm[{index}]")
        _unknown(table, _VM_KEYS, where)
        if "image" not in table:
            raise ScenarioError(f"{where}image: missing")
        image = load_image(base / _expect(table["image"], str, f"{where}image"))
        endpoint = _expect(table.get("id", index + 1), int, f"{where}id")
        if not 0 <= endpoint < 0x8000:
            raise ScenarioError(f"{where}id: a VM endpoint ID is 0..0x7fff (bit 15 marks secure endpoints)")
        if endpoint in seen:
            raise ScenarioError(f"{where}id: duplicate VM id {endpoint}")
        seen.add(endpoint)
        ram = parse_size(table.get("ram", memory_map.GUEST_RAM_DEFAULT_SIZE), f"{where}ram")
        cpus = _expect(table.get("cpus", 1), int, f"{where}cpus")
        if not 1 <= cpus <= MAX_CPUS:
            raise ScenarioError(f"{where}cpus: must be 1..{MAX_CPUS}")
        specs.append(VmSpec(image, vm_id=index + 1, endpoint_id=endpoint, ram_size=ram, cpus=cpus))
    return specs
