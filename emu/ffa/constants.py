"""FF-A 1.2 (Arm DEN0077) constants: the single source of truth.

The C header used by the SPMC stub firmware and the guests is generated from
this module at build time (``python -m emu.cheader``), so Python and C can
never disagree on an ID, an error code or a structure size.
"""

from __future__ import annotations

from typing import NamedTuple


class Abi(NamedTuple):
    name: str
    fnum: int
    smc32: bool
    smc64: bool
    since_minor: int  # FF-A 1.<since_minor>


FFA_SMC32_BASE = 0x8400_0000
FFA_SMC64_BASE = 0xC400_0000
FFA_FNUM_MIN = 0x60
FFA_FNUM_MAX = 0x8E

ABIS = (
    Abi("FFA_ERROR", 0x60, True, False, 0),
    Abi("FFA_SUCCESS", 0x61, True, True, 0),
    Abi("FFA_INTERRUPT", 0x62, True, False, 0),
    Abi("FFA_VERSION", 0x63, True, False, 0),
    Abi("FFA_FEATURES", 0x64, True, False, 0),
    Abi("FFA_RX_RELEASE", 0x65, True, False, 0),
    Abi("FFA_RXTX_MAP", 0x66, True, True, 0),
    Abi("FFA_RXTX_UNMAP", 0x67, True, False, 0),
    Abi("FFA_PARTITION_INFO_GET", 0x68, True, False, 0),
    Abi("FFA_ID_GET", 0x69, True, False, 0),
    Abi("FFA_MSG_POLL", 0x6A, True, False, 0),
    Abi("FFA_MSG_WAIT", 0x6B, True, False, 0),
    Abi("FFA_YIELD", 0x6C, True, False, 0),
    Abi("FFA_RUN", 0x6D, True, False, 0),
    Abi("FFA_MSG_SEND", 0x6E, True, False, 0),
    Abi("FFA_MSG_SEND_DIRECT_REQ", 0x6F, True, True, 0),
    Abi("FFA_MSG_SEND_DIRECT_RESP", 0x70, True, True, 0),
    Abi("FFA_MEM_DONATE", 0x71, True, True, 0),
    Abi("FFA_MEM_LEND", 0x72, True, True, 0),
    Abi("FFA_MEM_SHARE", 0x73, True, True, 0),
    Abi("FFA_MEM_RETRIEVE_REQ", 0x74, True, True, 0),
    Abi("FFA_MEM_RETRIEVE_RESP", 0x75, True, False, 0),
    Abi("FFA_MEM_RELINQUISH", 0x76, True, False, 0),
    Abi("FFA_MEM_RECLAIM", 0x77, True, False, 0),
    Abi("FFA_MEM_FRAG_RX", 0x7A, True, False, 0),
    Abi("FFA_MEM_FRAG_TX", 0x7B, True, False, 0),
    Abi("FFA_NORMAL_WORLD_RESUME", 0x7C, True, False, 1),
    Abi("FFA_NOTIFICATION_BITMAP_CREATE", 0x7D, True, False, 1),
    Abi("FFA_NOTIFICATION_BITMAP_DESTROY", 0x7E, True, False, 1),
    Abi("FFA_NOTIFICATION_BIND", 0x7F, True, False, 1),
    Abi("FFA_NOTIFICATION_UNBIND", 0x80, True, False, 1),
    Abi("FFA_NOTIFICATION_SET", 0x81, True, False, 1),
    Abi("FFA_NOTIFICATION_GET", 0x82, True, False, 1),
    Abi("FFA_NOTIFICATION_INFO_GET", 0x83, True, True, 1),
    Abi("FFA_RX_ACQUIRE", 0x84, True, False, 1),
    Abi("FFA_SPM_ID_GET", 0x85, True, False, 1),
    Abi("FFA_MSG_SEND2", 0x86, True, False, 1),
    Abi("FFA_SECONDARY_EP_REGISTER", 0x87, False, True, 1),
    Abi("FFA_MEM_PERM_GET", 0x88, True, True, 1),
    Abi("FFA_MEM_PERM_SET", 0x89, True, True, 1),
    Abi("FFA_CONSOLE_LOG", 0x8A, True, True, 2),
    Abi("FFA_PARTITION_INFO_GET_REGS", 0x8B, False, True, 2),
    Abi("FFA_EL3_INTR_HANDLE", 0x8C, True, False, 2),
    Abi("FFA_MSG_SEND_DIRECT_REQ2", 0x8D, False, True, 2),
    Abi("FFA_MSG_SEND_DIRECT_RESP2", 0x8E, False, True, 2),
)

ABI_BY_NAME = {abi.name: abi for abi in ABIS}


def abi_short(name: str) -> str:
    """An ID's ABI name without its FFA_ / FFA_FN64_ prefix: the same for both conventions."""
    return name.removeprefix("FFA_FN64_").removeprefix("FFA_")
ABI_BY_FNUM = {abi.fnum: abi for abi in ABIS}


def _ids() -> dict[str, int]:
    ids: dict[str, int] = {}
    for abi in ABIS:
        short = abi.name
        if abi.smc32:
            ids[short] = FFA_SMC32_BASE | abi.fnum
        if abi.smc64:
            ids[short.replace("FFA_", "FFA_FN64_", 1)] = FFA_SMC64_BASE | abi.fnum
    return ids


FUNCTION_IDS = _ids()
NAMES = {fid: name for name, fid in FUNCTION_IDS.items()}
globals().update(FUNCTION_IDS)

