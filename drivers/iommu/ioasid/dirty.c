// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty tracking: which pages devices wrote through an IOASID, so that a
 * VMM migrating a VM with assigned devices sends them again.
 *
 * The IOMMU records a device's write in the IOPTE it went through, in
 * every domain whose driver has dirty ops; the reader gathers the record
 * of every domain of the IOASID into the caller's bitmap.  An IOASID
 * tracks in one of two ways:
 *
 * - IOASID_DIRTY_IOMMU, the native one: every domain tracks, and a
 *   domain that cannot is refused while it is on (domain.c);
 * - IOASID_DIRTY_ALL, for VFIO containers whose IOMMU cannot track: every
 *   mapped page is reported dirty at every read, as VFIO type1 reports
 *   them, which is always right and costs the VMM a full copy.
 *
 * The bitmap is user memory, written through an iova_bitmap, which pins
 * it.  Pinning may take the mmap lock, which ranks above the IOASID's
 * lock (see ioasid_private.h): so the bitmap is pinned before the lock is
 * taken, a piece at a time.  iova_bitmap_pin() pins a window of
 * PAGE_SIZE / sizeof(struct page *) pages of bitmap, and a piece of
 * IOASID_DIRTY_PIECE bytes always fits in one, so that iova_bitmap_set()
 * never pins under the lock (nor drops a bit for a pin that failed).
 */
#include <linux/iommu.h>
#include <linux/iova_bitmap.h>
#include <linux/sched/signal.h>
#include <uapi/linux/ioasid.h>

#include "ioasid_private.h"

#define IOASID_DIRTY_PIECE	IOASID_UNMAP_DIRTY_BITMAP_MAX
#define IOASID_DIRTY_PIECE_BITS	((u64)IOASID_DIRTY_PIECE * BITS_PER_BYTE)

/* A piece, however unaligned, is pinned whole by iova_bitmap_pin(). */
static_assert(IOASID_DIRTY_PIECE / PAGE_SIZE + 1 <=
	      PAGE_SIZE / sizeof(struct page *));

/*
 * Record the dirty IOPTEs of [iova, iova + length) of every domain of
 * @space in @bitmap; a NULL @bitmap only clears them.  A cleared record
 * is flushed from the IOTLB, without which the IOMMU would not record
 * the next write through a cached translation.
 */
static int ioasid_domains_read_dirty(struct ioasid_space *space,
				     struct iova_bitmap *bitmap,
				     unsigned long iova, size_t length,
				     unsigned long flags)
{
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty;
	struct ioasid_domain *d;
	int rc = 0;

	lockdep_assert_held(&space->lock);

	list_for_each_entry(d, &space->domains, link) {
		iommu_dirty_bitmap_init(&dirty, bitmap, &gather);
		rc = d->domain->dirty_ops->read_and_clear_dirty(d->domain,
								 iova, length,
								 flags, &dirty);
		/* An empty gather is no range: drivers may flush all for it. */
		if (gather.start < gather.end)
			iommu_iotlb_sync(d->domain, &gather);
		if (rc)
			break;
	}
	return rc;
}

/* Clear what the domains of @space recorded before tracking starts. */
static int ioasid_domains_clear_dirty(struct ioasid_space *space)
{
	struct interval_tree_node *node;
	int rc;

	for (node = interval_tree_iter_first(&space->mappings, 0, ULONG_MAX);
	     node; node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		rc = ioasid_domains_read_dirty(space, NULL, node->start,
					       node->last - node->start + 1, 0);
		if (rc)
			return rc;
		cond_resched();
	}
	return 0;
}

/* Switch every domain of @space; on failure, none is switched. */
static int ioasid_domains_set_dirty(struct ioasid_space *space, bool enable)
{
	struct ioasid_domain *d;
	int rc;

	list_for_each_entry(d, &space->domains, link) {
		rc = d->domain->dirty_ops->set_dirty_tracking(d->domain,
							       enable);
		if (rc)
			goto err_undo;
	}
	return 0;

err_undo:
	list_for_each_entry_continue_reverse(d, &space->domains, link)
		d->domain->dirty_ops->set_dirty_tracking(d->domain, !enable);
	return rc;
}

