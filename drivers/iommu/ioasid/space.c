// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOASIDs: the I/O address spaces of a context.
 */
#include <linux/slab.h>

#include <uapi/linux/ioasid.h>

#include "ioasid_private.h"

int ioasid_space_alloc_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_alloc *cmd = ucmd->cmd;
	struct ioasid_object *obj;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;

	obj = ioasid_object_alloc(ucmd->ctx, sizeof(struct ioasid_space),
				  IOASID_OBJ_SPACE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);

	/* User space learns the id before anything can use it. */
	cmd->out_ioasid = obj->id;
	rc = ioasid_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		ioasid_object_abort(ucmd->ctx, obj);
		return rc;
	}
	ioasid_object_publish(ucmd->ctx, obj);
	return 0;
}

void ioasid_space_destroy(struct ioasid_object *obj)
{
	kfree(container_of(obj, struct ioasid_space, obj));
}
