/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /dev/ioasid: the interface for device drivers (VFIO) that let user space
 * attach their devices to I/O address spaces.  See
 * Documentation/userspace-api/ioasid.rst for the user side.
 */
#ifndef __LINUX_IOASID_H
#define __LINUX_IOASID_H

#include <uapi/linux/ioasid.h>

#include <linux/types.h>

struct device;
struct file;
struct ioasid_ctx;
struct ioasid_device;

struct ioasid_ctx *ioasid_ctx_from_file(struct file *file);
struct ioasid_device *ioasid_device_bind(struct ioasid_ctx *ctx,
					 struct device *dev, u32 *id);
void ioasid_device_unbind(struct ioasid_device *idev);
int ioasid_device_attach(struct ioasid_device *idev, u32 ioasid);
int ioasid_device_replace(struct ioasid_device *idev, u32 ioasid);
void ioasid_device_detach(struct ioasid_device *idev);

#endif /* __LINUX_IOASID_H */
