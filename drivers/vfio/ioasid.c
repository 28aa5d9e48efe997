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
 * A device no IOMMU translates, registered by its driver as emulated (a
 * mediated device), is not bound: its driver gets an access on the
 * context instead, in vfio_device::ioasid_access, attached like a
 * device, through which vfio_pin_pages(), vfio_unpin_pages() and
 * vfio_dma_rw() reach the IOASID's memory.  An unmap of pages it pinned
 * first calls the driver's dma_unmap.
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

/* An unmap of pinned pages: the emulated device's driver lets go of them. */
static void vfio_ioasid_dma_unmap(void *data, u64 iova, u64 length)
{
	struct vfio_device *device = data;

	if (device->ops->dma_unmap)
		device->ops->dma_unmap(device, iova, length);
}

static const struct ioasid_access_ops vfio_ioasid_access_ops = {
	.unmap = vfio_ioasid_dma_unmap,
};

static int vfio_df_ioasid_open_emulated(struct vfio_device_file *df)
{
	struct vfio_device *device = df->device;
	struct ioasid_access *access;

	access = ioasid_access_create(df->ioasid_ctx, &vfio_ioasid_access_ops,
				      device, &df->devid);
	if (IS_ERR(access))
		return PTR_ERR(access);
	device->ioasid_access = access;
	return 0;
}

/* Called by vfio_df_open() for the first open of a device bound this way. */
int vfio_df_ioasid_open(struct vfio_device_file *df)
{
	struct vfio_device *device = df->device;
	struct ioasid_device *idev;

	lockdep_assert_held(&device->dev_set->lock);

	if (vfio_device_is_emulated(device))
		return vfio_df_ioasid_open_emulated(df);
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

	if (device->ioasid_access) {
		ioasid_access_destroy(device->ioasid_access);
		device->ioasid_access = NULL;
		return;
	}
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
	if (device->ioasid_access)
		return attach.flags & VFIO_DEVICE_ATTACH_IOASID_REPLACE ?
		       ioasid_access_replace(device->ioasid_access,
					     attach.ioasid) :
		       ioasid_access_attach(device->ioasid_access,
					    attach.ioasid);
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
	/* An emulated device's driver may keep pins: EBUSY then. */
	if (device->ioasid_access)
		return ioasid_access_detach(device->ioasid_access);
	ioasid_device_detach(device->ioasid_device);
	return 0;
}

/*
 * The mdev calls, for an emulated device: as with iommufd, @iova's offset
 * in its page is the caller's to add back, and @npage counts pages from
 * the one that holds it.
 */
int vfio_ioasid_pin_pages(struct vfio_device *device, dma_addr_t iova,
			  int npage, int prot, struct page **pages)
{
	int ret;

	ret = ioasid_access_pin_pages(device->ioasid_access,
				      ALIGN_DOWN(iova, PAGE_SIZE),
				      (u64)npage * PAGE_SIZE, pages,
				      prot & IOMMU_WRITE ? IOASID_ACCESS_WRITE : 0);
	return ret ?: npage;
}

void vfio_ioasid_unpin_pages(struct vfio_device *device, dma_addr_t iova,
			     int npage)
{
	ioasid_access_unpin_pages(device->ioasid_access,
				  ALIGN_DOWN(iova, PAGE_SIZE),
				  (u64)npage * PAGE_SIZE);
}

/* The IOASID's pages are pinned already: no mm is needed, kthread or not. */
int vfio_ioasid_dma_rw(struct vfio_device *device, dma_addr_t iova,
		       void *data, size_t len, bool write)
{
	return ioasid_access_rw(device->ioasid_access, iova, data, len,
				write ? IOASID_ACCESS_WRITE : 0);
}
