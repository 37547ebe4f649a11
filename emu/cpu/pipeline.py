"""A core's timing description: issue width, execution pipelines, per-class latency and occupancy.

Read from the ``[pipeline]`` and ``[instruction]`` tables of a core model
file (``emu/data/<core>.toml``); ``emu.cpu.scheduler`` schedules blocks with
it.  Every figure in those files carries its source.
"""

from __future__ import annotations

from dataclasses import dataclass

from emu.cpu.iclass import CORE_CLASSES

ORDERS = ("in-order", "out-of-order")


class PipelineError(ValueError):
    """A core description that cannot be used, with the key at fault."""


@dataclass(frozen=True)
class Timing:
    """How one instruction class executes."""

    latency: int  # cycles from issue until a consumer of its result can issue
    unit: str  # the pipeline it issues to
    occupancy: int = 1  # cycles it holds that pipeline (1: fully pipelined)
    serialize: bool = False  # waits for every older instruction and holds back every younger one
    alu_latency: int | None = None  # latency as an ALU instruction consuming the result sees it (forwarding)


@dataclass(frozen=True)
class CoreTiming:
    name: str
    in_order: bool
    issue_width: int  # instructions decoded/dispatched (in order: issued) per cycle
    window: int  # reorder-buffer entries (out of order); instructions in flight
    units: dict[str, int]  # pipeline name -> how many of it
    timing: dict[str, Timing]  # instruction class -> timing


def parse_core(name: str, pipeline: dict, instruction: dict) -> CoreTiming:
    """Build a ``CoreTiming`` from a model file's tables (values may be ``{value = N, source = "..."}``)."""
    order = _value(pipeline, "order", str)
    if order not in ORDERS:
        raise PipelineError(f"pipeline.order must be one of {', '.join(ORDERS)}")
    width = _positive(pipeline, "issue_width")
    window = _positive(pipeline, "window") if order == "out-of-order" else width
    units_table = pipeline.get("units")
    if not isinstance(units_table, dict) or not units_table:
        raise PipelineError("missing pipeline.units table")
    units = {unit: _positive(units_table, unit, f"pipeline.units.{unit}") for unit in units_table}
    unknown = sorted(set(instruction) - set(CORE_CLASSES))
    if unknown:
        raise PipelineError(f"unknown key instruction.{unknown[0]}")
    timing = {}
    for cls in CORE_CLASSES:
        entry = instruction.get(cls)
        if not isinstance(entry, dict):
            raise PipelineError(f"missing key instruction.{cls} (a table with latency and unit)")
        unit = entry.get("unit")
        if unit not in units:
            raise PipelineError(f"instruction.{cls}.unit must name a pipeline.units entry")
        timing[cls] = Timing(_count(entry, "latency", f"instruction.{cls}.latency"), unit,
                             _positive(entry, "occupancy", f"instruction.{cls}.occupancy", default=1),
                             bool(entry.get("serialize", False)),
                             _count(entry, "alu_latency", f"instruction.{cls}.alu_latency")
                             if "alu_latency" in entry else None)
    return CoreTiming(name, order == "in-order", width, window, units, timing)


def _value(table: dict, key: str, kind: type, where: str | None = None, default: object = None) -> object:
    entry = table.get(key, default)
    value = entry.get("value") if isinstance(entry, dict) else entry
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PipelineError(f"{where or 'pipeline.' + key} must be {'an integer' if kind is int else 'a string'}")
    return value


def _count(table: dict, key: str, where: str) -> int:
    value = _value(table, key, int, where)
    if value < 0:
        raise PipelineError(f"{where} must be a non-negative integer")
    return value


def _positive(table: dict, key: str, where: str | None = None, default: int | None = None) -> int:
    value = _value(table, key, int, where, default)
    if value <= 0:
        raise PipelineError(f"{where or 'pipeline.' + key} must be a positive integer")
    return value
