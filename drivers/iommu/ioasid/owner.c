// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live update: a new VMM process takes over the pinned memory of a
 * context from the old one, while devices keep doing DMA.
 *
 * Nothing is pinned again and no IOPTE changes: only the RLIMIT_MEMLOCK
 * charge of each pinned range moves, from whoever holds it to the
 * caller, all of it or none.  The caller is charged for the whole first,
 * within its limit; only then does each range drop its old owner's
 * charge and take the caller as its owner.
 */
#include <linux/slab.h>
#include <linux/xarray.h>

#include <uapi/linux/ioasid.h>

#include "ioasid_private.h"

/**
 * struct ioasid_owner_change - one IOASID_CHANGE_OWNER
 * @pages: The pinned ranges the caller does not own yet, each with a
 *         reference, once each however many mappings share it
 * @npages: Their pages, by count charged
 * @to: The caller's charge, by count, once made
 */
struct ioasid_owner_change {
	struct xarray pages;
	unsigned long npages[IOASID_ACCOUNTS];
	struct ioasid_charge to[IOASID_ACCOUNTS];
};

/* An index for @pages in an xarray: distinct for distinct objects. */
static unsigned long ioasid_pages_key(struct ioasid_pages *pages)
{
	return (unsigned long)pages / sizeof(*pages);
}

/* Gather the ranges of one IOASID that the caller does not own. */
static int ioasid_owner_gather(struct ioasid_owner_change *c,
			       struct ioasid_space *space)
{
	struct interval_tree_node *node;
	struct ioasid_pages *pages;
	int rc;

	guard(rwsem_read)(&space->lock);
	for (node = interval_tree_iter_first(&space->mappings, 0, ULONG_MAX);
	     node; node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		pages = container_of(node, struct ioasid_mapping, node)->pages;
		if (pages->dmem || ioasid_charge_is_current(&pages->charge))
			continue;
		rc = xa_insert(&c->pages, ioasid_pages_key(pages), pages,
			       IOASID_GFP);
		if (rc == -EBUSY)
			continue;
		if (rc)
			return rc;
		kref_get(&pages->kref);
		c->npages[pages->charge.account] += pages->npages;
		cond_resched();
	}
	return 0;
}

static int ioasid_owner_gather_all(struct ioasid_owner_change *c,
				   struct ioasid_ctx *ctx)
{
	struct ioasid_object *obj;
	unsigned long id = 0;
	int rc = 0;

	while (!rc && (obj = ioasid_object_next(ctx, &id, IOASID_OBJ_SPACE))) {
		rc = ioasid_owner_gather(c, container_of(obj, struct ioasid_space,
							 obj));
		ioasid_object_put(obj);
		id++;
	}
	return rc;
}

/* Charge the caller for all of it, or for nothing. */
static int ioasid_owner_charge(struct ioasid_owner_change *c)
{
	enum ioasid_account a;
	int rc;

	for (a = 0; a < IOASID_ACCOUNTS; a++) {
		if (!c->npages[a])
			continue;
		ioasid_charge_init(&c->to[a], a);
		rc = ioasid_charge_add(&c->to[a], c->npages[a]);
		if (rc) {
			ioasid_charge_release(&c->to[a]);
			goto err_undo;
		}
	}
	return 0;

err_undo:
	while (a--) {
		if (!c->npages[a])
			continue;
		ioasid_charge_sub(&c->to[a], c->npages[a]);
		ioasid_charge_release(&c->to[a]);
	}
	return rc;
}

/* Each range gives its old owner's charge back and takes the caller. */
static void ioasid_owner_move(struct ioasid_owner_change *c)
{
	struct ioasid_pages *pages;
	struct ioasid_charge to;
	unsigned long index;
	enum ioasid_account a;

	xa_for_each(&c->pages, index, pages) {
		ioasid_charge_init(&to, pages->charge.account);
		ioasid_charge_move(&pages->charge, &to, pages->npages);
	}
	for (a = 0; a < IOASID_ACCOUNTS; a++)
		if (c->npages[a])
			ioasid_charge_release(&c->to[a]);
}

int ioasid_change_owner_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_change_owner *cmd = ucmd->cmd;
	struct ioasid_ctx *ctx = ucmd->ctx;
	struct ioasid_owner_change c = {};
	struct ioasid_pages *pages;
	unsigned long index;
	enum ioasid_account a;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;

	xa_init(&c.pages);
	mutex_lock(&ctx->owner_lock);
	rc = ioasid_owner_gather_all(&c, ctx);
	if (!rc)
		rc = ioasid_owner_charge(&c);
	if (!rc)
		ioasid_owner_move(&c);
	mutex_unlock(&ctx->owner_lock);

	/* A range unmapped meanwhile is released here, by its new owner. */
	xa_for_each(&c.pages, index, pages)
		ioasid_pages_put(pages);
	xa_destroy(&c.pages);
	if (rc)
		return rc;

	cmd->out_pages = 0;
	for (a = 0; a < IOASID_ACCOUNTS; a++)
		cmd->out_pages += c.npages[a];
	return ioasid_ucmd_respond(ucmd, sizeof(*cmd));
}

