// SPDX-License-Identifier: GPL-2.0-only
/*
 * PCI hot reset of VFIO devices bound to /dev/ioasid.
 *
 * Two edu devices behind a conventional PCI bridge share one IOMMU group
 * and one secondary bus reset, so vfio-pci puts them in one device set:
 * a reset of either resets both.  A device cdev proves that its user owns
 * every device the reset reaches with an empty group fd array, as an
 * iommufd-bound cdev does: each must be in an IOMMU group with a device
 * bound to the caller's context.  A device of such a group is either bound
 * to that same context or not opened at all, since the group has one DMA
 * owner.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "ioasid_test.h"

#define PAGE		4096UL
#define RW		(IOASID_MAP_READ | IOASID_MAP_WRITE)
#define IOVA_SRC	0x100000
#define IOVA_DST	0x200000
#define MAX_DEPS	8
#define DEV_ID_FLAGS	(VFIO_PCI_HOT_RESET_FLAG_DEV_ID | \
			 VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED)

struct reset_info {
	struct vfio_pci_hot_reset_info hdr;
	struct vfio_pci_dependent_device devices[MAX_DEPS];
};

/* The numbers of the first two /dev/vfio/devices/vfioN, in order. */
static bool two_cdevs(int *num)
{
	struct dirent **names;
	int i, n, found = 0;

	n = scandir("/sys/class/vfio-dev", &names, NULL, versionsort);
	for (i = 0; i < n; i++) {
		if (found < 2 && !strncmp(names[i]->d_name, "vfio", 4))
			num[found++] = atoi(names[i]->d_name + 4);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return found == 2;
}

/* The PCI device behind /dev/vfio/devices/vfio@n, as "DDDD:BB:DD.F". */
static bool cdev_bdf(int n, char *bdf, size_t len)
{
	char path[64], link[256];
	const char *slash;
	ssize_t got;

	snprintf(path, sizeof(path), "/sys/class/vfio-dev/vfio%d/device", n);
	got = readlink(path, link, sizeof(link) - 1);
	if (got <= 0)
		return false;
	link[got] = 0;
	slash = strrchr(link, '/');
	slash = slash ? slash + 1 : link;
	if (strlen(slash) >= len)
		return false;
	memcpy(bdf, slash, strlen(slash) + 1);
	return true;
}

/* The IOMMU group of PCI device @bdf, or -1. */
static int bdf_group(const char *bdf)
{
	char path[128], link[256];
	const char *slash;
	ssize_t got;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	got = readlink(path, link, sizeof(link) - 1);
	if (got <= 0)
		return -1;
	link[got] = 0;
	slash = strrchr(link, '/');
	return atoi(slash ? slash + 1 : link);
}

static bool write_sysfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val);
}

static int cdev_open(int n)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", n);
	return open(path, O_RDWR | O_CLOEXEC);
}

static int bind_iommufd(int fd, int iommufd, unsigned int *devid)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};
	int rc;

	rc = ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (devid)
		*devid = bind.out_devid;
	return rc;
}

static int map(int fd, unsigned int ioasid, void *va, uint64_t iova)
{
	IOASID_CMD(ioasid_map, cmd);

	cmd.flags = RW | IOASID_MAP_FIXED_IOVA;
	cmd.ioasid = ioasid;
	cmd.user_va = (uintptr_t)va;
	cmd.length = PAGE;
	cmd.iova = iova;
	return ioctl(fd, IOASID_MAP, &cmd);
}

static int get_info(int fd, struct reset_info *info)
{
	memset(info, 0, sizeof(*info));
	info->hdr.argsz = sizeof(*info);
	return ioctl(fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info);
}

/* A hot reset proven with @count group fds from @fds. */
static int hot_reset(int fd, const int *fds, unsigned int count)
{
	struct {
		struct vfio_pci_hot_reset hdr;
		int32_t fds[4];
	} reset = { .hdr.argsz = sizeof(reset), .hdr.count = count };
	unsigned int i;

	for (i = 0; i < count && i < 4; i++)
		reset.fds[i] = fds[i];
	return ioctl(fd, VFIO_DEVICE_PCI_HOT_RESET, &reset);
}

