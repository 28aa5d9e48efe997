// SPDX-License-Identifier: GPL-2.0-only
/*
 * The object registry of a /dev/ioasid context: ids, types, lifetimes.
 *
 * An object is built in three steps so that user space never sees one
 * half made: ioasid_object_alloc() reserves an id, the creator fills the
 * object in and tells user space its id, then ioasid_object_publish()
 * makes it visible to lookups.  If anything fails before publication,
 * ioasid_object_abort() gives the id back and nothing was ever visible.
 */
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include <uapi/linux/ioasid.h>

#include "ioasid_private.h"

/*
 * How each type is torn down once its last user is gone; the function
 * also frees the memory that holds the object.
 */
static void (*const ioasid_object_destroy_fn[IOASID_OBJ_MAX])(struct ioasid_object *) = {
	[IOASID_OBJ_SPACE] = ioasid_space_destroy,
#ifdef CONFIG_IOASID_TEST
	[IOASID_OBJ_MOCK] = ioasid_test_mock_destroy,
	[IOASID_OBJ_MOCK_ACCESS] = ioasid_test_access_destroy,
#endif
};

static void ioasid_object_destroy(struct ioasid_object *obj);

/**
 * ioasid_object_alloc - reserve an id and allocate a new object
 * @ctx: The owning context
 * @size: Size of the containing struct, whose first member is the object
 * @type: What the object is
 *
 * Return: the object, invisible to lookups until ioasid_object_publish(),
 * or an ERR_PTR.
 */
struct ioasid_object *ioasid_object_alloc(struct ioasid_ctx *ctx, size_t size,
					  enum ioasid_object_type type)
{
	struct ioasid_object *obj;
	int rc;

	obj = kzalloc(size, IOASID_GFP);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->type = type;
	refcount_set(&obj->users, 1);
	/* The publication's own reference, see struct ioasid_object. */
	atomic_set(&obj->shortterm, 1);
	rc = xa_alloc(&ctx->objects, &obj->id, XA_ZERO_ENTRY, xa_limit_31b,
		      IOASID_GFP);
	if (rc) {
		kfree(obj);
		return ERR_PTR(rc);
	}
	return obj;
}

/**
 * ioasid_object_publish - make a fully built object visible to lookups
 * @ctx: The owning context
 * @obj: An object from ioasid_object_alloc()
 */
void ioasid_object_publish(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	void *old;

	old = xa_store(&ctx->objects, obj->id, obj, GFP_KERNEL);
	/* Storing over a reserved entry needs no memory and cannot fail. */
	WARN_ON(old);
}

/**
 * ioasid_object_abort - free an object that was never published
 * @ctx: The owning context
 * @obj: An object from ioasid_object_alloc(), emptied by its creator
 */
void ioasid_object_abort(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	xa_erase(&ctx->objects, obj->id);
	kfree(obj);
}

/**
 * ioasid_object_get - look an object up for the length of a call
 * @ctx: The context to look in
 * @id: The id user space gave
 * @type: The type the caller needs
 *
 * Return: the object with a short-term reference, to be released with
 * ioasid_object_put() before the call returns, or ERR_PTR(-ENOENT) when
 * @id names no published object of @type.
 */
struct ioasid_object *ioasid_object_get(struct ioasid_ctx *ctx, u32 id,
					enum ioasid_object_type type)
{
	struct ioasid_object *obj;

	xa_lock(&ctx->objects);
	obj = xa_load(&ctx->objects, id);
	if (!obj || obj->type != type)
		obj = ERR_PTR(-ENOENT);
	else
		atomic_inc(&obj->shortterm);
	xa_unlock(&ctx->objects);
	return obj;
}

/**
 * ioasid_object_next - walk the published objects of a type
 * @ctx: The context
 * @index: In: the first id to look at; out: the id of the object found
 * @type: The type
 *
 * Return: the object, with a short-term reference as from
 * ioasid_object_get(), or NULL when no id from @index on has one.
 */
struct ioasid_object *ioasid_object_next(struct ioasid_ctx *ctx,
					 unsigned long *index,
					 enum ioasid_object_type type)
{
	struct ioasid_object *obj;

	xa_lock(&ctx->objects);
	xa_for_each_start(&ctx->objects, *index, obj, *index) {
		if (obj->type == type) {
			atomic_inc(&obj->shortterm);
			break;
		}
	}
	xa_unlock(&ctx->objects);
	return obj;
}

/**
 * ioasid_object_hold - take a call-length reference without a lookup
 * @obj: An object the caller holds a long-term reference on
 *
 * A long-term user keeps the object published, so its short-term count
 * still holds the publication's reference and cannot be zero: this never
 * brings back an object on its way out.  Released with
 * ioasid_object_put().
 */
void ioasid_object_hold(struct ioasid_object *obj)
{
	atomic_inc(&obj->shortterm);
}

/**
 * ioasid_object_put - drop a call-length reference
 * @obj: The object
 *
 * The count only reaches zero once the object is unpublished, and then
 * exactly once: whoever drops it there destroys the object, without
 * looking at it again before.  So destruction never waits for a call that
 * user space can keep blocked.
 *
 * Context: process context, with no lock of the object's held: it may
 * sleep.
 */
