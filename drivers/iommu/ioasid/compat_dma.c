// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO container compatibility: the DMA ioctls of a container,
 * VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA and VFIO_IOMMU_DIRTY_PAGES,
 * with type1's rules: its alignment, its v1 and v2 unmap rules, its
 * live update of user addresses and its dirty bitmaps.
 */
#include <linux/file.h>
#include <linux/ioasid.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "ioasid_private.h"

/*
 * What a mapping's IOVA, size and user address align to: the smallest
 * IOPTE every domain of the container has, or will have.
 */
static unsigned long ioasid_vfio_alignment(struct ioasid_vfio_call *call)
{
	return max(ioasid_domains_iova_alignment(call->space),
		   1UL << __ffs64(call->pgsizes));
}

/*
 * The file and offset behind @size bytes at @vaddr, if they lie in one
 * mapping of a file's I/O memory (VM_IO or VM_PFNMAP), as VFIO's mmap of
 * a BAR is; NULL otherwise.  The file has a reference for the caller.
 */
static struct file *ioasid_vfio_io_file(u64 vaddr, u64 size, u64 *offset)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct file *file = NULL;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, vaddr);
	if (vma && vma->vm_file && (vma->vm_flags & (VM_IO | VM_PFNMAP)) &&
	    size <= vma->vm_end - vaddr) {
		*offset = ((u64)vma->vm_pgoff << PAGE_SHIFT) +
			  (vaddr - vma->vm_start);
		file = get_file(vma->vm_file);
	}
	mmap_read_unlock(mm);
	return file;
}

/*
 * Memory that cannot be pinned may be a BAR a VMM mmapped from a VFIO
 * device file, as QEMU maps every assigned device's BARs for peer to peer
 * DMA: map the device memory behind it, revoked and restored with the
 * device (see dmem.c), never the raw PFNs behind the VMA.  Any other I/O
 * memory stays EFAULT.
 */
static int ioasid_vfio_map_bar(struct ioasid_vfio_call *call, u64 vaddr,
			       u64 size, u32 flags, u64 *iova)
{
	struct file *file;
	u64 offset, seq;
	int rc;

	file = ioasid_vfio_io_file(vaddr, size, &offset);
	if (!file)
		return -EFAULT;
	rc = ioasid_space_map(call->space, file, offset, size, flags, iova,
			      &seq);
	fput(file);
	/* Not device memory after all: what the pin said. */
	return rc == -ENODEV ? -EFAULT : rc;
}

int ioasid_vfio_map_dma(struct ioasid_vfio_call *call, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	unsigned long align = ioasid_vfio_alignment(call);
	struct vfio_iommu_type1_dma_map map;
	u32 flags = IOASID_MAP_FIXED_IOVA;
	u64 iova, last, seq;
	int rc;

	if (copy_from_user(&map, uarg, minsz))
		return -EFAULT;
	if (map.argsz < minsz ||
	    map.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			  VFIO_DMA_MAP_FLAG_VADDR))
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		flags |= IOASID_MAP_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		flags |= IOASID_MAP_WRITE;
	/* A new user address names no access; a new mapping must. */
	if (!(flags & (IOASID_MAP_READ | IOASID_MAP_WRITE)) ==
	    !(map.flags & VFIO_DMA_MAP_FLAG_VADDR))
		return -EINVAL;
	if (!map.size || (map.size | map.iova | map.vaddr) & (align - 1))
		return -EINVAL;
	/* Upstream type1 says EOVERFLOW for a range that wraps, since 6.18. */
	if (check_add_overflow(map.vaddr, map.size - 1, &last) ||
	    check_add_overflow(map.iova, map.size - 1, &last))
		return -EOVERFLOW;

	if (map.flags & VFIO_DMA_MAP_FLAG_VADDR)
		return ioasid_space_update_vaddr(call->space, map.iova, last);

	iova = map.iova;
	rc = ioasid_space_map(call->space, NULL, map.vaddr, map.size, flags,
			      &iova, &seq);
	if (rc == -EFAULT)
		rc = ioasid_vfio_map_bar(call, map.vaddr, map.size, flags,
					 &iova);
	/* type1 answers EINVAL for an IOVA it cannot use. */
	return rc == -EADDRNOTAVAIL ? -EINVAL : rc;
}