/*
 * The devid (or group id) @info gives PCI device @bdf, as an int so that
 * VFIO_PCI_DEVID_NOT_OWNED reads as -1; -2 if @bdf is not listed.
 */
static int dep_id(const struct reset_info *info, const char *bdf)
{
	unsigned int seg, bus, slot, fn, i;

	if (sscanf(bdf, "%x:%x:%x.%x", &seg, &bus, &slot, &fn) != 4)
		return -2;
	for (i = 0; i < info->hdr.count && i < MAX_DEPS; i++)
		if (info->devices[i].segment == seg &&
		    info->devices[i].bus == bus &&
		    info->devices[i].devfn == ((slot << 3) | fn))
			return (int)info->devices[i].devid;
	return -2;
}

FIXTURE(hot_reset) {
	int num[2];	/* of their cdevs */
	char bdf[2][32];
	int group;
	int fd;		/* the context */
	unsigned int ioasid;
	struct edu dev[2];
	uint8_t *src, *dst;
	bool unbound;	/* vfio1's PCI device was taken from vfio-pci */
};

FIXTURE_SETUP(hot_reset)
{
	self->fd = -1;
	self->dev[0].fd = -1;
	self->dev[1].fd = -1;
	if (!two_cdevs(self->num) ||
	    !cdev_bdf(self->num[0], self->bdf[0], sizeof(self->bdf[0])) ||
	    !cdev_bdf(self->num[1], self->bdf[1], sizeof(self->bdf[1])))
		SKIP(return, "not two edu devices bound to vfio-pci");
	self->group = bdf_group(self->bdf[0]);
	if (self->group < 0 || self->group != bdf_group(self->bdf[1]))
		SKIP(return, "the two edu devices are not in one IOMMU group");
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	self->src = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->dst = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->src);
	ASSERT_NE(MAP_FAILED, self->dst);
	memset(self->src, 0x5a, PAGE);
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->src, IOVA_SRC));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST));
}

FIXTURE_TEARDOWN(hot_reset)
{
	char path[128];

	if (self->dev[0].fd >= 0)
		close(self->dev[0].fd);
	if (self->dev[1].fd >= 0)
		close(self->dev[1].fd);
	if (self->unbound)
		write_sysfs("/sys/bus/pci/drivers/vfio-pci/bind", self->bdf[1]);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", self->bdf[1]);
	if (self->unbound && access(path, F_OK))
		TH_LOG("%s could not be given back to vfio-pci", self->bdf[1]);
	if (self->fd >= 0)
		close(self->fd);
}

/* The fixture's type, for helpers (checkpatch misreads "FIXTURE_DATA(x) *"). */
#define RESET_DATA FIXTURE_DATA(hot_reset)

/* Open edu @n, bind it to the context and attach it to the IOASID. */
static int edu_bind(RESET_DATA *self, int n)
{
	struct edu *e = &self->dev[n];

	e->fd = cdev_open(self->num[n]);
	if (e->fd < 0 || vfio_bind_ioasid(e->fd, self->fd, &e->devid) ||
	    edu_enable(e))
		return -1;
	return vfio_attach_ioasid(e->fd, self->ioasid);
}

/* A DMA through the IOASID: the source page's 0x5a lands in the other. */
static bool round_trip(RESET_DATA *self, int n)
{
	memset(self->dst, 0xaa, PAGE);
	return ram_to_dev(&self->dev[n], IOVA_SRC) &&
	       dev_to_ram(&self->dev[n], IOVA_DST) &&
	       all_bytes(self->dst, 0x5a);
}

/*
 * One device bound, the other not opened: the context owns the group, so
 * it owns both, and the info says so.  A short buffer gets the count.
 */
TEST_F(hot_reset, info_one_bound)
{
	struct reset_info info;

	ASSERT_EQ(0, edu_bind(self, 0));
	ASSERT_EQ(0, get_info(self->dev[0].fd, &info));
	TH_LOG("flags %#x, %u devices", info.hdr.flags, info.hdr.count);
	ASSERT_EQ(DEV_ID_FLAGS, info.hdr.flags);
	ASSERT_EQ(2, info.hdr.count);
	ASSERT_EQ(VFIO_PCI_DEVID_OWNED, dep_id(&info, self->bdf[0]));
	ASSERT_EQ(VFIO_PCI_DEVID_OWNED, dep_id(&info, self->bdf[1]));

	info.hdr.argsz = sizeof(info.hdr);
	ASSERT_ERRNO(ENOSPC, ioctl(self->dev[0].fd,
				   VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &info));
	ASSERT_EQ(2, info.hdr.count);
}

