// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOASIDs: the I/O address spaces of a context, and their mappings.
 *
 * A mapping is a unit: created by one IOASID_MAP or IOASID_COPY and only
 * ever removed whole.  Forbidding partial unmaps keeps every mapping a
 * single pinned range with a single reference, so unmap never has to
 * split pinned memory or re-account it.
 */
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/slab.h>

#include <uapi/linux/ioasid.h>

#include "ioasid_private.h"

/**
 * ioasid_space_create - a new, empty IOASID, not yet published
 * @ctx: The context
 * @account: The RLIMIT_MEMLOCK count its mappings charge
 * @require_coherent: Refuse devices whose DMA may bypass the CPU caches
 *
 * Return: the IOASID, to be made visible with ioasid_object_publish(), or
 * an ERR_PTR.
 */
struct ioasid_space *ioasid_space_create(struct ioasid_ctx *ctx,
					 enum ioasid_account account,
					 bool require_coherent)
{
	struct ioasid_space *space;
	struct ioasid_object *obj;

	obj = ioasid_object_alloc(ctx, sizeof(*space), IOASID_OBJ_SPACE);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	space = container_of(obj, struct ioasid_space, obj);
	space->ctx = ctx;
	space->account = account;
	space->require_coherent = require_coherent;
	init_rwsem(&space->lock);
	space->mappings = RB_ROOT_CACHED;
	space->reserved = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&space->domains);
	return space;
}

int ioasid_space_alloc_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_alloc *cmd = ucmd->cmd;
	struct ioasid_space *space;
	int rc;

	if (cmd->flags & ~(IOASID_ALLOC_ACCOUNT_MM |
			   IOASID_ALLOC_REQUIRE_COHERENCY))
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;

	space = ioasid_space_create(ucmd->ctx,
				    cmd->flags & IOASID_ALLOC_ACCOUNT_MM ?
				    IOASID_ACCOUNT_MM_PINNED : IOASID_ACCOUNT_USER,
				    cmd->flags & IOASID_ALLOC_REQUIRE_COHERENCY);
	if (IS_ERR(space))
		return PTR_ERR(space);

	/* User space learns the id before anything can use it. */
	cmd->out_ioasid = space->obj.id;
	rc = ioasid_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		ioasid_object_abort(ucmd->ctx, &space->obj);
		return rc;
	}
	ioasid_object_publish(ucmd->ctx, &space->obj);
	return 0;
}

static struct ioasid_mapping *to_mapping(struct interval_tree_node *node)
{
	return node ? container_of(node, struct ioasid_mapping, node) : NULL;
}

/*
 * Mappings are counted per context as they enter and leave an IOASID's
 * tree: a copy pins nothing new and charges no RLIMIT_MEMLOCK, so the
 * count is what bounds them.
 */
static unsigned long max_mappings = 1UL << 22;
module_param(max_mappings, ulong, 0644);
MODULE_PARM_DESC(max_mappings,
		 "Most mappings one /dev/ioasid context may hold (default 4194304)");

static int ioasid_mapping_insert(struct ioasid_space *space,
				 struct ioasid_mapping *m)
{
	atomic_long_t *count = &space->ctx->nr_mappings;

	if (atomic_long_inc_return(count) > READ_ONCE(max_mappings)) {
		atomic_long_dec(count);
		return -ENOSPC;
	}
	interval_tree_insert(&m->node, &space->mappings);
	return 0;
}

static void ioasid_mapping_remove(struct ioasid_space *space,
				  struct ioasid_mapping *m)
{
	interval_tree_remove(&m->node, &space->mappings);
	atomic_long_dec(&space->ctx->nr_mappings);
	space->vaddr_invalid -= m->vaddr_invalid;
	if (m->dmem)
		ioasid_dmem_mapping_removed(m);
}

/*
 * Remove every mapping and return its pages.  No call uses the IOASID any
 * more, but the export of device memory it maps may still revoke or
 * restore its mappings until they are off the export: take the lock.
 */
static void ioasid_space_unmap_all(struct ioasid_space *space)
{
	struct interval_tree_node *node;
	struct ioasid_mapping *m, *tmp;
	LIST_HEAD(freed);

	down_write(&space->lock);
	while ((node = interval_tree_iter_first(&space->mappings, 0,
						ULONG_MAX))) {
		m = to_mapping(node);
		ioasid_mapping_remove(space, m);
		list_add_tail(&m->free_link, &freed);
		cond_resched();
	}
	up_write(&space->lock);

	list_for_each_entry_safe(m, tmp, &freed, free_link) {
		ioasid_mapping_free(m);
		cond_resched();
	}
}

