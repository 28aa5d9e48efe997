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
 * What type1 offers and this does not (dirty tracking, updating the user
 * address of a mapping, nesting) is refused the way type1 refuses what it
 * does not know: EINVAL for a flag, ENOTTY for an ioctl, ENODEV for an
 * IOMMU type.  Unlike type1 there is no limit on the number of mappings
 * besides RLIMIT_MEMLOCK.
 */
#include <linux/ioasid.h>
#include <linux/overflow.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "ioasid_private.h"

void ioasid_vfio_init(struct ioasid_ctx *ctx)
{
	mutex_init(&ctx->vfio.lock);
}

void ioasid_vfio_destroy(struct ioasid_ctx *ctx)
{
	mutex_destroy(&ctx->vfio.lock);
}

/**
 * ioasid_vfio_container_add_group - a VFIO group takes a context as its
 *                                   container
 * @file: The file given to VFIO_GROUP_SET_CONTAINER; VFIO holds a
 *        reference on it until ioasid_vfio_container_remove_group()
 *
 * Context: Process context, with the VFIO group's lock held.
 * Return: 0, or -EBADFD if @file is not a /dev/ioasid file.
 */
int ioasid_vfio_container_add_group(struct file *file)
{
	struct ioasid_ctx *ctx = ioasid_ctx_from_file(file);

	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	guard(mutex)(&ctx->vfio.lock);
	ctx->vfio.groups++;
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ioasid_vfio_container_add_group, IOASID);

/**
 * ioasid_vfio_container_remove_group - a VFIO group leaves its container
 * @file: The file given to ioasid_vfio_container_add_group()
 *
 * As with type1, the last group to leave takes the container's IOMMU
 * setting and its mappings with it.  If a native user still holds the
 * container's IOASID, the IOASID stays, as an ordinary one.
 *
 * Context: Process context, with the VFIO group's lock held; none of the
 * group's devices is open.
 */
void ioasid_vfio_container_remove_group(struct file *file)
{
	struct ioasid_ctx *ctx = file->private_data;
	struct ioasid_space *space;

	scoped_guard(mutex, &ctx->vfio.lock) {
		if (--ctx->vfio.groups)
			return;
		space = ctx->vfio.space;
		ctx->vfio.space = NULL;
		ctx->vfio.type = 0;
	}
	if (space)
		ioasid_object_put_destroy(ctx, &space->obj);
}
EXPORT_SYMBOL_NS_GPL(ioasid_vfio_container_remove_group, IOASID);

/* The container's IOASID, for the length of a call, and its IOMMU type. */
static struct ioasid_space *ioasid_vfio_space_get(struct ioasid_ctx *ctx,
						  unsigned int *type)
{
	struct ioasid_space *space;

	guard(mutex)(&ctx->vfio.lock);
	space = ctx->vfio.space;
	if (space) {
		/* For the call; the container's reference keeps it published. */
		atomic_inc(&space->obj.shortterm);
		*type = ctx->vfio.type;
	}
	return space;
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
	struct ioasid_space *space;
	unsigned int type;
	int rc;

	space = ioasid_vfio_space_get(idev->ctx, &type);
	if (!space)
		return -EINVAL;
	rc = ioasid_device_attach_space(idev, space);
	ioasid_space_put(space);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(ioasid_vfio_container_attach, IOASID);

static int ioasid_vfio_cache_coherent(struct ioasid_ctx *ctx)
{
	struct ioasid_coherency coherency = {};
	struct ioasid_space *space;
	unsigned int type;

	space = ioasid_vfio_space_get(ctx, &type);
	if (!space)
		return 0;
	ioasid_space_coherency(space, &coherency);
	ioasid_space_put(space);
	return !coherency.out_noncoherent_domains;
}

static long ioasid_vfio_check_extension(struct ioasid_ctx *ctx,
					unsigned long ext)
{
	switch (ext) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		/* Whether every domain in use blocks no-snoop DMA now. */
		return ioasid_vfio_cache_coherent(ctx);
	}
	return 0;
}

