// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ioasid end to end: QEMU's edu PCI device, bound to vfio-pci behind
 * an emulated VT-d, doing real DMA through IOASID mappings.
 *
 * edu copies between guest memory and a 4 KiB buffer of its own at device
 * address 0x40000.  Its DMA engine is driven through BAR0: source (0x80),
 * destination (0x88), count (0x90) and command (0x98: bit 0 start/busy,
 * bit 1 device to RAM).  Counts stay below 4096 (QEMU 7.2 aborts on a
 * full 4096) and IOVAs below 256 MiB (edu's DMA mask is 28 bits).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "ioasid_kvm.h"
#include "ioasid_test.h"

#define PAGE		4096UL

static void edu_close(struct edu *e)
{
	close(e->fd);
}

static int edu_attach(struct edu *e, unsigned int ioasid)
{
	return vfio_attach_ioasid(e->fd, ioasid);
}

static int edu_detach(struct edu *e)
{
	return vfio_detach_ioasid(e->fd);
}

static int map(int fd, unsigned int ioasid, void *va, uint64_t iova,
	       uint32_t prot)
{
	IOASID_CMD(ioasid_map, cmd);

	cmd.flags = prot | IOASID_MAP_FIXED_IOVA;
	cmd.ioasid = ioasid;
	cmd.user_va = (uintptr_t)va;
	cmd.length = PAGE;
	cmd.iova = iova;
	return ioctl(fd, IOASID_MAP, &cmd);
}

static int unmap(int fd, unsigned int ioasid, uint64_t iova)
{
	IOASID_CMD(ioasid_unmap, cmd);

	cmd.ioasid = ioasid;
	cmd.iova = iova;
	cmd.length = PAGE;
	return ioctl(fd, IOASID_UNMAP, &cmd);
}

/* Whether vfio0 and vfio1 share an IOMMU group (behind a PCI bridge). */
static bool same_group(void)
{
	char a[256] = "", b[256] = "";
	ssize_t la, lb;

	la = readlink("/sys/class/vfio-dev/vfio0/device/iommu_group", a, sizeof(a) - 1);
	lb = readlink("/sys/class/vfio-dev/vfio1/device/iommu_group", b, sizeof(b) - 1);
	return la > 0 && lb > 0 && !strcmp(a, b);
}

#define RW (IOASID_MAP_READ | IOASID_MAP_WRITE)
#define IOVA_SRC 0x100000
#define IOVA_DST 0x200000

FIXTURE(edu) {
	int fd;
	unsigned int ioasid;
	struct edu dev;
	uint8_t *src, *dst;
};

FIXTURE_SETUP(edu)
{
	if (access("/dev/vfio/devices/vfio0", F_OK))
		SKIP(return, "no edu device bound to vfio-pci");
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	ASSERT_EQ(0, edu_open(&self->dev, "/dev/vfio/devices/vfio0", self->fd));
	ASSERT_EQ(0x010000ed, reg_read(&self->dev, EDU_ID));
	self->src = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->dst = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->src);
	ASSERT_NE(MAP_FAILED, self->dst);
	memset(self->src, 0x5a, PAGE);
	memset(self->dst, 0xaa, PAGE);
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->src, IOVA_SRC, RW));
}

FIXTURE_TEARDOWN(edu)
{
	edu_close(&self->dev);
	close(self->fd);
}

/* Fill the device's buffer with the source page's 0x5a. */
static bool load_device(struct edu *dev)
{
	return ram_to_dev(dev, IOVA_SRC);
}

TEST_F(edu, round_trip)
{
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	ASSERT_TRUE(load_device(&self->dev));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x5a));
	/* Only the count was written. */
	ASSERT_EQ(0xaa, self->dst[DMA_LEN]);
}

TEST_F(edu, no_dma_before_attach)
{
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0xaa));
}

TEST_F(edu, unmapped_iova_blocked)
{
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_TRUE(load_device(&self->dev));
	ASSERT_TRUE(dev_to_ram(&self->dev, 0x900000));
	/* The engine ran; the write was refused, the mapped page untouched. */
	ASSERT_TRUE(all_bytes(self->src, 0x5a));
}

TEST_F(edu, blocked_after_unmap)
{
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA_DST));
	ASSERT_TRUE(load_device(&self->dev));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0xaa));
}

