"""The cycle cost model and per-block accounting: classification, model files,
determinism, native C hook vs pure Python, exact counts on faults and budgets."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from unicorn import UC_HOOK_CODE

from emu.cpu import blockcost
from emu.cpu.costmodel import (
    INSTRUCTION_CLASSES, TRANSITIONS, BlockClassifier, CostModel, CostModelError, classify, load_cost_model,
)
from emu.platform.elf import load_elf
from emu.machine import Machine, MachineConfig
from emu.trace.text import render_text
from emu.vm import VmSpec

needs_native = pytest.mark.skipif(
    not blockcost.native_available(),
    reason="native block-cost helper emu/native/libblockcost.so not built (make emu/native/libblockcost.so) "
           "or FFA_EMU_PURE_PYTHON is set",
)

DEFAULT = load_cost_model()
TRAP_CYCLES = sum(DEFAULT.transition[k] for k in ("el1_to_el2", "el2_handler", "el2_to_el1"))


# -- classification -----------------------------------------------------------

CLASS_EXAMPLES = {
    "alu": [("add", "x0, x1, x2"), ("mov", "x0, #0"), ("sub", "sp, sp, #0x10"), ("cmp", "w0, #3"),
            ("csel", "x0, x1, x2, eq"), ("adrp", "x0, #0x40000000"), ("lsl", "x0, x1, #3"), ("bic", "x0, x1, x2"),
            ("bfi", "x0, x1, #4, #8"), ("orr", "w0, w1, w2"), ("ubfx", "x0, x1, #0, #8")],
    "multiply": [("mul", "x0, x1, x2"), ("madd", "x0, x1, x2, x3"), ("umulh", "x0, x1, x2"),
                 ("smaddl", "x0, w1, w2, x3"), ("MUL", "x0, x1, x2")],
    "divide": [("sdiv", "x0, x1, x2"), ("udiv", "w0, w1, w2")],
    "load": [("ldr", "x0, [x1]"), ("ldrb", "w0, [x1, #1]"), ("ldur", "x0, [x1, #-8]"), ("ldar", "x0, [x1]"),
             ("ldxr", "x0, [x1]"), ("ldapr", "x0, [x1]"), ("ldadd", "x0, x1, [x2]"), ("casal", "x0, x1, [x2]"),
             ("swpa", "x2, x0, [x1]"), ("prfm", "pldl1keep, [x0]"), ("prfum", "pldl1keep, [x0]"),
             ("ldr", "q0, [x1]"), ("ld1", "{v0.16b}, [x0]")],
    "store": [("str", "x0, [x1]"), ("strb", "w0, [x1]"), ("stur", "x0, [x1, #-8]"), ("stlr", "x0, [x1]"),
              ("stxr", "w2, x0, [x1]"), ("str", "q0, [x1]"), ("st1", "{v0.16b}, [x0]")],
    "load_pair": [("ldp", "x29, x30, [sp], #0x10"), ("ldpsw", "x0, x1, [x2]"), ("ldnp", "q0, q1, [x0]"),
                  ("ldaxp", "x0, x1, [x2]")],
    "store_pair": [("stp", "x29, x30, [sp, #-0x10]!"), ("stnp", "x0, x1, [x2]"), ("stlxp", "w3, x0, x1, [x2]")],
    "branch": [("b", "#0x40000010"), ("bl", "#0x40000100"), ("b.eq", "#8"), ("b.ne", "#-8"), ("cbz", "x0, #8"),
               ("cbnz", "w0, #8"), ("tbz", "w0, #3, #8"), ("tbnz", "x0, #63, #8"), ("ret", ""), ("br", "x16"),
               ("blr", "x8"), ("retaa", ""), ("retab", "")],
    "fp_simd": [("fadd", "s0, s1, s2"), ("fmov", "d0, x1"), ("scvtf", "d0, x0"), ("ucvtf", "s0, w0"),
                ("add", "v0.4s, v1.4s, v2.4s"), ("cnt", "v0.8b, v0.8b"), ("movi", "v0.2d, #0"),
                ("fmadd", "d0, d1, d2, d3")],
    "system": [("mrs", "x0, sctlr_el1"), ("msr", "vbar_el1, x0"), ("tlbi", "vmalle1"), ("dc", "civac, x0"),
               ("ic", "iallu"), ("at", "s1e1r, x0"), ("sys", "#0, c7, c5, #0, x0")],
    "barrier": [("dmb", "ish"), ("dsb", "sy"), ("isb", ""), ("ssbb", "")],
    "exception": [("hvc", "#0"), ("smc", "#0"), ("svc", "#0"), ("brk", "#0x3e8"), ("eret", ""), ("udf", "#0"),
                  ("hlt", "#0")],
    "hint": [("nop", ""), ("yield", ""), ("wfi", ""), ("wfe", ""), ("sev", ""), ("paciasp", ""),
             ("autiasp", ""), ("bti", "c"), ("csdb", ""), ("hint", "#0x22")],
}


def test_class_examples_cover_every_class() -> None:
    assert set(CLASS_EXAMPLES) == set(INSTRUCTION_CLASSES)


@pytest.mark.parametrize("cls, mnemonic, op_str",
                         [(cls, m, o) for cls, examples in CLASS_EXAMPLES.items() for m, o in examples])
def test_classify(cls: str, mnemonic: str, op_str: str) -> None:
    assert classify(mnemonic, op_str) == cls


def distinct_model() -> CostModel:
    """Every instruction class a different cost, so a cost names its class."""
    return CostModel("distinct", {cls: 100 + i for i, cls in enumerate(INSTRUCTION_CLASSES)},
                     dict(DEFAULT.transition), "<test>")


ENCODED = [  # (little-endian word, class), as capstone decodes them
    (0x8B020020, "alu"),  # add x0, x1, x2
    (0xF9400000, "load"),  # ldr x0, [x0]
    (0x9B027C20, "multiply"),  # mul x0, x1, x2
    (0x9AC20C20, "divide"),  # sdiv x0, x1, x2
    (0xA9407BFD, "load_pair"),  # ldp x29, x30, [sp]
    (0xA9BF7BFD, "store_pair"),  # stp x29, x30, [sp, #-0x10]!
    (0x1E222820, "fp_simd"),  # fadd s0, s1, s2
    (0x4EA28420, "fp_simd"),  # add v0.4s, v1.4s, v2.4s
    (0xD5381000, "system"),  # mrs x0, sctlr_el1
    (0xD5033FDF, "barrier"),  # isb
    (0xD503201F, "hint"),  # nop
    (0xD4000002, "exception"),  # hvc #0
    (0x3D800020, "store"),  # str q0, [x1]
    (0xD65F03C0, "branch"),  # ret
]


def test_block_classifier_costs_per_slot() -> None:
    model = distinct_model()
    code = b"".join(struct.pack("<I", word) for word, _cls in ENCODED)
    costs = BlockClassifier(model).instruction_costs(0x4000_0000, code)
    assert costs == [model.instruction[cls] for _word, cls in ENCODED]


def test_block_classifier_undecodable_word_is_alu_and_decoding_resumes() -> None:
    model = distinct_model()
    code = struct.pack("<IIII", 0x9B027C20, 0xFFFFFFFF, 0x9AC20C20, 0xF9400000)
    costs = BlockClassifier(model).instruction_costs(0x4000_0000, code)
    m = model.instruction
    assert costs == [m["multiply"], m["alu"], m["divide"], m["load"]]


# -- cost model files ---------------------------------------------------------

def model_toml(instruction: dict[str, object] | None = None, transition: dict[str, object] | None = None,
               drop: tuple[str, ...] = (), extra: str = "") -> str:
    """A cost model file: the default figures, overridden by ``instruction``/``transition``."""
    ins = {**DEFAULT.instruction, **(instruction or {})}
    tra = {**DEFAULT.transition, **(transition or {})}
    lines = ['[model]', 'name = "test-model"', "", "[instruction]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in ins.items() if f"instruction.{k}" not in drop]
    lines += ["", "[transition]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in tra.items() if f"transition.{k}" not in drop]
    return "\n".join(lines) + "\n" + extra


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def write_model(tmp_path: Path, text: str, name: str = "model.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_default_model_loads() -> None:
    model = load_cost_model()
    assert set(model.instruction) == set(INSTRUCTION_CLASSES)
    assert set(model.transition) == set(TRANSITIONS)
    assert all(isinstance(v, int) and v >= 0 for v in [*model.instruction.values(), *model.transition.values()])
    assert model.name == "a72-warm"
    assert model.instruction["alu"] == 1
    assert model.copy_cost(0) == 0
    assert model.copy_cost(1) == model.copy_cost(64) == model.transition["el2_copy_per_64_bytes"]
    assert model.copy_cost(65) == 2 * model.transition["el2_copy_per_64_bytes"]


def test_model_file_round_trip(tmp_path: Path) -> None:
    path = write_model(tmp_path, model_toml({"alu": 2}, {"el2_handler": 7}))
    model = load_cost_model(path)
    assert model.name == "test-model"
    assert model.source == str(path)
    assert model.instruction == {**DEFAULT.instruction, "alu": 2}
    assert model.transition == {**DEFAULT.transition, "el2_handler": 7}


def test_model_file_table_form(tmp_path: Path) -> None:
    text = model_toml().replace("alu = 1", 'alu = { cycles = 3, source = "a note" }')
    assert load_cost_model(write_model(tmp_path, text)).instruction["alu"] == 3


@pytest.mark.parametrize(
    "text_args, key_in_message",
    [
        (dict(extra="\n"), None),  # control: loads
        (dict(instruction={"vector": 3}), "instruction.vector"),
        (dict(transition={"el2_nap": 3}), "transition.el2_nap"),
        (dict(drop=("instruction.divide",)), "instruction.divide"),
        (dict(drop=("transition.el3_world_switch",)), "transition.el3_world_switch"),
        (dict(instruction={"load": -4}), "instruction.load"),
        (dict(transition={"el2_to_el1": -1}), "transition.el2_to_el1"),
        (dict(instruction={"store": 1.5}), "instruction.store"),
        (dict(instruction={"branch": "1"}), "instruction.branch"),
        (dict(instruction={"hint": True}), "instruction.hint"),
    ],
)
def test_bad_model_files_name_the_key(tmp_path: Path, text_args: dict, key_in_message: str | None) -> None:
    path = write_model(tmp_path, model_toml(**text_args))
    if key_in_message is None:
        load_cost_model(path)
        return
    with pytest.raises(CostModelError) as info:
        load_cost_model(path)
    message = str(info.value)
    assert key_in_message in message
    assert str(path) in message
    assert "\n" not in message


def test_bad_toml(tmp_path: Path) -> None:
    path = write_model(tmp_path, "[instruction\nalu = 1\n")
    with pytest.raises(CostModelError, match="not valid TOML") as info:
        load_cost_model(path)
    assert str(path) in str(info.value)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "model.toml"
    path.write_bytes(b"\xff\xfe[instruction]\n")
    with pytest.raises(CostModelError, match="not valid TOML"):
        load_cost_model(path)


def test_directory_as_model(tmp_path: Path) -> None:
    with pytest.raises(CostModelError, match="cannot read cost model"):
        load_cost_model(tmp_path)


def test_missing_table(tmp_path: Path) -> None:
    text = model_toml().split("[transition]")[0]
    with pytest.raises(CostModelError, match=r"missing \[transition\] table"):
        load_cost_model(write_model(tmp_path, text))


def table_text(section: str, values: dict[str, int]) -> str:
    return f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())


@pytest.mark.parametrize("text, section", [
    ("model = 3\n" + table_text("instruction", DEFAULT.instruction) + table_text("transition", DEFAULT.transition),
     "model"),
    ('instruction = "fast"\n' + table_text("transition", DEFAULT.transition), "instruction"),
    ("transition = [1, 2]\n" + table_text("instruction", DEFAULT.instruction), "transition"),
])
def test_sections_that_are_not_tables(tmp_path: Path, text: str, section: str) -> None:
    with pytest.raises(CostModelError, match=rf"\[{section}\] table") as info:
        load_cost_model(write_model(tmp_path, text))
    assert "\n" not in str(info.value)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(CostModelError, match="cannot read cost model"):
        load_cost_model(tmp_path / "absent.toml")


# -- cost models change the counts, exactly -------------------------------------

def uniform_model(tmp_path: Path, cycles: int, transition: int | None = None) -> CostModel:
    transitions = {k: transition for k in TRANSITIONS} if transition is not None else {}
    text = model_toml({k: cycles for k in INSTRUCTION_CLASSES}, transitions)
    return load_cost_model(write_model(tmp_path, text, f"uniform-{cycles}-{transition}.toml"))


def test_cost_model_changes_cycles_not_instructions(tmp_path, guest_image, run_guests) -> None:
    hello = guest_image("hello")
    base = run_guests(hello)
    alu2 = run_guests(hello, cost_model=load_cost_model(write_model(tmp_path, model_toml({"alu": 2}))))
    assert base.exit_code == alu2.exit_code == 0
    assert alu2.result.instructions == base.result.instructions
    assert alu2.result.cycles > base.result.cycles
    # every ALU instruction costs exactly one cycle more: the growth is at most one per instruction
    assert alu2.result.cycles - base.result.cycles < base.result.instructions
    assert alu2.console() == base.console()


def test_uniform_model_cycles_equal_cost_times_instructions(tmp_path, guest_image, run_guests) -> None:
    hello = guest_image("hello")
    for cycles in (1, 3):
        out = run_guests(hello, cost_model=uniform_model(tmp_path, cycles, transition=0))
        assert out.exit_code == 0
        assert out.result.cycles == cycles * out.result.instructions
        assert out.result.traps == 3


def test_transition_only_model_charges_each_trap(tmp_path, guest_image, run_guests) -> None:
    out = run_guests(guest_image("hello"), cost_model=uniform_model(tmp_path, 0))
    assert out.exit_code == 0
    assert out.result.traps == len(out.calls()) == 3
    assert out.result.cycles == out.result.traps * TRAP_CYCLES
    for rec in out.calls():
        assert rec.cycle_end - rec.cycle_start == TRAP_CYCLES


# -- determinism --------------------------------------------------------------

def fingerprint(out) -> tuple:
    return (out.result.instructions, out.result.cycles, out.result.traps,
            [(vm.name, vm.state, vm.instructions, vm.cycles, vm.console) for vm in out.result.vms],
            [render_text(rec) for rec in out.records], [rec.to_json() for rec in out.records])


@pytest.mark.parametrize("guest", ["hello", "smccc", "fault"])
def test_same_run_three_times_is_identical(guest, guest_image, run_guests) -> None:
    image = guest_image(guest)
    runs = [fingerprint(run_guests(image)) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    assert runs[0][0] > 0


def test_two_vm_run_is_deterministic(guest_image, run_guests) -> None:
    image = guest_image("smccc")
    runs = [fingerprint(run_guests(image, image, quantum=5_000)) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]


@pytest.mark.parametrize("quantum", [50, 997, 10_000])
def test_counts_do_not_depend_on_the_quantum(quantum, guest_image, run_guests) -> None:
    """Stopping for the budget and resuming must neither lose nor double-charge a block."""
    for guest in ("hello", "smccc", "fault"):
        image = guest_image(guest)
        ref = run_guests(image)
        out = run_guests(image, quantum=quantum)
        assert (out.result.instructions, out.result.cycles) == (ref.result.instructions, ref.result.cycles), guest
        assert [render_text(r) for r in out.records] == [render_text(r) for r in ref.records]


# -- native C hook vs pure Python ---------------------------------------------

@needs_native
@pytest.mark.parametrize("guest, options", [
    ("hello", {}),
    ("smccc", {}),
    ("fault", {}),
    ("spin", {"max_cycles": 3_000_000}),
    ("spin", {"max_cycles": 123_457, "quantum": 1_001}),
])
def test_native_and_python_give_identical_counts(guest, options, guest_image, run_guests) -> None:
    image = guest_image(guest)
    native = run_guests(image, native=True, **options)
    python = run_guests(image, native=False, **options)
    assert native.machine.vms[0].engine.counter.native is True
    assert python.machine.vms[0].engine.counter.native is False
    assert type(native.machine.vms[0].engine.trap_entry).__name__ == "NativeTrapEntry"  # trap registers read in C
    assert type(python.machine.vms[0].engine.trap_entry).__name__ == "PythonTrapEntry"
    assert native.result.instructions == python.result.instructions > 0
    assert native.result.cycles == python.result.cycles
    assert [(v.state, v.instructions, v.cycles) for v in native.result.vms] == \
           [(v.state, v.instructions, v.cycles) for v in python.result.vms]
    assert [render_text(r) for r in native.records] == [render_text(r) for r in python.records]


def test_native_true_without_the_library_is_an_error(monkeypatch, guest_image) -> None:
    monkeypatch.setattr(blockcost, "_load_native", lambda: None)
    with pytest.raises(RuntimeError, match="native block-cost helper not built"):
        Machine(MachineConfig(vms=[VmSpec(load_elf(guest_image("hello")), 1, 1)], native=True))


def test_pure_python_fallback_when_native_is_none(monkeypatch, guest_image, run_guests) -> None:
    monkeypatch.setattr(blockcost, "_load_native", lambda: None)
    out = run_guests(guest_image("hello"), native=None)
    assert out.machine.vms[0].engine.counter.native is False
    assert out.exit_code == 0


# -- exact accounting at a fault ------------------------------------------------

def run_with_code_hook(image: Path, native: bool) -> tuple[Machine, object, list[int]]:
    """Run one VM with a per-instruction code hook: an independent count of what executed.

    The plugin's ``run_guests`` runs the machine at once, so this builds the
    machine itself to add the hook before it runs.
    """
    machine = Machine(MachineConfig(vms=[VmSpec(load_elf(image), 1, 1)], native=native))
    executed: list[int] = []
    machine.vms[0].engine.uc.hook_add(UC_HOOK_CODE, lambda _uc, addr, _size, _data: executed.append(addr))
    return machine, machine.run(), executed


def cost_of(machine: Machine, addresses: list[int]) -> int:
    uc = machine.vms[0].engine.uc
    return sum(machine.classifier.instruction_costs(a, bytes(uc.mem_read(a, 4)))[0] for a in addresses)


@pytest.mark.parametrize("native", [pytest.param(True, marks=needs_native), False])
def test_fault_charges_exactly_the_non_faulting_prefix(native, guest_image) -> None:
    machine, result, executed = run_with_code_hook(guest_image("fault"), native)
    vm = result.vms[0]
    assert vm.state == "fault"
    # the code hook sees the faulting load too (it runs before the instruction)
    assert executed[-1] == vm.fault.pc
    prefix = executed[:-1]
    assert result.instructions == vm.instructions == len(prefix)
    assert result.traps == 0
    assert result.cycles == vm.cycles == cost_of(machine, prefix)


@pytest.mark.parametrize("guest", ["hello", "smccc"])
@pytest.mark.parametrize("native", [pytest.param(True, marks=needs_native), False])
def test_cycles_equal_instruction_costs_plus_el2_work(guest, native, guest_image) -> None:
    machine, result, executed = run_with_code_hook(guest_image(guest), native)
    assert result.vms[0].state == "off"
    assert result.instructions == len(executed)
    assert result.cycles == cost_of(machine, executed) + machine.el2.account.cycles
    assert machine.el2.account.cycles == sum(r.cycle_end - r.cycle_start for r in result.trace.calls())


@needs_native
def test_fault_counts_native_equal_python(guest_image, run_guests) -> None:
    image = guest_image("fault")
    outs = [run_guests(image, native=n, quantum=q) for n in (True, False) for q in (200_000, 100, 7)]
    counts = {(o.result.instructions, o.result.cycles, o.vm().fault.pc, o.vm().fault.address) for o in outs}
    assert len(counts) == 1
    assert all(o.exit_code == 3 for o in outs)


# -- the cycle budget -----------------------------------------------------------

def largest_block_cost(out) -> int:
    return max(sum(costs) for costs in out.machine.vms[0].engine.counter.block_costs.values())


@pytest.mark.parametrize("limit", [10_000, 100_000, 1_234_567])
@pytest.mark.parametrize("native", [pytest.param(True, marks=needs_native), False])
def test_budget_stop_within_one_block(limit, native, guest_image, run_guests) -> None:
    out = run_guests(guest_image("spin"), max_cycles=limit, native=native)
    vm = out.vm()
    assert out.exit_code == 3
    assert vm.state == "runaway"
    assert str(limit) in vm.exit_reason
    assert out.console() == "spinning\n"
    assert limit <= out.result.cycles < limit + largest_block_cost(out)
    # the block that hit the limit was charged; the one after it was not
    counter = out.machine.vms[0].engine.counter
    last_addr, _size = counter.last_block
    assert out.result.cycles - sum(counter.block_costs[last_addr]) < limit


@needs_native
@pytest.mark.parametrize("limit", [10_000, 1_000_003])
def test_budget_stop_identical_native_and_python(limit, guest_image, run_guests) -> None:
    image = guest_image("spin")
    native = run_guests(image, max_cycles=limit, native=True)
    python = run_guests(image, max_cycles=limit, native=False)
    assert (native.result.instructions, native.result.cycles) == (python.result.instructions, python.result.cycles)


def test_budget_stop_with_traps_within_one_trap(guest_image, run_guests) -> None:
    limit = 1_000_000
    out = run_guests(guest_image("bench_smccc"), max_cycles=limit)
    assert out.vm().state == "runaway"
    slack = largest_block_cost(out) + TRAP_CYCLES
    assert limit <= out.result.cycles < limit + slack
