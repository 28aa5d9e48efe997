// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOASID_MAP, IOASID_COPY and IOASID_UNMAP: what user space asks, checked
 * before anything is pinned, and the calls into the mappings of mapping.c.
 */
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/slab.h>

#include <uapi/linux/ioasid.h>

#include "ioasid_private.h"

/**
 * ioasid_map_prot - the IOMMU protection of a map's flags
 * @flags: enum ioasid_map_flags
 *
 * IOMMU_CACHE always: user space has no way to flush CPU caches for a
 * device, so DMA must be cache coherent wherever the IOMMU decides it.
 *
 * Return: IOMMU_CACHE and IOMMU_READ and/or IOMMU_WRITE.
 */
int ioasid_map_prot(u32 flags)
{
	return IOMMU_CACHE | (flags & IOASID_MAP_READ ? IOMMU_READ : 0) |
	       (flags & IOASID_MAP_WRITE ? IOMMU_WRITE : 0);
}

/**
 * ioasid_check_map_flags - checks common to MAP, COPY and their vectors
 * @flags: enum ioasid_map_flags from user space
 * @file: Whether IOASID_MAP_FILE is allowed
 *
 * Return: 0, -EOPNOTSUPP for an unknown flag, -EINVAL for no access.
 */
int ioasid_check_map_flags(u32 flags, bool file)
{
	u32 known = IOASID_MAP_READ | IOASID_MAP_WRITE | IOASID_MAP_FIXED_IOVA;

	if (flags & ~(known | (file ? IOASID_MAP_FILE : 0)))
		return -EOPNOTSUPP;
	if (!(flags & (IOASID_MAP_READ | IOASID_MAP_WRITE)))
		return -EINVAL;
	return 0;
}

static int ioasid_check_map_iova(u32 flags, u64 iova, u64 length)
{
	unsigned long last;

	if (!(flags & IOASID_MAP_FIXED_IOVA))
		return 0;
	return ioasid_check_range(iova, length, &last);
}

/*
 * Refuse a fixed IOVA that is taken before pinning anything: a map that
 * must fail should not pin and charge its memory first.  The check is
 * made again, under the lock, when the mapping is inserted.
 */
static int ioasid_space_precheck_iova(struct ioasid_space *space, u32 flags,
				      u64 iova, u64 length)
{
	int rc;

	if (!(flags & IOASID_MAP_FIXED_IOVA))
		return 0;
	down_read(&space->lock);
	rc = ioasid_space_check_iova(space, iova, iova + length - 1);
	up_read(&space->lock);
	return rc;
}

/**
 * ioasid_space_pin - pin and charge the memory of a map
 * @space: The IOASID, whose count is charged
 * @file: The file for IOASID_MAP_FILE, NULL for the caller's memory
 * @addr: The user address or file offset
 * @length: Bytes
 * @flags: The map's flags
 *
 * Return: the pages, see ioasid_pages_get_user() and
 * ioasid_pages_get_file().
 */
struct ioasid_pages *ioasid_space_pin(struct ioasid_space *space,
				      struct file *file, u64 addr, u64 length,
				      u32 flags)
{
	bool writable = flags & IOASID_MAP_WRITE;

	if (file && !ioasid_file_is_memory(file))
		return ioasid_pages_get_dmem(file, addr, length >> PAGE_SHIFT,
					     writable);
	if (file)
		return ioasid_pages_get_file(file, addr, length >> PAGE_SHIFT,
					     writable, space->account);
	return ioasid_pages_get_user(addr, length >> PAGE_SHIFT, writable,
				     space->account);
}

/**
 * ioasid_space_map - pin memory and map it
 * @space: The IOASID, with a reference for the call
 * @file: For IOASID_MAP_FILE the file, checked; NULL for user memory
 * @addr: Page-aligned user address or file offset
 * @length: Page-aligned length, not 0, with @addr + @length not wrapping
 * @flags: IOASID_MAP_* flags, checked
 * @iova: The IOVA for IOASID_MAP_FIXED_IOVA, page aligned; else output:
 *        the IOVA the kernel chose
 * @seq: Output: the mapping's number, for ioasid_space_remove_mapping()
 *       if the caller must undo it
 *
 * Return: 0, -EEXIST or -EADDRNOTAVAIL for a fixed IOVA that is taken or
 * reserved, -ENOSPC for no room, -EFAULT for memory that is not mapped
 * (or not writable), -ENOMEM past RLIMIT_MEMLOCK; nothing changes on
 * error.
 */
