// SPDX-License-Identifier: GPL-2.0-only
/*
 * A device that no IOMMU translates: VFIO's unsafe noiommu mode
 * (vfio.enable_unsafe_noiommu_mode=1) still gives it a group.  /dev/ioasid
 * has nothing to confine its DMA with, so it refuses it: the group cannot
 * take an ioasid file as its container.
 */
#include <glob.h>

#include "ioasid_test.h"

#define CDEV	"/dev/vfio/devices/vfio0"

/* The first noiommu group file, opened, or -1. */
static int open_noiommu_group(void)
{
	glob_t g;
	int fd = -1;

	if (!glob("/dev/vfio/noiommu-*", 0, NULL, &g)) {
		fd = open(g.gl_pathv[0], O_RDWR | O_CLOEXEC);
		globfree(&g);
	}
	return fd;
}

FIXTURE(noiommu) {
	int ioasid_fd;
	int group;
};

FIXTURE_SETUP(noiommu)
{
	self->ioasid_fd = -1;
	self->group = open_noiommu_group();
	if (self->group < 0)
		SKIP(return, "no noiommu VFIO group");
	self->ioasid_fd = ioasid_open();
	ASSERT_LE(0, self->ioasid_fd);
}

FIXTURE_TEARDOWN(noiommu)
{
	close(self->ioasid_fd);
	close(self->group);
}

/* The group exists, but not for /dev/ioasid: EPERM, and no container. */
TEST_F(noiommu, group_refuses_ioasid_container)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int group = self->group;

	ASSERT_ERRNO(EPERM, ioctl(group, VFIO_GROUP_SET_CONTAINER,
				  &self->ioasid_fd));
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_GET_STATUS, &status));
	ASSERT_FALSE(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
	/* The context took nothing: no VFIO IOMMU type can be set. */
	ASSERT_ERRNO(EINVAL, ioctl(self->ioasid_fd, VFIO_SET_IOMMU,
				   VFIO_TYPE1v2_IOMMU));
}

/*
 * VFIO gives a noiommu device no cdev, so the group, refused above, is
 * the only way from such a device to /dev/ioasid; ioasid_device_bind()
 * refuses it all the same (ENODEV) should another driver try.
 */
TEST_F(noiommu, no_cdev_to_bind)
{
	ASSERT_ERRNO(ENOENT, access(CDEV, F_OK));
}

TEST_HARNESS_MAIN
