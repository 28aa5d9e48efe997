// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO container compatibility: a /dev/ioasid file as the container of
 * VFIO groups, answering the container ioctls as VFIO type1 does.
 *
 * Existing VMMs know VFIO only as a container file (/dev/vfio/vfio) and
 * group files.  Given a /dev/ioasid file in VFIO_GROUP_SET_CONTAINER, VFIO
 * makes the context the group's container: VFIO_SET_IOMMU creates one
 * IOASID for the container, VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA
 * map into it, and each device VFIO_GROUP_GET_DEVICE_FD hands out is
 * bound to the context and attached to that IOASID.  The container's
 * IOASID is an ordinary IOASID of the context, so that pinning, domains
 * and cache coherency work exactly as for the native ioctls.
 *
 * What type1 offers and this does not (nesting) is refused the way type1
 * refuses what it does not know: EINVAL for a flag, ENOTTY for an ioctl,
 * ENODEV for an IOMMU type.  VFIO_UPDATE_VADDR, the live update of type1,
 * is offered (owner.c), and so is its dirty tracking (dirty.c): in the
 * IOMMUs when every domain of the container can track, else every mapped
 * page reported dirty, as type1 reports them.  Where upstream type1 has
 * since changed an answer, this gives the new one: EOVERFLOW for a range
 * that wraps.  Unlike type1 there is no small limit on the number of
 * mappings: the context's max_mappings, and RLIMIT_MEMLOCK, bound them.
 *
 * The container's IOASID reserves, from VFIO_SET_IOMMU on, what each of
 * its groups cannot use (reserved regions, what lies outside the IOMMU's
 * aperture), so that VFIO_IOMMU_GET_INFO and VFIO_IOMMU_MAP_DMA answer
 * as type1 does before any device is open, as QEMU and DPDK call them.
 */
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/ioasid.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "ioasid_private.h"

void ioasid_vfio_init(struct ioasid_ctx *ctx)
{
	mutex_init(&ctx->vfio.lock);
	INIT_LIST_HEAD(&ctx->vfio.groups);
}

void ioasid_vfio_destroy(struct ioasid_ctx *ctx)
{
	mutex_destroy(&ctx->vfio.lock);
}

/**
 * struct ioasid_vfio_group - a VFIO group whose container a context is
 * @link: In &struct ioasid_vfio.groups
 * @group: Its IOMMU group, with a reference
 * @pgsizes: The IOPTE sizes a domain for its devices has
 * @aperture_start: The first IOVA such a domain translates
 * @aperture_last: The last one
 *
 * It owns the ranges it reserves in the container's IOASID from
 * VFIO_SET_IOMMU on, so that the container answers and maps as type1
 * does before any device of the group is open.
 */
struct ioasid_vfio_group {
	struct list_head link;
	struct iommu_group *group;
	u64 pgsizes;
	u64 aperture_start;
	u64 aperture_last;
};

static int ioasid_vfio_first_dev(struct device *dev, void *data)
{
	*(struct device **)data = get_device(dev);
	return 1;
}

/* What a domain for the devices of @group would translate. */
static int ioasid_vfio_group_probe(struct ioasid_vfio_group *vg)
{
	struct device *dev = NULL;
	int rc;

	iommu_group_for_each_dev(vg->group, &dev, ioasid_vfio_first_dev);
	if (!dev)
		return -ENODEV;
	rc = -ENODEV;
	if (ioasid_dev_has_iommu(dev))
		rc = ioasid_domain_probe(dev, &vg->pgsizes,
					 &vg->aperture_start,
					 &vg->aperture_last);
	put_device(dev);
	return rc;
}

/* Reserve in @space what the devices of @vg cannot use. */
static int ioasid_vfio_reserve(struct ioasid_space *space,
			       struct ioasid_vfio_group *vg)
{
	int rc;

	guard(rwsem_write)(&space->lock);
	rc = ioasid_reserve_group(space, vg, vg->group);
	if (!rc)
		rc = ioasid_reserve_outside(space, vg, vg->aperture_start,
					    vg->aperture_last);
	if (rc)
		ioasid_unreserve(space, vg);
	return rc;
}