TEST_F(edu, blocked_after_detach)
{
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	ASSERT_TRUE(load_device(&self->dev));
	ASSERT_EQ(0, edu_detach(&self->dev));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0xaa));
	/* Attached again, the same DMA lands. */
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x5a));
}

/*
 * Native dirty tracking behind the IOMMU the VM emulates.  Where it can
 * track, the device's write shows in the bitmap and its reads do not;
 * where it cannot, tracking is refused with the device attached, and
 * the attach is refused while tracking is on.  DMA works either way.
 */
TEST_F(edu, dirty_tracking)
{
	IOASID_CMD(ioasid_dirty_tracking, track);
	IOASID_CMD(ioasid_dirty_bitmap, read);
	uint64_t bits[8] = {};
	bool tracks = true;

	track.ioasid = self->ioasid;
	track.flags = IOASID_DIRTY_TRACKING_ENABLE;
	/* Without a device, the IOASID may track. */
	ASSERT_EQ(0, ioctl(self->fd, IOASID_DIRTY_TRACKING, &track));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	if (edu_attach(&self->dev, self->ioasid)) {
		ASSERT_EQ(EOPNOTSUPP, errno);
		TH_LOG("this IOMMU cannot track dirty IOPTEs");
		tracks = false;
		track.flags = 0;
		ASSERT_EQ(0, ioctl(self->fd, IOASID_DIRTY_TRACKING, &track));
		ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
		track.flags = IOASID_DIRTY_TRACKING_ENABLE;
		ASSERT_ERRNO(EOPNOTSUPP,
			     ioctl(self->fd, IOASID_DIRTY_TRACKING, &track));
	} else {
		TH_LOG("this IOMMU tracks dirty IOPTEs");
	}
	ASSERT_TRUE(load_device(&self->dev));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x5a));

	read.ioasid = self->ioasid;
	read.iova = IOVA_SRC;
	read.length = IOVA_DST + PAGE - IOVA_SRC;
	read.page_size = PAGE;
	read.data = (uintptr_t)bits;
	if (!tracks) {
		ASSERT_ERRNO(ENODATA, ioctl(self->fd, IOASID_DIRTY_BITMAP,
					    &read));
		return;
	}
	ASSERT_EQ(0, ioctl(self->fd, IOASID_DIRTY_BITMAP, &read));
	/* The page it wrote, at bit 256; not the one it read, at bit 0. */
	ASSERT_EQ(1, bits[4]);
	ASSERT_EQ(0, bits[0]);
}

TEST_F(edu, read_only_mapping)
{
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST,
			 IOASID_MAP_READ));
	ASSERT_TRUE(load_device(&self->dev));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0xaa));
	/* Reading it is allowed: its 0xaa reaches the device, then RAM. */
	ASSERT_TRUE(ram_to_dev(&self->dev, IOVA_DST));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_SRC));
	ASSERT_TRUE(all_bytes(self->src, 0xaa));
}

static int map_file_page(int fd, unsigned int ioasid, int mfd, uint64_t offset,
			 uint64_t iova)
{
	IOASID_CMD(ioasid_map, cmd);

	cmd.flags = RW | IOASID_MAP_FIXED_IOVA | IOASID_MAP_FILE;
	cmd.ioasid = ioasid;
	cmd.fd = mfd;
	cmd.file_offset = offset;
	cmd.length = PAGE;
	cmd.iova = iova;
	return ioctl(fd, IOASID_MAP, &cmd);
}

/* A memfd of two pages: 0x33 in the first, 0x44 in the second. */
static int two_page_memfd(void)
{
	uint8_t page[PAGE];
	int mfd = memfd_create("edu", 0);

	if (mfd < 0 || ftruncate(mfd, 2 * PAGE))
		return -1;
	memset(page, 0x33, PAGE);
	if (pwrite(mfd, page, PAGE, 0) != PAGE)
		return -1;
	memset(page, 0x44, PAGE);
	if (pwrite(mfd, page, PAGE, PAGE) != PAGE)
		return -1;
	return mfd;
}

#define IOVA_FILE 0x300000