int ioasid_space_map(struct ioasid_space *space, struct file *file, u64 addr,
		     u64 length, u32 flags, u64 *iova, u64 *seq)
{
	struct ioasid_pages *pages;
	struct ioasid_mapping *m;
	int rc;

	rc = ioasid_space_precheck_iova(space, flags, *iova, length);
	if (rc)
		return rc;
	pages = ioasid_space_pin(space, file, addr, length, flags);
	if (IS_ERR(pages))
		return PTR_ERR(pages);
	m = ioasid_mapping_first(pages, ioasid_map_prot(flags));
	return ioasid_space_add_mapping(space, m, flags & IOASID_MAP_FIXED_IOVA,
					addr, iova, seq);
}

/* Checks of a map's fields that need neither the IOASID nor the file. */
static int ioasid_map_check(struct ioasid_map *cmd)
{
	unsigned long last;
	int rc;

	rc = ioasid_check_map_flags(cmd->flags, true);
	if (rc)
		return rc;
	if (!(cmd->flags & IOASID_MAP_FILE) && cmd->fd)
		return -EINVAL;
	/* The user address, or the file offset in its place. */
	rc = ioasid_check_range(cmd->user_va, cmd->length, &last);
	if (rc)
		return rc;
	return ioasid_check_map_iova(cmd->flags, cmd->iova, cmd->length);
}

/*
 * Take the file of a file map, checked for it; NULL for a user range.  A
 * file that holds no memory may name device memory: that is checked as
 * it is looked up.
 */
static struct file *ioasid_map_file_get(struct ioasid_map *cmd)
{
	struct file *file;
	int rc = 0;

	if (!(cmd->flags & IOASID_MAP_FILE))
		return NULL;
	file = fget(cmd->fd);
	if (!file)
		return ERR_PTR(-EBADF);
	if (ioasid_file_is_memory(file)) {
		rc = ioasid_file_check(file, cmd->flags & IOASID_MAP_WRITE);
		if (!rc)
			rc = ioasid_file_check_range(file, cmd->file_offset,
						     cmd->length);
	}
	if (rc) {
		fput(file);
		return ERR_PTR(rc);
	}
	return file;
}

int ioasid_map_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_map *cmd = ucmd->cmd;
	struct ioasid_space *space;
	struct file *file;
	u64 seq;
	int rc;

	rc = ioasid_map_check(cmd);
	if (rc)
		return rc;
	space = ioasid_space_get(ucmd->ctx, cmd->ioasid);
	if (IS_ERR(space))
		return PTR_ERR(space);
	file = ioasid_map_file_get(cmd);
	if (IS_ERR(file)) {
		ioasid_space_put(space);
		return PTR_ERR(file);
	}

	rc = ioasid_space_map(space, file, cmd->user_va, cmd->length,
			      cmd->flags, &cmd->iova, &seq);
	/* A fixed IOVA is already what user space has: nothing to tell. */
	if (!rc && !(cmd->flags & IOASID_MAP_FIXED_IOVA)) {
		rc = ioasid_ucmd_respond(ucmd, sizeof(*cmd));
		if (rc)
			ioasid_space_remove_mapping(space, cmd->iova, seq);
	}
	if (file)
		fput(file);
	ioasid_space_put(space);
	return rc;
}