void ioasid_object_put(struct ioasid_object *obj)
{
	if (atomic_dec_and_test(&obj->shortterm))
		ioasid_object_destroy(obj);
	else
		/*
		 * ioasid_object_remove() may be waiting for this.  The address
		 * is only hashed: the object may be gone already.
		 */
		wake_up_var(&obj->shortterm);
}

/**
 * ioasid_object_use - become a long-term user of an object
 * @obj: An object the caller holds a short-term reference on
 *
 * Return: false if the object is being destroyed; the caller then treats
 * it as not found.
 */
bool ioasid_object_use(struct ioasid_object *obj)
{
	return refcount_inc_not_zero(&obj->users);
}

/**
 * ioasid_object_unuse - end a long-term use
 * @obj: The object; the registry's reference keeps it
 */
void ioasid_object_unuse(struct ioasid_object *obj)
{
	refcount_dec(&obj->users);
}

/**
 * ioasid_object_remove - take a kernel-owned object out of the registry
 * @ctx: The owning context
 * @obj: An object whose owner (a device binding) holds a long-term
 *       reference
 *
 * Makes the id unknown, then waits for the calls still using the object
 * to finish.  Those never wait for the caller, so this ends; a call that
 * takes long is reported once.  On return the owner has the object to
 * itself.
 */
void ioasid_object_remove(struct ioasid_ctx *ctx, struct ioasid_object *obj)
{
	xa_erase(&ctx->objects, obj->id);
	/* Only the publication's reference left: no call uses it. */
	while (!wait_var_event_timeout(&obj->shortterm,
				       atomic_read(&obj->shortterm) == 1,
				       30 * HZ))
		pr_warn_once("ioasid: object %u still in use after 30 s\n",
			     obj->id);
}

/*
 * Unpublish @obj if the context holds its only long-term reference.  The
 * caller then owns the publication's reference and drops it with
 * ioasid_object_put(), which destroys the object unless calls still use
 * it; the last of those destroys it then.
 */
static bool ioasid_object_unpublish(struct ioasid_ctx *ctx,
				    struct ioasid_object *obj)
{
	lockdep_assert_held(&ctx->objects.xa_lock);

	if (!refcount_dec_if_one(&obj->users))
		return false;
	__xa_erase(&ctx->objects, obj->id);
	return true;
}

static void ioasid_object_destroy(struct ioasid_object *obj)
{
	/* Kernel-owned objects always have a second user: never here. */
	if (!WARN_ON(!ioasid_object_destroy_fn[obj->type]))
		ioasid_object_destroy_fn[obj->type](obj);
}

/**
 * ioasid_object_put_destroy - drop a kernel user's reference, destroying
 *                             the object if no one else uses it
 * @ctx: The owning context
 * @obj: A published object the caller holds a long-term reference on
 *
 * For objects the kernel created on user space's behalf (the IOASID of a
 * VFIO container): when the kernel is done with it, it goes, unless user
 * space uses it too, in which case it stays as if user space had made it.
 */
void ioasid_object_put_destroy(struct ioasid_ctx *ctx,
			       struct ioasid_object *obj)
{
	bool last;

	xa_lock(&ctx->objects);
	/* Ours; then the registry's, unless someone else uses it too. */
	refcount_dec(&obj->users);
	last = ioasid_object_unpublish(ctx, obj);
	xa_unlock(&ctx->objects);
	if (last)
		ioasid_object_put(obj);
}

/**
 * ioasid_object_destroy_id - destroy an object no one else uses
 * @ctx: The owning context
 * @id: Its id
 *
 * Return: 0, -ENOENT for no published object of that id, -EBUSY while it
 * has users besides the context.
 */
int ioasid_object_destroy_id(struct ioasid_ctx *ctx, u32 id)
{
	struct ioasid_object *obj;
	int rc = 0;

	xa_lock(&ctx->objects);
	obj = xa_load(&ctx->objects, id);
	if (!obj)
		rc = -ENOENT;
	else if (!ioasid_object_unpublish(ctx, obj))
		rc = -EBUSY;
	xa_unlock(&ctx->objects);
	if (rc)
		return rc;

	ioasid_object_put(obj);
	return 0;
}

int ioasid_destroy_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_destroy *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	return ioasid_object_destroy_id(ucmd->ctx, cmd->id);
}

/**
 * ioasid_ctx_destroy_all - destroy every object of a closing context
 * @ctx: The context; no ioctl can run on it any more
 *
 * Objects hold references on each other (a device on the IOASID it is
 * attached to), so an object may only become free once another is gone:
 * sweep until nothing is left.  A sweep that frees nothing means a
 * reference leaked.
 */
void ioasid_ctx_destroy_all(struct ioasid_ctx *ctx)
{
	struct ioasid_object *obj;
	unsigned long index;
	bool progress, freed;

	do {
		progress = false;
		xa_for_each(&ctx->objects, index, obj) {
			xa_lock(&ctx->objects);
			freed = ioasid_object_unpublish(ctx, obj);
			xa_unlock(&ctx->objects);
			if (freed)
				ioasid_object_put(obj);
			progress |= freed;
		}
	} while (progress && !xa_empty(&ctx->objects));

	WARN_ON(!xa_empty(&ctx->objects));
}
