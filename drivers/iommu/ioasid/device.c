// SPDX-License-Identifier: GPL-2.0-only
/*
 * Devices bound to a context, and their attachment to IOASIDs.
 *
 * Binding claims DMA ownership of the device's group for the context:
 * from then until unbind the group's DMA is blocked unless one of its
 * devices is attached to an IOASID of that context, and no kernel driver
 * and no other context can take the group.
 */
#include <linux/iommu.h>
#include <linux/ioasid.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "ioasid_private.h"

/*
 * The administrator's opt-in for platforms whose IOMMU cannot isolate a
 * device's MSIs (virtio-iommu on x86 has no interrupt remapping).  Such a
 * device can raise any MSI, and so write to any address of the MSI
 * window: another device's interrupts, and with some interrupt
 * controllers memory no IOASID maps.  VFIO type1 and iommufd have the
 * same parameter, off by default.
 */
static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Bind devices whose MSIs the platform cannot isolate (default: N, unsafe)");

/* Whether @group's MSIs are isolated, or the administrator takes the risk. */
static bool ioasid_msi_allowed(struct iommu_group *group, struct device *dev)
{
	if (iommu_group_has_isolated_msi(group) || ioasid_test_is_mock_dev(dev))
		return true;
	if (!READ_ONCE(allow_unsafe_interrupts)) {
		pr_warn_once("ioasid: %s: no interrupt isolation; see the allow_unsafe_interrupts parameter\n",
			     dev_name(dev));
		return false;
	}
	dev_warn_once(dev, "no interrupt isolation, bound as allow_unsafe_interrupts asks: this system is not safe from its DMA\n");
	return true;
}

/**
 * ioasid_dev_has_iommu - whether an IOMMU driver translates a device
 * @dev: The device
 *
 * A VFIO noiommu device has an IOMMU group but no IOMMU: nothing could
 * confine its DMA.  Every IOMMU driver keeps DMA cache coherent when
 * asked (IOMMU_CAP_CACHE_COHERENCY, IOMMU_CACHE); without a driver the
 * answer is no.  iommufd refuses such devices by the same test.
 *
 * Return: true if an IOMMU driver has probed @dev.
 */
bool ioasid_dev_has_iommu(struct device *dev)
{
	return device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY);
}

/**
 * ioasid_device_bind - bind a device to a context
 * @ctx: The context
 * @dev: The device; its driver keeps it alive until unbind
 * @id: Output: the device's id within @ctx
 *
 * Context: Process context; may sleep.  VFIO holds the device set lock.
 * Return: the binding, to be ended with ioasid_device_unbind(), or an
 * ERR_PTR: -ENODEV if no IOMMU translates the device, -EPERM if the
 * platform cannot isolate its MSIs (unless the allow_unsafe_interrupts
 * parameter is set), -EBUSY if its IOMMU group is used by
 * a kernel driver or another context (which of the group's devices, see
 * /sys/bus/.../DEVICE/iommu_group/devices/).
 */
struct ioasid_device *ioasid_device_bind(struct ioasid_ctx *ctx,
					 struct device *dev, u32 *id)
{
	struct ioasid_device *idev;
	struct ioasid_object *obj;
	struct iommu_group *group;
	struct ioasid_group *ig;
	int rc;

	if (!ioasid_dev_has_iommu(dev))
		return ERR_PTR(-ENODEV);
	group = iommu_group_get(dev);
	if (!group)
		return ERR_PTR(-ENODEV);
	if (!ioasid_msi_allowed(group, dev)) {
		iommu_group_put(group);
		return ERR_PTR(-EPERM);
	}
	rc = iommu_device_claim_dma_owner(dev, ctx);
	if (rc) {
		iommu_group_put(group);
		/*
		 * The core says EPERM for a group owned by another context and
		 * EBUSY for one a kernel driver uses: both mean "in use".
		 */
		return ERR_PTR(rc == -EPERM ? -EBUSY : rc);
	}

	/* The context's view of the group holds its own reference. */
	ig = ioasid_group_get(ctx, group);
	iommu_group_put(group);
	if (IS_ERR(ig)) {
		rc = PTR_ERR(ig);
		goto err_release;
	}
	obj = ioasid_object_alloc(ctx, sizeof(*idev), IOASID_OBJ_DEVICE);
	if (IS_ERR(obj)) {
		rc = PTR_ERR(obj);
		goto err_put_group;
	}
	idev = container_of(obj, struct ioasid_device, obj);
	idev->ctx = ctx;
	idev->dev = get_device(dev);
	idev->igroup = ig;
	/* The binder's reference, dropped by unbind. */
	refcount_inc(&obj->users);
	ioasid_object_publish(ctx, obj);
	*id = obj->id;
	return idev;

err_put_group:
	ioasid_group_put(ig);
err_release:
	iommu_device_release_dma_owner(dev);
	return ERR_PTR(rc);
}
EXPORT_SYMBOL_NS_GPL(ioasid_device_bind, IOASID);