int ioasid_copy_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_copy *cmd = ucmd->cmd;
	struct ioasid_space *src, *dst;
	struct ioasid_pages *pages;
	struct ioasid_mapping *m;
	unsigned long pg_index, last;
	u64 seq;
	int rc;

	rc = ioasid_check_map_flags(cmd->flags, false);
	if (!rc)
		rc = ioasid_check_range(cmd->src_iova, cmd->length, &last);
	if (!rc)
		rc = ioasid_check_map_iova(cmd->flags, cmd->dst_iova,
					   cmd->length);
	if (rc)
		return rc;

	src = ioasid_space_get(ucmd->ctx, cmd->src_ioasid);
	if (IS_ERR(src))
		return PTR_ERR(src);
	dst = ioasid_space_get(ucmd->ctx, cmd->dst_ioasid);
	if (IS_ERR(dst)) {
		rc = PTR_ERR(dst);
		goto out_put_src;
	}
	rc = ioasid_space_precheck_iova(dst, cmd->flags, cmd->dst_iova,
					cmd->length);
	if (rc)
		goto out_put_dst;

	down_read(&src->lock);
	pages = ioasid_space_find_pages(src, cmd->src_iova, cmd->length,
					&pg_index);
	up_read(&src->lock);
	if (IS_ERR(pages)) {
		rc = PTR_ERR(pages);
		goto out_put_dst;
	}
	if ((cmd->flags & IOASID_MAP_WRITE) && !pages->writable) {
		rc = -EPERM;
		goto out_put_pages;
	}
	m = ioasid_mapping_alloc(pages, pg_index, cmd->length >> PAGE_SHIFT,
				 ioasid_map_prot(cmd->flags));
	if (!m) {
		rc = -ENOMEM;
		goto out_put_pages;
	}
	rc = ioasid_space_add_mapping(dst, m, cmd->flags & IOASID_MAP_FIXED_IOVA,
				      cmd->src_iova, &cmd->dst_iova, &seq);
	if (rc)
		goto out_put_dst;
	rc = ioasid_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		ioasid_space_remove_mapping(dst, cmd->dst_iova, seq);
	goto out_put_dst;

out_put_pages:
	ioasid_pages_put(pages);
out_put_dst:
	ioasid_space_put(dst);
out_put_src:
	ioasid_space_put(src);
	return rc;
}

/* The fields of IOASID_UNMAP that depend on its flags. */
static int ioasid_unmap_check(struct ioasid_unmap *cmd, unsigned long *last)
{
	u32 all = cmd->flags & IOASID_UNMAP_ALL;

	if (cmd->flags & ~(IOASID_UNMAP_ALL | IOASID_UNMAP_DIRTY_BITMAP))
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	if (cmd->flags & IOASID_UNMAP_DIRTY_BITMAP) {
		if (all)
			return -EINVAL;
		return ioasid_dirty_check(cmd->iova, cmd->length,
					  cmd->page_size, cmd->data,
					  IOASID_UNMAP_DIRTY_BITMAP_MAX *
					  BITS_PER_BYTE);
	}
	if (cmd->page_size || cmd->data)
		return -EINVAL;
	if (all)
		return cmd->iova || cmd->length ? -EINVAL : 0;
	return ioasid_check_range(cmd->iova, cmd->length, last);
}

int ioasid_unmap_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_unmap *cmd = ucmd->cmd;
	unsigned long last = ULONG_MAX;
	struct ioasid_space *space;
	u64 __user *ulength;
	u64 unmapped;
	int rc;

	rc = ioasid_unmap_check(cmd, &last);
	if (rc)
		return rc;
	/*
	 * Unmapping cannot be undone: make sure the answer can be written
	 * back before changing anything, by writing the length the caller
	 * expects.  (The size check guarantees that the caller's struct
	 * reaches @length.)
	 */
	ulength = &((struct ioasid_unmap __user *)ucmd->ubuffer)->length;
	if (put_user(cmd->length, ulength))
		return -EFAULT;

	space = ioasid_space_get(ucmd->ctx, cmd->ioasid);
	if (IS_ERR(space))
		return PTR_ERR(space);
	if (cmd->flags & IOASID_UNMAP_DIRTY_BITMAP)
		rc = ioasid_space_unmap_dirty(space, cmd->iova, cmd->length,
					      cmd->page_size, cmd->data,
					      &unmapped);
	else
		rc = ioasid_space_unmap(space, cmd->iova, last,
					IOASID_UNMAP_EXACT, &unmapped);
	ioasid_space_put(space);
	if (rc == -ENOENT && (cmd->flags & IOASID_UNMAP_ALL))
		rc = 0;
	if (rc)
		return rc;
	/* The probe showed the length writable; it usually holds already. */
	if (unmapped != cmd->length && put_user(unmapped, ulength))
		return -EFAULT;
	return 0;
}
