"""The device tree QEMU's ``virt`` board gives a guest, for the devices we emulate.

Nodes are built in the order QEMU builds them (hw/arm/virt.c:machvirt_init,
then hw/arm/boot.c:arm_load_dtb), with the same names and values, as of QEMU
7.2-9.0 (root "model" since 7.2, "arm,psci-1.0" since 7.1).  libfdt inserts
each new node and property *before* its earlier siblings, so QEMU's blob lists
them in reverse; ``_libfdt_order`` does the same, and ``dtc -I dtb -O dts`` of
both reads alike.  Deliberate differences: the GICv3 redistributor region is
one 128 KiB frame per CPU (QEMU always advertises 0xF60000; pass
``redist_size=GICR_QEMU_SIZE`` for that), and there is no /cpus/cpu-map, so the
GIC phandle is 0x8001 (QEMU >= 6.2 first gives each CPU a phandle, making it
0x8001 + cpus).  Left out, because we do not emulate them: RTC, GPIO, fw-cfg,
virtio-mmio, PCIe, PMU, GIC ITS, platform bus, /aliases (9.1+), root
"dma-coherent" (9.1+), the fifth timer PPI (EL2 with VHE only) and the random
kaslr-seed/rng-seed that virt.c:create_randomness puts in /chosen.
"""

from __future__ import annotations

from typing import NamedTuple

from emu.platform.fdt import Node

# hw/arm/virt.c:base_memmap and a15irqmap
FLASH_BASE, FLASH_SIZE = 0x0000_0000, 0x0800_0000  # two CFI banks of half this each
GICD_BASE, GICD_SIZE = 0x0800_0000, 0x0001_0000
GICR_BASE, GICR_QEMU_SIZE = 0x080A_0000, 0x00F6_0000
GICR_FRAME_SIZE = 0x2_0000  # GICV3_REDIST_SIZE: RD_base + SGI_base, 64 KiB each
UART_BASE, UART_SIZE, UART_SPI = 0x0900_0000, 0x1000, 1
CLOCK_PHANDLE, GIC_PHANDLE = 0x8000, 0x8001  # device_tree.c:qemu_fdt_alloc_phandle from 0x8000
# include/hw/arm/fdt.h and target/arm/cpu.h: interrupt specifier encodings
SPI, PPI = 0, 1
IRQ_LEVEL_HI = 4
TIMER_S_EL1, TIMER_NS_EL1, TIMER_VIRT, TIMER_NS_EL2 = 13, 14, 11, 10
# PSCI 0.2+ function IDs (SMC64 where both exist), as QEMU advertises them
PSCI_CPU_SUSPEND, PSCI_CPU_OFF, PSCI_CPU_ON, PSCI_MIGRATE = (
    0xC400_0001, 0x8400_0002, 0xC400_0003, 0xC400_0005)
GICV3_TARGETLIST_BITS = 16  # CPUs per Aff1 cluster on a GICv3 virt board


class VirtTreeParams(NamedTuple):
    """What varies between runs; the device addresses are fixed by the board."""

    ram_base: int
    ram_size: int
    cpus: int = 1
    psci_method: str = "hvc"
    bootargs: str | None = None
    initrd: tuple[int, int] | None = None  # (start, end), end exclusive as in Linux
    cpu_compatible: str = "arm,cortex-a72"
    redist_size: int | None = None  # None: one frame per CPU; GICR_QEMU_SIZE: QEMU's