/*
 * Whether @bitmap counts [iova, iova + @size) as type1's must: one bit
 * per smallest IOPTE, all of them held.
 */
static bool ioasid_vfio_bitmap_fits(struct ioasid_vfio_call *call,
				    const struct vfio_bitmap *bitmap, u64 size)
{
	return bitmap->pgsize == ioasid_vfio_dirty_pgsize(call) && size &&
	       bitmap->size >= BITS_TO_U64(size / bitmap->pgsize) * 8;
}

/*
 * Check the bitmap of an unmap of [iova, iova + size), as type1 does:
 * the container tracks, and @bitmap fits.
 */
static int ioasid_vfio_check_bitmap(struct ioasid_vfio_call *call,
				    struct vfio_bitmap *bitmap, u64 iova,
				    u64 size)
{
	if (!ioasid_vfio_bitmap_fits(call, bitmap, size) ||
	    ioasid_space_dirty(call->space) == IOASID_DIRTY_OFF)
		return -EINVAL;
	return ioasid_dirty_check(iova, size, bitmap->pgsize,
				  (u64)(uintptr_t)bitmap->data,
				  IOASID_UNMAP_DIRTY_BITMAP_MAX * BITS_PER_BYTE);
}

/* VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP: a v2 unmap that reads first. */
static int ioasid_vfio_unmap_dirty(struct ioasid_vfio_call *call,
				   void __user *uarg,
				   struct vfio_iommu_type1_dma_unmap *unmap,
				   u64 *unmapped)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_bitmap bitmap;
	int rc;

	if (unmap->flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR))
		return -EINVAL;
	if (unmap->argsz < minsz + sizeof(bitmap))
		return -EINVAL;
	if (copy_from_user(&bitmap, uarg + minsz, sizeof(bitmap)))
		return -EFAULT;
	rc = ioasid_vfio_check_bitmap(call, &bitmap, unmap->iova, unmap->size);
	if (rc)
		return rc;
	rc = ioasid_space_unmap_dirty(call->space, unmap->iova, unmap->size,
				      bitmap.pgsize, (u64)(uintptr_t)bitmap.data,
				      unmapped);
	/* Stopped since the check: type1 says EINVAL for not tracking. */
	return rc == -ENODATA ? -EINVAL : rc;
}

int ioasid_vfio_unmap_dma(struct ioasid_vfio_call *call, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap __user *uunmap = uarg;
	unsigned long align = ioasid_vfio_alignment(call);
	struct vfio_iommu_type1_dma_unmap unmap;
	enum ioasid_unmap_rule rule = IOASID_UNMAP_VFIO_V1;
	u64 last, unmapped;
	int rc;

	if (copy_from_user(&unmap, uarg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz ||
	    unmap.flags & ~(VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR |
			    VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP))
		return -EINVAL;
	if (unmap.iova & (align - 1))
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			return -EINVAL;
		last = U64_MAX;
	} else if (!unmap.size || unmap.size & (align - 1)) {
		return -EINVAL;
	} else if (check_add_overflow(unmap.iova, unmap.size - 1, &last)) {
		return -EOVERFLOW;
	}
	/* Unmapping cannot be undone: the answer must fit before it. */
	if (put_user(unmap.size, &uunmap->size))
		return -EFAULT;

	/* v2 never cuts a mapping; with everything in range, neither does v1. */
	if (call->type == VFIO_TYPE1v2_IOMMU ||
	    (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL))
		rule = IOASID_UNMAP_EXACT;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)
		rc = ioasid_vfio_unmap_dirty(call, uarg, &unmap, &unmapped);
	else if (unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR)
		rc = ioasid_space_invalidate_vaddr(call->space, unmap.iova, last,
						   rule, &unmapped);
	else
		rc = ioasid_space_unmap(call->space, unmap.iova, last, rule,
					&unmapped);
	/* An empty range is a success of size 0 for both. */
	if (rc == -ENOENT)
		rc = 0;
	if (rc)
		return rc;
	unmap.size = unmapped;
	return copy_to_user(uarg, &unmap, minsz) ? -EFAULT : 0;
}