/**
 * ioasid_domain_prepare_dirty - make a new domain track as its IOASID does
 * @space: The IOASID, locked for writing
 * @d: A domain about to join it, empty
 *
 * Return: 0, or -EOPNOTSUPP if @space tracks in its IOMMUs and @d cannot.
 */
int ioasid_domain_prepare_dirty(struct ioasid_space *space,
				struct ioasid_domain *d)
{
	lockdep_assert_held_write(&space->lock);

	if (space->dirty != IOASID_DIRTY_IOMMU)
		return 0;
	if (!d->domain->dirty_ops)
		return -EOPNOTSUPP;
	return d->domain->dirty_ops->set_dirty_tracking(d->domain, true);
}

/**
 * ioasid_space_set_dirty - start or stop dirty tracking in an IOASID
 * @space: The IOASID, with a reference for the call
 * @mode: How to track from now on
 *
 * Starting in the IOMMUs clears what an earlier tracking left recorded,
 * so that the first read reports only what was written since.
 *
 * Return: 0 (also when @space already tracks so), -EOPNOTSUPP if a
 * domain of @space cannot track for IOASID_DIRTY_IOMMU, or the driver's
 * error; nothing changes on error.
 */
int ioasid_space_set_dirty(struct ioasid_space *space,
			   enum ioasid_dirty_mode mode)
{
	struct ioasid_domain *d;
	int rc = 0;

	guard(rwsem_write)(&space->lock);
	if (space->dirty == mode)
		return 0;
	if (mode == IOASID_DIRTY_IOMMU) {
		list_for_each_entry(d, &space->domains, link)
			if (!d->domain->dirty_ops)
				return -EOPNOTSUPP;
		rc = ioasid_domains_clear_dirty(space);
		rc = rc ?: ioasid_domains_set_dirty(space, true);
	} else if (space->dirty == IOASID_DIRTY_IOMMU) {
		rc = ioasid_domains_set_dirty(space, false);
	}
	if (!rc)
		space->dirty = mode;
	return rc;
}

/**
 * ioasid_space_dirty - how an IOASID tracks now
 * @space: The IOASID
 *
 * Return: its mode, IOASID_DIRTY_OFF when it does not track.
 */
enum ioasid_dirty_mode ioasid_space_dirty(struct ioasid_space *space)
{
	guard(rwsem_read)(&space->lock);
	return space->dirty;
}

/* Report every mapped page of [iova, iova + length) dirty. */
static void ioasid_space_all_dirty(struct ioasid_space *space,
				   struct iova_bitmap *bitmap,
				   unsigned long iova, size_t length)
{
	unsigned long last = iova + length - 1, start, end;
	struct interval_tree_node *node;

	for (node = interval_tree_iter_first(&space->mappings, iova, last);
	     node; node = interval_tree_iter_next(node, iova, last)) {
		start = max(node->start, iova);
		end = min(node->last, last);
		iova_bitmap_set(bitmap, start, end - start + 1);
		cond_resched();
	}
}

/* Record the dirty pages of a range in @bitmap, as @space tracks them. */
static int ioasid_space_record_dirty(struct ioasid_space *space,
				     struct iova_bitmap *bitmap,
				     unsigned long iova, size_t length,
				     unsigned long flags)
{
	lockdep_assert_held(&space->lock);

	switch (space->dirty) {
	case IOASID_DIRTY_IOMMU:
		return ioasid_domains_read_dirty(space, bitmap, iova, length,
						 flags);
	case IOASID_DIRTY_ALL:
		ioasid_space_all_dirty(space, bitmap, iova, length);
		return 0;
	default:
		return -ENODATA;
	}
}

/**
 * struct ioasid_dirty_call - what one read of dirty bits works on
 * @space: The IOASID
 * @flags: IOMMU_DIRTY_NO_CLEAR or 0, for a read
 * @unmapped: For an unmap: the bytes unmapped
 * @freed: For an unmap: the mappings it took, to free after the lock
 */
