// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO devices on /dev/ioasid: binding a device to an ioasid context, and
 * attaching it to the context's IOASIDs.
 *
 * A device cdev binds with VFIO_DEVICE_BIND_IOASID_FD, through the bind
 * skeleton it shares with iommufd (device_cdev.c); a device of a group
 * whose container is an ioasid file binds when VFIO_GROUP_GET_DEVICE_FD
 * first opens it (group.c).  Either way the binding lives from the first
 * open of the device to its last close, in vfio_device::ioasid_device.
 *
 * The device file (or the group) holds a reference on the ioasid file for
 * as long as it uses the context, so the context outlives the binding;
 * the context holds nothing of VFIO, so there is no cycle.
 */
#include <linux/file.h>
#include <linux/ioasid.h>
#include <linux/vfio.h>

#include "vfio.h"

MODULE_IMPORT_NS(IOASID);

/* Called by vfio_df_open() for the first open of a device bound this way. */
int vfio_df_ioasid_open(struct vfio_device_file *df)
{
	struct vfio_device *device = df->device;
	struct ioasid_device *idev;

	lockdep_assert_held(&device->dev_set->lock);

	idev = ioasid_device_bind(df->ioasid_ctx, device->dev, &df->devid);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	device->ioasid_device = idev;
	return 0;
}

/* Called at the last close: detaches, and gives DMA ownership back. */
void vfio_df_ioasid_close(struct vfio_device_file *df)
{
	struct vfio_device *device = df->device;

	lockdep_assert_held(&device->dev_set->lock);

	ioasid_device_unbind(device->ioasid_device);
	device->ioasid_device = NULL;
}

/*
 * The backend half of VFIO_DEVICE_BIND_IOASID_FD: hold the ioasid file
 * the device file binds to, until vfio_df_ioasid_put().
 */
int vfio_df_ioasid_take(struct vfio_device_file *df, int fd)
{
	struct ioasid_ctx *ctx;
	struct file *file;

	lockdep_assert_held(&df->device->dev_set->lock);

	file = fget(fd);
	if (!file)
		return -EBADF;
	ctx = ioasid_ctx_from_file(file);
	if (IS_ERR(ctx)) {
		fput(file);
		return PTR_ERR(ctx);
	}
	df->ioasid_file = file;
	df->ioasid_ctx = ctx;
	return 0;
}

void vfio_df_ioasid_put(struct vfio_device_file *df)
{
	fput(df->ioasid_file);
	df->ioasid_file = NULL;
	df->ioasid_ctx = NULL;
}

int vfio_df_ioctl_attach_ioasid(struct vfio_device_file *df,
				struct vfio_device_attach_ioasid __user *arg)
{
	struct vfio_device *device = df->device;
	struct vfio_device_attach_ioasid attach;
	unsigned long minsz;

	minsz = offsetofend(struct vfio_device_attach_ioasid, __reserved);
	if (copy_from_user(&attach, arg, minsz))
		return -EFAULT;
	if (attach.argsz < minsz || attach.__reserved ||
	    attach.flags & ~VFIO_DEVICE_ATTACH_IOASID_REPLACE)
		return -EINVAL;
	/* Bound to iommufd, not to us. */
	if (!df->ioasid_file)
		return -EINVAL;

	guard(mutex)(&device->dev_set->lock);
	if (attach.flags & VFIO_DEVICE_ATTACH_IOASID_REPLACE)
		return ioasid_device_replace(device->ioasid_device,
					     attach.ioasid);
	return ioasid_device_attach(device->ioasid_device, attach.ioasid);
}

int vfio_df_ioctl_detach_ioasid(struct vfio_device_file *df,
				struct vfio_device_detach_ioasid __user *arg)
{
	struct vfio_device *device = df->device;
	struct vfio_device_detach_ioasid detach;
	unsigned long minsz;

	minsz = offsetofend(struct vfio_device_detach_ioasid, flags);
	if (copy_from_user(&detach, arg, minsz))
		return -EFAULT;
	if (detach.argsz < minsz || detach.flags)
		return -EINVAL;
	if (!df->ioasid_file)
		return -EINVAL;

	guard(mutex)(&device->dev_set->lock);
	ioasid_device_detach(device->ioasid_device);
	return 0;
}