void ioasid_space_destroy(struct ioasid_object *obj)
{
	struct ioasid_space *space = container_of(obj, struct ioasid_space, obj);

	/* Attached devices hold a reference: there is no domain left. */
	WARN_ON(!list_empty(&space->domains));
	ioasid_space_unmap_all(space);
	kfree(space);
}

/**
 * ioasid_space_get - look an IOASID up for the length of a call
 * @ctx: The context
 * @id: The IOASID's id
 *
 * Return: the IOASID, to be given back with ioasid_space_put(), or
 * ERR_PTR(-ENOENT) for no IOASID of that id.
 */
struct ioasid_space *ioasid_space_get(struct ioasid_ctx *ctx, u32 id)
{
	struct ioasid_object *obj;

	obj = ioasid_object_get(ctx, id, IOASID_OBJ_SPACE);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct ioasid_space, obj);
}

void ioasid_space_put(struct ioasid_space *space)
{
	ioasid_object_put(&space->obj);
}

/**
 * ioasid_check_range - check a byte range from user space
 * @start: Its start
 * @length: Its bytes
 * @last: Output: its last byte, on success
 *
 * Return: 0 for a page-aligned, non-empty range, -EINVAL for an empty or
 * unaligned one, -EOVERFLOW for one that wraps.
 */
int ioasid_check_range(u64 start, u64 length, unsigned long *last)
{
	if (!length || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(length))
		return -EINVAL;
	if (check_add_overflow(start, length - 1, last))
		return -EOVERFLOW;
	return 0;
}

/**
 * ioasid_space_check_iova - is an IOVA range free for a new mapping?
 * @space: The IOASID, locked
 * @iova: Start of the range
 * @last: Its last byte
 *
 * Return: 0, -EADDRNOTAVAIL when the range touches a reserved one (or
 * leaves an aperture), -EEXIST when it overlaps a mapping.
 */
int ioasid_space_check_iova(struct ioasid_space *space, unsigned long iova,
			    unsigned long last)
{
	lockdep_assert_held(&space->lock);

	if (interval_tree_iter_first(&space->reserved, iova, last))
		return -EADDRNOTAVAIL;
	if (interval_tree_iter_first(&space->mappings, iova, last))
		return -EEXIST;
	return 0;
}

/*
 * The alignment of a kernel-chosen IOVA: like @hint (the user address, or
 * the source IOVA of a copy) up to the largest power of two that fits in
 * @length, so that memory backed by huge pages gets huge IOPTEs.
 */
static unsigned long ioasid_iova_alignment(unsigned long hint,
					   unsigned long length)
{
	unsigned long align = rounddown_pow_of_two(length);

	if (hint)
		align = min(align, 1UL << __ffs(hint));
	return max(align, PAGE_SIZE);
}

/* Find @length free bytes, aligned, outside reserved ranges. */
static int ioasid_space_alloc_iova(struct ioasid_space *space,
				   unsigned long hint, unsigned long length,
				   unsigned long *iova)
{
	unsigned long align = ioasid_iova_alignment(hint, length);
	struct interval_tree_span_iter usable, free;
	unsigned long start;

	lockdep_assert_held(&space->lock);

	interval_tree_for_each_span(&usable, &space->reserved, 0, ULONG_MAX) {
		if (!usable.is_hole)
			continue;
		interval_tree_for_each_span(&free, &space->mappings,
					    usable.start_hole,
					    usable.last_hole) {
			if (!free.is_hole)
				continue;
			start = ALIGN(free.start_hole, align);
			if (start < free.start_hole || start > free.last_hole ||
			    free.last_hole - start < length - 1)
				continue;
			*iova = start;
			return 0;
		}
	}
	return -ENOSPC;
}

/**
 * ioasid_mapping_alloc - a mapping of pinned pages, not yet in any IOASID
 * @pages: The pages; the mapping takes over the caller's reference
 * @pg_index: Index in @pages of the first page mapped
 * @npages: Pages mapped
 * @prot: IOMMU_* protection
 *
 * Return: the mapping, or NULL (and @pages keeps the reference).
 */