struct ioasid_dirty_call {
	struct ioasid_space *space;
	unsigned long flags;
	u64 unmapped;
	struct list_head freed;
};

static int ioasid_dirty_read_piece(struct iova_bitmap *bitmap,
				   unsigned long iova, size_t length,
				   void *opaque)
{
	struct ioasid_dirty_call *call = opaque;

	guard(rwsem_read)(&call->space->lock);
	return ioasid_space_record_dirty(call->space, bitmap, iova, length,
					 call->flags);
}

/*
 * Read and unmap under one lock, so that no write falls between the two:
 * the mappings are taken off first, which checks the range and changes
 * nothing else, then their dirty bits read, and only then are they taken
 * out of the domains.
 */
static int ioasid_dirty_unmap_piece(struct iova_bitmap *bitmap,
				    unsigned long iova, size_t length,
				    void *opaque)
{
	struct ioasid_dirty_call *call = opaque;
	struct ioasid_space *space = call->space;
	struct ioasid_mapping *m;
	int rc;

	guard(rwsem_write)(&space->lock);
	if (space->dirty == IOASID_DIRTY_OFF)
		return -ENODATA;
	rc = ioasid_space_take_range(space, iova, iova + length - 1,
				     &call->freed, &call->unmapped);
	if (rc)
		return rc;
	if (space->dirty == IOASID_DIRTY_ALL) {
		/* Off the tree now: every page of them. */
		list_for_each_entry(m, &call->freed, free_link)
			iova_bitmap_set(bitmap, m->node.start,
					m->node.last - m->node.start + 1);
	} else {
		rc = ioasid_domains_read_dirty(space, bitmap, iova, length, 0);
	}
	if (rc) {
		ioasid_space_restore(space, &call->freed);
		call->unmapped = 0;
		return rc;
	}
	ioasid_domains_unmap(space, &call->freed);
	return 0;
}

/*
 * Run @fn on [iova, iova + length), piece by piece, with the piece of
 * the bitmap at @data pinned before @fn takes any lock.
 */
static int ioasid_dirty_pieces(u64 iova, u64 length, u64 page_size,
			       u64 data, iova_bitmap_fn_t fn,
			       struct ioasid_dirty_call *call)
{
	struct iova_bitmap *bitmap;
	u64 n;
	int rc;

	for (;;) {
		n = length;
		if (length / page_size > IOASID_DIRTY_PIECE_BITS)
			n = IOASID_DIRTY_PIECE_BITS * page_size;
		bitmap = iova_bitmap_alloc(iova, n, page_size,
					   u64_to_user_ptr(data));
		if (IS_ERR(bitmap))
			return PTR_ERR(bitmap);
		rc = iova_bitmap_pin(bitmap) ?:
		     iova_bitmap_for_each(bitmap, call, fn);
		iova_bitmap_free(bitmap);
		length -= n;
		if (rc || !length)
			return rc;
		if (fatal_signal_pending(current))
			return -EINTR;
		iova += n;
		data += IOASID_DIRTY_PIECE;
	}
}

/**
 * ioasid_dirty_check - check a range and bitmap given by user space
 * @iova: Start of the range
 * @length: Its length
 * @page_size: What a bit stands for
 * @data: User address of the bitmap
 * @max_bits: The largest bitmap allowed
 *
 * Return: 0, -EINVAL for a bad @page_size or @data or an unaligned,
 * empty or overflowing range, -E2BIG past @max_bits.
 */
int ioasid_dirty_check(u64 iova, u64 length, u64 page_size, u64 data,
		       u64 max_bits)
{
	unsigned long last;
	int rc;

	if (page_size < PAGE_SIZE || !is_power_of_2(page_size))
		return -EINVAL;
	if ((iova | length) & (page_size - 1) || !IS_ALIGNED(data, sizeof(u64)))
		return -EINVAL;
	rc = ioasid_check_range(iova, length, &last);
	if (rc)
		return rc;
	return length / page_size > max_bits ? -E2BIG : 0;
}

