// SPDX-License-Identifier: GPL-2.0-only
/*
 * A mediated device on /dev/ioasid: the kernel's sample virtual serial
 * port (samples/vfio-mdev/mtty), a VFIO device that no IOMMU translates,
 * bound through its cdev and opened through a VFIO group whose container
 * is a /dev/ioasid file, beside a real device doing DMA.
 *
 * mtty does no DMA: this shows that such a device binds, attaches and
 * works as a VFIO device, and that the IOASID it is attached to maps,
 * unmaps and serves the DMA of the devices beside it as before.  What its
 * driver's access does with memory (pin, unpin, read, write, the unmap
 * callback) is ioasid_access's, against the mock emulated device.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "ioasid_mock.h"

#define MTTY_TYPE	"/sys/class/mtty/mtty/mdev_supported_types/mtty-1"
#define MTTY_UUID	"83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define MTTY_DEV	"/sys/bus/mdev/devices/" MTTY_UUID
#define MTTY_IDS	0x32534348	/* device 0x3253 << 16 | vendor 0x4348 */
#define EDU_CDEV	"/dev/vfio/devices/vfio0"
#define IOVA		0x100000UL
#define PAGE		4096

FIXTURE(mdev) {
	int fd;			/* /dev/ioasid */
	unsigned int ioasid;
	char cdev[300];		/* /dev/vfio/devices/vfioN */
	char group[300];	/* /dev/vfio/N */
	uint8_t *buf;
};

/* The cdev of the mdev, from its vfio-dev directory. */
static bool find_cdev(char *path, size_t size)
{
	struct dirent *d;
	DIR *dir;

	dir = opendir(MTTY_DEV "/vfio-dev");
	while (dir && (d = readdir(dir)))
		if (!strncmp(d->d_name, "vfio", 4)) {
			snprintf(path, size, "/dev/vfio/devices/%s", d->d_name);
			closedir(dir);
			return true;
		}
	if (dir)
		closedir(dir);
	return false;
}

static bool find_group(char *path, size_t size)
{
	char link[256];
	ssize_t n;

	n = readlink(MTTY_DEV "/iommu_group", link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	snprintf(path, size, "/dev/vfio/%s", strrchr(link, '/') + 1);
	return true;
}

FIXTURE_SETUP(mdev)
{
	if (access(MTTY_TYPE, F_OK))
		SKIP(return, "no mtty mdev type (CONFIG_SAMPLE_VFIO_MDEV_MTTY)");
	ASSERT_TRUE(write_file(MTTY_TYPE "/create", MTTY_UUID));
	ASSERT_TRUE(find_cdev(self->cdev, sizeof(self->cdev)));
	ASSERT_TRUE(find_group(self->group, sizeof(self->group)));
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	self->buf = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(mdev)
{
	if (access(MTTY_DEV, F_OK))
		return;
	close(self->fd);
	munmap(self->buf, 4 * PAGE);
	write_file(MTTY_DEV "/remove", "1");
}

/* The PCI ids in the config space of an open VFIO PCI device. */
static uint32_t pci_ids(int fd)
{
	struct vfio_region_info cfg;
	uint32_t ids = 0;

	if (region_info(fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) ||
	    pread(fd, &ids, 4, cfg.offset) != 4)
		return 0;
	return ids;
}

static int vfio_replace_ioasid(int fd, unsigned int ioasid)
{
	struct vfio_device_attach_ioasid attach = {
		.argsz = sizeof(attach),
		.flags = VFIO_DEVICE_ATTACH_IOASID_REPLACE,
		.ioasid = ioasid,
	};

	return ioctl(fd, VFIO_DEVICE_ATTACH_IOASID, &attach);
}

static int map_buf(int fd, unsigned int ioasid, void *buf, uint64_t iova)
{
	return map_at(fd, ioasid, buf, 4 * PAGE, iova);
}

TEST_F(mdev, cdev_binds_and_attaches)
{
	unsigned int devid, other;
	int dev;

	dev = open(self->cdev, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, vfio_bind_ioasid(dev, self->fd, &devid));
	ASSERT_EQ(MTTY_IDS, pci_ids(dev));
	/* Its id is the driver's access: user space cannot destroy it. */
	ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, devid));
	ASSERT_ERRNO(ENOENT, vfio_attach_ioasid(dev, 999));
	ASSERT_EQ(0, vfio_attach_ioasid(dev, self->ioasid));
	ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, self->ioasid));
	/* Maps and unmaps go on with the access attached. */
	ASSERT_EQ(0, map_buf(self->fd, self->ioasid, self->buf, IOVA));
	ASSERT_EQ(4 * PAGE, unmapped(self->fd, self->ioasid, IOVA, 4 * PAGE));
	ASSERT_EQ(0, map_buf(self->fd, self->ioasid, self->buf, IOVA));
	/* Moved to another IOASID, then detached. */
	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	ASSERT_EQ(0, vfio_replace_ioasid(dev, other));
	ASSERT_EQ(0, ioasid_destroy(self->fd, self->ioasid));
	ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, other));
	ASSERT_EQ(0, vfio_detach_ioasid(dev));
	ASSERT_EQ(0, ioasid_destroy(self->fd, other));
	/* Closed while attached: the access goes with the device. */
	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	ASSERT_EQ(0, vfio_attach_ioasid(dev, other));
	close(dev);
	ASSERT_EQ(0, ioasid_destroy(self->fd, other));
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, devid));
}

TEST_F(mdev, group_in_an_ioasid_container)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)self->buf,
		.iova = IOVA,
		.size = 4 * PAGE,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = IOVA,
		.size = 4 * PAGE,
	};
	int group, dev;

	group = open(self->group, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, group);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &self->fd));
	/* As type1: no device before the IOMMU is set. */
	ASSERT_GT(0, ioctl(group, VFIO_GROUP_GET_DEVICE_FD, MTTY_UUID));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, MTTY_UUID);
	ASSERT_LE(0, dev);
	ASSERT_EQ(MTTY_IDS, pci_ids(dev));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	ASSERT_EQ(4 * PAGE, unmap.size);
	close(dev);
	/* With its device closed, the group may leave its container. */
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	close(group);
}

/* The mdev and the edu device attached to one IOASID: edu's DMA works. */
TEST_F(mdev, beside_a_device_that_does_dma)
{
	struct edu edu;
	int dev;

	if (access(EDU_CDEV, F_OK))
		SKIP(return, "no edu device bound to vfio-pci");
	dev = open(self->cdev, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, vfio_bind_ioasid(dev, self->fd, NULL));
	ASSERT_EQ(0, vfio_attach_ioasid(dev, self->ioasid));
	ASSERT_EQ(0, edu_open(&edu, EDU_CDEV, self->fd));
	ASSERT_EQ(0, vfio_attach_ioasid(edu.fd, self->ioasid));
	memset(self->buf, 0x5a, PAGE);
	memset(self->buf + PAGE, 0xaa, PAGE);
	ASSERT_EQ(0, map_buf(self->fd, self->ioasid, self->buf, IOVA));
	ASSERT_TRUE(ram_to_dev(&edu, IOVA));
	ASSERT_TRUE(dev_to_ram(&edu, IOVA + PAGE));
	ASSERT_TRUE(all_bytes(self->buf + PAGE, 0x5a));
	ASSERT_EQ(4 * PAGE, unmapped(self->fd, self->ioasid, IOVA, 4 * PAGE));
	close(edu.fd);
	close(dev);
}

TEST_HARNESS_MAIN