/* Reset with the other device not opened: allowed; DMA still lands. */
TEST_F(hot_reset, one_bound_other_unopened)
{
	ASSERT_EQ(0, edu_bind(self, 0));
	ASSERT_TRUE(round_trip(self, 0));
	ASSERT_EQ(0, hot_reset(self->dev[0].fd, NULL, 0));
	/* Same attachment, config space restored by the reset: no setup. */
	ASSERT_EQ(0x010000ed, reg_read(&self->dev[0], EDU_ID));
	ASSERT_TRUE(round_trip(self, 0));
	/* The cdev proves ownership with its context, not with group fds. */
	ASSERT_ERRNO(EINVAL, hot_reset(self->dev[0].fd, &self->fd, 1));
}

/* Both bound to the context and attached: either may reset both. */
TEST_F(hot_reset, both_bound)
{
	struct reset_info info;

	ASSERT_EQ(0, edu_bind(self, 0));
	ASSERT_EQ(0, edu_bind(self, 1));
	ASSERT_NE(self->dev[0].devid, self->dev[1].devid);
	ASSERT_TRUE(round_trip(self, 0));
	ASSERT_TRUE(round_trip(self, 1));

	ASSERT_EQ(0, get_info(self->dev[1].fd, &info));
	ASSERT_EQ(DEV_ID_FLAGS, info.hdr.flags);
	ASSERT_EQ(2, info.hdr.count);
	ASSERT_EQ(VFIO_PCI_DEVID_OWNED, dep_id(&info, self->bdf[0]));
	ASSERT_EQ(VFIO_PCI_DEVID_OWNED, dep_id(&info, self->bdf[1]));

	ASSERT_EQ(0, hot_reset(self->dev[0].fd, NULL, 0));
	ASSERT_TRUE(round_trip(self, 0));
	ASSERT_TRUE(round_trip(self, 1));
	ASSERT_EQ(0, hot_reset(self->dev[1].fd, NULL, 0));
	ASSERT_TRUE(round_trip(self, 1));
	ASSERT_TRUE(round_trip(self, 0));
}

/*
 * With the group owned by the context, the other device can be opened
 * no other way: not bound to a second context, not to an iommufd, not
 * through its VFIO group.  Failed, those leave it unopened, and the
 * reset is still the context's to make.  A device file that never bound
 * has no reset at all.
 */
TEST_F(hot_reset, other_paths_refused)
{
	char path[32];
	int other, iommufd;

	ASSERT_EQ(0, edu_bind(self, 0));

	other = ioasid_open();
	ASSERT_LE(0, other);
	self->dev[1].fd = cdev_open(self->num[1]);
	ASSERT_LE(0, self->dev[1].fd);
	ASSERT_ERRNO(EBUSY, vfio_bind_ioasid(self->dev[1].fd, other, NULL));
	close(other);

	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, iommufd);
	ASSERT_ERRNO(EPERM, bind_iommufd(self->dev[1].fd, iommufd, NULL));
	close(iommufd);

	snprintf(path, sizeof(path), "/dev/vfio/%d", self->group);
	ASSERT_ERRNO(EBUSY, open(path, O_RDWR | O_CLOEXEC));

	ASSERT_ERRNO(EINVAL, hot_reset(self->dev[1].fd, NULL, 0));
	ASSERT_EQ(0, hot_reset(self->dev[0].fd, NULL, 0));
	ASSERT_TRUE(round_trip(self, 0));
}

/*
 * A device of the bus that vfio-pci does not hold is in no one's hands:
 * the info says not owned, and the reset is refused.
 */
