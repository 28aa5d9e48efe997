// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMU groups as a context sees them.
 *
 * An IOMMU cannot tell the devices of one group apart, so a group is
 * attached as a whole: its first device to attach brings the group onto
 * an IOASID, its other devices may only join that same IOASID, and the
 * group's DMA is blocked again when the last of them detaches.
 */
#include <linux/iommu.h>
#include <linux/slab.h>

#include "ioasid_private.h"

/**
 * ioasid_group_get - find or make the context's view of an IOMMU group
 * @ctx: The context
 * @group: The IOMMU group of a device being bound to @ctx
 *
 * Return: the group, counting one more bound device, or an ERR_PTR.
 */
struct ioasid_group *ioasid_group_get(struct ioasid_ctx *ctx,
				      struct iommu_group *group)
{
	unsigned long id = iommu_group_id(group);
	struct ioasid_group *ig;
	int rc;

	guard(mutex)(&ctx->groups_lock);
	ig = xa_load(&ctx->groups, id);
	if (ig) {
		ig->bound++;
		return ig;
	}
	ig = kzalloc(sizeof(*ig), IOASID_GFP);
	if (!ig)
		return ERR_PTR(-ENOMEM);
	rc = xa_insert(&ctx->groups, id, ig, IOASID_GFP);
	if (rc) {
		kfree(ig);
		return ERR_PTR(rc);
	}
	ig->ctx = ctx;
	ig->group = iommu_group_ref_get(group);
	ig->bound = 1;
	mutex_init(&ig->lock);
	return ig;
}

/**
 * ioasid_group_put - a device of the group was unbound
 * @ig: The group; freed with its last bound device
 */
void ioasid_group_put(struct ioasid_group *ig)
{
	struct ioasid_ctx *ctx = ig->ctx;

	guard(mutex)(&ctx->groups_lock);
	if (--ig->bound)
		return;
	WARN_ON(ig->attached);
	xa_erase(&ctx->groups, iommu_group_id(ig->group));
	iommu_group_put(ig->group);
	mutex_destroy(&ig->lock);
	kfree(ig);
}