static int ioasid_vfio_set_iommu(struct ioasid_ctx *ctx, unsigned long type)
{
	struct ioasid_space *space;

	guard(mutex)(&ctx->vfio.lock);
	if (!ctx->vfio.groups || ctx->vfio.space)
		return -EINVAL;
	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -ENODEV;
	/* Charged to the caller's locked_vm, as type1 charges it. */
	space = ioasid_space_create(ctx, IOASID_ACCOUNT_MM_LOCKED, false);
	if (IS_ERR(space))
		return PTR_ERR(space);
	/* The container's long-term reference, besides the registry's. */
	refcount_inc(&space->obj.users);
	ioasid_object_publish(ctx, &space->obj);
	ctx->vfio.space = space;
	ctx->vfio.type = type;
	return 0;
}

/**
 * struct ioasid_vfio_ranges - the usable IOVA ranges, as VFIO lists them
 * @ranges: The ranges
 * @n: How many @ranges holds
 * @cap: Room in @ranges
 */
struct ioasid_vfio_ranges {
	struct vfio_iova_range *ranges;
	u32 n;
	u32 cap;
};

static int ioasid_vfio_add_range(void *arg, unsigned long start,
				 unsigned long last)
{
	struct ioasid_vfio_ranges *r = arg;
	struct vfio_iova_range *grown;

	if (r->n == r->cap) {
		grown = krealloc_array(r->ranges, r->cap * 2 + 4,
				       sizeof(*grown), IOASID_GFP);
		if (!grown)
			return -ENOMEM;
		r->ranges = grown;
		r->cap = r->cap * 2 + 4;
	}
	r->ranges[r->n++] = (struct vfio_iova_range) {
		.start = start, .end = last,
	};
	return 0;
}

/*
 * Build the capability chain of VFIO_IOMMU_GET_INFO, laid out to follow
 * the info struct: the usable IOVA ranges, then the mappings available.
 * Each capability starts 8-byte aligned, as VFIO aligns them.
 */
static void *ioasid_vfio_info_caps(struct ioasid_space *space, size_t *size)
{
	struct vfio_iommu_type1_info_cap_iova_range *iova_cap;
	struct vfio_iommu_type1_info_dma_avail *avail_cap;
	struct ioasid_vfio_ranges r = {};
	size_t iova_size;
	void *buf;
	int rc;

	rc = ioasid_space_walk_ranges(space, ioasid_vfio_add_range, &r);
	if (rc)
		goto out_free;
	iova_size = ALIGN(struct_size(iova_cap, iova_ranges, r.n), 8);
	*size = iova_size + ALIGN(sizeof(*avail_cap), 8);
	buf = kzalloc(*size, IOASID_GFP);
	if (!buf) {
		rc = -ENOMEM;
		goto out_free;
	}

	iova_cap = buf;
	iova_cap->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
	iova_cap->header.version = 1;
	iova_cap->header.next = sizeof(struct vfio_iommu_type1_info) +
				iova_size;
	iova_cap->nr_iovas = r.n;
	memcpy(iova_cap->iova_ranges, r.ranges, r.n * sizeof(*r.ranges));

	avail_cap = buf + iova_size;
	avail_cap->header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
	avail_cap->header.version = 1;
	avail_cap->avail = U32_MAX;
	kfree(r.ranges);
	return buf;

out_free:
	kfree(r.ranges);
	return ERR_PTR(rc);
}

static int ioasid_vfio_get_info(struct ioasid_space *space, void __user *uarg)
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
	info.iova_pgsizes = ioasid_domains_pgsizes(space);

	caps = ioasid_vfio_info_caps(space, &caps_size);
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