struct ioasid_mapping *ioasid_mapping_alloc(struct ioasid_pages *pages,
					    unsigned long pg_index,
					    unsigned long npages, int prot)
{
	struct ioasid_mapping *m;

	m = kzalloc(sizeof(*m), IOASID_GFP);
	if (!m)
		return NULL;
	m->pages = pages;
	m->pg_index = pg_index;
	/* A BAR is not cacheable memory. */
	if (pages->dmem)
		prot = (prot & ~IOMMU_CACHE) | IOMMU_MMIO;
	m->prot = prot;
	/* Only the length matters until ioasid_space_place() places it. */
	m->node.last = (npages << PAGE_SHIFT) - 1;
	return m;
}

/**
 * ioasid_mapping_free - give a mapping's pages back and free it
 * @m: A mapping in no IOASID and no domain
 */
void ioasid_mapping_free(struct ioasid_mapping *m)
{
	if (m->dmem)
		ioasid_dmem_mapping_free(m);
	ioasid_pages_put(m->pages);
	kfree(m);
}

/* Back to the unplaced form ioasid_mapping_alloc() gave. */
static void ioasid_space_unplace_range(struct ioasid_mapping *m)
{
	m->node.last -= m->node.start;
	m->node.start = 0;
}

/**
 * ioasid_space_place - put a mapping in an IOASID's tree, not its domains
 * @space: The IOASID, locked for writing
 * @m: From ioasid_mapping_alloc()
 * @fixed: Map at *@iova; otherwise choose an IOVA aligned like @hint
 * @hint: The user address, file offset or source IOVA of the memory
 * @iova: The IOVA, in for @fixed, out otherwise
 *
 * Return: 0, or -EEXIST, -EADDRNOTAVAIL or -ENOSPC (no room, or the
 * context holds max_mappings) with nothing changed.
 */
int ioasid_space_place(struct ioasid_space *space, struct ioasid_mapping *m,
		       bool fixed, unsigned long hint, u64 *iova)
{
	unsigned long length = m->node.last - m->node.start + 1;
	int rc;

	lockdep_assert_held_write(&space->lock);

	if (fixed)
		rc = ioasid_space_check_iova(space, *iova, *iova + length - 1);
	else
		rc = ioasid_space_alloc_iova(space, hint, length,
					     &m->node.start);
	if (rc)
		return rc;
	if (fixed)
		m->node.start = *iova;
	m->node.last = m->node.start + length - 1;
	rc = ioasid_mapping_insert(space, m);
	if (rc) {
		ioasid_space_unplace_range(m);
		return rc;
	}
	m->seq = ++space->mapping_seq;
	*iova = m->node.start;
	return 0;
}

/**
 * ioasid_space_unplace - undo ioasid_space_place()
 * @space: The IOASID, locked for writing
 * @m: A mapping placed, and in no domain
 */
void ioasid_space_unplace(struct ioasid_space *space, struct ioasid_mapping *m)
{
	lockdep_assert_held_write(&space->lock);

	ioasid_mapping_remove(space, m);
	ioasid_space_unplace_range(m);
}

/* Place a mapping and write it into the IOASID's domains. */
static int ioasid_space_insert(struct ioasid_space *space,
			       struct ioasid_mapping *m, bool fixed,
			       unsigned long hint, u64 *iova)
{
	int rc;

	rc = ioasid_space_place(space, m, fixed, hint, iova);
	if (rc)
		return rc;
	rc = ioasid_domains_map(space, m);
	if (rc)
		ioasid_space_unplace(space, m);
	return rc;
}

/*
 * Insert a mapping of @npages of @pages from @pg_index; its number goes
 * to @seq.  Takes over the caller's reference on @pages on success.
 */
static int ioasid_space_add_mapping(struct ioasid_space *space,
				    struct ioasid_pages *pages,
				    unsigned long pg_index,
				    unsigned long npages, int prot, bool fixed,
				    unsigned long hint, u64 *iova, u64 *seq)
{
	struct ioasid_mapping *m;
	int rc;

	m = ioasid_mapping_alloc(pages, pg_index, npages, prot);
	if (!m)
		return -ENOMEM;
	if (pages->dmem) {
		rc = ioasid_dmem_insert(space, m, fixed, hint, iova, seq);
	} else {
		down_write(&space->lock);
		rc = ioasid_space_insert(space, m, fixed, hint, iova);
		*seq = m->seq;
		up_write(&space->lock);
	}
	if (rc)
		kfree(m);
	return rc;
}

