// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOASID_VEC: one map, unmap or copy operation over many ranges.
 *
 * An emulated IOMMU turns each invalidation of its guest into maps and
 * unmaps of small ranges.  One ioctl per range costs a system call, a
 * round of the IOASID's lock and a sync of each domain (of its new IOPTEs
 * or of its IOTLB), each time.  A vector pays the lock once and syncs each
 * domain once for all its entries.
 *
 * A vector is all or nothing, like every other call: everything that can
 * fail is done for every entry first (checks, pinning, allocation,
 * insertion into the IOASID and its domains), and is undone, entry by
 * entry, if one fails.  Only then is the call committed.
 */
#include <linux/file.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <uapi/linux/ioasid.h>

#include "ioasid_private.h"

/**
 * struct ioasid_vec_call - one IOASID_VEC call
 * @cmd: The call's struct
 * @e: The kernel's copy of its entries
 * @space: The IOASID mapped into or unmapped from, with a call reference
 * @src: For a copy, the source IOASID, with a call reference
 * @file: For a file map, the file, with a reference
 * @failed: The entry being worked on, so that a failure names it; @count
 *          while no entry is
 */
struct ioasid_vec_call {
	struct ioasid_vec *cmd;
	struct ioasid_vec_entry *e;
	struct ioasid_space *space;
	struct ioasid_space *src;
	struct file *file;
	u32 failed;
};

