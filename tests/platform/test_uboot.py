"""U-Boot with its FF-A driver (drivers/firmware/arm-ffa/), unchanged, on the emulated QEMU virt machine.

Build the image with ``tools/build-uboot.sh SRC_DIR OUT_DIR`` from a U-Boot
tree of 2025 or later and set ``FFA_EMU_UBOOT=OUT_DIR/u-boot``.  Its boot
command runs ``armffa devlist``, ``armffa getpart <echo SP UUID>``, ``armffa
ping 0x8001`` and ``poweroff``.  What U-Boot must see, from its source:
discovery through PSCI_FEATURES(SMCCC_VERSION) and FFA_VERSION over SMC
(drivers/firmware/psci.c bind_smccc_features, arm-ffa-uclass.c
ffa_do_probe); the partition list in v1.0 entries; the ping answered by a
64-bit direct response carrying x3-x7 (arm-ffa-uclass.c
ffa_msg_send_direct_req_hdlr).
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

import pytest

from emu import cli
from emu.ffa.stub_partitions import ECHO_SP
from emu.platform.fdt import to_dtb
from emu.platform.virt_tree import VirtTreeParams, build_virt_tree

ROOT = Path(__file__).resolve().parents[2]
UBOOT = os.environ.get("FFA_EMU_UBOOT")
needs_uboot = pytest.mark.skipif(not UBOOT, reason="FFA_EMU_UBOOT does not name a U-Boot image "
                                                   "(build one with tools/build-uboot.sh)")
PROFILES = ["spec", "pkvm", "xen"]


def uuid_str_to_le_words(text: str) -> tuple[int, ...]:
    """U-Boot's lib/uuid.c uuid_str_to_le_bin: every field little-endian, then read as four words."""
    fields = text.split("-")
    sizes = (4, 2, 2, 2, 6)
    raw = b"".join(int(f, 16).to_bytes(n, "little") for f, n in zip(fields, sizes))
    return struct.unpack("<4I", raw)


def test_build_script_names_the_echo_partition() -> None:
    script = (ROOT / "tools" / "build-uboot.sh").read_text()
    uuid = re.search(r'ECHO_UUID_DEFAULT="([0-9a-f-]+)"', script)[1]
    assert uuid_str_to_le_words(uuid) == ECHO_SP.uuid
    assert int(re.search(r'ECHO_ID_DEFAULT="(0x[0-9a-f]+)"', script)[1], 16) == ECHO_SP.endpoint_id


def run_uboot(capsys, *options: str) -> tuple[int, str]:
    code = cli.main(["run", *options, UBOOT])
    return code, capsys.readouterr().out


@needs_uboot
@pytest.mark.parametrize("profile", PROFILES)
def test_uboot_ffa_discovery_and_ping(profile, spmc_image, capsys) -> None:
    code, console = run_uboot(capsys, "--profile", profile)
    assert code == 0, console[-2000:]
    assert "device arm_ffa" in console
    assert f"Partition: id = {ECHO_SP.endpoint_id:x}" in console
    assert "SP response:" in console and "aaaaaaab" in console  # the echo SP's answer, x3 + 1
    assert "poweroff ..." in console


@needs_uboot
@pytest.mark.parametrize("profile", PROFILES)
def test_uboot_with_a_user_dtb(profile, spmc_image, capsys, tmp_path) -> None:
    method = "smc" if profile == "pkvm" else "hvc"
    dtb = tmp_path / "virt.dtb"
    dtb.write_bytes(to_dtb(build_virt_tree(VirtTreeParams(0x4000_0000, 128 << 20, psci_method=method))))
    code, console = run_uboot(capsys, "--profile", profile, "--dtb", str(dtb))
    assert code == 0 and "SP response:" in console


@needs_uboot
def test_uboot_trace_is_identical_over_20_runs(spmc_image, capsys, tmp_path) -> None:
    traces = set()
    for i in range(20):
        path = tmp_path / f"run{i}.jsonl"
        code, _ = run_uboot(capsys, "-q", "--trace", str(path), "--trace-format", "jsonl")
        assert code == 0
        traces.add(path.read_bytes())
    assert len(traces) == 1


@needs_uboot
def test_uboot_relocated_call_sites_are_named(spmc_image, capsys, tmp_path) -> None:
    """After relocating itself to the top of RAM, U-Boot's calls are named at their linked addresses."""
    path = tmp_path / "trace.txt"
    code, _ = run_uboot(capsys, "-q", "--trace", str(path))
    assert code == 0
    ping = next(line for line in path.read_text().splitlines() if "FFA_FN64_MSG_SEND_DIRECT_REQ(" in line
                and " vm1 smc " in line)
    assert ping.endswith("@ arm_smccc_1_2_smc+0x2c")