/**
 * ioasid_space_read_dirty - report the dirty pages of a range
 * @space: The IOASID, with a reference for the call
 * @iova: Start of the range, checked by ioasid_dirty_check()
 * @length: Its length
 * @page_size: What a bit stands for
 * @data: User address of the bitmap
 * @no_clear: Leave the record as it is
 *
 * Return: 0, -ENODATA if @space does not track, -EFAULT for a bitmap
 * that cannot be written, -EINTR for a fatal signal between pieces, or
 * the driver's error.
 */
int ioasid_space_read_dirty(struct ioasid_space *space, u64 iova, u64 length,
			    u64 page_size, u64 data, bool no_clear)
{
	struct ioasid_dirty_call call = {
		.space = space,
		.flags = no_clear ? IOMMU_DIRTY_NO_CLEAR : 0,
	};

	return ioasid_dirty_pieces(iova, length, page_size, data,
				   ioasid_dirty_read_piece, &call);
}

/**
 * ioasid_space_unmap_dirty - unmap a range and report its dirty pages
 * @space: The IOASID, with a reference for the call
 * @iova: Start of the range, checked by ioasid_dirty_check() against
 *        IOASID_DIRTY_PIECE bytes of bitmap, so that it is one piece
 * @length: Its length
 * @page_size: What a bit stands for
 * @data: User address of the bitmap
 * @unmapped: Output: the bytes unmapped
 *
 * As ioasid_space_unmap() with IOASID_UNMAP_EXACT, the dirty bits read
 * under the same lock.
 *
 * Return: 0, or an error with nothing unmapped: those of
 * ioasid_space_unmap(), -ENODATA if @space does not track, -EFAULT for a
 * bitmap that cannot be written.
 */
int ioasid_space_unmap_dirty(struct ioasid_space *space, u64 iova,
			     u64 length, u64 page_size, u64 data,
			     u64 *unmapped)
{
	struct ioasid_dirty_call call = { .space = space };
	struct ioasid_mapping *m, *tmp;
	int rc;

	INIT_LIST_HEAD(&call.freed);
	rc = ioasid_dirty_pieces(iova, length, page_size, data,
				 ioasid_dirty_unmap_piece, &call);
	/* As ioasid_space_unmap(): a driver's pins, let go of once asked. */
	if (rc == -EBUSY) {
		ioasid_access_notify_unmap(space, iova, iova + length - 1);
		rc = ioasid_dirty_pieces(iova, length, page_size, data,
					 ioasid_dirty_unmap_piece, &call);
	}
	list_for_each_entry_safe(m, tmp, &call.freed, free_link)
		ioasid_mapping_free(m);
	*unmapped = call.unmapped;
	return rc;
}

int ioasid_dirty_tracking_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_dirty_tracking *cmd = ucmd->cmd;
	struct ioasid_space *space;
	int rc;

	if (cmd->flags & ~IOASID_DIRTY_TRACKING_ENABLE)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	space = ioasid_space_get(ucmd->ctx, cmd->ioasid);
	if (IS_ERR(space))
		return PTR_ERR(space);
	rc = ioasid_space_set_dirty(space,
				    cmd->flags & IOASID_DIRTY_TRACKING_ENABLE ?
				    IOASID_DIRTY_IOMMU : IOASID_DIRTY_OFF);
	ioasid_space_put(space);
	return rc;
}

int ioasid_dirty_bitmap_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_dirty_bitmap *cmd = ucmd->cmd;
	struct ioasid_space *space;
	int rc;

	if (cmd->flags & ~IOASID_DIRTY_BITMAP_NO_CLEAR)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	rc = ioasid_dirty_check(cmd->iova, cmd->length, cmd->page_size,
				cmd->data, IOASID_DIRTY_BITMAP_MAX_BITS);
	if (rc)
		return rc;
	space = ioasid_space_get(ucmd->ctx, cmd->ioasid);
	if (IS_ERR(space))
		return PTR_ERR(space);
	rc = ioasid_space_read_dirty(space, cmd->iova, cmd->length,
				     cmd->page_size, cmd->data,
				     cmd->flags & IOASID_DIRTY_BITMAP_NO_CLEAR);
	ioasid_space_put(space);
	return rc;
}