/* Checks of the call's own fields, before its entries are read. */
static int ioasid_vec_check_cmd(struct ioasid_vec *cmd)
{
	bool map = cmd->op == IOASID_VEC_MAP;
	int rc;

	switch (cmd->op) {
	case IOASID_VEC_UNMAP:
		if (cmd->flags)
			return -EOPNOTSUPP;
		break;
	case IOASID_VEC_MAP:
	case IOASID_VEC_COPY:
		rc = ioasid_check_map_flags(cmd->flags, map);
		if (rc)
			return rc;
		if (!(cmd->flags & IOASID_MAP_FIXED_IOVA))
			return -EINVAL;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (!cmd->count || cmd->count > IOASID_VEC_MAX)
		return -EINVAL;
	if (cmd->src_ioasid && cmd->op != IOASID_VEC_COPY)
		return -EINVAL;
	if (cmd->fd && !(map && (cmd->flags & IOASID_MAP_FILE)))
		return -EINVAL;
	return 0;
}

/* Check every entry's ranges; v->failed names the first bad one. */
static int ioasid_vec_check_entries(struct ioasid_vec_call *v)
{
	struct ioasid_vec_entry *e;
	unsigned long last;
	int rc;

	for (v->failed = 0; v->failed < v->cmd->count; v->failed++) {
		e = &v->e[v->failed];
		if (v->cmd->op == IOASID_VEC_UNMAP) {
			if (e->addr)
				return -EINVAL;
		} else {
			rc = ioasid_check_range(e->addr, e->length, &last);
			if (!rc && v->file)
				rc = ioasid_file_check_range(v->file, e->addr,
							     e->length);
			if (rc)
				return rc;
		}
		rc = ioasid_check_range(e->iova, e->length, &last);
		if (rc)
			return rc;
	}
	v->failed = v->cmd->count;
	return 0;
}

/*
 * Refuse IOVAs that are taken before pinning anything, in one round of
 * the lock; overlaps between entries show when they are inserted.
 */
static int ioasid_vec_precheck(struct ioasid_vec_call *v)
{
	struct ioasid_vec_entry *e;
	int rc;

	guard(rwsem_read)(&v->space->lock);
	for (v->failed = 0; v->failed < v->cmd->count; v->failed++) {
		e = &v->e[v->failed];
		rc = ioasid_space_check_iova(v->space, e->iova,
					     e->iova + e->length - 1);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * The end of the caller's memory that the entries from @i on cover without
 * a gap.  The ranges were checked not to wrap, so neither does the sum.
 */
static u64 ioasid_vec_stretch_end(struct ioasid_vec_call *v, u32 i)
{
	u64 end = v->e[i].addr + v->e[i].length;

	while (++i < v->cmd->count && v->e[i].addr == end)
		end += v->e[i].length;
	return end;
}

/* Pin the memory of one map entry, from @ahead if it is the caller's. */
static struct ioasid_pages *ioasid_vec_pin_one(struct ioasid_vec_call *v,
					       struct ioasid_pin_ahead *ahead,
					       u64 *end)
{
	struct ioasid_vec_entry *e = &v->e[v->failed];

	if (v->file)
		return ioasid_space_pin(v->space, v->file, e->addr, e->length,
					v->cmd->flags);
	/* Not where the last entry ended: a new stretch of memory. */
	if (!v->failed || e->addr != e[-1].addr + e[-1].length)
		*end = ioasid_vec_stretch_end(v, v->failed);
	return ioasid_pages_get_user_ahead(ahead, e->addr,
					   e->length >> PAGE_SHIFT, *end,
					   v->space->account);
}

/* Pin the memory of every map entry into a mapping on @pending. */
static int ioasid_vec_pin(struct ioasid_vec_call *v, struct list_head *pending)
{
	int prot = ioasid_map_prot(v->cmd->flags);
	struct ioasid_pin_ahead ahead;
	struct ioasid_pages *pages;
	struct ioasid_mapping *m;
	u64 end = 0;
	int rc = 0;

	ioasid_pin_ahead_init(&ahead, v->cmd->flags & IOASID_MAP_WRITE);
	for (v->failed = 0; v->failed < v->cmd->count; v->failed++) {
		pages = ioasid_vec_pin_one(v, &ahead, &end);
		if (IS_ERR(pages)) {
			rc = PTR_ERR(pages);
			break;
		}
		m = ioasid_mapping_first(pages, prot);
		list_add_tail(&m->free_link, pending);
	}
	ioasid_pin_ahead_end(&ahead);
	return rc;
}

/*
 * Take a reference on the source memory of every copy entry, one round
 * of the source IOASID's lock for all of them, into mappings on @pending.
 */
static int ioasid_vec_find(struct ioasid_vec_call *v, struct list_head *pending)
{
	int prot = ioasid_map_prot(v->cmd->flags);
	struct ioasid_pages *pages;
	struct ioasid_vec_entry *e;
	struct ioasid_mapping *m;
	unsigned long pg_index;

	guard(rwsem_read)(&v->src->lock);
	for (v->failed = 0; v->failed < v->cmd->count; v->failed++) {
		e = &v->e[v->failed];
		pages = ioasid_space_find_pages(v->src, e->addr, e->length,
						&pg_index);
		if (IS_ERR(pages))
			return PTR_ERR(pages);
		/* A vector is for memory: device memory has its own call. */
		if (pages->dmem) {
			ioasid_pages_put(pages);
			return -ENODEV;
		}
		if ((v->cmd->flags & IOASID_MAP_WRITE) && !pages->writable) {
			ioasid_pages_put(pages);
			return -EPERM;
		}
		m = ioasid_mapping_alloc(pages, pg_index,
					 e->length >> PAGE_SHIFT, prot);
		if (!m) {
			ioasid_pages_put(pages);
			return -ENOMEM;
		}
		list_add_tail(&m->free_link, pending);
	}
	return 0;
}

/*
 * Place each mapping of @pending at its entry's IOVA and write them all
 * into the domains, under one round of the lock and with one sync of
 * each domain.  On failure the ones placed are taken out again, and all
 * stay on @pending for the caller to free.
 */
static int ioasid_vec_insert(struct ioasid_vec_call *v,
			     struct list_head *pending)
{
	struct ioasid_space *space = v->space;
	struct ioasid_mapping *m, *stop = NULL;
	u64 iova;
	int rc = 0;

	down_write(&space->lock);
	v->failed = 0;
	list_for_each_entry(m, pending, free_link) {
		iova = v->e[v->failed].iova;
		rc = ioasid_space_place(space, m, true, 0, &iova);
		if (rc) {
			stop = m;
			break;
		}
		v->failed++;
		cond_resched();
	}
	/* An IOMMU driver's failure is no entry's: out_failed is count. */
	if (!rc)
		rc = ioasid_domains_map_list(space, pending);
	if (rc) {
		list_for_each_entry(m, pending, free_link) {
			if (m == stop)
				break;
			ioasid_space_unplace(space, m);
		}
	}
	up_write(&space->lock);
	return rc;
}

static int ioasid_vec_map(struct ioasid_vec_call *v)
{
	struct ioasid_mapping *m, *tmp;
	LIST_HEAD(pending);
	int rc;

	rc = ioasid_vec_precheck(v);
	if (rc)
		return rc;
	if (v->cmd->op == IOASID_VEC_COPY)
		rc = ioasid_vec_find(v, &pending);
	else
		rc = ioasid_vec_pin(v, &pending);
	if (!rc)
		rc = ioasid_vec_insert(v, &pending);
	if (rc)
		list_for_each_entry_safe(m, tmp, &pending, free_link)
			ioasid_mapping_free(m);
	return rc;
}

/*
 * Take every entry's mappings off the IOASID; only when all could be
 * taken are they unmapped from the domains, one IOTLB flush per domain.
 */
static int ioasid_vec_unmap_once(struct ioasid_vec_call *v)
{
	struct ioasid_space *space = v->space;
	struct ioasid_mapping *m, *tmp;
	struct ioasid_vec_entry *e;
	u64 unmapped = 0;
	LIST_HEAD(freed);
	int rc = 0;

	down_write(&space->lock);
	for (v->failed = 0; v->failed < v->cmd->count; v->failed++) {
		e = &v->e[v->failed];
		rc = ioasid_space_take_range(space, e->iova,
					     e->iova + e->length - 1, &freed,
					     &unmapped);
		if (rc)
			break;
		cond_resched();
	}
	if (rc)
		ioasid_space_restore(space, &freed);
	else
		ioasid_domains_unmap(space, &freed);
	up_write(&space->lock);

	list_for_each_entry_safe(m, tmp, &freed, free_link)
		ioasid_mapping_free(m);
	return rc;
}

/*
 * Unmap, and if a driver has pages of the ranges pinned through an
 * access, ask it to let go of every range and try once more.
 */
static int ioasid_vec_unmap(struct ioasid_vec_call *v)
{
	struct ioasid_vec_entry *e;
	int rc;

	rc = ioasid_vec_unmap_once(v);
	if (rc != -EBUSY)
		return rc;
	for (e = v->e; e < v->e + v->cmd->count; e++)
		ioasid_access_notify_unmap(v->space, e->iova,
					   e->iova + e->length - 1);
	return ioasid_vec_unmap_once(v);
}

/* Look up the IOASIDs and the file of a call. */
static int ioasid_vec_get(struct ioasid_ucmd *ucmd, struct ioasid_vec_call *v)
{
	struct ioasid_vec *cmd = v->cmd;

	v->space = ioasid_space_get(ucmd->ctx, cmd->ioasid);
	if (IS_ERR(v->space))
		return PTR_ERR(v->space);
	if (cmd->op == IOASID_VEC_COPY) {
		v->src = ioasid_space_get(ucmd->ctx, cmd->src_ioasid);
		if (IS_ERR(v->src))
			return PTR_ERR(v->src);
	}
	if (cmd->op == IOASID_VEC_MAP && (cmd->flags & IOASID_MAP_FILE)) {
		v->file = fget(cmd->fd);
		if (!v->file)
			return -EBADF;
		/* The file's own checks; each entry's range comes later. */
		return ioasid_file_check(v->file, cmd->flags & IOASID_MAP_WRITE);
	}
	return 0;
}

static void ioasid_vec_put(struct ioasid_vec_call *v)
{
	if (v->file)
		fput(v->file);
	if (!IS_ERR_OR_NULL(v->src))
		ioasid_space_put(v->src);
	if (!IS_ERR_OR_NULL(v->space))
		ioasid_space_put(v->space);
}

int ioasid_vec_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_vec *cmd = ucmd->cmd;
	struct ioasid_vec_call v = { .cmd = cmd, .failed = cmd->count };
	int rc;

	rc = ioasid_vec_check_cmd(cmd);
	if (rc)
		goto out_failed;
	v.e = vmemdup_array_user(u64_to_user_ptr(cmd->entries), cmd->count,
				 sizeof(*v.e));
	if (IS_ERR(v.e)) {
		rc = PTR_ERR(v.e);
		goto out_failed;
	}
	rc = ioasid_vec_get(ucmd, &v);
	if (!rc)
		rc = ioasid_vec_check_entries(&v);
	if (!rc && cmd->op == IOASID_VEC_UNMAP)
		rc = ioasid_vec_unmap(&v);
	else if (!rc)
		rc = ioasid_vec_map(&v);
	ioasid_vec_put(&v);
	kvfree(v.e);
	if (!rc)
		return 0;

out_failed:
	cmd->out_failed = v.failed;
	/* Nothing changed either way: the call's own errno says more. */
	ioasid_ucmd_respond(ucmd, sizeof(*cmd));
	return rc;
}