/**
 * ioasid_space_remove_mapping - undo a map that user space was not told of
 * @space: The IOASID
 * @iova: The IOVA of the mapping
 * @seq: Its number, from the map
 *
 * The mapping may already be gone: another thread may have unmapped it,
 * and mapped something else at @iova, which stays.
 */
void ioasid_space_remove_mapping(struct ioasid_space *space, u64 iova,
				 u64 seq)
{
	struct ioasid_mapping *m;
	LIST_HEAD(freed);

	down_write(&space->lock);
	m = to_mapping(interval_tree_iter_first(&space->mappings, iova, iova));
	if (m && m->seq == seq) {
		ioasid_mapping_remove(space, m);
		list_add(&m->free_link, &freed);
		ioasid_domains_unmap(space, &freed);
	} else {
		m = NULL;
	}
	up_write(&space->lock);
	if (m)
		ioasid_mapping_free(m);
}

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
	int rc;

	rc = ioasid_space_precheck_iova(space, flags, *iova, length);
	if (rc)
		return rc;
	pages = ioasid_space_pin(space, file, addr, length, flags);
	if (IS_ERR(pages))
		return PTR_ERR(pages);
	rc = ioasid_space_add_mapping(space, pages, 0, pages->npages,
				      ioasid_map_prot(flags),
				      flags & IOASID_MAP_FIXED_IOVA, addr, iova,
				      seq);
	if (rc)
		ioasid_pages_put(pages);
	return rc;
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

/**
 * ioasid_space_find_pages - the pinned pages behind a range of an IOASID
 * @space: The IOASID, locked
 * @iova: Start of the range
 * @length: Its bytes; the range must lie within one mapping
 * @pg_index: Output: the index in the pages of the page at @iova
 *
 * Return: the pages with a new reference, or ERR_PTR(-ENOENT).
 */
struct ioasid_pages *ioasid_space_find_pages(struct ioasid_space *space,
					     u64 iova, u64 length,
					     unsigned long *pg_index)
{
	unsigned long last = iova + length - 1;
	struct ioasid_mapping *m;

	lockdep_assert_held(&space->lock);

	m = to_mapping(interval_tree_iter_first(&space->mappings, iova, last));
	if (!m || m->node.start > iova || m->node.last < last)
		return ERR_PTR(-ENOENT);
	kref_get(&m->pages->kref);
	*pg_index = m->pg_index + ((iova - m->node.start) >> PAGE_SHIFT);
	return m->pages;
}

int ioasid_copy_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_copy *cmd = ucmd->cmd;
	struct ioasid_space *src, *dst;
	struct ioasid_pages *pages;
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
	rc = ioasid_space_add_mapping(dst, pages, pg_index,
				      cmd->length >> PAGE_SHIFT,
				      ioasid_map_prot(cmd->flags),
				      cmd->flags & IOASID_MAP_FIXED_IOVA,
				      cmd->src_iova, &cmd->dst_iova, &seq);
	if (rc)
		goto out_put_pages;
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

/**
 * ioasid_space_first_whole - the first mapping of a range, if all are whole
 * @space: The IOASID, locked
 * @iova: Start of the range
 * @last: Its last byte
 *
 * Return: the first mapping in the range, ERR_PTR(-ENOENT) for none, or
 * ERR_PTR(-EINVAL) if a mapping crosses either end of the range.
 */
struct ioasid_mapping *ioasid_space_first_whole(struct ioasid_space *space,
						unsigned long iova,
						unsigned long last)
{
	struct ioasid_mapping *first, *m;

	lockdep_assert_held(&space->lock);

	first = to_mapping(interval_tree_iter_first(&space->mappings, iova,
						    last));
	if (!first)
		return ERR_PTR(-ENOENT);
	/* Mappings do not overlap: only the first and last can cross. */
	if (first->node.start < iova)
		return ERR_PTR(-EINVAL);
	m = to_mapping(interval_tree_iter_first(&space->mappings, last, last));
	if (m && m->node.last > last)
		return ERR_PTR(-EINVAL);
	return first;
}

/**
 * ioasid_space_take_range - take the mappings of a range off an IOASID
 * @space: The IOASID, locked for writing
 * @iova: Start of the range
 * @last: Its last byte
 * @freed: The mappings removed are added here, still in their domains
 *         (ioasid_domains_unmap() takes them out)
 * @unmapped: Their bytes are added here
 *
 * Return: 0, -ENOENT for no mapping in the range, -EINVAL with nothing
 * removed if a mapping crosses either end of it.
 */