/* Attach @idev, whose group is either unattached or on @space already. */
static int ioasid_group_attach(struct ioasid_group *ig,
			       struct ioasid_device *idev,
			       struct ioasid_space *space)
{
	int rc;

	lockdep_assert_held(&ig->lock);

	if (idev->space)
		return -EBUSY;
	/* The group's other devices use another IOASID. */
	if (ig->attached && ig->space != space)
		return -EBUSY;
	/* The attachment's own reference; none for an IOASID going away. */
	if (!ioasid_object_use(&space->obj))
		return -ENOENT;
	if (!ig->attached) {
		rc = ioasid_domains_attach_group(space, ig, idev->dev);
		if (rc) {
			ioasid_object_unuse(&space->obj);
			return rc;
		}
		ig->space = space;
	}
	ig->attached++;
	idev->space = space;
	return 0;
}

/**
 * ioasid_device_attach_space - attach a bound device to an IOASID
 * @idev: The binding
 * @space: An IOASID of the same context, which the caller keeps a
 *         reference on for the call; the attachment takes its own
 *
 * Context: Process context; takes the group's lock and the IOASID's.
 * Return: as ioasid_device_attach().
 */
int ioasid_device_attach_space(struct ioasid_device *idev,
			       struct ioasid_space *space)
{
	struct ioasid_group *ig = idev->igroup;

	guard(mutex)(&ig->lock);
	return ioasid_group_attach(ig, idev, space);
}

/**
 * ioasid_device_attach - attach a bound device to an IOASID
 * @idev: The binding
 * @ioasid: An IOASID of the same context
 *
 * Context: Process context; may sleep.  The caller serialises the calls
 * for one device (VFIO holds the device set lock).
 * Return: 0, -ENOENT for no such IOASID, -EBUSY if the device is already
 * attached or another device of its IOMMU group is attached to another
 * IOASID, -EADDRINUSE if the group's reserved regions or its IOMMU's
 * aperture collide with mappings of the IOASID, -EMEDIUMTYPE if the
 * IOASID requires cache coherency and the device's IOMMU cannot block its
 * no-snoop DMA, or another error of the IOMMU driver; nothing changes on
 * error.
 */
