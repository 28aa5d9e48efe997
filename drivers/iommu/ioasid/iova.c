// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which IOVAs a new mapping may take: the checks of ranges user space
 * names, and the choice of an IOVA when the kernel picks one.  The
 * ranges an IOASID cannot use are its reserved tree (reserved.c) and
 * its mappings (mapping.c).
 */
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/overflow.h>

#include "ioasid_private.h"

/**
 * ioasid_check_range - check a byte range from user space
 * @start: Its start
 * @length: Its bytes
 * @last: Output: its last byte, on success
 *
 * Return: 0 for a page-aligned, non-empty range, -EINVAL for an empty or
 * unaligned one, -EOVERFLOW for one that wraps.
 */
int ioasid_check_range(u64 start, u64 length, unsigned long *last)
{
	if (!length || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(length))
		return -EINVAL;
	if (check_add_overflow(start, length - 1, last))
		return -EOVERFLOW;
	return 0;
}

/**
 * ioasid_space_check_iova - is an IOVA range free for a new mapping?
 * @space: The IOASID, locked
 * @iova: Start of the range
 * @last: Its last byte
 *
 * Return: 0, -EADDRNOTAVAIL when the range touches a reserved one (or
 * leaves an aperture), -EEXIST when it overlaps a mapping.
 */
int ioasid_space_check_iova(struct ioasid_space *space, unsigned long iova,
			    unsigned long last)
{
	lockdep_assert_held(&space->lock);

	if (interval_tree_iter_first(&space->reserved, iova, last))
		return -EADDRNOTAVAIL;
	if (interval_tree_iter_first(&space->mappings, iova, last))
		return -EEXIST;
	return 0;
}

/*
 * The alignment of a kernel-chosen IOVA: like @hint (the user address, or
 * the source IOVA of a copy) up to the largest power of two that fits in
 * @length, so that memory backed by huge pages gets huge IOPTEs.
 */
static unsigned long ioasid_iova_alignment(unsigned long hint,
					   unsigned long length)
{
	unsigned long align = rounddown_pow_of_two(length);

	if (hint)
		align = min(align, 1UL << __ffs(hint));
	return max(align, PAGE_SIZE);
}

/**
 * ioasid_space_alloc_iova - choose the IOVA of a new mapping
 * @space: The IOASID, locked
 * @hint: The user address, or the source IOVA of a copy; 0 for none
 * @length: Bytes, page-aligned, not 0
 * @iova: Output: the lowest free IOVA, aligned as ioasid_iova_alignment()
 *        says, with @length bytes free from it outside reserved ranges
 *
 * Return: 0, or -ENOSPC when no such range is left.
 */
int ioasid_space_alloc_iova(struct ioasid_space *space, unsigned long hint,
			    unsigned long length, unsigned long *iova)
{
	unsigned long align = ioasid_iova_alignment(hint, length);
	struct interval_tree_span_iter usable, free;
	unsigned long start;

	lockdep_assert_held(&space->lock);

	interval_tree_for_each_span(&usable, &space->reserved, 0, ULONG_MAX) {
		if (!usable.is_hole)
			continue;
		interval_tree_for_each_span(&free, &space->mappings,
					    usable.start_hole,
					    usable.last_hole) {
			if (!free.is_hole)
				continue;
			start = ALIGN(free.start_hole, align);
			if (start < free.start_hole || start > free.last_hole ||
			    free.last_hole - start < length - 1)
				continue;
			*iova = start;
			return 0;
		}
	}
	return -ENOSPC;
}
