/*
 * Memory transaction descriptors: validation (the rules of parse() in
 * emu/ffa/descriptors.py, in the same order, plus the SPMC's own) and the
 * rewrite into the canonical 1.1 layout the store keeps.
 *
 * Every check is done in 64-bit arithmetic on 32-bit fields, so no sum or
 * product can wrap; a field is only read once its offset is known to be in
 * bounds and aligned (the MMU is off: no unaligned accesses).
 */
#include "mem.h"

#define INVALID FFA_RET_INVALID_PARAMETERS

/* Does [address, address + pages * 4K) touch the secure RAM? (no wrap: checked before) */
static bool range_is_secure(uint64_t address, uint32_t pages)
{
	uint64_t last = address + (uint64_t)pages * PAGE_SIZE - 1;

	return address <= SECURE_RAM_PA + SECURE_RAM_SIZE - 1 && last >= SECURE_RAM_PA;
}

/* Header fields -> info; the EMAD array's place. */
static int32_t parse_header(const uint8_t *desc, uint32_t length, bool v1_0,
			    struct mem_desc_info *info, uint64_t *emad_offset, uint64_t *emad_size)
{
	if (v1_0) {
		if (length < MEM_HDR_SIZE_V1_0)
			return INVALID;
		info->attributes = desc[MEM_HDR_ATTRS];
		*emad_size = MEM_EMAD_SIZE;
		*emad_offset = MEM_HDR_SIZE_V1_0;
	} else {
		if (length < MEM_HDR_SIZE_V1_1)
			return INVALID;
		info->attributes = ld16(desc, MEM_HDR_ATTRS);
		*emad_size = ld32(desc, MEM_HDR_EMAD_SIZE);
		*emad_offset = ld32(desc, MEM_HDR_EMAD_OFFSET);
		if (*emad_size < MEM_EMAD_SIZE || *emad_size % 16 != 0)
			return INVALID;
		if (*emad_offset < MEM_HDR_SIZE_V1_1 || *emad_offset % 16 != 0)
			return INVALID;
	}
	info->sender = ld16(desc, MEM_HDR_SENDER);
	info->flags = ld32(desc, MEM_HDR_FLAGS);
	info->tag = ld64(desc, MEM_HDR_TAG);
	info->receiver_count = ld32(desc, MEM_HDR_COUNT);
	return 0;
}

/*
 * The receivers: all point at one composite descriptor, none twice, each a
 * stub SP. Returns the composite offset in *composite.
 */
static int32_t parse_receivers(const uint8_t *desc, uint64_t emad_offset, uint64_t emad_size,
			       struct mem_desc_info *info, uint64_t *composite)
{
	uint32_t count = info->receiver_count;

	/* Distinct stub SPs: more receivers than SPs means a duplicate or a stranger. */
	if (count > MEM_MAX_RECEIVERS)
		return INVALID;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *emad = desc + emad_offset + i * emad_size;
		uint16_t id = ld16(emad, MEM_EMAD_RECEIVER);
		uint32_t offset = ld32(emad, MEM_EMAD_COMPOSITE);

		if (i == 0)
			*composite = offset;
		else if (offset != *composite)
			return INVALID;
		for (uint32_t j = 0; j < i; j++) {
			if (info->receivers[j].id == id)
				return INVALID;
		}
		if ((id & FFA_SECURE_ID_BIT) == 0 || sp_find(id) == NULL)
			return INVALID;
		info->receivers[i] = (struct mem_receiver){
			.id = id,
			.perms = emad[MEM_EMAD_PERMS],
			.flags = emad[MEM_EMAD_FLAGS],
		};
	}
	return 0;
}

/* The constituents: aligned, non-empty, no wrap, not secure, pages adding up. */
static int32_t parse_constituents(const uint8_t *desc, struct mem_desc_info *info)
{
	uint64_t pages_sum = 0;
	const uint8_t *cons = desc + info->first_constituent;

	for (uint32_t i = 0; i < info->range_count; i++, cons += MEM_CONS_SIZE) {
		uint64_t address = ld64(cons, MEM_CONS_ADDRESS);
		uint32_t pages = ld32(cons, MEM_CONS_PAGES);
		uint64_t size = (uint64_t)pages * PAGE_SIZE;

		if (pages == 0 || (address & (PAGE_SIZE - 1)) != 0)
			return INVALID;
		if (address != 0 && size > (uint64_t)0 - address) /* address + size > 2^64 */
			return INVALID;
		if (range_is_secure(address, pages))
			return INVALID;
		pages_sum += pages;
	}
	return pages_sum == info->total_pages ? 0 : INVALID;
}

