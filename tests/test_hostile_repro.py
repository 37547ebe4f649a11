"""Reproducibility: same images, scenario and seed -> byte-identical jsonl traces and cycle counts, 20 times,
whatever the host's speed (the pure-Python cycle hooks are much slower) and with the checker on or off."""

from __future__ import annotations

import io

from emu import cli
from emu.platform.elf import load_elf
from emu.machine import Machine, MachineConfig
from emu.scenario import load_scenario

RUNS = 20
SCENARIO = """\
profile = "spec"
quantum = 20000

[spmc]
image = "{spmc}"

[[vm]]
image = "{share}"

[[vm]]
image = "{fuzz}"
"""


def _scenario(tmp_path, guest_image, spmc_image):
    path = tmp_path / "repro.toml"
    path.write_text(SCENARIO.format(spmc=spmc_image, share=guest_image("ffa_mem_share"), fuzz=guest_image("fuzz")))
    return path


def _run(config: MachineConfig) -> tuple[str, int, list]:
    stream = io.StringIO()
    machine = Machine(config)
    machine.trace.add_sink(stream, "jsonl")
    result = machine.run()
    assert [vm.state for vm in result.vms] == ["off", "off"], [vm.exit_reason for vm in result.vms]
    return stream.getvalue(), result.cycles, [(vm.cycles, vm.instructions) for vm in result.vms]


def test_twenty_runs_are_identical(tmp_path, guest_image, spmc_image) -> None:
    path = _scenario(tmp_path, guest_image, spmc_image)
    base = load_scenario(path)
    spmc = load_elf(base.spmc_image)  # parsed once; a machine per run

    def config(**changes) -> MachineConfig:
        cfg = load_scenario(path)
        cfg.spmc_image = spmc
        cfg.keep_trace = False
        for key, value in changes.items():
            setattr(cfg, key, value)
        return cfg

    first = _run(config())
    assert first[0].count("\n") > 1000 and '"vm":"vm2"' in first[0] and "MEM_SHARE" in first[0]
    for i in range(RUNS - 3):
        assert _run(config()) == first, f"run {i + 2} differs"
    assert _run(config(check=True)) == first, "the invariant checker changed the run"
    assert _run(config(native=False)) == first, "the pure-Python cycle hooks (a slower host) changed the run"

    # The command line writes the same bytes.
    trace = tmp_path / "trace.jsonl"
    code = cli.main(["run", "--quiet", "--scenario", str(path), "--trace", str(trace), "--trace-format", "jsonl"])
    assert code == 0
    assert trace.read_text() == first[0]