/*
 * Start tracking in the IOMMUs if every domain of the container can, else
 * report every mapped page dirty, as type1 does where it cannot track.
 */
static int ioasid_vfio_dirty_start(struct ioasid_vfio_call *call)
{
	int rc;

	if (ioasid_space_dirty(call->space) != IOASID_DIRTY_OFF)
		return 0;
	/* Without a domain, a device attached later could never track. */
	if (ioasid_domains_empty(call->space))
		return ioasid_space_set_dirty(call->space, IOASID_DIRTY_ALL);
	rc = ioasid_space_set_dirty(call->space, IOASID_DIRTY_IOMMU);
	if (rc == -EOPNOTSUPP)
		rc = ioasid_space_set_dirty(call->space, IOASID_DIRTY_ALL);
	return rc;
}

/*
 * Type1's GET_BITMAP: one bit per smallest IOPTE, over a range that cuts
 * no mapping.
 */
static int ioasid_vfio_dirty_get(struct ioasid_vfio_call *call,
				 void __user *udata, size_t data_size)
{
	struct vfio_iommu_type1_dirty_bitmap_get range;
	u64 last;
	int rc;

	if (data_size < sizeof(range))
		return -EINVAL;
	if (copy_from_user(&range, udata, sizeof(range)))
		return -EFAULT;
	if (check_add_overflow(range.iova, range.size - 1, &last))
		return -EINVAL;
	if (!ioasid_vfio_bitmap_fits(call, &range.bitmap, range.size) ||
	    range.size / range.bitmap.pgsize > INT_MAX)
		return -EINVAL;
	rc = ioasid_dirty_check(range.iova, range.size, range.bitmap.pgsize,
				(u64)(uintptr_t)range.bitmap.data,
				IOASID_DIRTY_BITMAP_MAX_BITS);
	if (rc)
		return rc;
	if (ioasid_space_dirty(call->space) == IOASID_DIRTY_OFF ||
	    ioasid_space_cuts_mapping(call->space, range.iova, last))
		return -EINVAL;
	rc = ioasid_space_read_dirty(call->space, range.iova, range.size,
				     range.bitmap.pgsize,
				     (u64)(uintptr_t)range.bitmap.data, false);
	return rc == -ENODATA ? -EINVAL : rc;
}

/* VFIO_IOMMU_DIRTY_PAGES: one of START, STOP and GET_BITMAP. */
int ioasid_vfio_dirty_pages(struct ioasid_vfio_call *call,
			    void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
	u32 mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
		   VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
		   VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	struct vfio_iommu_type1_dirty_bitmap dirty;

	if (call->type != VFIO_TYPE1v2_IOMMU)
		return -EACCES;
	if (copy_from_user(&dirty, uarg, minsz))
		return -EFAULT;
	if (dirty.argsz < minsz || dirty.flags & ~mask ||
	    hweight32(dirty.flags) != 1)
		return -EINVAL;
	switch (dirty.flags) {
	case VFIO_IOMMU_DIRTY_PAGES_FLAG_START:
		return ioasid_vfio_dirty_start(call);
	case VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP:
		return ioasid_space_set_dirty(call->space, IOASID_DIRTY_OFF);
	default:
		return ioasid_vfio_dirty_get(call, uarg + minsz,
					     dirty.argsz - minsz);
	}
}