/* DMA to and from a file that no process has ever mapped. */
TEST_F(edu, file_mapping_without_a_view)
{
	uint8_t back[DMA_LEN];
	int mfd = two_page_memfd();

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	ASSERT_EQ(0, map_file_page(self->fd, self->ioasid, mfd, 0, IOVA_FILE));
	ASSERT_EQ(0, map_file_page(self->fd, self->ioasid, mfd, PAGE,
				   IOVA_FILE + PAGE));
	/* The file's first page, through the device, into RAM. */
	ASSERT_TRUE(ram_to_dev(&self->dev, IOVA_FILE));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x33));
	/* RAM, through the device, into the file's second page. */
	ASSERT_TRUE(load_device(&self->dev));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_FILE + PAGE));
	ASSERT_EQ(DMA_LEN, pread(mfd, back, DMA_LEN, PAGE));
	ASSERT_TRUE(all_bytes(back, 0x5a));
	/* Unmapped, the file is out of the device's reach. */
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA_FILE));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_FILE));
	ASSERT_EQ(DMA_LEN, pread(mfd, back, DMA_LEN, 0));
	ASSERT_TRUE(all_bytes(back, 0x33));
	close(mfd);
}

/* The VMM's view of the file goes; the device keeps the file's page. */
TEST_F(edu, file_mapping_outlives_the_view)
{
	int mfd = two_page_memfd();
	uint8_t *view;

	ASSERT_LE(0, mfd);
	view = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_EQ(0, map_file_page(self->fd, self->ioasid, mfd, PAGE, IOVA_FILE));
	memset(view + PAGE, 0x66, PAGE);
	ASSERT_EQ(0, munmap(view, 2 * PAGE));
	ASSERT_TRUE(ram_to_dev(&self->dev, IOVA_FILE));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x66));
	close(mfd);
}

/*
 * Truncation takes the page from the file, not from the device: its DMA
 * still reaches the pinned page, and the file reads zeroes.  Closing the
 * memfd changes nothing either: the mapping holds the file.
 */
TEST_F(edu, file_truncated_and_closed_under_the_device)
{
	uint8_t back[DMA_LEN];
	int mfd = two_page_memfd();

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	ASSERT_EQ(0, map_file_page(self->fd, self->ioasid, mfd, 0, IOVA_FILE));
	ASSERT_EQ(0, ftruncate(mfd, 0));
	ASSERT_EQ(0, ftruncate(mfd, 2 * PAGE));
	ASSERT_EQ(DMA_LEN, pread(mfd, back, DMA_LEN, 0));
	ASSERT_TRUE(all_bytes(back, 0));
	/* The pinned page still has the file's old contents. */
	ASSERT_TRUE(ram_to_dev(&self->dev, IOVA_FILE));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x33));
	close(mfd);
	/* Written by the device after both, read back by it. */
	ASSERT_TRUE(load_device(&self->dev));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_FILE));
	memset(self->dst, 0xaa, PAGE);
	ASSERT_TRUE(ram_to_dev(&self->dev, IOVA_FILE));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x5a));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA_FILE));
}

/* Many ranges in one call, real DMA through each. */
TEST_F(edu, vectored_map_and_unmap)
{
	IOASID_CMD(ioasid_vec, cmd);
	struct ioasid_vec_entry e[8];
	uint8_t *pages;
	int i;

	pages = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	memset(pages, 0xaa, 8 * PAGE);
	for (i = 0; i < 8; i++)
		e[i] = (struct ioasid_vec_entry){ .iova = IOVA_FILE + 2 * i * PAGE,
						  .addr = (uintptr_t)pages + i * PAGE,
						  .length = PAGE };
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	cmd.op = IOASID_VEC_MAP;
	cmd.flags = RW | IOASID_MAP_FIXED_IOVA;
	cmd.ioasid = self->ioasid;
	cmd.count = 8;
	cmd.entries = (uintptr_t)e;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_VEC, &cmd));
	ASSERT_TRUE(load_device(&self->dev));
	for (i = 0; i < 8; i++) {
		ASSERT_TRUE(dev_to_ram(&self->dev, e[i].iova));
		ASSERT_TRUE(all_bytes(pages + i * PAGE, 0x5a));
	}
	memset(pages, 0xaa, 8 * PAGE);
	for (i = 0; i < 8; i++)
		e[i].addr = 0;
	cmd.op = IOASID_VEC_UNMAP;
	cmd.flags = 0;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_VEC, &cmd));
	for (i = 0; i < 8; i++) {
		ASSERT_TRUE(dev_to_ram(&self->dev, e[i].iova));
		ASSERT_TRUE(all_bytes(pages + i * PAGE, 0xaa));
	}
	munmap(pages, 8 * PAGE);
}

