// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ioasid: the character device and its ioctl dispatch.
 *
 * Each open file is a context (struct ioasid_ctx).  Every ioctl takes one
 * extensible struct whose first member is its size; the dispatcher checks
 * and copies it once, so that handlers only see a complete kernel copy
 * and only have to check the meaning of its fields.
 */
#include <linux/fs.h>
#include <linux/ioasid.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <uapi/linux/ioasid.h>
#include <uapi/linux/vfio.h>

#include "ioasid_private.h"
#include "ioasid_test.h"

static int ioasid_fops_open(struct inode *inode, struct file *filp)
{
	struct ioasid_ctx *ctx = ioasid_ctx_alloc();

	if (!ctx)
		return -ENOMEM;
	filp->private_data = ctx;
	return 0;
}

static int ioasid_fops_release(struct inode *inode, struct file *filp)
{
	ioasid_ctx_free(filp->private_data);
	return 0;
}

static int ioasid_get_info_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_info *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	cmd->caps = IOASID_CAP_COHERENCY | IOASID_CAP_DEVICE_INFO |
		    IOASID_CAP_MAP_FILE | IOASID_CAP_VEC |
		    IOASID_CAP_CHANGE_OWNER | IOASID_CAP_DIRTY_TRACKING;
	/* VFIO exports device memory only then. */
	if (IS_ENABLED(CONFIG_VFIO_IOASID))
		cmd->caps |= IOASID_CAP_MAP_DEVICE_MEMORY;
	/* VFIO takes an ioasid file as a group's container only then. */
	if (IS_ENABLED(CONFIG_VFIO_GROUP) && IS_ENABLED(CONFIG_VFIO_IOASID))
		cmd->caps |= IOASID_CAP_VFIO_CONTAINER;
	return ioasid_ucmd_respond(ucmd, sizeof(*cmd));
}

/* Every struct an ioctl takes, so that one buffer fits them all. */
union ioasid_ucmd_buffer {
	struct ioasid_alloc alloc;
	struct ioasid_change_owner change_owner;
	struct ioasid_coherency coherency;
	struct ioasid_copy copy;
	struct ioasid_destroy destroy;
	struct ioasid_device_info device_info;
	struct ioasid_info info;
	struct ioasid_iova_ranges iova_ranges;
	struct ioasid_map map;
	struct ioasid_test test;
	struct ioasid_unmap unmap;
	struct ioasid_vec vec;
};

/**
 * struct ioasid_ioctl_op - how to dispatch one ioctl
 * @size: Size of the struct the kernel knows
 * @min_size: Size of the first version of the struct; shorter is EINVAL
 * @ioctl_num: The full ioctl number, checked so that only the exact
 *             encoding is accepted
 * @execute: The handler
 */
struct ioasid_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct ioasid_ucmd *ucmd);
};

#define IOCTL_OP(_name, _fn, _struct, _last)                                   \
	[IOASID_CMD_##_name - IOASID_CMD_BASE] = {                             \
		.size = sizeof(_struct) +                                      \
			BUILD_BUG_ON_ZERO(sizeof(union ioasid_ucmd_buffer) <   \
					  sizeof(_struct)),                    \
		.min_size = offsetofend(_struct, _last),                       \
		.ioctl_num = IOASID_##_name,                                   \
		.execute = _fn,                                                \
	}
static const struct ioasid_ioctl_op ioasid_ioctl_ops[] = {
	IOCTL_OP(ALLOC, ioasid_space_alloc_ioctl, struct ioasid_alloc,
		 __reserved),
	IOCTL_OP(DESTROY, ioasid_destroy_ioctl, struct ioasid_destroy,
		 __reserved),
	IOCTL_OP(GET_INFO, ioasid_get_info_ioctl, struct ioasid_info, caps),
	IOCTL_OP(MAP, ioasid_map_ioctl, struct ioasid_map, iova),
	IOCTL_OP(COPY, ioasid_copy_ioctl, struct ioasid_copy, dst_iova),
	IOCTL_OP(UNMAP, ioasid_unmap_ioctl, struct ioasid_unmap, length),
	IOCTL_OP(IOVA_RANGES, ioasid_iova_ranges_ioctl,
		 struct ioasid_iova_ranges, out_iova_alignment),
	IOCTL_OP(COHERENCY, ioasid_coherency_ioctl, struct ioasid_coherency,
		 out_noncoherent_domains),
	IOCTL_OP(DEVICE_INFO, ioasid_device_info_ioctl,
		 struct ioasid_device_info, reserved),
	IOCTL_OP(VEC, ioasid_vec_ioctl, struct ioasid_vec, entries),
	IOCTL_OP(CHANGE_OWNER, ioasid_change_owner_ioctl,
		 struct ioasid_change_owner, __reserved),
	IOCTL_OP(DIRTY_TRACKING, ioasid_dirty_tracking_ioctl,
		 struct ioasid_dirty_tracking, __reserved),
	IOCTL_OP(DIRTY_BITMAP, ioasid_dirty_bitmap_ioctl,
		 struct ioasid_dirty_bitmap, data),
#ifdef CONFIG_IOASID_TEST
	IOCTL_OP(TEST, ioasid_test_ioctl, struct ioasid_test, op),
#endif
};