static void ioasid_vfio_unreserve(struct ioasid_space *space,
				  struct ioasid_vfio_group *vg)
{
	guard(rwsem_write)(&space->lock);
	ioasid_unreserve(space, vg);
}

/*
 * The devices of an emulated group (mediated devices) have no IOMMU:
 * their drivers reach the container's IOASID through accesses, and the
 * group constrains neither the page sizes nor the aperture.
 */
static void ioasid_vfio_group_emulated(struct ioasid_vfio_group *vg)
{
	vg->pgsizes = PAGE_MASK;
	vg->aperture_start = 0;
	vg->aperture_last = ULONG_MAX;
}

static int ioasid_vfio_container_add(struct file *file,
				     struct iommu_group *group, bool emulated)
{
	struct ioasid_ctx *ctx = ioasid_ctx_from_file(file);
	struct ioasid_vfio_group *vg;
	int rc = 0;

	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	vg = kzalloc(sizeof(*vg), IOASID_GFP);
	if (!vg)
		return -ENOMEM;
	vg->group = group;
	if (emulated)
		ioasid_vfio_group_emulated(vg);
	else
		rc = ioasid_vfio_group_probe(vg);
	if (rc)
		goto err_free;

	mutex_lock(&ctx->vfio.lock);
	if (ctx->vfio.space) {
		/* As type1: no attach while a user address is missing. */
		rc = ioasid_space_vaddr_invalid(ctx->vfio.space) ? -EBUSY :
		     ioasid_vfio_reserve(ctx->vfio.space, vg);
		if (rc) {
			mutex_unlock(&ctx->vfio.lock);
			goto err_free;
		}
	}
	iommu_group_ref_get(group);
	list_add_tail(&vg->link, &ctx->vfio.groups);
	mutex_unlock(&ctx->vfio.lock);
	return 0;

err_free:
	kfree(vg);
	return rc == -EADDRINUSE ? -EINVAL : rc;
}

/**
 * ioasid_vfio_container_add_group - a VFIO group takes a context as its
 *                                   container
 * @file: The file given to VFIO_GROUP_SET_CONTAINER; VFIO holds a
 *        reference on it until ioasid_vfio_container_remove_group()
 * @group: The IOMMU group of the VFIO group
 *
 * Once the container has its IOMMU type, the group's reserved regions
 * and what lies outside its IOMMU's aperture are reserved in the
 * container's IOASID, as type1 refuses them from then on.
 *
 * Context: Process context, with the VFIO group's lock held.
 * Return: 0, -EBADFD if @file is not a /dev/ioasid file, -ENODEV if no
 * IOMMU translates the group's devices, -EINVAL if the container maps
 * what the group cannot use (type1's answer), -EBUSY while a mapping has
 * no user address (VFIO_DMA_UNMAP_FLAG_VADDR, as type1), or -ENOMEM.
 */
int ioasid_vfio_container_add_group(struct file *file,
				    struct iommu_group *group)
{
	return ioasid_vfio_container_add(file, group, false);
}
EXPORT_SYMBOL_NS_GPL(ioasid_vfio_container_add_group, IOASID);

/**
 * ioasid_vfio_container_add_emulated - a VFIO group of emulated devices
 *                                      takes a context as its container
 * @file: As for ioasid_vfio_container_add_group()
 * @group: The IOMMU group VFIO made for the emulated devices
 *
 * As ioasid_vfio_container_add_group(), for a group whose devices no
 * IOMMU translates, as VFIO type1 takes them: each device's driver
 * reaches the container's IOASID through an access
 * (ioasid_vfio_container_attach_access()).
 *
 * Context: Process context, with the VFIO group's lock held.
 * Return: 0, -EBADFD if @file is not a /dev/ioasid file, -EBUSY while a
 * mapping has no user address, or -ENOMEM.
 */
int ioasid_vfio_container_add_emulated(struct file *file,
				       struct iommu_group *group)
{
	return ioasid_vfio_container_add(file, group, true);
}
EXPORT_SYMBOL_NS_GPL(ioasid_vfio_container_add_emulated, IOASID);

