// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty tracking of the mock IOMMU driver: a device's write through an
 * IOPTE (IOASID_TEST_OP_MOCK_WRITE, selftest.c) sets its dirty bit while the
 * domain tracks, and the core reads and clears the bits through these
 * ops, as it does a real IOMMU's.
 */
#include <linux/iommu.h>
#include <linux/mutex.h>

#include "ioasid_private.h"
#include "selftest.h"

/**
 * struct mock_dirty_read - one read_and_clear_dirty() call
 * @iova: First IOVA asked for
 * @last: Last one
 * @flags: IOMMU_DIRTY_NO_CLEAR or 0
 * @dirty: Where to record
 */
struct mock_dirty_read {
	unsigned long iova;
	unsigned long last;
	unsigned long flags;
	struct iommu_dirty_bitmap *dirty;
};

/*
 * A dirty IOPTE reports all its pages, as hardware records a write per
 * IOPTE, but only those in the range asked for.
 */
static int mock_read_pte_dirty(struct mock_domain *md, unsigned long pte_iova,
			       unsigned long pte, void *arg)
{
	struct mock_dirty_read *r = arg;
	unsigned long start, end;

	if (!(pte & MOCK_PTE_DIRTY))
		return 0;
	start = max(pte_iova, r->iova);
	end = min(pte_iova + mock_pte_size(pte) - 1, r->last);
	iommu_dirty_bitmap_record(r->dirty, start, end - start + 1);
	if (!(r->flags & IOMMU_DIRTY_NO_CLEAR))
		mock_pte_store(md, pte_iova, pte & ~MOCK_PTE_DIRTY);
	return 0;
}

static int mock_read_and_clear_dirty(struct iommu_domain *domain,
				     unsigned long iova, size_t size,
				     unsigned long flags,
				     struct iommu_dirty_bitmap *dirty)
{
	struct mock_domain *md = mock_domain_of(domain);
	struct mock_dirty_read r = {
		.iova = iova,
		.last = iova + size - 1,
		.flags = flags,
		.dirty = dirty,
	};

	guard(mutex)(&md->dirty_lock);
	/* As VT-d: only a clear may run while tracking is off. */
	if (!md->dirty_tracking && dirty->bitmap)
		return -EINVAL;
	return mock_walk_ptes(md, r.iova, r.last, mock_read_pte_dirty, &r);
}

/* Can fail, as a driver's may, so that the core's undo is tested. */
static int mock_set_dirty_tracking(struct iommu_domain *domain, bool enable)
{
	struct mock_domain *md = mock_domain_of(domain);

	if (ioasid_should_fail())
		return -ENOMEM;
	guard(mutex)(&md->dirty_lock);
	md->dirty_tracking = enable;
	return 0;
}

const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_set_dirty_tracking,
	.read_and_clear_dirty = mock_read_and_clear_dirty,
};