TEST_F(edu, busy_ioasid_and_errors)
{
	struct vfio_device_attach_ioasid bad = {
		.argsz = sizeof(bad),
		.ioasid = self->ioasid,
	};
	unsigned int devid;

	ASSERT_ERRNO(ENOENT, edu_attach(&self->dev, self->ioasid + 100));
	bad.flags = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->dev.fd, VFIO_DEVICE_ATTACH_IOASID, &bad));
	bad.flags = 0;
	bad.__reserved = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->dev.fd, VFIO_DEVICE_ATTACH_IOASID, &bad));
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_ERRNO(EBUSY, edu_attach(&self->dev, self->ioasid));
	ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, self->ioasid));
	/* The device is bound already. */
	ASSERT_ERRNO(EINVAL, vfio_bind_ioasid(self->dev.fd, self->fd, &devid));
	/* Its id in the context cannot be destroyed from user space. */
	ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, self->dev.devid));
	ASSERT_EQ(0, edu_detach(&self->dev));
	ASSERT_EQ(0, ioasid_destroy(self->fd, self->ioasid));
}

TEST(bind_errors)
{
	unsigned int devid;
	int fd, ioasid_fd;

	if (access("/dev/vfio/devices/vfio0", F_OK))
		SKIP(return, "no edu device bound to vfio-pci");
	fd = open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_ERRNO(EBADF, vfio_bind_ioasid(fd, -1, &devid));
	/* Another kind of file is not an ioasid context. */
	ASSERT_ERRNO(EBADFD, vfio_bind_ioasid(fd, fd, &devid));
	/* Nothing but binding works before binding. */
	ASSERT_ERRNO(EINVAL, edu_detach(&(struct edu){ .fd = fd }));
	ioasid_fd = ioasid_open();
	ASSERT_LE(0, ioasid_fd);
	ASSERT_EQ(0, vfio_bind_ioasid(fd, ioasid_fd, &devid));
	/* The device file holds the context: closing ours first is fine. */
	close(ioasid_fd);
	close(fd);
}

/* After replace, the same IOVA reaches the new IOASID's memory. */
TEST_F(edu, replace)
{
	struct vfio_device_attach_ioasid attach = {
		.argsz = sizeof(attach),
		.flags = VFIO_DEVICE_ATTACH_IOASID_REPLACE,
	};
	unsigned int other;
	uint8_t *dst2;

	dst2 = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dst2);
	memset(dst2, 0xaa, PAGE);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	ASSERT_EQ(0, map(self->fd, other, dst2, IOVA_DST, RW));
	attach.ioasid = other;
	ASSERT_ERRNO(EINVAL, ioctl(self->dev.fd, VFIO_DEVICE_ATTACH_IOASID, &attach));
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_TRUE(load_device(&self->dev));

	ASSERT_EQ(0, ioctl(self->dev.fd, VFIO_DEVICE_ATTACH_IOASID, &attach));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(dst2, 0x5a));
	ASSERT_TRUE(all_bytes(self->dst, 0xaa));
	/* The first IOASID is no longer in use. */
	ASSERT_EQ(0, ioasid_destroy(self->fd, self->ioasid));
	munmap(dst2, PAGE);
}

