/*
 * The stub's partition table and partition discovery:
 * FFA_PARTITION_INFO_GET (entries in the RX buffer) and
 * FFA_PARTITION_INFO_GET_REGS (entries in registers, FF-A 1.2).
 */
#include "spmc.h"

static const struct sp_desc sp_table[] = {
	{
		.id = ECHO_SP_ID,
		.exec_contexts = ECHO_SP_EXEC_CONTEXTS,
		.properties = ECHO_SP_PROPERTIES,
		.uuid = { ECHO_SP_UUID_W0, ECHO_SP_UUID_W1, ECHO_SP_UUID_W2, ECHO_SP_UUID_W3 },
		.handle = sp_echo_handle,
	},
	{
		.id = SERVICE_SP_ID,
		.exec_contexts = SERVICE_SP_EXEC_CONTEXTS,
		.properties = SERVICE_SP_PROPERTIES,
		.uuid = { SERVICE_SP_UUID_W0, SERVICE_SP_UUID_W1, SERVICE_SP_UUID_W2,
			  SERVICE_SP_UUID_W3 },
		.handle = sp_service_handle,
		.resume = sp_service_resume,
		.vm_message = sp_service_vm_message,
	},
};

_Static_assert(sizeof(sp_table) / sizeof(sp_table[0]) == STUB_PARTITION_COUNT, "partition table out of date");

/*
 * The OP-TEE flavour: one partition as OP-TEE 4.x presents itself as an
 * S-EL1 SPMC (ID 0x8001, properties 0x103: AArch64, sends and receives
 * direct requests; OP-TEE's UUID 486178e0-e7f8-11e3-bc5e-0002a5d5c51b).
 */
static const struct sp_desc optee_table[] = {
	{
		.id = OPTEE_SP_ID,
		.exec_contexts = OPTEE_SP_EXEC_CONTEXTS,
		.properties = OPTEE_SP_PROPERTIES,
		.uuid = { OPTEE_SP_UUID_W0, OPTEE_SP_UUID_W1, OPTEE_SP_UUID_W2, OPTEE_SP_UUID_W3 },
		.handle = sp_optee_handle,
	},
};

/* The emulator writes it before the SPMC boots (--spmc-flavour); in .data so _start keeps it. */
volatile uint32_t spmc_flavour __attribute__((section(".data"))) = SPMC_FLAVOUR_STUB;

static const struct sp_desc *partitions(uint32_t *count)
{
	if (spmc_flavour == SPMC_FLAVOUR_OPTEE) {
		*count = sizeof(optee_table) / sizeof(optee_table[0]);
		return optee_table;
	}
	*count = sizeof(sp_table) / sizeof(sp_table[0]);
	return sp_table;
}

const struct sp_desc *sp_find(uint16_t id)
{
	uint32_t count;
	const struct sp_desc *table = partitions(&count);

	for (uint32_t i = 0; i < count; i++) {
		if (table[i].id == id)
			return &table[i];
	}
	return NULL;
}

static bool uuid_is_nil(const uint32_t uuid[4])
{
	return (uuid[0] | uuid[1] | uuid[2] | uuid[3]) == 0;
}

/* The Nil UUID matches every partition. */
static bool uuid_matches(const struct sp_desc *sp, const uint32_t uuid[4])
{
	return uuid_is_nil(uuid) ||
	       (sp->uuid[0] == uuid[0] && sp->uuid[1] == uuid[1] &&
		sp->uuid[2] == uuid[2] && sp->uuid[3] == uuid[3]);
}

static uint32_t count_matches(const uint32_t uuid[4])
{
	uint32_t count = 0, total;
	const struct sp_desc *table = partitions(&total);

	for (uint32_t i = 0; i < total; i++)
		count += uuid_matches(&table[i], uuid);
	return count;
}

/* First register of an entry: id | exec contexts << 16 | properties << 32. */
static uint64_t entry_word0(const struct sp_desc *sp)
{
	return (uint64_t)sp->id | (uint64_t)sp->exec_contexts << 16 |
	       (uint64_t)sp->properties << 32;
}

static uint64_t uuid_pair(uint32_t lo, uint32_t hi)
{
	return (uint64_t)lo | (uint64_t)hi << 32;
}

/*
 * The UUID words of an entry answering a query for `uuid`: the partition's
 * for the Nil UUID, zero for a specific one (which the caller already knows;
 * Hafnium api.c api_ffa_fill_partitions_info_array: "If the ABI has
 * specified an UUID, then do not write it").
 */
static uint64_t entry_uuid_pair(const struct sp_desc *sp, const uint32_t uuid[4], unsigned half)
{
	return uuid_is_nil(uuid) ? uuid_pair(sp->uuid[2 * half], sp->uuid[2 * half + 1]) : 0;
}

