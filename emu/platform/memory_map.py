"""The emulated machine's memory map (guest IPA space follows QEMU's ``virt``).

Guest-visible addresses (IPAs) are fixed by convention so that guests built
for other tools run unchanged.  Physical addresses are this emulator's own
choice: they start at 4 GiB so that an IPA handed through unchanged by a
mediator bug never lands on real memory.
"""

MiB = 1 << 20
PAGE_SIZE = 4096

GUEST_RAM_IPA = 0x4000_0000
GUEST_RAM_DEFAULT_SIZE = 128 * MiB
UART_IPA = 0x0900_0000
UART_SIZE = 0x1000
UART_DR = 0x000  # data register offset
UART_FR = 0x018  # flags register offset
UART_FR_TXFE = 1 << 7  # transmit FIFO empty
UART_FR_RXFE = 1 << 4  # receive FIFO empty

PHYS_BASE = 0x1_0000_0000
SECURE_RAM_PA = PHYS_BASE  # SPMC image, its stacks and its partitions
SECURE_RAM_SIZE = 16 * MiB
HYP_RAM_PA = SECURE_RAM_PA + SECURE_RAM_SIZE  # mediator's own RX/TX buffers
HYP_RAM_SIZE = 2 * MiB
VM_RAM_PA = HYP_RAM_PA + HYP_RAM_SIZE  # first VM's RAM; later VMs follow
REGION_ALIGN = 2 * MiB