/* Two devices, two IOASIDs: each DMA lands in its own address space. */
TEST_F(edu, two_devices_isolated)
{
	uint8_t *src2, *dst2;
	unsigned int other;
	struct edu dev2;

	if (access("/dev/vfio/devices/vfio1", F_OK) || same_group())
		SKIP(return, "no second edu device in a group of its own");
	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	ASSERT_EQ(0, edu_open(&dev2, "/dev/vfio/devices/vfio1", self->fd));
	src2 = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, src2);
	dst2 = src2 + PAGE;
	memset(src2, 0x33, PAGE);
	memset(dst2, 0xaa, PAGE);
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	ASSERT_EQ(0, map(self->fd, other, src2, IOVA_SRC + PAGE, RW));
	ASSERT_EQ(0, map(self->fd, other, dst2, IOVA_DST, RW));
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_EQ(0, edu_attach(&dev2, other));

	/* Same IOVA, different memory. */
	ASSERT_TRUE(ram_to_dev(&dev2, IOVA_SRC + PAGE));
	ASSERT_TRUE(load_device(&self->dev));
	ASSERT_TRUE(dev_to_ram(&dev2, IOVA_DST));
	ASSERT_TRUE(all_bytes(dst2, 0x33));
	ASSERT_TRUE(all_bytes(self->dst, 0xaa));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x5a));
	ASSERT_TRUE(all_bytes(dst2, 0x33));

	/*
	 * dev2 cannot read the first IOASID's source page: the read faults
	 * (edu then holds whatever the failed read gave it), and its 0x5a
	 * never reaches dev2's memory.
	 */
	ASSERT_TRUE(ram_to_dev(&dev2, IOVA_SRC));
	ASSERT_TRUE(dev_to_ram(&dev2, IOVA_DST));
	ASSERT_FALSE(all_bytes(dst2, 0x5a));
	edu_close(&dev2);
	munmap(src2, 2 * PAGE);
}

/* Closing the ioasid file while a device is attached and DMA-capable. */
TEST(close_ioasid_fd_first)
{
	unsigned int ioasid;
	struct edu dev;
	uint8_t *buf;
	int fd;

	if (access("/dev/vfio/devices/vfio0", F_OK))
		SKIP(return, "no edu device bound to vfio-pci");
	fd = ioasid_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioasid_alloc(fd, &ioasid));
	ASSERT_EQ(0, edu_open(&dev, "/dev/vfio/devices/vfio0", fd));
	buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0x77, PAGE);
	memset(buf + PAGE, 0xaa, PAGE);
	ASSERT_EQ(0, map(fd, ioasid, buf, IOVA_SRC, RW));
	ASSERT_EQ(0, map(fd, ioasid, buf + PAGE, IOVA_DST, RW));
	ASSERT_EQ(0, edu_attach(&dev, ioasid));
	ASSERT_EQ(0, close(fd));
	/* The device file still holds the context: DMA still works. */
	ASSERT_TRUE(ram_to_dev(&dev, IOVA_SRC));
	ASSERT_TRUE(dev_to_ram(&dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(buf + PAGE, 0x77));
	edu_close(&dev);
	munmap(buf, 2 * PAGE);
}

/*
 * The domain blocks no-snoop exactly when the IOMMU can, and a VM
 * following the context counts non-coherent DMA exactly while the device
 * is attached to a domain that does not.  DMA works either way.
 */
TEST_F(edu, kvm_follows_snoop_control)
{
	IOASID_CMD(ioasid_coherency, cmd);
	int sc = iommu_kind().blocks_nosnoop;
	struct kvm_vm kvm;

	ASSERT_LE(0, sc);
	TH_LOG("%s blocks no-snoop: %s", iommu_kind().name, sc ? "yes" : "no");
	ASSERT_EQ(0, kvm_vm_open(&kvm));
	ASSERT_EQ(0, kvm_vfio_file(&kvm, self->fd, true));
	ASSERT_EQ(0, kvm_noncoherent_dma(&kvm));
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	cmd.ioasid = self->ioasid;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_COHERENCY, &cmd));
	ASSERT_EQ(1, cmd.out_domains);
	ASSERT_EQ(!sc, cmd.out_noncoherent_domains);
	ASSERT_EQ(!sc, kvm_noncoherent_dma(&kvm));

	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	ASSERT_TRUE(load_device(&self->dev));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x5a));

	ASSERT_EQ(0, edu_detach(&self->dev));
	ASSERT_EQ(0, kvm_noncoherent_dma(&kvm));
	kvm_vm_close(&kvm);
}

/*
 * Pages a domain that lets no-snoop DMA through can reach are written back
 * from the CPU caches before the device sees them and again at unpin;
 * fdinfo counts the bytes.  Behind an IOMMU that blocks no-snoop they
 * cost nothing: both counts stay 0.
 */