# Error codes (FFA_ERROR w2; FFA_VERSION alone returns NOT_SUPPORTED in w0)
ERRORS = {
    "NOT_SUPPORTED": -1,
    "INVALID_PARAMETERS": -2,
    "NO_MEMORY": -3,
    "BUSY": -4,
    "INTERRUPTED": -5,
    "DENIED": -6,
    "RETRY": -7,
    "ABORTED": -8,
    "NO_DATA": -9,
    "NOT_READY": -10,
}
ERROR_NAMES = {code: name for name, code in ERRORS.items()}
NOT_SUPPORTED = ERRORS["NOT_SUPPORTED"]
INVALID_PARAMETERS = ERRORS["INVALID_PARAMETERS"]
NO_MEMORY = ERRORS["NO_MEMORY"]
BUSY = ERRORS["BUSY"]
INTERRUPTED = ERRORS["INTERRUPTED"]
DENIED = ERRORS["DENIED"]
RETRY = ERRORS["RETRY"]
ABORTED = ERRORS["ABORTED"]
NO_DATA = ERRORS["NO_DATA"]
NOT_READY = ERRORS["NOT_READY"]

# Versions: bit 31 MBZ, major in 30:16, minor in 15:0
VERSION_MBZ = 1 << 31
VERSION_1_0 = 0x1_0000
VERSION_1_1 = 0x1_0001
VERSION_1_2 = 0x1_0002
SPMC_STUB_VERSIONS = (VERSION_1_0, VERSION_1_1, VERSION_1_2)  # what the SPMC stub firmware can implement


def make_version(major: int, minor: int) -> int:
    return (major << 16) | minor


def version_major(word: int) -> int:
    return (word >> 16) & 0x7FFF


def version_minor(word: int) -> int:
    return word & 0xFFFF


# Endpoint IDs
HYP_ID = 0x0000
SPMC_ID = 0x8000
SECURE_ID_BIT = 0x8000

# FFA_FEATURES
FEATURE_ID_NPI = 1
FEATURE_ID_SRI = 2
FEATURE_ID_MEI = 3
RXTX_MAP_MIN_BUF_4K = 0
RXTX_MAP_MIN_BUF_64K = 1
RXTX_MAP_MIN_BUF_16K = 2
RXTX_MAP_MAX_PAGES_SHIFT = 16  # FF-A 1.2: w2 bits 31:16
RXTX_PAGE_COUNT_MASK = 0x3F  # FFA_RXTX_MAP w3 bits 5:0
MEM_DYNAMIC_BUFFER_SUPPORT = 1 << 0

# FFA_PARTITION_INFO_GET
PARTITION_INFO_FLAG_COUNT_ONLY = 1 << 0
PARTITION_INFO_SIZE_V1_0 = 8
PARTITION_INFO_SIZE_V1_1 = 24
PARTITION_PROP_DIRECT_REQ_RECV = 1 << 0
PARTITION_PROP_DIRECT_REQ_SEND = 1 << 1
PARTITION_PROP_INDIRECT_MSG = 1 << 2
PARTITION_PROP_NOTIFICATIONS = 1 << 3
PARTITION_PROP_VM_CREATED = 1 << 6  # the partition is told when a VM is created (VM_CREATED messages)
PARTITION_PROP_VM_DESTROYED = 1 << 7  # ... and destroyed
PARTITION_PROP_IS_AARCH64 = 1 << 8
PARTITION_PROP_DIRECT_REQ2_RECV = 1 << 9
PARTITION_PROP_DIRECT_REQ2_SEND = 1 << 10
PARTITION_INFO_REGS_MAX_ENTRIES = 5

# Direct messaging
DIRECT_MSG_FRAMEWORK_FLAG = 1 << 31
# Framework message types (w2[7:0] with the framework flag; DEN0077A 1.2 table 18.4): VM availability
DIRECT_MSG_VM_CREATED = 0x4
DIRECT_MSG_VM_CREATED_ACK = 0x5
DIRECT_MSG_VM_DESTROYED = 0x6
DIRECT_MSG_VM_DESTROYED_ACK = 0x7

# Memory management (sizes in bytes)
MEM_TRANSACTION_DESC_SIZE_V1_0 = 32  # header before the access array
MEM_TRANSACTION_DESC_SIZE_V1_1 = 48
MEM_ACCESS_DESC_SIZE_V1_0 = 16
MEM_ACCESS_DESC_SIZE_V1_1 = 16
MEM_ACCESS_DESC_SIZE_V1_2 = 32  # adds 16 bytes of implementation-defined data
COMPOSITE_DESC_SIZE = 16
MEM_HANDLE_HYPERVISOR = 1 << 63  # handle bit 63: allocated by the hypervisor (0: by the SPMC)
CONSTITUENT_SIZE = 16

# Console log: characters packed into x2.. (SMC32: w2-w7, SMC64: x2-x17)
CONSOLE_LOG_MAX_CHARS_32 = 6 * 4
CONSOLE_LOG_MAX_CHARS_64 = 16 * 8


def is_ffa_fid(fid_value: int, fnum_max: int = FFA_FNUM_MAX) -> bool:
    """True for an owner-4 fast call whose function number is in the FF-A range (0x60 up to ``fnum_max``)."""
    return (fid_value & 0xBFFF_0000) == FFA_SMC32_BASE and FFA_FNUM_MIN <= (fid_value & 0xFFFF) <= fnum_max
