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
#include <linux/slab.h>

#include "ioasid_private.h"

MODULE_IMPORT_NS(IOMMUFD_INTERNAL);

/**
 * ioasid_device_bind - bind a device to a context
 * @ctx: The context
 * @dev: The device; its driver keeps it alive until unbind
 * @id: Output: the device's id within @ctx
 *
 * Return: the binding, to be ended with ioasid_device_unbind(), or an
 * ERR_PTR: -ENODEV if no IOMMU translates the device, -EPERM if the
 * platform cannot isolate its MSIs, -EBUSY if its group is owned by a
 * kernel driver or another context.
 */
struct ioasid_device *ioasid_device_bind(struct ioasid_ctx *ctx,
					 struct device *dev, u32 *id)
{
	struct ioasid_device *idev;
	struct ioasid_object *obj;
	struct iommu_group *group;
	int rc;

	group = iommu_group_get(dev);
	if (!group)
		return ERR_PTR(-ENODEV);
	/*
	 * Without interrupt isolation the device could raise any MSI, and so
	 * write to memory no IOASID maps.
	 */
	if (!iommu_group_has_isolated_msi(group) &&
	    !ioasid_test_is_mock_dev(dev)) {
		rc = -EPERM;
		goto err_put_group;
	}
	rc = iommu_device_claim_dma_owner(dev, ctx);
	if (rc)
		goto err_put_group;

	obj = ioasid_object_alloc(ctx, sizeof(*idev), IOASID_OBJ_DEVICE);
	if (IS_ERR(obj)) {
		rc = PTR_ERR(obj);
		goto err_release;
	}
	idev = container_of(obj, struct ioasid_device, obj);
	idev->ctx = ctx;
	idev->dev = get_device(dev);
	idev->group = group;
	mutex_init(&idev->lock);
	/* The binder's reference, dropped by unbind. */
	refcount_inc(&obj->users);
	ioasid_object_publish(ctx, obj);
	*id = obj->id;
	return idev;

err_release:
	iommu_device_release_dma_owner(dev);
err_put_group:
	iommu_group_put(group);
	return ERR_PTR(rc);
}
EXPORT_SYMBOL_NS_GPL(ioasid_device_bind, IOASID);

/**
 * ioasid_device_attach - attach a bound device to an IOASID
 * @idev: The binding
 * @ioasid: An IOASID of the same context
 *
 * Return: 0, -ENOENT for no such IOASID, -EBUSY if the device is already
 * attached, -EADDRINUSE if the device's reserved regions or aperture
 * collide with mappings of the IOASID, or another error of the IOMMU
 * driver; nothing changes on error.
 */
int ioasid_device_attach(struct ioasid_device *idev, u32 ioasid)
{
	struct ioasid_object *obj;
	struct ioasid_space *space;
	int rc;

	obj = ioasid_object_get(idev->ctx, ioasid, IOASID_OBJ_SPACE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	space = container_of(obj, struct ioasid_space, obj);

	mutex_lock(&idev->lock);
	rc = idev->space ? -EBUSY : ioasid_space_attach(space, idev);
	if (!rc)
		idev->space = space;	/* keeps the reference */
	mutex_unlock(&idev->lock);
	if (rc)
		ioasid_object_put(obj);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(ioasid_device_attach, IOASID);

/**
 * ioasid_device_replace - move an attached device to another IOASID
 * @idev: The binding, attached to an IOASID
 * @ioasid: An IOASID of the same context
 *
 * The device's DMA goes from the old IOASID's translations to the new
 * one's directly: there is no window in which it is blocked, or reaches
 * the default domain.
 *
 * Return: 0, -EINVAL if the device is not attached, or as for
 * ioasid_device_attach(); on error the device stays where it was.
 */
int ioasid_device_replace(struct ioasid_device *idev, u32 ioasid)
{
	struct ioasid_space *space, *old_space;
	struct ioasid_domain *old_domain;
	struct ioasid_object *obj;
	int rc;

	obj = ioasid_object_get(idev->ctx, ioasid, IOASID_OBJ_SPACE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	space = container_of(obj, struct ioasid_space, obj);

	mutex_lock(&idev->lock);
	old_space = idev->space;
	old_domain = idev->domain;
	if (!old_space)
		rc = -EINVAL;
	else if (old_space == space)
		rc = -EALREADY;
	else
		rc = ioasid_space_attach(space, idev);
	if (!rc) {
		ioasid_space_release(old_space, idev, old_domain);
		idev->space = space;	/* keeps the reference */
	}
	mutex_unlock(&idev->lock);
	if (rc == -EALREADY) {
		/* Already there: only the lookup's reference goes. */
		ioasid_object_put(obj);
		return 0;
	}
	/* On success the old IOASID's reference goes, else the new one's. */
	ioasid_object_put(rc ? obj : &old_space->obj);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(ioasid_device_replace, IOASID);

/**
 * ioasid_device_detach - detach a device from its IOASID
 * @idev: The binding
 *
 * The device's DMA is blocked again.  Does nothing if not attached.
 */
void ioasid_device_detach(struct ioasid_device *idev)
{
	struct ioasid_space *space;

	mutex_lock(&idev->lock);
	space = idev->space;
	if (space) {
		ioasid_space_detach(space, idev);
		idev->space = NULL;
	}
	mutex_unlock(&idev->lock);
	if (space)
		ioasid_object_put(&space->obj);
}
EXPORT_SYMBOL_NS_GPL(ioasid_device_detach, IOASID);

/**
 * ioasid_device_unbind - end a binding
 * @idev: The binding; freed on return
 *
 * Detaches the device, gives its group's DMA ownership back and removes
 * its id from the context.
 */
void ioasid_device_unbind(struct ioasid_device *idev)
{
	ioasid_object_remove(idev->ctx, &idev->obj);
	ioasid_device_detach(idev);
	iommu_device_release_dma_owner(idev->dev);
	iommu_group_put(idev->group);
	put_device(idev->dev);
	mutex_destroy(&idev->lock);
	kfree(idev);
}
EXPORT_SYMBOL_NS_GPL(ioasid_device_unbind, IOASID);