TEST_F(edu, nosnoop_flush_follows_the_domain)
{
	long long nc = !iommu_kind().blocks_nosnoop;

	/* The fixture mapped the source page before any domain existed. */
	ASSERT_EQ(0, fdinfo_field(self->fd, "ioasid-nosnoop-flushed-map"));
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, IOVA_DST, RW));
	ASSERT_TRUE(ram_to_dev(&self->dev, IOVA_SRC));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	TH_LOG("%s: %lld bytes flushed at map", iommu_kind().name,
	       fdinfo_field(self->fd, "ioasid-nosnoop-flushed-map"));
	ASSERT_EQ(nc * 2 * PAGE,
		  fdinfo_field(self->fd, "ioasid-nosnoop-flushed-map"));
	ASSERT_EQ(0, fdinfo_field(self->fd, "ioasid-nosnoop-flushed-unpin"));
	ASSERT_EQ(0, edu_detach(&self->dev));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA_SRC));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA_DST));
	ASSERT_EQ(nc * 2 * PAGE,
		  fdinfo_field(self->fd, "ioasid-nosnoop-flushed-unpin"));
}

/* The last usable IOVA of an IOASID, or 0 on error. */
static uint64_t last_usable_iova(int fd, unsigned int ioasid)
{
	IOASID_CMD(ioasid_iova_ranges, cmd);
	struct ioasid_iova_range ranges[8];

	cmd.ioasid = ioasid;
	cmd.num_ranges = 8;
	cmd.ranges = (uintptr_t)ranges;
	if (ioctl(fd, IOASID_IOVA_RANGES, &cmd) || !cmd.num_ranges)
		return 0;
	return ranges[cmd.num_ranges - 1].last;
}

/*
 * The usable IOVAs are those the IOMMU translates for the device: the
 * domain's aperture as it is once the device is attached (39 bits on
 * QEMU's VT-d), not the 57 bits a VT-d domain starts with.  A mapping
 * beyond it is refused before anything changes, whichever comes first.
 */
TEST_F(edu, aperture_is_the_iommus)
{
	int aw = vtd_address_width();
	unsigned int other;
	uint64_t beyond;

	if (aw < 0)
		SKIP(return, "the width of the aperture is VT-d's register");
	beyond = 1ULL << aw;
	TH_LOG("VT-d address width: %d bits", aw);
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_EQ(beyond - 1, last_usable_iova(self->fd, self->ioasid));
	ASSERT_ERRNO(EADDRNOTAVAIL, map(self->fd, self->ioasid, self->dst,
					beyond, RW));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->dst, beyond - PAGE, RW));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, beyond - PAGE));

	/* An IOASID mapped there first cannot take the device. */
	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	ASSERT_EQ(0, map(self->fd, other, self->dst, beyond, RW));
	ASSERT_EQ(0, edu_detach(&self->dev));
	ASSERT_ERRNO(EADDRINUSE, edu_attach(&self->dev, other));
	ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
	ASSERT_TRUE(load_device(&self->dev));
}

/* An IOASID that requires coherency takes the device only if SC is on. */
TEST_F(edu, required_coherency)
{
	IOASID_CMD(ioasid_alloc, alloc);
	int sc = iommu_kind().blocks_nosnoop;

	ASSERT_LE(0, sc);
	alloc.flags = IOASID_ALLOC_REQUIRE_COHERENCY;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_ALLOC, &alloc));
	if (!sc) {
		ASSERT_ERRNO(EMEDIUMTYPE, edu_attach(&self->dev,
						     alloc.out_ioasid));
		/* Nothing changed: the device attaches elsewhere. */
		ASSERT_EQ(0, edu_attach(&self->dev, self->ioasid));
		return;
	}
	ASSERT_EQ(0, edu_attach(&self->dev, alloc.out_ioasid));
	ASSERT_EQ(0, map(self->fd, alloc.out_ioasid, self->dst, IOVA_DST, RW));
	ASSERT_EQ(0, map(self->fd, alloc.out_ioasid, self->src, IOVA_SRC, RW));
	ASSERT_TRUE(load_device(&self->dev));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x5a));
}

/*
 * Two edu devices behind a conventional PCI bridge share one IOMMU group:
 * the IOMMU cannot tell them apart, so they belong to one context and, once
 * attached, to one IOASID.
 */
FIXTURE(group) {
	int fd;
	unsigned int ioasid;
	struct edu a;
	int b_fd;
	uint8_t *buf;
};

