// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOASIDs: the I/O address spaces of a context.  Each is an object of the
 * context's registry (object.c), holds its mappings (mapping.c) and the
 * IOMMU domains that back it (domain.c), and answers what its usable IOVA
 * ranges are and how many of its domains block no-snoop DMA.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

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
	xa_init(&space->accesses);
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

void ioasid_space_destroy(struct ioasid_object *obj)
{
	struct ioasid_space *space = container_of(obj, struct ioasid_space, obj);

	/* Attached devices and accesses hold a reference: none is left. */
	WARN_ON(!list_empty(&space->domains));
	WARN_ON(!xa_empty(&space->accesses));
	ioasid_space_unmap_all(space);
	xa_destroy(&space->accesses);
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
