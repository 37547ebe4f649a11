"""The secure partitions hosted by the SPMC stub firmware.

The firmware's partition table is generated from this list (through the C
header), so the emulator, the guests and the tests agree on IDs and UUIDs.
A UUID is given as the four 32-bit words a caller passes in w1-w4; in memory
(partition info entries) the words are stored little-endian in that order.
"""

from __future__ import annotations

from typing import NamedTuple

from emu.ffa import constants as ffa

_DIRECT = (
    ffa.PARTITION_PROP_DIRECT_REQ_RECV
    | ffa.PARTITION_PROP_DIRECT_REQ2_RECV
    | ffa.PARTITION_PROP_IS_AARCH64
)


class StubPartition(NamedTuple):
    symbol: str  # name used for the C constants
    endpoint_id: int
    uuid: tuple[int, int, int, int]
    exec_contexts: int
    properties: int


ECHO_SP = StubPartition("ECHO_SP", 0x8001, (0x6C1E_0A51, 0x4D2B_9E37, 0xA8F0_1C62, 0x5B7E_33D4), 4, _DIRECT)
SERVICE_SP = StubPartition("SERVICE_SP", 0x8002, (0x2F9B_47C3, 0x41A0_8D15, 0x9C6E_52B8, 0x0E4F_A917), 1,
                           _DIRECT | ffa.PARTITION_PROP_INDIRECT_MSG | ffa.PARTITION_PROP_NOTIFICATIONS
                           | ffa.PARTITION_PROP_VM_CREATED
                           | ffa.PARTITION_PROP_VM_DESTROYED)
PARTITIONS = (ECHO_SP, SERVICE_SP)

# ``--spmc-flavour optee``: the partition OP-TEE presents as an S-EL1 SPMC instead of the two above: ID
# 0x8001, properties 0x103 (AArch64, direct requests in and out), exec contexts = its cores (4 on QEMU's
# virt platform), and OP-TEE's UUID 486178e0-e7f8-11e3-bc5e-0002a5d5c51b (Linux
# drivers/tee/optee/ffa_abi.c, optee_ffa_device_id), whose bytes in memory are those of the UUID string.
OPTEE_SP = StubPartition("OPTEE_SP", 0x8001, (0xE078_6148, 0xE311_F8E7, 0x0200_5EBC, 0x1BC5_D5A5), 4,
                         ffa.PARTITION_PROP_DIRECT_REQ_RECV | ffa.PARTITION_PROP_DIRECT_REQ_SEND
                         | ffa.PARTITION_PROP_IS_AARCH64)
# The value the firmware's ``spmc_flavour`` takes for each flavour: "stub" hosts PARTITIONS, "optee" OPTEE_SP.
SPMC_FLAVOURS = {"stub": 0, "optee": 1}

# The schedule receiver interrupt the SPMC signals to the normal world (FFA_FEATURES(2) w2): SGI 8, as Hafnium
# (HF_SCHEDULE_RECEIVER_INTID, inc/vmapi/hf/types.h) and OP-TEE (core/arch/arm/kernel/thread_spmc.c) use.
SPMC_SRI_INTID = 8

# The echo SP answers a direct request with every payload register + ECHO_DELTA.
ECHO_DELTA = 1

# Memory transactions the SPMC stub holds at once (its transaction table, firmware/mem_share.c); the
# mediator splits them into per-VM quotas.
SPMC_TXN_SLOTS = 32

# The service SP's protocol: the command is the first payload register (x3 for
# DIRECT_REQ, x4 for DIRECT_REQ2); answers come back in the same registers.
SERVICE_PROTOCOL = {
    "SERVICE_CMD_PING": 1,  # -> [SERVICE_PING_MAGIC, requests served so far]
    "SERVICE_CMD_SUM": 2,  # [cmd, a, b, c, d] -> [a + b + c + d]
    # Memory commands take a 64-bit handle in the second payload register.  The SP acts on a handle only
    # for the endpoint that shared it: it retrieves naming the direct request's sender as the lender.
    "SERVICE_CMD_MEM_CHECKSUM": 3,  # retrieve, checksum, relinquish -> [checksum, pages]
    "SERVICE_CMD_MEM_FILL": 4,  # [cmd, handle, pattern]: retrieve, word i = pattern + i, relinquish -> [pages]
    "SERVICE_CMD_MEM_RETRIEVE": 5,  # retrieve and hold for the requester -> [pages]
    "SERVICE_CMD_MEM_RELINQUISH": 6,  # relinquish a handle held for the requester -> [0]
    # Notifications, the requester being the other endpoint; a bitmap is two 32-bit halves (lo, hi).
    "SERVICE_CMD_NOTIF_BIND": 7,  # [cmd, lo, hi, flags]: bind the requester as sender -> [status]
    "SERVICE_CMD_NOTIF_SET": 8,  # [cmd, lo, hi, flags]: set the requester's notifications -> [status]
    "SERVICE_CMD_NOTIF_GET": 9,  # -> [status, from VMs lo, hi, from SPs lo, hi]; status 0 or the FF-A error
    # VM availability: the SP subscribes to VM_CREATED and VM_DESTROYED and keeps the live VMs
    "SERVICE_CMD_VMS": 10,  # -> [VMs created and not destroyed, 1 if the requester is one of them]
    # Indirect messages (FFA_MSG_SEND2) wait in the SP's RX buffer until it reads them
    "SERVICE_CMD_MSG_READ": 11,  # -> [payload size, sender, payload byte sum, 1 if "RX buffer full" was pending]
    "SERVICE_ERR_NO_MESSAGE": 0xFFFF_FFFB,  # MSG_READ with nothing in the RX buffer
    # [cmd, n, mode]: n steps (1-1000); mode 0: one a run, FFA_YIELD after each but the last; mode 1: all in one
    # run unless a normal-world interrupt is pending after a step (FFA_INTERRUPT); FFA_RUN resumes -> [n]
    "SERVICE_CMD_WORK": 12,
    "SERVICE_PING_MAGIC": 0x5049_4E47,  # "PING"
    "SERVICE_ERR_UNKNOWN_CMD": 0xFFFF_FFFF,
    # retrieve failed (unknown handle, another endpoint's, not a receiver, already held) ->
    # [SERVICE_ERR_NO_HANDLE, the FF-A error code the SPMC answered as 32 bits, e.g. DENIED]
    "SERVICE_ERR_NO_HANDLE": 0xFFFF_FFFE,
    "SERVICE_ERR_DENIED": 0xFFFF_FFFD,  # the SP lacks the permission the command needs
    "SERVICE_ERR_NOT_HELD": 0xFFFF_FFFC,  # relinquish of a handle the SP does not hold for the requester
}