FIXTURE_SETUP(group)
{
	if (access("/dev/vfio/devices/vfio1", F_OK) || !same_group())
		SKIP(return, "no two edu devices in one IOMMU group");
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	ASSERT_EQ(0, edu_open(&self->a, "/dev/vfio/devices/vfio0", self->fd));
	self->b_fd = open("/dev/vfio/devices/vfio1", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->b_fd);
	self->buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0x5a, PAGE);
	memset(self->buf + PAGE, 0xaa, PAGE);
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->buf, IOVA_SRC, RW));
	ASSERT_EQ(0, map(self->fd, self->ioasid, self->buf + PAGE, IOVA_DST, RW));
}

FIXTURE_TEARDOWN(group)
{
	close(self->b_fd);
	edu_close(&self->a);
	close(self->fd);
}

/* The group is owned by the first context: another one cannot bind. */
TEST_F(group, one_context)
{
	unsigned int devid;
	int other;

	other = ioasid_open();
	ASSERT_LE(0, other);
	ASSERT_ERRNO(EBUSY, vfio_bind_ioasid(self->b_fd, other, &devid));
	close(other);
	ASSERT_EQ(0, vfio_bind_ioasid(self->b_fd, self->fd, &devid));
	ASSERT_NE(self->a.devid, devid);
}

/* Devices of one group share an IOASID until the last one detaches. */
TEST_F(group, one_ioasid)
{
	struct vfio_device_attach_ioasid rep = {
		.argsz = sizeof(rep),
		.flags = VFIO_DEVICE_ATTACH_IOASID_REPLACE,
	};
	struct edu b = { .fd = self->b_fd };
	unsigned int other;

	ASSERT_EQ(0, vfio_bind_ioasid(self->b_fd, self->fd, &b.devid));
	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	ASSERT_EQ(0, edu_attach(&self->a, self->ioasid));
	ASSERT_ERRNO(EBUSY, edu_attach(&b, other));
	ASSERT_EQ(0, edu_attach(&b, self->ioasid));
	/* Replacing one device would move its partner too: refused. */
	rep.ioasid = other;
	ASSERT_ERRNO(EBUSY, ioctl(self->a.fd, VFIO_DEVICE_ATTACH_IOASID, &rep));
	/* a detaches; the group stays on the IOASID for b. */
	ASSERT_EQ(0, edu_detach(&self->a));
	ASSERT_TRUE(ram_to_dev(&self->a, IOVA_SRC));
	ASSERT_TRUE(dev_to_ram(&self->a, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->buf + PAGE, 0x5a));
	/* The last detach blocks the group. */
	memset(self->buf + PAGE, 0xaa, PAGE);
	ASSERT_EQ(0, edu_detach(&b));
	ASSERT_TRUE(dev_to_ram(&self->a, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->buf + PAGE, 0xaa));
	ASSERT_EQ(0, ioasid_destroy(self->fd, other));
}

static bool sysfs_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, "1", 1) == 1;
	close(fd);
	return ok;
}

static void *remove_device(void *path)
{
	return sysfs_write(path) ? path : NULL;
}