TEST_F(hot_reset, device_outside_vfio_refused)
{
	struct reset_info info;
	char path[128];

	ASSERT_TRUE(write_sysfs("/sys/bus/pci/drivers/vfio-pci/unbind",
				self->bdf[1]));
	self->unbound = true;
	ASSERT_EQ(0, edu_bind(self, 0));

	ASSERT_EQ(0, get_info(self->dev[0].fd, &info));
	ASSERT_EQ(VFIO_PCI_HOT_RESET_FLAG_DEV_ID, info.hdr.flags);
	ASSERT_EQ(2, info.hdr.count);
	ASSERT_EQ(VFIO_PCI_DEVID_OWNED, dep_id(&info, self->bdf[0]));
	ASSERT_EQ(VFIO_PCI_DEVID_NOT_OWNED,
		  dep_id(&info, self->bdf[1]));
	ASSERT_ERRNO(EINVAL, hot_reset(self->dev[0].fd, NULL, 0));
	ASSERT_TRUE(round_trip(self, 0));

	/* Given back to vfio-pci, it is the context's again. */
	ASSERT_TRUE(write_sysfs("/sys/bus/pci/drivers/vfio-pci/bind",
				self->bdf[1]));
	self->unbound = false;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev",
		 self->bdf[1]);
	ASSERT_EQ(0, access(path, F_OK));
	ASSERT_EQ(0, get_info(self->dev[0].fd, &info));
	ASSERT_EQ(DEV_ID_FLAGS, info.hdr.flags);
	ASSERT_EQ(0, hot_reset(self->dev[0].fd, NULL, 0));
	ASSERT_TRUE(round_trip(self, 0));
}

/*
 * The same on iommufd, for reference: the caller's own id, the other
 * device owned through the group, the reset allowed.  The group is then
 * the iommufd's: the other device cannot bind to /dev/ioasid.
 */
TEST_F(hot_reset, iommufd_reference)
{
	struct reset_info info;
	unsigned int devid;
	int iommufd;

	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, iommufd);
	self->dev[0].fd = cdev_open(self->num[0]);
	ASSERT_LE(0, self->dev[0].fd);
	ASSERT_EQ(0, bind_iommufd(self->dev[0].fd, iommufd, &devid));

	ASSERT_EQ(0, get_info(self->dev[0].fd, &info));
	ASSERT_EQ(DEV_ID_FLAGS, info.hdr.flags);
	ASSERT_EQ(2, info.hdr.count);
	ASSERT_EQ((int)devid, dep_id(&info, self->bdf[0]));
	ASSERT_EQ(VFIO_PCI_DEVID_OWNED, dep_id(&info, self->bdf[1]));
	ASSERT_EQ(0, hot_reset(self->dev[0].fd, NULL, 0));

	self->dev[1].fd = cdev_open(self->num[1]);
	ASSERT_LE(0, self->dev[1].fd);
	ASSERT_ERRNO(EBUSY, vfio_bind_ioasid(self->dev[1].fd, self->fd, NULL));
	close(self->dev[0].fd);
	self->dev[0].fd = -1;
	close(iommufd);
}

/*
 * The group path, with the context as the group's container: group ids
 * in the info, and the group fd as the proof, as with any container.
 */
TEST_F(hot_reset, group_in_ioasid_container)
{
	struct reset_info info;
	char path[32];
	int group;

	snprintf(path, sizeof(path), "/dev/vfio/%d", self->group);
	group = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, group);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &self->fd));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	self->dev[0].fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, self->bdf[0]);
	ASSERT_LE(0, self->dev[0].fd);

	ASSERT_EQ(0, get_info(self->dev[0].fd, &info));
	ASSERT_EQ(0, info.hdr.flags);
	ASSERT_EQ(2, info.hdr.count);
	ASSERT_EQ(self->group, dep_id(&info, self->bdf[0]));
	ASSERT_EQ(self->group, dep_id(&info, self->bdf[1]));

	ASSERT_ERRNO(EINVAL, hot_reset(self->dev[0].fd, NULL, 0));
	ASSERT_ERRNO(EINVAL, hot_reset(self->dev[0].fd, &self->fd, 1));
	ASSERT_EQ(0, hot_reset(self->dev[0].fd, &group, 1));

	close(self->dev[0].fd);
	self->dev[0].fd = -1;
	close(group);
}

TEST_HARNESS_MAIN