int ioasid_space_take_range(struct ioasid_space *space, unsigned long iova,
			    unsigned long last, struct list_head *freed,
			    u64 *unmapped)
{
	struct interval_tree_node *node, *next;
	struct ioasid_mapping *m;

	lockdep_assert_held_write(&space->lock);

	m = ioasid_space_first_whole(space, iova, last);
	if (IS_ERR(m))
		return PTR_ERR(m);
	for (node = &m->node; node; node = next) {
		next = interval_tree_iter_next(node, iova, last);
		m = to_mapping(node);
		ioasid_mapping_remove(space, m);
		list_add_tail(&m->free_link, freed);
		*unmapped += m->node.last - m->node.start + 1;
		cond_resched();
	}
	return 0;
}

/**
 * ioasid_space_restore - put mappings taken off an IOASID back
 * @space: The IOASID, locked for writing
 * @freed: Mappings from ioasid_space_take_range(), still in the domains;
 *         the list is emptied
 */
void ioasid_space_restore(struct ioasid_space *space, struct list_head *freed)
{
	struct ioasid_mapping *m;

	lockdep_assert_held_write(&space->lock);

	/* They were counted before they were taken: no limit applies. */
	list_for_each_entry(m, freed, free_link) {
		interval_tree_insert(&m->node, &space->mappings);
		atomic_long_inc(&space->ctx->nr_mappings);
		space->vaddr_invalid += m->vaddr_invalid;
		if (m->dmem)
			ioasid_dmem_mapping_restored(m);
	}
	INIT_LIST_HEAD(freed);
}

/**
 * ioasid_space_v1_range - the range VFIO type1's v1 unmap takes
 * @space: The IOASID, locked
 * @iova: Start of the range asked for
 * @last: Its last byte, in; out: the last byte of the range to take
 *
 * Nothing if a mapping starts before @iova and reaches into the range,
 * else every mapping that starts in the range, whole, even past *@last.
 *
 * Return: false for nothing.
 */
bool ioasid_space_v1_range(struct ioasid_space *space, unsigned long iova,
			   unsigned long *last)
{
	struct ioasid_mapping *m;

	m = to_mapping(interval_tree_iter_first(&space->mappings, iova, *last));
	if (!m || m->node.start < iova)
		return false;
	m = to_mapping(interval_tree_iter_first(&space->mappings, *last,
						*last));
	if (m)
		*last = m->node.last;
	return true;
}

/**
 * ioasid_space_unmap - remove the mappings of a range
 * @space: The IOASID, with a reference for the call
 * @iova: Start of the range
 * @last: Its last byte
 * @rule: IOASID_UNMAP_EXACT: every mapping must lie inside the range;
 *        IOASID_UNMAP_VFIO_V1: VFIO type1 v1's rule, see
 *        ioasid_space_v1_range()
 * @unmapped: Output: the bytes unmapped
 *
 * Return: 0, -ENOENT when no mapping lies in the range, -EINVAL when
 * one crosses an end of it (IOASID_UNMAP_EXACT); nothing changes on
 * error.  On success no device can reach the unmapped pages any more.
 */
int ioasid_space_unmap(struct ioasid_space *space, unsigned long iova,
		       unsigned long last, enum ioasid_unmap_rule rule,
		       u64 *unmapped)
{
	struct ioasid_mapping *m, *tmp;
	LIST_HEAD(freed);
	int rc = -ENOENT;

	*unmapped = 0;
	down_write(&space->lock);
	if (rule == IOASID_UNMAP_EXACT ||
	    ioasid_space_v1_range(space, iova, &last))
		rc = ioasid_space_take_range(space, iova, last, &freed,
					     unmapped);
	if (!rc)
		ioasid_domains_unmap(space, &freed);
	up_write(&space->lock);

	list_for_each_entry_safe(m, tmp, &freed, free_link)
		ioasid_mapping_free(m);
	return rc;
}

int ioasid_unmap_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_unmap *cmd = ucmd->cmd;
	unsigned long iova = 0, last = ULONG_MAX;
	struct ioasid_space *space;
	u64 __user *ulength;
	u64 unmapped;
	int rc;

	if (cmd->flags & ~IOASID_UNMAP_ALL)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	if (cmd->flags & IOASID_UNMAP_ALL) {
		if (cmd->iova || cmd->length)
			return -EINVAL;
	} else {
		rc = ioasid_check_range(cmd->iova, cmd->length, &last);
		if (rc)
			return rc;
		iova = cmd->iova;
	}
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
	rc = ioasid_space_unmap(space, iova, last, IOASID_UNMAP_EXACT,
				&unmapped);
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

