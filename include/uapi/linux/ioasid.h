/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/ioasid: I/O address spaces managed from user space.
 *
 * Each open file of /dev/ioasid is a context.  A context holds objects,
 * each named by a 32-bit id that is only meaningful within that context.
 * An IOASID is one such object: an I/O address space into which user
 * memory is mapped for device DMA.  An IOASID id is a handle of this
 * interface; it is not a PASID and has nothing to do with the kernel's
 * ioasid_t.
 *
 * Every ioctl takes a pointer to a struct whose first member is
 * "__u32 size", set by the caller to the size of the struct it knows.
 * The kernel accepts any size from the first version of the struct up:
 * fields the caller does not know are taken as zero, and a caller's tail
 * the kernel does not know must be zero (E2BIG otherwise).  Output fields
 * are written up to the smaller of the two sizes.
 *
 * Errors common to every ioctl:
 *
 * - ENOTTY: unknown ioctl number.
 * - EFAULT: the argument pointer is not readable or writable.
 * - EINVAL: size smaller than the first version of the struct, or a
 *   reserved field that is not zero.
 * - E2BIG: size larger than the kernel's struct, with a non-zero tail.
 * - EOPNOTSUPP: a flag this kernel does not know.
 * - ENOENT: an id that names no object, or an object of another type.
 *
 * A failed ioctl changes nothing.
 */
#ifndef _UAPI_LINUX_IOASID_H
#define _UAPI_LINUX_IOASID_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOASID_TYPE	(';')
#define IOASID_CMD_BASE	0x40

enum {
	IOASID_CMD_GET_INFO = IOASID_CMD_BASE,
	IOASID_CMD_DESTROY,
	IOASID_CMD_ALLOC,
};

/**
 * struct ioasid_info - ioctl(IOASID_GET_INFO)
 * @size: sizeof(struct ioasid_info)
 * @flags: Must be 0
 * @caps: Output: the IOASID_CAP_* features this kernel has
 *
 * Tells user space what this kernel offers, so that it can choose what
 * to use before it uses it.  There is deliberately no version number:
 * a feature is either reported here or detected by its own ioctl failing
 * with ENOTTY or EOPNOTSUPP.  No capability is defined yet; bits this
 * kernel does not know are always returned as 0.
 */
struct ioasid_info {
	__u32 size;
	__u32 flags;
	__aligned_u64 caps;
};

#define IOASID_GET_INFO		_IO(IOASID_TYPE, IOASID_CMD_GET_INFO)

/**
 * struct ioasid_destroy - ioctl(IOASID_DESTROY)
 * @size: sizeof(struct ioasid_destroy)
 * @flags: Must be 0
 * @id: The object to destroy, of any type
 * @__reserved: Must be 0
 *
 * Destroys one object of the context and frees its id, which a later
 * allocation may reuse.  Fails with EBUSY, changing nothing, while the
 * object is in use: for example an IOASID that a device is attached to.
 * Closing the file destroys every object it still holds.
 */
struct ioasid_destroy {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 __reserved;
};

#define IOASID_DESTROY		_IO(IOASID_TYPE, IOASID_CMD_DESTROY)

/**
 * struct ioasid_alloc - ioctl(IOASID_ALLOC)
 * @size: sizeof(struct ioasid_alloc)
 * @flags: Attributes of the new IOASID, fixed for its lifetime; none is
 *         defined yet, so must be 0
 * @out_ioasid: Output: the id of the new IOASID
 * @__reserved: Must be 0
 *
 * Allocates an empty I/O address space.  Attributes are declared here,
 * at allocation, so that no later operation has to change the nature of
 * an address space that devices already use.
 */
struct ioasid_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioasid;
	__u32 __reserved;
};

#define IOASID_ALLOC		_IO(IOASID_TYPE, IOASID_CMD_ALLOC)

#endif /* _UAPI_LINUX_IOASID_H */
