"""Arm CCA RMI/RSI version calls (placeholder IDs; the responder lands with its issue)."""

RMI_VERSION = 0xC400_0150
RSI_VERSION = 0xC400_0190
HEADER_CONSTANTS = ("RMI_VERSION", "RSI_VERSION")
