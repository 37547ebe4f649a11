"""The Linux kernel's FF-A driver (drivers/firmware/arm_ffa) probing through the mediator.

Build a kernel with ``tools/build-linux.sh SRC_DIR OUT_DIR`` (a Debian
``linux-source-6.12`` tree or kernel.org's) and set
``FFA_EMU_LINUX=OUT_DIR/arch/arm64/boot/Image``; ``tools/build-initramfs.sh
DIR`` makes an initramfs with a static ``/init`` for
``FFA_EMU_LINUX_INITRD=DIR/initramfs.cpio.gz``.  The driver's probe (driver.c
ffa_init): FFA_VERSION, ID_GET, FEATURES(RXTX_MAP), RXTX_MAP,
PARTITION_INFO_GET; it needs SMCCC 1.2 (ffa_transport_init) and takes its
conduit from the PSCI node of the device tree.
"""

from __future__ import annotations

import os
import re

import pytest

from emu import cli

LINUX = os.environ.get("FFA_EMU_LINUX")
INITRD = os.environ.get("FFA_EMU_LINUX_INITRD")
needs_linux = pytest.mark.skipif(not LINUX, reason="FFA_EMU_LINUX does not name a kernel Image "
                                                   "(build one with tools/build-linux.sh)")


def boot(capsys, tmp_path, *options: str) -> tuple[int, str, str]:
    trace = tmp_path / "trace.txt"  # the bundled SPMC stub is the default secure world
    code = cli.main(["run", "--append", "console=ttyAMA0 panic=-1", "--trace", str(trace), *options, LINUX])
    return code, capsys.readouterr().out, trace.read_text()


@needs_linux
@pytest.mark.parametrize("profile, conduit", [("spec", "hvc"), ("xen", "hvc"), ("pkvm", "smc")])
def test_arm_ffa_probes_through_the_mediator(profile, conduit, spmc_image, capsys, tmp_path) -> None:
    """Spec and Xen answer the driver their own 1.2; under pkvm the driver's version (1.1 in 6.12, 1.2 since
    6.13: driver.c FFA_DRIVER_VERSION) goes to the SPMC and its answer comes back (arch/arm64/kvm/hyp/nvhe/ffa.c
    do_ffa_version), the stub SPMC's 1.2 meeting a 1.x caller at its version."""
    code, console, trace = boot(capsys, tmp_path, "--profile", profile)
    assert code == 0, console[-3000:]  # panic=-1: PSCI SYSTEM_RESET after the missing root fs
    driver = re.search(r"ARM FF-A: Driver version (1\.[0-9]+)", console)
    assert driver, console[-3000:]
    firmware = driver[1] if profile == "pkvm" else "1.2"
    assert f"ARM FF-A: Firmware version {firmware} found" in console
    assert "VFS: Unable to mount root fs" in console
    # The stub's two partitions found (driver.c ffa_partition_probe): through PARTITION_INFO_GET_REGS where
    # FFA_FEATURES offers it (spec and Xen, to a 1.2 driver; w2[15:0] is the count less one, and Xen lists the
    # calling VM too: ffa_partinfo.c ffa_get_vm_partinfo), else through PARTITION_INFO_GET (w2 is the count).
    by_regs = re.search(rf"vm1 {conduit} FFA_FN64_PARTITION_INFO_GET_REGS\(0x0, 0x0, 0x0\) = "
                        r"FFA_FN64_SUCCESS\(w2=(0x[0-9a-f]+)", trace)
    by_buffer = re.search(rf"vm1 {conduit} FFA_PARTITION_INFO_GET\(0x0, 0x0, 0x0, 0x0, 0x0\) = "
                          r"FFA_SUCCESS\(w2=(0x[0-9a-f]+)", trace)
    found = (int(by_regs[1], 16) & 0xFFFF) + 1 if by_regs else int(by_buffer[1], 16) if by_buffer else 0
    assert found >= 2, trace[-3000:]


@needs_linux
def test_two_boots_are_identical(spmc_image, capsys, tmp_path) -> None:
    runs = [boot(capsys, tmp_path) for _ in range(2)]
    assert runs[0] == runs[1]  # console timestamps and the trace's cycle stamps included


@needs_linux
@pytest.mark.skipif(not INITRD, reason="FFA_EMU_LINUX_INITRD does not name an initramfs (tools/build-initramfs.sh)")
def test_user_space(spmc_image, capsys, tmp_path) -> None:
    code, console, _ = boot(capsys, tmp_path, "--initrd", INITRD)
    assert code == 0 and "init: hello from user space" in console


LINUX_OPTEE = os.environ.get("FFA_EMU_LINUX_OPTEE")


@pytest.mark.skipif(not LINUX_OPTEE, reason="FFA_EMU_LINUX_OPTEE does not name a kernel Image built with OP-TEE "
                                            "(tools/build-linux.sh --optee)")
@pytest.mark.parametrize("profile", ["spec", "xen", "pkvm"])
def test_optee_driver_probes_and_shares_memory(profile, spmc_image, capsys, tmp_path) -> None:
    """With --spmc-flavour optee the SPMC hosts one partition speaking OP-TEE's FF-A ABI: Linux's optee
    driver (drivers/tee/optee/ffa_abi.c optee_ffa_probe) checks the API version, exchanges capabilities,
    registers its argument buffer with FFA_MEM_SHARE through the mediator and opens a session to the
    device enumeration TA, which the SP answers, in that memory, is not there."""
    trace_file = tmp_path / "trace.txt"
    code = cli.main(["run", "--append", "console=ttyAMA0 panic=-1", "--trace", str(trace_file), "--profile",
                     profile, "--spmc-flavour", "optee", LINUX_OPTEE])
    console, trace = capsys.readouterr().out, trace_file.read_text()
    assert code == 0, console[-3000:]
    assert "optee: revision 0.0" in console and "optee: initialized driver" in console
    shares = [line for line in trace.splitlines() if "vm1 " in line and "MEM_SHARE" in line and "SUCCESS" in line]
    assert shares, trace
    assert "(0x1->0x8001, 0x80000000" in trace or "(0x0->0x8001, 0x80000000" in trace  # the yielding call
    # Notifications (drivers/firmware/arm_ffa/driver.c ffa_notifications_setup): under pKVM the SPMC's SRI, SGI 8
    # (forwarded FFA_FEATURES), under Xen its NPI and SRI, SGIs 8 and 9, map beside Linux's IPIs (SGIs 0-7);
    # Hafnium's NPI for a VM is SGI 5 (HF_NOTIFICATION_PENDING_INTID), one of those IPIs, so the driver gives up.
    if profile == "spec":
        assert "Error registering percpu NPI" in console and "Notification setup failed -16" in console
    else:
        assert "Notification setup failed" not in console