static int ioasid_vfio_map_dma(struct ioasid_space *space, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	unsigned long align = ioasid_domains_iova_alignment(space);
	struct vfio_iommu_type1_dma_map map;
	u32 flags = IOASID_MAP_FIXED_IOVA;
	struct ioasid_pages *pages;
	u64 iova, last;
	int rc;

	if (copy_from_user(&map, uarg, minsz))
		return -EFAULT;
	/* No VFIO_DMA_MAP_FLAG_VADDR: a mapping's user address is fixed. */
	if (map.argsz < minsz ||
	    map.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		flags |= IOASID_MAP_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		flags |= IOASID_MAP_WRITE;
	if (!(flags & (IOASID_MAP_READ | IOASID_MAP_WRITE)))
		return -EINVAL;
	if (!map.size || (map.size | map.iova | map.vaddr) & (align - 1))
		return -EINVAL;
	if (check_add_overflow(map.iova, map.size - 1, &last) ||
	    check_add_overflow(map.vaddr, map.size - 1, &last))
		return -EINVAL;

	iova = map.iova;
	pages = ioasid_space_map(space, NULL, map.vaddr, map.size, flags, &iova);
	if (IS_ERR(pages)) {
		rc = PTR_ERR(pages);
		/* type1 answers EINVAL for an IOVA it cannot use. */
		return rc == -EADDRNOTAVAIL ? -EINVAL : rc;
	}
	return 0;
}

static int ioasid_vfio_unmap_dma(struct ioasid_space *space,
				 unsigned int type, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap __user *uunmap = uarg;
	unsigned long align = ioasid_domains_iova_alignment(space);
	struct vfio_iommu_type1_dma_unmap unmap;
	enum ioasid_unmap_rule rule = IOASID_UNMAP_VFIO_V1;
	u64 last, unmapped;
	int rc;

	if (copy_from_user(&unmap, uarg, minsz))
		return -EFAULT;
	/* No dirty bitmap and no VFIO_DMA_UNMAP_FLAG_VADDR. */
	if (unmap.argsz < minsz || unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;
	if (unmap.iova & (align - 1))
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			return -EINVAL;
		last = U64_MAX;
	} else if (!unmap.size || unmap.size & (align - 1) ||
		   check_add_overflow(unmap.iova, unmap.size - 1, &last)) {
		return -EINVAL;
	}
	/* Unmapping cannot be undone: the answer must fit before it. */
	if (put_user(unmap.size, &uunmap->size))
		return -EFAULT;

	/* v2 never cuts a mapping; with everything in range, neither does v1. */
	if (type == VFIO_TYPE1v2_IOMMU ||
	    (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL))
		rule = IOASID_UNMAP_EXACT;
	rc = ioasid_space_unmap(space, unmap.iova, last, rule, &unmapped);
	/* An empty range is a success of size 0 for both. */
	if (rc == -ENOENT)
		rc = 0;
	if (rc)
		return rc;
	unmap.size = unmapped;
	return copy_to_user(uarg, &unmap, minsz) ? -EFAULT : 0;
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
	struct ioasid_space *space;
	unsigned int type;
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
		break;
	default:
		/* Dirty tracking, and any VFIO number we do not serve. */
		return -ENOTTY;
	}

	/* A container without an IOMMU type answers EINVAL, as VFIO's. */
	space = ioasid_vfio_space_get(ctx, &type);
	if (!space)
		return -EINVAL;
	switch (cmd) {
	case VFIO_IOMMU_GET_INFO:
		rc = ioasid_vfio_get_info(space, uarg);
		break;
	case VFIO_IOMMU_MAP_DMA:
		rc = ioasid_vfio_map_dma(space, uarg);
		break;
	default:
		rc = ioasid_vfio_unmap_dma(space, type, uarg);
	}
	ioasid_space_put(space);
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
	seq_printf(m, "ioasid-vfio-groups:\t%u\n", ctx->vfio.groups);
	if (ctx->vfio.space)
		seq_printf(m, "ioasid-vfio-ioasid:\t%u\n",
			   ctx->vfio.space->obj.id);
}