/* How many usable ranges, and if @ranges, write them there. */
static u32 ioasid_space_holes(struct ioasid_space *space,
			      struct ioasid_iova_range *ranges)
{
	struct interval_tree_span_iter span;
	u32 n = 0;

	lockdep_assert_held(&space->lock);

	interval_tree_for_each_span(&span, &space->reserved, 0, ULONG_MAX) {
		if (!span.is_hole)
			continue;
		if (ranges)
			ranges[n] = (struct ioasid_iova_range) {
				.start = span.start_hole, .last = span.last_hole,
			};
		n++;
	}
	return n;
}

/**
 * ioasid_space_ranges - the usable IOVA ranges of an IOASID
 * @space: The IOASID, with a reference for the call
 * @n: Output: how many
 *
 * A copy, so that the caller can give it to user space without holding
 * the IOASID's lock across a fault that user space may keep pending.
 * There are only as many ranges as attached devices reserve.
 *
 * Return: the ranges in IOVA order, to be freed with kvfree(), or
 * ERR_PTR(-ENOMEM).
 */
struct ioasid_iova_range *ioasid_space_ranges(struct ioasid_space *space,
					      u32 *n)
{
	struct ioasid_iova_range *ranges;

	guard(rwsem_read)(&space->lock);
	*n = ioasid_space_holes(space, NULL);
	ranges = kvmalloc_array(*n, sizeof(*ranges), IOASID_GFP);
	if (!ranges)
		return ERR_PTR(-ENOMEM);
	ioasid_space_holes(space, ranges);
	return ranges;
}

int ioasid_iova_ranges_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_iova_ranges *cmd = ucmd->cmd;
	struct ioasid_iova_range *ranges;
	struct ioasid_space *space;
	u32 n;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	space = ioasid_space_get(ucmd->ctx, cmd->ioasid);
	if (IS_ERR(space))
		return PTR_ERR(space);
	cmd->out_iova_alignment = ioasid_domains_iova_alignment(space);
	ranges = ioasid_space_ranges(space, &n);
	ioasid_space_put(space);
	if (IS_ERR(ranges))
		return PTR_ERR(ranges);

	rc = copy_to_user(u64_to_user_ptr(cmd->ranges), ranges,
			  min(n, cmd->num_ranges) * sizeof(*ranges));
	kvfree(ranges);
	if (rc)
		return -EFAULT;
	rc = n > cmd->num_ranges ? -EMSGSIZE : 0;
	cmd->num_ranges = n;
	if (ioasid_ucmd_respond(ucmd, sizeof(*cmd)))
		return -EFAULT;
	return rc;
}

/**
 * ioasid_space_coherency - count an IOASID's domains for a coherency query
 * @space: The IOASID, with a reference for the call
 * @cmd: Its out_ fields are added to
 */
void ioasid_space_coherency(struct ioasid_space *space,
			    struct ioasid_coherency *cmd)
{
	struct ioasid_domain *d;

	guard(rwsem_read)(&space->lock);
	list_for_each_entry(d, &space->domains, link) {
		cmd->out_domains++;
		cmd->out_noncoherent_domains += !d->enforce_cc;
	}
	if (space->require_coherent)
		cmd->out_flags |= IOASID_COHERENCY_REQUIRED;
}

int ioasid_coherency_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_coherency *cmd = ucmd->cmd;
	struct ioasid_space *space;

	if (cmd->flags & ~IOASID_COHERENCY_CONTEXT)
		return -EOPNOTSUPP;
	cmd->out_flags = 0;
	cmd->out_domains = 0;
	cmd->out_noncoherent_domains = 0;

	if (cmd->flags & IOASID_COHERENCY_CONTEXT) {
		if (cmd->ioasid)
			return -EINVAL;
		ioasid_ctx_coherency(ucmd->ctx, &cmd->out_domains,
				     &cmd->out_noncoherent_domains);
	} else {
		space = ioasid_space_get(ucmd->ctx, cmd->ioasid);
		if (IS_ERR(space))
			return PTR_ERR(space);
		ioasid_space_coherency(space, cmd);
		ioasid_space_put(space);
	}
	return ioasid_ucmd_respond(ucmd, sizeof(*cmd));
}
