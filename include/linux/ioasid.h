/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /dev/ioasid: the interface for device drivers (VFIO) that let user space
 * attach their devices to I/O address spaces.  See
 * Documentation/userspace-api/ioasid.rst for the user side.
 */
#ifndef __LINUX_IOASID_H
#define __LINUX_IOASID_H

#include <uapi/linux/ioasid.h>

#include <linux/list.h>
#include <linux/types.h>

struct device;
struct file;
struct iommu_group;
struct ioasid_access;
struct ioasid_ctx;
struct ioasid_device;
struct page;

struct ioasid_ctx *ioasid_ctx_from_file(struct file *file);
struct ioasid_device *ioasid_device_bind(struct ioasid_ctx *ctx,
					 struct device *dev, u32 *id);
void ioasid_device_unbind(struct ioasid_device *idev);
int ioasid_device_attach(struct ioasid_device *idev, u32 ioasid);
int ioasid_device_replace(struct ioasid_device *idev, u32 ioasid);
void ioasid_device_detach(struct ioasid_device *idev);
bool ioasid_device_ctx_has_group(struct ioasid_device *idev,
				 struct iommu_group *group);

/**
 * struct ioasid_access_ops - a driver's side of an access
 * @unmap: Called before the range [@iova, @iova + @length - 1] of the
 *         IOASID the access is attached to is unmapped (or the access is
 *         detached from it, or moved to another), when the access may
 *         have pages of it pinned: the driver must unpin every page of
 *         the range it pinned, with ioasid_access_unpin_pages(), before
 *         it returns, or the unmap fails.  It may also be called for
 *         ranges the access has nothing pinned in.  A @length of
 *         U64_MAX stands for everything from @iova on.
 *         Context: process context, may sleep; no lock of /dev/ioasid
 *         is held, so the driver may take the locks it holds around its
 *         pin, unpin and rw calls.
 */
struct ioasid_access_ops {
	void (*unmap)(void *data, u64 iova, u64 length);
};

/**
 * enum ioasid_access_flags - what an access asks of the memory
 * @IOASID_ACCESS_WRITE: It writes the memory, not only reads it
 */
enum ioasid_access_flags {
	IOASID_ACCESS_WRITE = 1 << 0,
};

struct ioasid_access *ioasid_access_create(struct ioasid_ctx *ctx,
					   const struct ioasid_access_ops *ops,
					   void *data, u32 *id);
void ioasid_access_destroy(struct ioasid_access *access);
int ioasid_access_attach(struct ioasid_access *access, u32 ioasid);
int ioasid_access_replace(struct ioasid_access *access, u32 ioasid);
int ioasid_access_detach(struct ioasid_access *access);
int ioasid_access_pin_pages(struct ioasid_access *access, u64 iova,
			    u64 length, struct page **pages,
			    unsigned int flags);
void ioasid_access_unpin_pages(struct ioasid_access *access, u64 iova,
			       u64 length);
int ioasid_access_rw(struct ioasid_access *access, u64 iova, void *data,
		     size_t length, unsigned int flags);

int ioasid_vfio_container_add_group(struct file *file,
				    struct iommu_group *group);
void ioasid_vfio_container_remove_group(struct file *file,
					struct iommu_group *group);
int ioasid_vfio_container_add_emulated(struct file *file,
				       struct iommu_group *group);
int ioasid_vfio_container_attach(struct ioasid_device *idev);
int ioasid_vfio_container_attach_access(struct ioasid_access *access);

/**
 * struct ioasid_kvm_hook - how a context tells KVM about no-snoop DMA
 * @set_noncoherent: Called with true when the first domain of the
 *                   context that lets no-snoop DMA through appears, and
 *                   with false when the last one goes, including at
 *                   registration and unregistration.  Calls alternate,
 *                   starting with true, and are never made concurrently.
 *                   The callee must not call back into the context.
 *                   Context: process context, may sleep; called with
 *                   the context's coherency lock held, from attach,
 *                   replace, detach and close (VFIO's device set lock
 *                   and the IOASID's lock may be held too), and from
 *                   ioasid_kvm_register() and ioasid_kvm_unregister().
 * @link: In the context's list of hooks; private to /dev/ioasid
 *
 * Embedded by KVM in its own state, one per context it follows.
 */
struct ioasid_kvm_hook {
	void (*set_noncoherent)(struct ioasid_kvm_hook *hook, bool noncoherent);
	struct list_head link;
};

int ioasid_kvm_register(struct file *file, struct ioasid_kvm_hook *hook);
void ioasid_kvm_unregister(struct file *file, struct ioasid_kvm_hook *hook);

struct ioasid_dmem;

/**
 * struct ioasid_dmem_range - device memory an exporter hands out
 * @phys: The physical address of the range's first byte
 * @dmem: The export the range belongs to, with a reference for the
 *        caller
 */
struct ioasid_dmem_range {
	phys_addr_t phys;
	struct ioasid_dmem *dmem;
};

/* VFIO's, found by /dev/ioasid with symbol_get(): see dmem.c. */
int vfio_file_ioasid_dmem(struct file *file, u64 offset, u64 length,
			  struct ioasid_dmem_range *range);

#if IS_ENABLED(CONFIG_IOASID)
struct ioasid_dmem *ioasid_dmem_alloc(bool revoked);
void ioasid_dmem_get(struct ioasid_dmem *dmem);
void ioasid_dmem_revoke(struct ioasid_dmem *dmem);
void ioasid_dmem_restore(struct ioasid_dmem *dmem);
void ioasid_dmem_gone(struct ioasid_dmem *dmem);
#else
static inline struct ioasid_dmem *ioasid_dmem_alloc(bool revoked)
{
	return NULL;
}

static inline void ioasid_dmem_get(struct ioasid_dmem *dmem)
{
}

static inline void ioasid_dmem_revoke(struct ioasid_dmem *dmem)
{
}

static inline void ioasid_dmem_restore(struct ioasid_dmem *dmem)
{
}

static inline void ioasid_dmem_gone(struct ioasid_dmem *dmem)
{
}
#endif

#endif /* __LINUX_IOASID_H */