static bool wait_for(const char *path, bool present)
{
	int ms;

	for (ms = 0; ms < 10000; ms += 10) {
		if (!access(path, F_OK) == present)
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * The device is removed through sysfs while attached, with memory mapped
 * and DMA done.  The removal waits for the device file: closing it
 * detaches and unbinds, so the IOASID is free again, and only then is
 * the device gone.  A rescan brings it back, and it works: the tests
 * that follow use it again.
 */
TEST(sysfs_remove_while_attached)
{
	IOASID_CMD(ioasid_alloc, alloc);
	const char *remove = "/sys/class/vfio-dev/vfio0/device/remove";
	const char *cdev = "/dev/vfio/devices/vfio0";
	pthread_t remover;
	struct edu dev;
	uint8_t *buf;
	void *ret;
	int fd;

	if (access(cdev, F_OK))
		SKIP(return, "no edu device bound to vfio-pci");
	fd = ioasid_open();
	ASSERT_LE(0, fd);
	alloc.flags = IOASID_ALLOC_ACCOUNT_MM;
	ASSERT_EQ(0, ioctl(fd, IOASID_ALLOC, &alloc));
	ASSERT_EQ(0, edu_open(&dev, cdev, fd));
	buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0x77, PAGE);
	memset(buf + PAGE, 0xaa, PAGE);
	ASSERT_EQ(0, map(fd, alloc.out_ioasid, buf, IOVA_SRC, RW));
	ASSERT_EQ(0, map(fd, alloc.out_ioasid, buf + PAGE, IOVA_DST, RW));
	ASSERT_EQ(0, edu_attach(&dev, alloc.out_ioasid));
	ASSERT_TRUE(ram_to_dev(&dev, IOVA_SRC));
	ASSERT_TRUE(dev_to_ram(&dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(buf + PAGE, 0x77));
	ASSERT_EQ(2 * PAGE / 1024, vm_pin_kb());

	ASSERT_EQ(0, pthread_create(&remover, NULL, remove_device,
				    (void *)remove));
	/* VFIO holds the removal while the device file is open. */
	usleep(500000);
	ASSERT_EQ(EBUSY, pthread_tryjoin_np(remover, &ret));
	ASSERT_ERRNO(EBUSY, ioasid_destroy(fd, alloc.out_ioasid));
	edu_close(&dev);
	ASSERT_EQ(0, pthread_join(remover, &ret));
	ASSERT_EQ((void *)remove, ret);
	ASSERT_TRUE(wait_for(cdev, false));

	/* Detached: the IOASID can go, and its pages with it. */
	ASSERT_EQ(0, ioasid_destroy(fd, alloc.out_ioasid));
	ASSERT_EQ(0, vm_pin_kb());

	ASSERT_TRUE(sysfs_write("/sys/bus/pci/rescan"));
	ASSERT_TRUE(wait_for(cdev, true));
	ASSERT_EQ(0, ioasid_alloc(fd, &alloc.out_ioasid));
	ASSERT_EQ(0, edu_open(&dev, cdev, fd));
	ASSERT_EQ(0, map(fd, alloc.out_ioasid, buf, IOVA_SRC, RW));
	ASSERT_EQ(0, map(fd, alloc.out_ioasid, buf + PAGE, IOVA_DST, RW));
	ASSERT_EQ(0, edu_attach(&dev, alloc.out_ioasid));
	memset(buf + PAGE, 0xaa, PAGE);
	ASSERT_TRUE(ram_to_dev(&dev, IOVA_SRC));
	ASSERT_TRUE(dev_to_ram(&dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(buf + PAGE, 0x77));
	edu_close(&dev);
	close(fd);
	munmap(buf, 2 * PAGE);
}

#define UNSAFE_PARAM	"/sys/module/ioasid/parameters/allow_unsafe_interrupts"

/*
 * Behind an IOMMU that cannot isolate MSIs (virtio-iommu on x86), a
 * device binds only with the administrator's opt-in, the module parameter
 * allow_unsafe_interrupts: EPERM without it, and the log says why.  Where
 * MSIs are isolated (VT-d, AMD-Vi with interrupt remapping) the parameter
 * changes nothing.
 */
FIXTURE(unsafe) {
	char saved[8];
};

/* The parameter as the suite set it, for the teardown to put back. */
FIXTURE_SETUP(unsafe)
{
	int fd;

	if (access("/dev/vfio/devices/vfio0", F_OK))
		SKIP(return, "no edu device bound to vfio-pci");
	fd = open(UNSAFE_PARAM, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, self->saved, sizeof(self->saved) - 1));
	close(fd);
}

FIXTURE_TEARDOWN(unsafe)
{
	if (self->saved[0])
		ASSERT_TRUE(write_file(UNSAFE_PARAM, self->saved));
}

TEST_F(unsafe, interrupts_opt_in)
{
	int fd, dev, rc;

	ASSERT_TRUE(write_file(UNSAFE_PARAM, "0"));
	fd = ioasid_open();
	ASSERT_LE(0, fd);
	dev = open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	rc = vfio_bind_ioasid(dev, fd, NULL);
	if (!rc) {
		/* Isolated: nothing to opt into. */
		ASSERT_STRNE("virtio", iommu_kind().name);
	} else {
		ASSERT_EQ(EPERM, errno);
		ASSERT_STREQ("virtio", iommu_kind().name);
		ASSERT_LT(0, kmsg_count("see the allow_unsafe_interrupts parameter"));
		ASSERT_TRUE(write_file(UNSAFE_PARAM, "1"));
		ASSERT_EQ(0, vfio_bind_ioasid(dev, fd, NULL));
		ASSERT_LT(0, kmsg_count("bound as allow_unsafe_interrupts asks"));
	}
	close(dev);
	close(fd);
}

TEST_HARNESS_MAIN