int ioasid_device_attach(struct ioasid_device *idev, u32 ioasid)
{
	struct ioasid_space *space;
	int rc;

	space = ioasid_space_get(idev->ctx, ioasid);
	if (IS_ERR(space))
		return PTR_ERR(space);
	rc = ioasid_device_attach_space(idev, space);
	ioasid_space_put(space);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(ioasid_device_attach, IOASID);

/* Move the group of @idev, its only attached device, to @space. */
static int ioasid_group_replace(struct ioasid_group *ig,
				struct ioasid_device *idev,
				struct ioasid_space *space)
{
	struct ioasid_space *old_space = ig->space;
	struct ioasid_domain *old_domain = ig->domain;
	int rc;

	lockdep_assert_held(&ig->lock);

	if (!idev->space)
		return -EINVAL;
	if (idev->space == space)
		return -EALREADY;
	/* Other devices of the group still use the old IOASID. */
	if (ig->attached > 1)
		return -EBUSY;
	if (!ioasid_object_use(&space->obj))
		return -ENOENT;
	rc = ioasid_domains_attach_group(space, ig, idev->dev);
	if (rc) {
		ioasid_object_unuse(&space->obj);
		return rc;
	}
	ioasid_domains_release_group(old_space, ig, old_domain);
	ioasid_object_unuse(&old_space->obj);
	ig->space = space;
	idev->space = space;
	return 0;
}

/**
 * ioasid_device_replace - move an attached device to another IOASID
 * @idev: The binding, attached to an IOASID
 * @ioasid: An IOASID of the same context
 *
 * The device's DMA goes from the old IOASID's translations to the new
 * one's directly: there is no window in which it is blocked, or reaches
 * the default domain.
 *
 * Context: As ioasid_device_attach().
 * Return: 0, -EINVAL if the device is not attached, -EBUSY if other
 * devices of its IOMMU group are attached, or as for
 * ioasid_device_attach(); on error the device stays where it was.
 */
int ioasid_device_replace(struct ioasid_device *idev, u32 ioasid)
{
	struct ioasid_group *ig = idev->igroup;
	struct ioasid_space *space;
	int rc;

	space = ioasid_space_get(idev->ctx, ioasid);
	if (IS_ERR(space))
		return PTR_ERR(space);
	mutex_lock(&ig->lock);
	rc = ioasid_group_replace(ig, idev, space);
	mutex_unlock(&ig->lock);
	ioasid_space_put(space);
	/* Already there is success. */
	return rc == -EALREADY ? 0 : rc;
}
EXPORT_SYMBOL_NS_GPL(ioasid_device_replace, IOASID);

/**
 * ioasid_device_detach - detach a device from its IOASID
 * @idev: The binding
 *
 * When the last attached device of its IOMMU group detaches, the group's
 * DMA is blocked again.  Does nothing if the device is not attached.
 *
 * Context: As ioasid_device_attach().
 */
void ioasid_device_detach(struct ioasid_device *idev)
{
	struct ioasid_group *ig = idev->igroup;
	struct ioasid_space *space;

	mutex_lock(&ig->lock);
	space = idev->space;
	if (space) {
		if (!--ig->attached) {
			ioasid_domains_detach_group(space, ig);
			ig->space = NULL;
		}
		idev->space = NULL;
	}
	mutex_unlock(&ig->lock);
	if (space)
		ioasid_object_unuse(&space->obj);
}
EXPORT_SYMBOL_NS_GPL(ioasid_device_detach, IOASID);

/**
 * ioasid_device_ctx_has_group - whether a binding's context owns a group
 * @idev: A binding, from ioasid_device_bind()
 * @group: An IOMMU group
 *
 * A context owns the DMA of each IOMMU group in which it has a device
 * bound: until the last of them is unbound, no kernel driver and no other
 * context can take any device of that group, bound or not.  VFIO asks
 * this before a reset that reaches devices other than the caller's own.
 *
 * Context: Process context; takes the context's groups_lock.  The caller
 * keeps @idev bound for the call (VFIO holds the device set lock).
 * Return: true if a device of @group is bound to the context of @idev.
 */
bool ioasid_device_ctx_has_group(struct ioasid_device *idev,
				 struct iommu_group *group)
{
	struct ioasid_ctx *ctx = idev->ctx;

	guard(mutex)(&ctx->groups_lock);
	return xa_load(&ctx->groups, iommu_group_id(group));
}
EXPORT_SYMBOL_NS_GPL(ioasid_device_ctx_has_group, IOASID);

/* Copy the reserved regions of @group to @ur, as many as fit in @max. */
static int ioasid_copy_resv_regions(struct iommu_group *group,
				    struct ioasid_iova_range __user *ur,
				    u32 max, u32 *n)
{
	struct iommu_resv_region *resv, *tmp;
	struct ioasid_iova_range range;
	LIST_HEAD(regions);
	int rc;

	/* On failure the list holds what was gathered before: free it too. */
	rc = iommu_get_group_resv_regions(group, &regions);
	*n = 0;
	list_for_each_entry(resv, &regions, list) {
		if (rc)
			break;
		/* Relaxable regions do not bind an IOASID: see reserved.c. */
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE)
			continue;
		range.start = resv->start;
		range.last = resv->start + resv->length - 1;
		if (*n < max && copy_to_user(&ur[*n], &range, sizeof(range))) {
			rc = -EFAULT;
			break;
		}
		(*n)++;
	}
	list_for_each_entry_safe(resv, tmp, &regions, list)
		kfree(resv);
	return rc;
}

int ioasid_device_info_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_device_info *cmd = ucmd->cmd;
	struct ioasid_device *idev;
	struct ioasid_object *obj;
	u32 n;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	obj = ioasid_object_get(ucmd->ctx, cmd->dev_id, IOASID_OBJ_DEVICE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	idev = container_of(obj, struct ioasid_device, obj);

	cmd->out_flags = 0;
	if (device_iommu_capable(idev->dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY))
		cmd->out_flags |= IOASID_DEVICE_INFO_COHERENT;
	rc = ioasid_domain_probe(idev->dev, &cmd->out_pgsizes,
				 &cmd->out_aperture_start,
				 &cmd->out_aperture_last);
	if (!rc)
		rc = ioasid_copy_resv_regions(idev->igroup->group,
					      u64_to_user_ptr(cmd->reserved),
					      cmd->num_reserved, &n);
	ioasid_object_put(obj);
	if (rc)
		return rc;

	rc = n > cmd->num_reserved ? -EMSGSIZE : 0;
	cmd->num_reserved = n;
	if (ioasid_ucmd_respond(ucmd, sizeof(*cmd)))
		return -EFAULT;
	return rc;
}

/**
 * ioasid_device_unbind - end a binding
 * @idev: The binding; freed on return
 *
 * Detaches the device, gives its group's DMA ownership back and removes
 * its id from the context.  Waits for ioctls that are using the device's
 * id to finish, which they do without waiting on the caller.
 *
 * Context: Process context; may sleep.  VFIO holds the device set lock.
 */
void ioasid_device_unbind(struct ioasid_device *idev)
{
	ioasid_object_remove(idev->ctx, &idev->obj);
	ioasid_device_detach(idev);
	ioasid_group_put(idev->igroup);
	iommu_device_release_dma_owner(idev->dev);
	put_device(idev->dev);
	kfree(idev);
}
EXPORT_SYMBOL_NS_GPL(ioasid_device_unbind, IOASID);