/*
 * FFA_PARTITION_INFO_GET(w1-w4 = UUID, w5 flags): SUCCESS with w2 = count
 * and w3 = entry size (0 when only counting); the entries (8 bytes for a
 * 1.0 caller, 24 from 1.1) go to the RX buffer, which the caller then owns.
 */
void ffa_partition_info_get_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	const uint32_t uuid[4] = { (uint32_t)req->x[1], (uint32_t)req->x[2],
				   (uint32_t)req->x[3], (uint32_t)req->x[4] };
	bool count_only = ((uint32_t)req->x[5] & FFA_PARTITION_INFO_FLAG_COUNT_ONLY) != 0;
	uint32_t count = count_matches(uuid);
	uint32_t size;

	if (count == 0) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}
	if (count_only) {
		ffa_success(resp, count, 0);
		return;
	}
	/* No buffer to write to, or the caller still owns it: BUSY (as TF-A). */
	if (!nwd_mbox.mapped || nwd_mbox.rx_consumer_owned) {
		ffa_error(resp, FFA_RET_BUSY);
		return;
	}
	size = spmc.caller_version >= FFA_VERSION_1_1 ? FFA_PARTITION_INFO_SIZE_V1_1
						      : FFA_PARTITION_INFO_SIZE_V1_0;
	if ((uint64_t)count * size > (uint64_t)nwd_mbox.pages * PAGE_SIZE) {
		ffa_error(resp, FFA_RET_NO_MEMORY);
		return;
	}

	/* Entries are 8-byte multiples and the buffer is page aligned. */
	volatile uint64_t *out = (volatile uint64_t *)(uintptr_t)nwd_mbox.rx_pa;
	uint32_t total;
	const struct sp_desc *table = partitions(&total);

	for (uint32_t i = 0; i < total; i++) {
		const struct sp_desc *sp = &table[i];

		if (!uuid_matches(sp, uuid))
			continue;
		*out++ = entry_word0(sp);
		if (size == FFA_PARTITION_INFO_SIZE_V1_1) {
			*out++ = entry_uuid_pair(sp, uuid, 0);
			*out++ = entry_uuid_pair(sp, uuid, 1);
		}
	}
	nwd_mbox.rx_consumer_owned = true;
	ffa_success(resp, count, size);
}

/*
 * FFA_PARTITION_INFO_GET_REGS (FF-A 1.2): x1/x2 = UUID, x3[15:0] = start
 * index, x3[31:16] = tag (only 0). Up to five entries of three registers
 * each from x3; x2 = size << 48 | tag << 32 | last index << 16 | count - 1.
 */
#define INFO_REGS_FIRST 3
#define INFO_REGS_PER_ENTRY 3
#define INFO_REGS_SIZE_SHIFT 48
#define INFO_REGS_TAG_SHIFT 32
#define INFO_REGS_LAST_SHIFT 16

void ffa_partition_info_get_regs_handle(const struct ffa_regs *req, struct ffa_regs *resp)
{
	const uint32_t uuid[4] = { (uint32_t)req->x[1], (uint32_t)(req->x[1] >> 32),
				   (uint32_t)req->x[2], (uint32_t)(req->x[2] >> 32) };
	uint32_t start = (uint32_t)req->x[3] & 0xFFFFU;
	uint32_t tag = ((uint32_t)req->x[3] >> 16) & 0xFFFFU;
	uint32_t count, index = 0, returned = 0, reg = INFO_REGS_FIRST;

	if (!spmc_at_least(FFA_VERSION_1_2)) {
		ffa_error(resp, FFA_RET_NOT_SUPPORTED);
		return;
	}
	if (tag != 0) {
		ffa_error(resp, FFA_RET_RETRY);
		return;
	}
	count = count_matches(uuid);
	if (count == 0 || start >= count) {
		ffa_error(resp, FFA_RET_INVALID_PARAMETERS);
		return;
	}

	uint32_t total;
	const struct sp_desc *table = partitions(&total);

	for (uint32_t i = 0; i < total && returned < FFA_PARTITION_INFO_REGS_MAX_ENTRIES; i++) {
		const struct sp_desc *sp = &table[i];

		if (!uuid_matches(sp, uuid))
			continue;
		if (index++ < start)
			continue;
		resp->x[reg++] = entry_word0(sp);
		resp->x[reg++] = entry_uuid_pair(sp, uuid, 0);
		resp->x[reg++] = entry_uuid_pair(sp, uuid, 1);
		returned++;
	}

	resp->x[0] = FFA_FN64_SUCCESS;
	resp->x[2] = (uint64_t)FFA_PARTITION_INFO_SIZE_V1_1 << INFO_REGS_SIZE_SHIFT |
		     (uint64_t)tag << INFO_REGS_TAG_SHIFT |
		     (uint64_t)(start + returned - 1) << INFO_REGS_LAST_SHIFT |
		     (uint64_t)(count - 1);
}