/**
 * ioasid_vfio_container_remove_group - a VFIO group leaves its container
 * @file: The file given to ioasid_vfio_container_add_group()
 * @group: The IOMMU group given with it
 *
 * As with type1, the last group to leave takes the container's IOMMU
 * setting and its mappings with it.  If a native user still holds the
 * container's IOASID, the IOASID stays, as an ordinary one.
 *
 * Context: Process context, with the VFIO group's lock held; none of the
 * group's devices is open.
 */
void ioasid_vfio_container_remove_group(struct file *file,
					struct iommu_group *group)
{
	struct ioasid_ctx *ctx = file->private_data;
	struct ioasid_space *space = NULL;
	struct ioasid_vfio_group *vg;

	scoped_guard(mutex, &ctx->vfio.lock) {
		list_for_each_entry(vg, &ctx->vfio.groups, link)
			if (vg->group == group)
				break;
		if (ctx->vfio.space)
			ioasid_vfio_unreserve(ctx->vfio.space, vg);
		list_del(&vg->link);
		if (list_empty(&ctx->vfio.groups)) {
			space = ctx->vfio.space;
			ctx->vfio.space = NULL;
			ctx->vfio.type = 0;
		}
	}
	iommu_group_put(vg->group);
	kfree(vg);
	if (space)
		ioasid_object_put_destroy(ctx, &space->obj);
}
EXPORT_SYMBOL_NS_GPL(ioasid_vfio_container_remove_group, IOASID);

/* The container's IOASID for the length of a call; false before SET_IOMMU. */
static bool ioasid_vfio_call_get(struct ioasid_ctx *ctx,
				 struct ioasid_vfio_call *call)
{
	struct ioasid_vfio_group *vg;

	guard(mutex)(&ctx->vfio.lock);
	call->space = ctx->vfio.space;
	if (!call->space)
		return false;
	/* For the call; the container's reference keeps it published. */
	ioasid_object_hold(&call->space->obj);
	call->type = ctx->vfio.type;
	call->pgsizes = ioasid_domains_pgsizes(call->space);
	list_for_each_entry(vg, &ctx->vfio.groups, link)
		call->pgsizes &= vg->pgsizes;
	return true;
}

/**
 * ioasid_vfio_container_attach - attach a device to its container's IOASID
 * @idev: A device of a group whose container is the context, just bound
 *        by VFIO_GROUP_GET_DEVICE_FD
 *
 * Context: Process context, with the VFIO group and device set locks held.
 * Return: 0, -EINVAL before VFIO_SET_IOMMU, as type1, or an error of
 * ioasid_device_attach().
 */
