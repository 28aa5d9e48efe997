// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO device cdev on /dev/ioasid: binding a device file to an ioasid
 * context, and attaching the device to the context's IOASIDs.
 *
 * The device file holds a reference on the ioasid file from bind to
 * release, so the context outlives the binding; the context holds nothing
 * of the device file, so there is no cycle.
 */
#include <linux/file.h>
#include <linux/ioasid.h>
#include <linux/vfio.h>

#include "vfio.h"

MODULE_IMPORT_NS(IOASID);

/* Called by vfio_df_open() for the first open of a device bound this way. */
int vfio_df_ioasid_open(struct vfio_device_file *df)
{
	struct ioasid_device *idev;

	lockdep_assert_held(&df->device->dev_set->lock);

	idev = ioasid_device_bind(df->ioasid_ctx, df->device->dev, &df->devid);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	df->ioasid_dev = idev;
	return 0;
}

/* Called at the last close: detaches, and gives DMA ownership back. */
void vfio_df_ioasid_close(struct vfio_device_file *df)
{
	lockdep_assert_held(&df->device->dev_set->lock);

	ioasid_device_unbind(df->ioasid_dev);
	df->ioasid_dev = NULL;
}

long vfio_df_ioctl_bind_ioasid(struct vfio_device_file *df,
			       struct vfio_device_bind_ioasid_fd __user *arg)
{
	struct vfio_device *device = df->device;
	struct vfio_device_bind_ioasid_fd bind;
	struct ioasid_ctx *ctx;
	struct file *file;
	unsigned long minsz;
	int ret;

	minsz = offsetofend(struct vfio_device_bind_ioasid_fd, out_devid);
	if (copy_from_user(&bind, arg, minsz))
		return -EFAULT;
	if (bind.argsz < minsz || bind.flags || df->group)
		return -EINVAL;

	file = fget(bind.ioasid_fd);
	if (!file)
		return -EBADF;
	ctx = ioasid_ctx_from_file(file);
	if (IS_ERR(ctx)) {
		ret = PTR_ERR(ctx);
		goto out_fput;
	}
	ret = vfio_device_block_group(device);
	if (ret)
		goto out_fput;

	mutex_lock(&device->dev_set->lock);
	/* A device file binds once, to one context. */
	if (df->access_granted) {
		ret = -EINVAL;
		goto out_unlock;
	}
	df->ioasid_file = file;
	df->ioasid_ctx = ctx;
	ret = vfio_df_open(df);
	if (ret)
		goto out_clear;
	if (copy_to_user(&arg->out_devid, &df->devid, sizeof(df->devid))) {
		ret = -EFAULT;
		goto out_close;
	}
	device->cdev_opened = true;
	/* Paired with smp_load_acquire() in vfio_device_fops::ioctl etc. */
	smp_store_release(&df->access_granted, true);
	mutex_unlock(&device->dev_set->lock);
	return 0;

out_close:
	vfio_df_close(df);
out_clear:
	df->ioasid_file = NULL;
	df->ioasid_ctx = NULL;
out_unlock:
	mutex_unlock(&device->dev_set->lock);
	vfio_device_unblock_group(device);
out_fput:
	fput(file);
	return ret;
}

/* Release of a device file bound to an ioasid context. */
void vfio_df_unbind_ioasid(struct vfio_device_file *df)
{
	struct vfio_device *device = df->device;

	/* No contention at release: see vfio_df_unbind_iommufd(). */
	if (!df->access_granted)
		return;

	mutex_lock(&device->dev_set->lock);
	vfio_df_close(df);
	device->cdev_opened = false;
	mutex_unlock(&device->dev_set->lock);
	vfio_device_unblock_group(device);
	fput(df->ioasid_file);
}

int vfio_df_ioctl_attach_ioasid(struct vfio_device_file *df,
				struct vfio_device_attach_ioasid __user *arg)
{
	struct vfio_device_attach_ioasid attach;
	unsigned long minsz;
	int ret;

	minsz = offsetofend(struct vfio_device_attach_ioasid, __reserved);
	if (copy_from_user(&attach, arg, minsz))
		return -EFAULT;
	if (attach.argsz < minsz || attach.__reserved ||
	    attach.flags & ~VFIO_DEVICE_ATTACH_IOASID_REPLACE)
		return -EINVAL;
	if (!df->ioasid_dev)
		return -EINVAL;

	mutex_lock(&df->device->dev_set->lock);
	if (attach.flags & VFIO_DEVICE_ATTACH_IOASID_REPLACE)
		ret = ioasid_device_replace(df->ioasid_dev, attach.ioasid);
	else
		ret = ioasid_device_attach(df->ioasid_dev, attach.ioasid);
	mutex_unlock(&df->device->dev_set->lock);
	return ret;
}

int vfio_df_ioctl_detach_ioasid(struct vfio_device_file *df,
				struct vfio_device_detach_ioasid __user *arg)
{
	struct vfio_device_detach_ioasid detach;
	unsigned long minsz;

	minsz = offsetofend(struct vfio_device_detach_ioasid, flags);
	if (copy_from_user(&detach, arg, minsz))
		return -EFAULT;
	if (detach.argsz < minsz || detach.flags)
		return -EINVAL;
	if (!df->ioasid_dev)
		return -EINVAL;

	mutex_lock(&df->device->dev_set->lock);
	ioasid_device_detach(df->ioasid_dev);
	mutex_unlock(&df->device->dev_set->lock);
	return 0;
}