int32_t mem_desc_validate(const uint8_t *desc, uint32_t length, bool v1_0, uint32_t fid,
			  struct mem_desc_info *info)
{
	uint64_t emad_offset, emad_size, composite = 0, emads_end, first;
	int32_t ret = parse_header(desc, length, v1_0, info, &emad_offset, &emad_size);

	if (ret != 0)
		return ret;
	if (info->receiver_count == 0)
		return INVALID;
	emads_end = emad_offset + (uint64_t)info->receiver_count * emad_size;
	if (emads_end > length)
		return INVALID;
	ret = parse_receivers(desc, emad_offset, emad_size, info, &composite);
	if (ret != 0)
		return ret;
	if (composite % 8 != 0 || composite < emads_end)
		return INVALID;
	if (composite + MEM_COMP_SIZE > length)
		return INVALID;
	info->total_pages = ld32(desc, (uint32_t)composite + MEM_COMP_TOTAL_PAGES);
	info->range_count = ld32(desc, (uint32_t)composite + MEM_COMP_RANGE_COUNT);
	if (info->range_count == 0 || info->range_count > MEM_MAX_RANGES)
		return INVALID;
	first = composite + MEM_COMP_SIZE;
	if (first + (uint64_t)info->range_count * MEM_CONS_SIZE != length)
		return INVALID;
	info->first_constituent = (uint32_t)first;
	ret = parse_constituents(desc, info);
	if (ret != 0)
		return ret;

	/* The SPMC's own rules. */
	if ((info->sender & FFA_SECURE_ID_BIT) != 0)
		return INVALID;
	if (fid == FFA_MEM_DONATE && info->receiver_count != 1)
		return INVALID;
	return 0;
}

/* Move `count` 16-byte constituents from `from` to `to` (overlap allowed; both 8-aligned). */
static void move_constituents(uint8_t *desc, uint32_t to, uint32_t from, uint32_t count)
{
	uint64_t *dst = (uint64_t *)(void *)(desc + to);
	const uint64_t *src = (const uint64_t *)(const void *)(desc + from);
	uint32_t words = count * (MEM_CONS_SIZE / 8);

	if (to < from) {
		for (uint32_t i = 0; i < words; i++)
			dst[i] = src[i];
	} else {
		for (uint32_t i = words; i-- > 0;)
			dst[i] = src[i];
	}
}

uint32_t mem_desc_canonicalise(uint8_t *desc, const struct mem_desc_info *info, uint64_t handle)
{
	uint32_t count = info->receiver_count;
	uint32_t composite = MEM_CANON_COMPOSITE(count);
	uint32_t first = MEM_CANON_FIRST(count);

	if (first != info->first_constituent)
		move_constituents(desc, first, info->first_constituent, info->range_count);

	/* Header, EMADs and composite come from `info`: the originals may be overwritten. */
	for (uint32_t off = 0; off < first; off += 8)
		st64(desc, off, 0);
	st16(desc, MEM_HDR_SENDER, info->sender);
	st16(desc, MEM_HDR_ATTRS, info->attributes);
	st32(desc, MEM_HDR_FLAGS, info->flags);
	st64(desc, MEM_HDR_HANDLE, handle);
	st64(desc, MEM_HDR_TAG, info->tag);
	st32(desc, MEM_HDR_EMAD_SIZE, MEM_EMAD_SIZE);
	st32(desc, MEM_HDR_COUNT, count);
	st32(desc, MEM_HDR_EMAD_OFFSET, MEM_HDR_SIZE_V1_1);
	for (uint32_t i = 0; i < count; i++) {
		uint8_t *emad = desc + MEM_HDR_SIZE_V1_1 + i * MEM_EMAD_SIZE;

		st16(emad, MEM_EMAD_RECEIVER, info->receivers[i].id);
		emad[MEM_EMAD_PERMS] = info->receivers[i].perms;
		emad[MEM_EMAD_FLAGS] = info->receivers[i].flags;
		st32(emad, MEM_EMAD_COMPOSITE, composite);
	}
	st32(desc, composite + MEM_COMP_TOTAL_PAGES, info->total_pages);
	st32(desc, composite + MEM_COMP_RANGE_COUNT, info->range_count);
	return first + info->range_count * MEM_CONS_SIZE;
}
