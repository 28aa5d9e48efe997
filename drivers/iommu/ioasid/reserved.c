// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reserved IOVA ranges of an IOASID: what no mapping may use.
 *
 * A range is reserved on behalf of an owner and goes with it: an IOMMU
 * group attached to the IOASID reserves its MSI windows and the regions
 * its platform keeps, a domain (or a VFIO container's group, before any
 * domain exists) what lies outside the aperture its IOMMU translates.
 * Ranges of different owners may overlap.
 */
#include <linux/iommu.h>
#include <linux/slab.h>

#include "ioasid_private.h"

/**
 * struct ioasid_reserved - an IOVA range no mapping may use
 * @node: The range, in &struct ioasid_space.reserved
 * @owner: What reserved it; removed with its owner
 */
struct ioasid_reserved {
	struct interval_tree_node node;
	void *owner;
};

/* Reserve [start, last] for @owner, unless a mapping already uses it. */
static int ioasid_reserve(struct ioasid_space *space, void *owner,
			  unsigned long start, unsigned long last)
{
	struct ioasid_reserved *r;

	lockdep_assert_held_write(&space->lock);

	if (interval_tree_iter_first(&space->mappings, start, last))
		return -EADDRINUSE;
	r = kzalloc(sizeof(*r), IOASID_GFP);
	if (!r)
		return -ENOMEM;
	r->owner = owner;
	r->node.start = start;
	r->node.last = last;
	interval_tree_insert(&r->node, &space->reserved);
	return 0;
}

/**
 * ioasid_unreserve - drop every range an owner reserved
 * @space: The IOASID, locked for writing
 * @owner: The owner
 */
void ioasid_unreserve(struct ioasid_space *space, void *owner)
{
	struct interval_tree_node *node, *next;
	struct ioasid_reserved *r;

	lockdep_assert_held_write(&space->lock);

	for (node = interval_tree_iter_first(&space->reserved, 0, ULONG_MAX);
	     node; node = next) {
		next = interval_tree_iter_next(node, 0, ULONG_MAX);
		r = container_of(node, struct ioasid_reserved, node);
		if (r->owner != owner)
			continue;
		interval_tree_remove(node, &space->reserved);
		kfree(r);
	}
}

/**
 * ioasid_reserve_group - reserve what an IOMMU group may not use for DMA
 * @space: The IOASID, locked for writing
 * @owner: The owner of the ranges
 * @group: The group: its MSI windows and the regions the platform or
 *         its devices reserve
 *
 * Return: 0, -EADDRINUSE if a mapping uses such a region, or -ENOMEM;
 * nothing is reserved on error.
 */
int ioasid_reserve_group(struct ioasid_space *space, void *owner,
			 struct iommu_group *group)
{
	struct iommu_resv_region *resv, *tmp;
	LIST_HEAD(regions);
	int rc;

	/* On failure the list holds what was gathered before: free it too. */
	rc = iommu_get_group_resv_regions(group, &regions);
	if (rc)
		goto out_free;
	list_for_each_entry(resv, &regions, list) {
		/* Relaxable regions do not bind an IOASID's devices. */
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE)
			continue;
		rc = ioasid_reserve(space, owner, resv->start,
				    resv->start + resv->length - 1);
		if (rc)
			break;
	}
	if (rc)
		ioasid_unreserve(space, owner);
out_free:
	list_for_each_entry_safe(resv, tmp, &regions, list)
		kfree(resv);
	return rc;
}

/**
 * ioasid_reserve_outside - reserve what lies outside an aperture
 * @space: The IOASID, locked for writing
 * @owner: The owner of the ranges
 * @start: The first IOVA the IOMMU translates
 * @last: The last one
 *
 * Return: 0, -EADDRINUSE if a mapping lies outside, or -ENOMEM; nothing
 * is reserved on error.
 */
int ioasid_reserve_outside(struct ioasid_space *space, void *owner,
			   unsigned long start, unsigned long last)
{
	int rc = 0;

	if (start)
		rc = ioasid_reserve(space, owner, 0, start - 1);
	if (!rc && last != ULONG_MAX)
		rc = ioasid_reserve(space, owner, last + 1, ULONG_MAX);
	if (rc)
		ioasid_unreserve(space, owner);
	return rc;
}