def mpidr_affinity(index: int) -> int:
    """MPIDR affinity of CPU ``index`` (virt.c:virt_cpu_mp_affinity, 16 CPUs per cluster)."""
    return (index // GICV3_TARGETLIST_BITS) << 8 | index % GICV3_TARGETLIST_BITS


def build_virt_tree(params: VirtTreeParams) -> Node:
    """The guest's device tree, as ``qemu-system-aarch64 -M virt,gic-version=3`` makes it."""
    max_cpus = GICR_QEMU_SIZE // GICR_FRAME_SIZE
    if not 1 <= params.cpus <= max_cpus:
        raise ValueError(f"cpus must be 1..{max_cpus} (redistributors that fit), not {params.cpus}")
    if params.psci_method not in ("hvc", "smc"):
        raise ValueError(f"psci_method must be 'hvc' or 'smc', not {params.psci_method!r}")
    if params.initrd is not None and not 0 <= params.initrd[0] <= params.initrd[1]:
        raise ValueError(f"initrd (start, end) {params.initrd!r} is not an address range")
    uart_path = f"/pl011@{UART_BASE:x}"
    root = Node()

    # virt.c:create_fdt
    root.set_str("compatible", "linux,dummy-virt")
    root.set_u32("#address-cells", 2).set_u32("#size-cells", 2)
    root.set_str("model", "linux,dummy-virt")
    chosen = root.child("chosen")
    clock = root.child("apb-pclk")
    clock.set_str("compatible", "fixed-clock").set_u32("#clock-cells", 0)
    clock.set_u32("clock-frequency", 24_000_000).set_str("clock-output-names", "clk24mhz")
    clock.set_u32("phandle", CLOCK_PHANDLE)

    # virt.c:fdt_add_timer_nodes: level-high PPIs, no CPU mask with a GICv3
    timer = root.child("timer")
    timer.set_strs("compatible", ["arm,armv8-timer", "arm,armv7-timer"]).set_empty("always-on")
    ppis = (TIMER_S_EL1, TIMER_NS_EL1, TIMER_VIRT, TIMER_NS_EL2)
    timer.set_u32("interrupts", *(cell for irq in ppis for cell in (PPI, irq, IRQ_LEVEL_HI)))

    # virt.c:fdt_add_cpu_nodes: one reg cell while no CPU has Aff3; CPUs added last-first
    cpus = root.child("cpus").set_u32("#address-cells", 1).set_u32("#size-cells", 0)
    for index in reversed(range(params.cpus)):
        cpu = cpus.child(f"cpu@{index}")
        cpu.set_str("device_type", "cpu").set_str("compatible", params.cpu_compatible)
        if params.cpus > 1:  # QEMU writes enable-method only on SMP boards
            cpu.set_str("enable-method", "psci")
        cpu.set_u32("reg", mpidr_affinity(index))

    # virt.c:virt_flash_fdt (no separate secure flash): both banks in one node
    bank = FLASH_SIZE // 2
    root.child(f"flash@{FLASH_BASE:x}").set_str("compatible", "cfi-flash").set_u64(
        "reg", FLASH_BASE, bank, FLASH_BASE + bank, bank).set_u32("bank-width", 4)

    # virt.c:fdt_add_gic_node (GICv3, one redistributor region, no ITS, no EL2)
    root.set_u32("interrupt-parent", GIC_PHANDLE)
    gic = root.child(f"intc@{GICD_BASE:x}")
    gic.set_u32("#interrupt-cells", 3).set_empty("interrupt-controller")
    gic.set_u32("#address-cells", 2).set_u32("#size-cells", 2).set_empty("ranges")
    gic.set_str("compatible", "arm,gic-v3").set_u32("#redistributor-regions", 1)
    redist = params.redist_size or GICR_FRAME_SIZE * params.cpus
    gic.set_u64("reg", GICD_BASE, GICD_SIZE, GICR_BASE, redist).set_u32("phandle", GIC_PHANDLE)

    # virt.c:create_uart
    uart = root.child(uart_path[1:])
    uart.set_strs("compatible", ["arm,pl011", "arm,primecell"]).set_u64("reg", UART_BASE, UART_SIZE)
    uart.set_u32("interrupts", SPI, UART_SPI, IRQ_LEVEL_HI)
    uart.set_u32("clocks", CLOCK_PHANDLE, CLOCK_PHANDLE)
    uart.set_strs("clock-names", ["uartclk", "apb_pclk"])
    chosen.set_str("stdout-path", uart_path)

    # boot.c:arm_load_dtb: memory node, then /chosen, then boot.c:fdt_add_psci_node
    memory = root.child(f"memory@{params.ram_base:x}").set_str("device_type", "memory")
    memory.set_u64("reg", params.ram_base, params.ram_size)
    if params.bootargs:
        chosen.set_str("bootargs", params.bootargs)
    if params.initrd is not None and params.initrd[1] > params.initrd[0]:
        chosen.set_u64("linux,initrd-start", params.initrd[0])
        chosen.set_u64("linux,initrd-end", params.initrd[1])
    psci = root.child("psci").set_strs("compatible", ["arm,psci-1.0", "arm,psci-0.2", "arm,psci"])
    psci.set_str("method", params.psci_method).set_u32("cpu_suspend", PSCI_CPU_SUSPEND)
    psci.set_u32("cpu_off", PSCI_CPU_OFF).set_u32("cpu_on", PSCI_CPU_ON)
    psci.set_u32("migrate", PSCI_MIGRATE)
    return _libfdt_order(root)


def _libfdt_order(node: Node) -> Node:
    """Reverse properties and children at every level, as libfdt's insertions leave them."""
    node.props = dict(reversed(node.props.items()))
    node.children.reverse()
    for node_child in node.children:
        _libfdt_order(node_child)
    return node
