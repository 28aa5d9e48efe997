/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal interfaces of /dev/ioasid, shared by the files of
 * drivers/iommu/ioasid/.
 */
#ifndef __IOASID_PRIVATE_H
#define __IOASID_PRIVATE_H

#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/xarray.h>

/**
 * struct ioasid_ctx - the state behind one open /dev/ioasid file
 * @objects: Every object of the context by id.  Ids are reserved with
 *           XA_ZERO_ENTRY while an object is being built, so that lookups
 *           never see a half-built object.  The xa_lock also serialises
 *           lookups against destruction (see struct ioasid_object).
 *
 * The context lives exactly as long as the file: it is allocated at open
 * and freed at release, after every object it holds is destroyed.
 */
struct ioasid_ctx {
	struct xarray objects;
};

enum ioasid_object_type {
	IOASID_OBJ_ANY,
	IOASID_OBJ_SPACE,
	IOASID_OBJ_MAX,
};

/**
 * struct ioasid_object - what every object of a context starts with
 * @users: One reference is held by @objects of the owning context while
 *         the object is published; every other user (an ioctl working on
 *         the object, a device attached to an IOASID) holds one more.
 *         Destruction takes the count from 1 to 0 under the xa_lock, so
 *         an object with any other user cannot be destroyed (EBUSY), and
 *         a lookup, which increments under the same lock, never finds an
 *         object on its way out.
 * @type: What the object is; fixed at allocation.
 * @id: Its id within the context; fixed at allocation.
 */
struct ioasid_object {
	refcount_t users;
	enum ioasid_object_type type;
	u32 id;
};

/**
 * struct ioasid_ucmd - one ioctl call, as its handler sees it
 * @ctx: The context of the file the ioctl was issued on
 * @ubuffer: The caller's struct
 * @user_size: The size the caller gave in the struct's size field
 * @cmd: The kernel's copy of the struct, zero-extended to its full size
 */
struct ioasid_ucmd {
	struct ioasid_ctx *ctx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

int ioasid_ucmd_respond(struct ioasid_ucmd *ucmd, size_t cmd_len);

struct ioasid_object *ioasid_object_alloc(struct ioasid_ctx *ctx,
					  size_t size,
					  enum ioasid_object_type type);
void ioasid_object_publish(struct ioasid_ctx *ctx, struct ioasid_object *obj);
void ioasid_object_abort(struct ioasid_ctx *ctx, struct ioasid_object *obj);
struct ioasid_object *ioasid_object_get(struct ioasid_ctx *ctx, u32 id,
					enum ioasid_object_type type);
void ioasid_object_put(struct ioasid_object *obj);
void ioasid_ctx_destroy_all(struct ioasid_ctx *ctx);

int ioasid_destroy_ioctl(struct ioasid_ucmd *ucmd);

/**
 * struct ioasid_space - an IOASID: one I/O address space of a context
 * @obj: Registry entry; @obj.id is the IOASID number user space sees.
 */
struct ioasid_space {
	struct ioasid_object obj;
};

int ioasid_space_alloc_ioctl(struct ioasid_ucmd *ucmd);
void ioasid_space_destroy(struct ioasid_object *obj);

#endif /* __IOASID_PRIVATE_H */