/**
 * ioasid_space_invalidate_vaddr - the mappings of a range lose their user
 *                                 address (VFIO_DMA_UNMAP_FLAG_VADDR)
 * @space: The IOASID of a VFIO container
 * @iova: Start of the range
 * @last: Its last byte
 * @rule: Which mappings the range takes, as for an unmap
 * @size: Output: the bytes of the mappings taken
 *
 * A VMM about to be replaced says its user addresses will no longer be
 * good.  Nothing of the mappings changes: the pages stay pinned and
 * mapped, since nothing here reads a user address after the map.  Each
 * mapping just waits for ioasid_space_update_vaddr().
 *
 * Return: 0 (a range with no mapping is a size of 0), -EINVAL with
 * nothing changed if a mapping crosses an end of the range (exact rule),
 * or if one of them has no user address already.
 */
int ioasid_space_invalidate_vaddr(struct ioasid_space *space,
				  unsigned long iova, unsigned long last,
				  enum ioasid_unmap_rule rule, u64 *size)
{
	struct interval_tree_node *node;
	struct ioasid_mapping *m;

	*size = 0;
	guard(rwsem_write)(&space->lock);
	if (rule == IOASID_UNMAP_VFIO_V1 &&
	    !ioasid_space_v1_range(space, iova, &last))
		return 0;
	m = ioasid_space_first_whole(space, iova, last);
	if (IS_ERR(m))
		return PTR_ERR(m) == -ENOENT ? 0 : PTR_ERR(m);
	for (node = &m->node; node;
	     node = interval_tree_iter_next(node, iova, last))
		if (container_of(node, struct ioasid_mapping, node)->vaddr_invalid)
			return -EINVAL;
	for (node = &m->node; node;
	     node = interval_tree_iter_next(node, iova, last)) {
		m = container_of(node, struct ioasid_mapping, node);
		m->vaddr_invalid = true;
		space->vaddr_invalid++;
		*size += m->node.last - m->node.start + 1;
	}
	return 0;
}

/* The mapping that is exactly [@iova, @last] and has no user address. */
static struct ioasid_mapping *ioasid_vaddr_mapping(struct ioasid_space *space,
						   unsigned long iova,
						   unsigned long last)
{
	struct interval_tree_node *node;
	struct ioasid_mapping *m;

	lockdep_assert_held(&space->lock);
	node = interval_tree_iter_first(&space->mappings, iova, last);
	if (!node)
		return ERR_PTR(-ENOENT);
	m = container_of(node, struct ioasid_mapping, node);
	if (!m->vaddr_invalid || m->node.start != iova || m->node.last != last)
		return ERR_PTR(-EINVAL);
	return m;
}

/*
 * The caller takes over the charge of @pages.  The mmap lock that
 * account_locked_vm() takes ranks above space->lock (a fault on a VFIO
 * BAR reaches the device-memory export, which takes space->lock), so
 * the charge moves with no IOASID lock held; @pages is referenced.
 */
static int ioasid_pages_take_charge(struct ioasid_pages *pages)
{
	struct ioasid_charge to;
	int rc;

	if (pages->dmem || ioasid_charge_is_current(&pages->charge))
		return 0;
	ioasid_charge_init(&to, pages->charge.account);
	rc = ioasid_charge_add(&to, pages->npages);
	if (rc) {
		ioasid_charge_release(&to);
		return rc;
	}
	ioasid_charge_move(&pages->charge, &to, pages->npages);
	return 0;
}

/**
 * ioasid_space_update_vaddr - a mapping gets its user address back, and
 *                             its new owner (VFIO_DMA_MAP_FLAG_VADDR)
 * @space: The IOASID of a VFIO container
 * @iova: Start of the mapping
 * @last: Its last byte
 *
 * The caller (the VMM that took over) takes the mapping's RLIMIT_MEMLOCK
 * charge, as type1 moves it, unless it holds it already.  ctx->owner_lock
 * keeps any other owner change out meanwhile.
 *
 * Return: 0, -ENOENT for no mapping in the range (or none any more, if
 * it was unmapped meanwhile), -EINVAL unless exactly one mapping is the
 * range and it has no user address, -ENOMEM past the caller's
 * RLIMIT_MEMLOCK; the mapping does not change on error.
 */
int ioasid_space_update_vaddr(struct ioasid_space *space, unsigned long iova,
			      unsigned long last)
{
	struct ioasid_pages *pages;
	struct ioasid_mapping *m;
	int rc;

	mutex_lock(&space->ctx->owner_lock);
	scoped_guard(rwsem_read, &space->lock) {
		m = ioasid_vaddr_mapping(space, iova, last);
		if (IS_ERR(m)) {
			mutex_unlock(&space->ctx->owner_lock);
			return PTR_ERR(m);
		}
		pages = m->pages;
		kref_get(&pages->kref);
	}

	rc = ioasid_pages_take_charge(pages);
	if (!rc) {
		guard(rwsem_write)(&space->lock);
		m = ioasid_vaddr_mapping(space, iova, last);
		if (IS_ERR(m) || m->pages != pages) {
			rc = -ENOENT;
		} else {
			m->vaddr_invalid = false;
			space->vaddr_invalid--;
		}
	}
	mutex_unlock(&space->ctx->owner_lock);
	ioasid_pages_put(pages);
	return rc;
}

/**
 * ioasid_space_vaddr_invalid - whether mappings wait for a user address
 * @space: The IOASID of a VFIO container
 *
 * Return: true while some mapping has none.
 */
bool ioasid_space_vaddr_invalid(struct ioasid_space *space)
{
	guard(rwsem_read)(&space->lock);
	return space->vaddr_invalid;
}