static long ioasid_fops_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	const struct ioasid_ioctl_op *op;
	union ioasid_ucmd_buffer buf;
	struct ioasid_ucmd ucmd = {
		.ctx = filp->private_data,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
	};
	unsigned int nr = _IOC_NR(cmd);
	int rc;

	/* VFIO shares our ioctl type; its numbers start above ours. */
	if (_IOC_TYPE(cmd) == VFIO_TYPE && nr >= VFIO_BASE)
		return ioasid_vfio_ioctl(ucmd.ctx, cmd, arg);
	if (nr < IOASID_CMD_BASE ||
	    nr >= IOASID_CMD_BASE + ARRAY_SIZE(ioasid_ioctl_ops))
		return -ENOTTY;
	op = &ioasid_ioctl_ops[nr - IOASID_CMD_BASE];
	if (op->ioctl_num != cmd)
		return -ENOTTY;

	rc = get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer);
	if (rc)
		return rc;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	rc = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				   ucmd.user_size);
	if (rc)
		return rc;
	return op->execute(&ucmd);
}

static void ioasid_fops_show_fdinfo(struct seq_file *m, struct file *filp)
{
	ioasid_coherency_show_fdinfo(filp->private_data, m);
	ioasid_dmem_show_fdinfo(filp->private_data, m);
	ioasid_vfio_show_fdinfo(filp->private_data, m);
}

const struct file_operations ioasid_fops = {
	.owner = THIS_MODULE,
	.open = ioasid_fops_open,
	.release = ioasid_fops_release,
	.unlocked_ioctl = ioasid_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.show_fdinfo = ioasid_fops_show_fdinfo,
};

/*
 * 0660: the file grants pinning memory and driving DMA, so access is
 * given by group membership, as for /dev/vfio/devices/ and /dev/iommu.
 */
static struct miscdevice ioasid_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ioasid",
	.fops = &ioasid_fops,
	.mode = 0660,
};

#ifdef CONFIG_IOASID_VFIO_CONTAINER
/*
 * /dev/vfio/vfio, served by /dev/ioasid instead of VFIO's own container,
 * so that a VMM that only knows VFIO containers uses /dev/ioasid without
 * being told.  0666 as VFIO has it: the file grants nothing until a group
 * file, which is access controlled, is given to it.
 */
static struct miscdevice ioasid_vfio_misc = {
	.minor = VFIO_MINOR,
	.name = "vfio",
	.nodename = "vfio/vfio",
	.fops = &ioasid_fops,
	.mode = 0666,
};
MODULE_ALIAS_MISCDEV(VFIO_MINOR);
MODULE_ALIAS("devname:vfio/vfio");
#endif

static int __init ioasid_init(void)
{
	int rc;

	rc = misc_register(&ioasid_misc);
	if (rc)
		return rc;
#ifdef CONFIG_IOASID_VFIO_CONTAINER
	rc = misc_register(&ioasid_vfio_misc);
	if (rc)
		goto err_misc;
#endif
	rc = ioasid_test_init();
	if (rc)
		goto err_vfio_misc;
	return 0;

err_vfio_misc:
#ifdef CONFIG_IOASID_VFIO_CONTAINER
	misc_deregister(&ioasid_vfio_misc);
err_misc:
#endif
	misc_deregister(&ioasid_misc);
	return rc;
}

static void __exit ioasid_exit(void)
{
	ioasid_test_exit();
#ifdef CONFIG_IOASID_VFIO_CONTAINER
	misc_deregister(&ioasid_vfio_misc);
#endif
	misc_deregister(&ioasid_misc);
}

module_init(ioasid_init);
module_exit(ioasid_exit);

MODULE_DESCRIPTION("/dev/ioasid: user-managed I/O address spaces");
MODULE_LICENSE("GPL");
/* The iova_bitmap through which IOMMU drivers report dirty IOPTEs. */
MODULE_IMPORT_NS(IOMMUFD);