int ioasid_vfio_container_attach(struct ioasid_device *idev)
{
	struct ioasid_vfio_call call;
	int rc;

	if (!ioasid_vfio_call_get(idev->ctx, &call))
		return -EINVAL;
	rc = ioasid_device_attach_space(idev, call.space);
	ioasid_space_put(call.space);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(ioasid_vfio_container_attach, IOASID);

/**
 * ioasid_vfio_container_attach_access - attach an emulated device's
 *                                       access to its container's IOASID
 * @access: The access of a device of an emulated group whose container is
 *          the context, just created by VFIO_GROUP_GET_DEVICE_FD
 *
 * Context: Process context, with the VFIO group and device set locks held.
 * Return: 0, -EINVAL before VFIO_SET_IOMMU, as type1, or an error of
 * ioasid_access_attach().
 */
int ioasid_vfio_container_attach_access(struct ioasid_access *access)
{
	struct ioasid_vfio_call call;
	int rc;

	if (!ioasid_vfio_call_get(access->ctx, &call))
		return -EINVAL;
	rc = ioasid_access_attach_space(access, call.space);
	ioasid_space_put(call.space);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(ioasid_vfio_container_attach_access, IOASID);

static int ioasid_vfio_cache_coherent(struct ioasid_ctx *ctx)
{
	struct ioasid_coherency coherency = {};
	struct ioasid_vfio_call call;

	if (!ioasid_vfio_call_get(ctx, &call))
		return 0;
	ioasid_space_coherency(call.space, &coherency);
	ioasid_space_put(call.space);
	return !coherency.out_noncoherent_domains;
}

static bool ioasid_vfio_has_iommu(struct ioasid_ctx *ctx)
{
	guard(mutex)(&ctx->vfio.lock);
	return ctx->vfio.space;
}

static long ioasid_vfio_check_extension(struct ioasid_ctx *ctx,
					unsigned long ext)
{
	switch (ext) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_UPDATE_VADDR:
		/* As type1: only an IOMMU that is set has addresses to update. */
		return ioasid_vfio_has_iommu(ctx);
	case VFIO_DMA_CC_IOMMU:
		/* Whether every domain in use blocks no-snoop DMA now. */
		return ioasid_vfio_cache_coherent(ctx);
	}
	return 0;
}

/* Reserve what each group of the container cannot use, or nothing. */
static int ioasid_vfio_reserve_all(struct ioasid_ctx *ctx,
				   struct ioasid_space *space)
{
	struct ioasid_vfio_group *vg, *undo;
	int rc;

	lockdep_assert_held(&ctx->vfio.lock);

	list_for_each_entry(vg, &ctx->vfio.groups, link) {
		rc = ioasid_vfio_reserve(space, vg);
		if (rc)
			goto err_undo;
	}
	return 0;

err_undo:
	list_for_each_entry(undo, &ctx->vfio.groups, link) {
		if (undo == vg)
			break;
		ioasid_vfio_unreserve(space, undo);
	}
	return rc;
}

static int ioasid_vfio_set_iommu(struct ioasid_ctx *ctx, unsigned long type)
{
	struct ioasid_space *space;
	int rc;

	guard(mutex)(&ctx->vfio.lock);
	if (list_empty(&ctx->vfio.groups) || ctx->vfio.space)
		return -EINVAL;
	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -ENODEV;
	/* Charged to the caller's locked_vm, as type1 charges it. */
	space = ioasid_space_create(ctx, IOASID_ACCOUNT_MM_LOCKED, false);
	if (IS_ERR(space))
		return PTR_ERR(space);
	/* An empty IOASID: only memory can fail this. */
	rc = ioasid_vfio_reserve_all(ctx, space);
	if (rc) {
		ioasid_object_abort(ctx, &space->obj);
		return rc;
	}
	/* The container's long-term reference, besides the registry's. */
	refcount_inc(&space->obj.users);
	ioasid_object_publish(ctx, &space->obj);
	ctx->vfio.space = space;
	ctx->vfio.type = type;
	return 0;
}

/*
 * Build the capability chain of VFIO_IOMMU_GET_INFO, laid out to follow
 * the info struct: the usable IOVA ranges, then the mappings available.
 * Each capability starts 8-byte aligned, as VFIO aligns them.
 */
static void *ioasid_vfio_info_caps(struct ioasid_vfio_call *call,
				   size_t *size)
{
	struct vfio_iommu_type1_info_cap_iova_range *iova_cap;
	struct vfio_iommu_type1_info_cap_migration *mig_cap;
	struct vfio_iommu_type1_info_dma_avail *avail_cap;
	size_t next = sizeof(struct vfio_iommu_type1_info);
	struct ioasid_iova_range *ranges;
	size_t iova_size;
	void *buf;
	u32 i, n;

	ranges = ioasid_space_ranges(call->space, &n);
	if (IS_ERR(ranges))
		return ranges;
	iova_size = ALIGN(struct_size(iova_cap, iova_ranges, n), 8);
	*size = iova_size + ALIGN(sizeof(*mig_cap), 8) +
		ALIGN(sizeof(*avail_cap), 8);
	buf = kzalloc(*size, IOASID_GFP);
	if (!buf) {
		buf = ERR_PTR(-ENOMEM);
		goto out_free;
	}

	/* In type1's order: ranges, migration, DMA mappings available. */
	iova_cap = buf;
	iova_cap->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
	iova_cap->header.version = 1;
	next += iova_size;
	iova_cap->header.next = next;
	iova_cap->nr_iovas = n;
	for (i = 0; i < n; i++)
		iova_cap->iova_ranges[i] = (struct vfio_iova_range) {
			.start = ranges[i].start, .end = ranges[i].last,
		};

	mig_cap = buf + iova_size;
	mig_cap->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION;
	mig_cap->header.version = 1;
	next += ALIGN(sizeof(*mig_cap), 8);
	mig_cap->header.next = next;
	mig_cap->pgsize_bitmap = ioasid_vfio_dirty_pgsize(call);
	/* The largest bitmap an unmap fills; reads take larger ones. */
	mig_cap->max_dirty_bitmap_size = IOASID_UNMAP_DIRTY_BITMAP_MAX;

	avail_cap = (void *)mig_cap + ALIGN(sizeof(*mig_cap), 8);
	avail_cap->header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
	avail_cap->header.version = 1;
	avail_cap->avail = U32_MAX;
out_free:
	kvfree(ranges);
	return buf;
}

static int ioasid_vfio_get_info(struct ioasid_vfio_call *call,
				void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	size_t capsz = offsetofend(struct vfio_iommu_type1_info, cap_offset);
	struct vfio_iommu_type1_info info;
	size_t caps_size;
	void *caps;
	int rc = 0;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	/* A caller that knows cap_offset gets it back. */
	if (info.argsz >= capsz) {
		minsz = capsz;
		info.cap_offset = 0;
	}
	info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	info.iova_pgsizes = call->pgsizes;

	caps = ioasid_vfio_info_caps(call, &caps_size);
	if (IS_ERR(caps))
		return PTR_ERR(caps);
	/* Too small for the capabilities: say how much is needed. */
	if (info.argsz < sizeof(info) + caps_size) {
		info.argsz = sizeof(info) + caps_size;
	} else {
		if (copy_to_user(uarg + sizeof(info), caps, caps_size))
			rc = -EFAULT;
		info.cap_offset = sizeof(info);
	}
	kfree(caps);
	if (!rc && copy_to_user(uarg, &info, minsz))
		rc = -EFAULT;
	return rc;
}

/**
 * ioasid_vfio_ioctl - the VFIO container ioctls of a context
 * @ctx: The context
 * @cmd: A VFIO ioctl number
 * @arg: Its argument
 *
 * Return: what VFIO type1 would return.
 */
long ioasid_vfio_ioctl(struct ioasid_ctx *ctx, unsigned int cmd,
		       unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct ioasid_vfio_call call;
	long rc;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return ioasid_vfio_check_extension(ctx, arg);
	case VFIO_SET_IOMMU:
		return ioasid_vfio_set_iommu(ctx, arg);
	case VFIO_IOMMU_GET_INFO:
	case VFIO_IOMMU_MAP_DMA:
	case VFIO_IOMMU_UNMAP_DMA:
	case VFIO_IOMMU_DIRTY_PAGES:
		break;
	default:
		/* Any VFIO number we do not serve. */
		return -ENOTTY;
	}

	/* A container without an IOMMU type answers EINVAL, as VFIO's. */
	if (!ioasid_vfio_call_get(ctx, &call))
		return -EINVAL;
	switch (cmd) {
	case VFIO_IOMMU_GET_INFO:
		rc = ioasid_vfio_get_info(&call, uarg);
		break;
	case VFIO_IOMMU_MAP_DMA:
		rc = ioasid_vfio_map_dma(&call, uarg);
		break;
	case VFIO_IOMMU_DIRTY_PAGES:
		rc = ioasid_vfio_dirty_pages(&call, uarg);
		break;
	default:
		rc = ioasid_vfio_unmap_dma(&call, uarg);
	}
	ioasid_space_put(call.space);
	return rc;
}

/**
 * ioasid_vfio_show_fdinfo - the container state, in /proc/PID/fdinfo
 * @ctx: The context
 * @m: The fdinfo file
 *
 * Lets an administrator see which VMM uses /dev/ioasid as its VFIO
 * container, and how.
 */
void ioasid_vfio_show_fdinfo(struct ioasid_ctx *ctx, struct seq_file *m)
{
	const char *type = "none";

	guard(mutex)(&ctx->vfio.lock);
	if (ctx->vfio.type == VFIO_TYPE1_IOMMU)
		type = "type1";
	else if (ctx->vfio.type == VFIO_TYPE1v2_IOMMU)
		type = "type1v2";
	seq_printf(m, "ioasid-vfio-container:\t%s\n", type);
	seq_printf(m, "ioasid-vfio-groups:\t%zu\n",
		   list_count_nodes(&ctx->vfio.groups));
	if (ctx->vfio.space)
		seq_printf(m, "ioasid-vfio-ioasid:\t%u\n",
			   ctx->vfio.space->obj.id);
}
