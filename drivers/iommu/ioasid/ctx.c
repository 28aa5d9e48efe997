// SPDX-License-Identifier: GPL-2.0-only
/*
 * The context of an open /dev/ioasid file, and what every ioctl handler
 * needs of it: finding the context behind a file, and answering a call.
 * main.c opens files and dispatches; everything below it comes here.
 */
#include <linux/fs.h>
#include <linux/ioasid.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ioasid_private.h"

/**
 * ioasid_ctx_alloc - a new, empty context
 *
 * Return: the context, or NULL.
 */
struct ioasid_ctx *ioasid_ctx_alloc(void)
{
	struct ioasid_ctx *ctx;

	ctx = kzalloc(sizeof(*ctx), IOASID_GFP);
	if (!ctx)
		return NULL;
	xa_init_flags(&ctx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	mutex_init(&ctx->groups_lock);
	xa_init(&ctx->groups);
	mutex_init(&ctx->owner_lock);
	ioasid_coherency_init(ctx);
	ioasid_vfio_init(ctx);
	return ctx;
}

/**
 * ioasid_ctx_free - destroy every object of a context, and free it
 * @ctx: The context of a file being released
 */
void ioasid_ctx_free(struct ioasid_ctx *ctx)
{
	ioasid_ctx_destroy_all(ctx);
	xa_destroy(&ctx->objects);
	/* Bound devices hold the file open: none can be left. */
	WARN_ON(!xa_empty(&ctx->groups));
	xa_destroy(&ctx->groups);
	mutex_destroy(&ctx->groups_lock);
	mutex_destroy(&ctx->owner_lock);
	ioasid_coherency_destroy(ctx);
	ioasid_vfio_destroy(ctx);
	kfree(ctx);
}

/**
 * ioasid_ctx_from_file - the context behind an open /dev/ioasid file
 * @file: A file of the caller's
 *
 * The context lives as long as the file: the caller keeps its reference
 * on @file for as long as it uses the context, typically from binding a
 * device to unbinding it.
 *
 * Context: Any context; takes no lock.
 * Return: the context, or ERR_PTR(-EBADFD) if @file is not /dev/ioasid.
 */
struct ioasid_ctx *ioasid_ctx_from_file(struct file *file)
{
	if (file->f_op != &ioasid_fops)
		return ERR_PTR(-EBADFD);
	return file->private_data;
}
EXPORT_SYMBOL_NS_GPL(ioasid_ctx_from_file, IOASID);

/**
 * ioasid_ucmd_respond - copy the command struct back to user space
 * @ucmd: The call
 * @cmd_len: Size of the kernel struct
 *
 * Writes no more than the caller's size, so that a caller built against
 * an older, shorter struct gets exactly the fields it knows.
 *
 * Return: 0 or -EFAULT.
 */
int ioasid_ucmd_respond(struct ioasid_ucmd *ucmd, size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}
