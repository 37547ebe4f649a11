"""The PL011 UART at QEMU virt's 0x09000000: transmit to a ``Console``, receive from an input source.

Register offsets, reset values and the PrimeCell identification registers
follow the PL011 TRM (DDI 0183) and QEMU's hw/char/pl011.c (``pl011_read``,
``pl011_id_arm``), so drivers that probe the part by its IDs (Linux's amba
bus, U-Boot's pl01x) find it.  The FIFOs are modelled as always draining:
TX is never full and the receive side holds whatever the input source
delivered and the guest has not read yet.  Interrupts follow QEMU's
``pl011_update``: a character written raises TX, received data raises RX
(cleared when the FIFO is read empty), ICR clears, IMSC masks, and the
line (``irq_level``) is SPI 1 (INTID 33) on virt.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from emu.platform.console import Console, ConsoleFlood

DR, RSR, FR, ILPR, IBRD, FBRD, LCR_H, CR, IFLS, IMSC, RIS, MIS, ICR, DMACR = (
    0x000, 0x004, 0x018, 0x020, 0x024, 0x028, 0x02C, 0x030, 0x034, 0x038, 0x03C, 0x040, 0x044, 0x048)
FR_BUSY, FR_RXFE, FR_TXFF, FR_RXFF, FR_TXFE = 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7
INT_RX, INT_TX = 1 << 4, 1 << 5
INTID = 33  # SPI 1 (hw/arm/virt.c a15irqmap VIRT_UART)
ID_BASE = 0xFE0
ID_BYTES = (0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1)  # PeriphID0-3, PCellID0-3 (pl011_id_arm)
RESET = {CR: 0x300, IFLS: 0x12}  # UARTEN clear, TXE and RXE set; FIFO levels at 1/2
_WRITABLE = (ILPR, IBRD, FBRD, LCR_H, CR, IFLS, IMSC, DMACR)

InputSource = Callable[[], bytes]  # what arrived since the last call (b"" when nothing did)


class Pl011:
    """One UART's registers; ``read``/``write`` take an offset into its 4 KiB frame."""

    def __init__(self, console: Console, on_flood: Callable[[ConsoleFlood], None],
                 input_source: InputSource | None = None) -> None:
        self.console = console
        self._on_flood = on_flood
        self._input = input_source
        self._rx: deque[int] = deque()
        self._regs = dict.fromkeys(_WRITABLE, 0) | RESET
        self._int_level = 0

    def _poll_input(self) -> None:
        if not self._rx and self._input is not None:
            data = self._input()
            if data:
                self._rx.extend(data)
                self._int_level |= INT_RX

    def irq_level(self) -> bool:
        """The interrupt output: a raised, unmasked interrupt (new input is looked for first)."""
        self._poll_input()
        return bool(self._int_level & self._regs[IMSC])

    def read(self, offset: int) -> int:
        if offset == DR:
            self._poll_input()
            byte = self._rx.popleft() if self._rx else 0
            if not self._rx:
                self._int_level &= ~INT_RX
            return byte
        if offset == FR:
            self._poll_input()
            return FR_TXFE | (FR_RXFE if not self._rx else 0)
        if offset in (RIS, MIS):
            self._poll_input()
            return self._int_level & (self._regs[IMSC] if offset == MIS else 0xFFFF)
        if ID_BASE <= offset < ID_BASE + 4 * len(ID_BYTES) and offset % 4 == 0:
            return ID_BYTES[(offset - ID_BASE) // 4]
        return self._regs.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        if offset == DR:
            self._int_level |= INT_TX
            try:
                self.console.putc(value)
            except ConsoleFlood as exc:
                self._on_flood(exc)
        elif offset == ICR:
            self._int_level &= ~value
        elif offset in self._regs:
            self._regs[offset] = value & 0xFFFF
