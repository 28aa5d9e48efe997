// SPDX-License-Identifier: GPL-2.0-only
/*
 * Peer-to-peer DMA: edu A writes into the memory BAR of edu B, mapped in
 * A's IOASID by file (IOASID_MAP_FILE on B's device file).
 *
 * edu's register 0x04 keeps the complement of what is written to it: a
 * 4-byte DMA from A's buffer to B's BAR0 + 4 makes B's register read the
 * complement of those bytes.  The mapping must never let DMA reach the
 * BAR while B cannot take it: memory decode off, reset, closed or
 * unbound.  Then A's DMA faults in the IOMMU and B's register keeps its
 * value; when B can take it again, the mapping is back by itself.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "ioasid_mock.h"

#define PAGE		4096UL
#define EDU_LIVE	0x04
#define BAR_SIZE	0x100000UL
#define IOVA_BUF	0x100000UL
#define IOVA_BAR	0x8000000UL
#define RW_FIXED	(IOASID_MAP_READ | IOASID_MAP_WRITE | IOASID_MAP_FIXED_IOVA)
#define CDEV_A		"/dev/vfio/devices/vfio0"
#define CDEV_B		"/dev/vfio/devices/vfio1"

static int map_bar(int fd, unsigned int ioasid, int dev_fd, uint64_t offset,
		   uint64_t length, uint32_t flags, uint64_t iova)
{
	IOASID_CMD(ioasid_map, cmd);

	cmd.flags = flags | IOASID_MAP_FILE;
	cmd.ioasid = ioasid;
	cmd.fd = dev_fd;
	cmd.file_offset = offset;
	cmd.length = length;
	cmd.iova = iova;
	return ioctl(fd, IOASID_MAP, &cmd);
}

static long long unmap(int fd, unsigned int ioasid, uint64_t iova,
		       uint64_t length)
{
	IOASID_CMD(ioasid_unmap, cmd);

	cmd.ioasid = ioasid;
	cmd.iova = iova;
	cmd.length = length;
	return ioctl(fd, IOASID_UNMAP, &cmd) ? -1 : (long long)cmd.length;
}

static int map_memory(int fd, unsigned int ioasid, void *va, uint64_t iova)
{
	IOASID_CMD(ioasid_map, cmd);

	cmd.flags = RW_FIXED;
	cmd.ioasid = ioasid;
	cmd.user_va = (uintptr_t)va;
	cmd.length = PAGE;
	cmd.iova = iova;
	return ioctl(fd, IOASID_MAP, &cmd);
}

FIXTURE(p2p) {
	int fd;
	unsigned int ioasid;
	struct edu a, b;
	uint64_t bar0;		/* B's BAR0, as a region offset */
	uint32_t *buf;
};

FIXTURE_SETUP(p2p)
{
	struct vfio_region_info bar;

	self->a.fd = -1;
	self->b.fd = -1;
	if (access(CDEV_A, F_OK) || access(CDEV_B, F_OK))
		SKIP(return, "two edu devices bound to vfio-pci needed");
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	ASSERT_EQ(0, edu_open(&self->a, CDEV_A, self->fd));
	ASSERT_EQ(0, edu_open(&self->b, CDEV_B, self->fd));
	ASSERT_EQ(0, vfio_attach_ioasid(self->a.fd, self->ioasid));
	ASSERT_EQ(0, region_info(self->b.fd, VFIO_PCI_BAR0_REGION_INDEX, &bar));
	ASSERT_EQ(BAR_SIZE, bar.size);
	ASSERT_TRUE(bar.flags & VFIO_REGION_INFO_FLAG_MMAP);
	self->bar0 = bar.offset;
	self->buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, map_memory(self->fd, self->ioasid, self->buf, IOVA_BUF));
}

/* The fixture's type, for helpers (checkpatch misreads "FIXTURE_DATA(x) *"). */
#define P2P_DATA FIXTURE_DATA(p2p)

FIXTURE_TEARDOWN(p2p)
{
	if (self->b.fd >= 0)
		close(self->b.fd);
	if (self->a.fd >= 0)
		close(self->a.fd);
	close(self->fd);
}

/*
 * A writes @val to B's liveness register: into its own buffer from RAM,
 * then from its buffer to IOVA_BAR + 4.  Both DMAs end either way; a
 * write the IOMMU refused leaves B's register as it was.
 */
static bool p2p_write(P2P_DATA *self, uint32_t val)
{
	self->buf[0] = val;
	return edu_dma_count(&self->a, IOVA_BUF, EDU_BUF, 4, false) &&
	       edu_dma_count(&self->a, EDU_BUF, IOVA_BAR + EDU_LIVE, 4, true);
}

/* B's liveness register: the complement of the last value written. */
static uint32_t b_live(P2P_DATA *self)
{
	return reg_read(&self->b, EDU_LIVE);
}

static long long fdinfo(P2P_DATA *self, const char *name)
{
	return fdinfo_field(self->fd, name);
}

/*
 * B's BAR, mapped by its device file, takes A's DMA; nothing is pinned or
 * charged for it, and it unmaps like any mapping.
 */
TEST_F(p2p, native_map_reaches_the_peer)
{
	long long pins = pinned_now();
	long pin_kb = vm_pin_kb();

	ASSERT_EQ(0, map_bar(self->fd, self->ioasid, self->b.fd, self->bar0,
			     BAR_SIZE, RW_FIXED, IOVA_BAR));
	ASSERT_EQ(pins, pinned_now());
	ASSERT_EQ(pin_kb, vm_pin_kb());
	ASSERT_EQ(1, fdinfo(self, "ioasid-dmem-mappings"));
	ASSERT_EQ(0, fdinfo(self, "ioasid-dmem-revoked"));
	ASSERT_TRUE(p2p_write(self, 0x12345678));
	ASSERT_EQ(~0x12345678U, b_live(self));
	ASSERT_TRUE(p2p_write(self, 0x0badf00d));
	ASSERT_EQ(~0x0badf00dU, b_live(self));
	ASSERT_EQ(BAR_SIZE, unmap(self->fd, self->ioasid, IOVA_BAR, BAR_SIZE));
	ASSERT_EQ(0, fdinfo(self, "ioasid-dmem-mappings"));
	/* Unmapped, the BAR is out of reach. */
	ASSERT_TRUE(p2p_write(self, 0x11111111));
	ASSERT_EQ(~0x0badf00dU, b_live(self));
}

/* Part of the BAR, read-write, at a kernel-chosen IOVA; and A's own BAR. */
TEST_F(p2p, part_of_a_bar_and_its_own)
{
	IOASID_CMD(ioasid_map, cmd);
	struct vfio_region_info own;

	cmd.flags = IOASID_MAP_READ | IOASID_MAP_WRITE | IOASID_MAP_FILE;
	cmd.ioasid = self->ioasid;
	cmd.fd = self->b.fd;
	cmd.file_offset = self->bar0;
	cmd.length = PAGE;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_MAP, &cmd));
	ASSERT_EQ(PAGE, unmap(self->fd, self->ioasid, cmd.iova, PAGE));
	ASSERT_EQ(0, region_info(self->a.fd, VFIO_PCI_BAR0_REGION_INDEX, &own));
	ASSERT_EQ(0, map_bar(self->fd, self->ioasid, self->a.fd, own.offset,
			     BAR_SIZE, RW_FIXED, IOVA_BAR));
	ASSERT_EQ(BAR_SIZE, unmap(self->fd, self->ioasid, IOVA_BAR, BAR_SIZE));
}

/*
 * The driver of an emulated device reaches memory, not a BAR: device
 * memory has no struct page to pin, nor to copy through.
 */
TEST_F(p2p, accesses_do_not_reach_a_bar)
{
	struct mock_access ma;
	uint32_t word = 0;

	ASSERT_EQ(0, map_bar(self->fd, self->ioasid, self->b.fd, self->bar0,
			     BAR_SIZE, RW_FIXED, IOVA_BAR));
	ASSERT_EQ(0, access_add(self->fd, 0, &ma));
	ASSERT_EQ(0, access_attach(self->fd, &ma, self->ioasid));
	ASSERT_ERRNO(EOPNOTSUPP, access_pin(self->fd, &ma, IOVA_BAR, PAGE, 0));
	ASSERT_ERRNO(EOPNOTSUPP, access_rw(self->fd, &ma, IOVA_BAR + EDU_LIVE,
					   &word, 4, 0));
	/* The memory mapped beside it, yes. */
	self->buf[0] = 0x12345678;
	ASSERT_EQ(0, access_rw(self->fd, &ma, IOVA_BUF, &word, 4, 0));
	ASSERT_EQ(0x12345678, word);
	ASSERT_EQ(0, ma.pinned);
	ASSERT_EQ(0, ioasid_destroy(self->fd, ma.id));
	ASSERT_EQ(BAR_SIZE, unmap(self->fd, self->ioasid, IOVA_BAR, BAR_SIZE));
}

/* Every refusal, each with nothing mapped after it. */
TEST_F(p2p, refusals)
{
	static const unsigned int not_bars[] = {
		VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_ROM_REGION_INDEX,
		VFIO_PCI_BAR1_REGION_INDEX,
	};
	struct vfio_region_info info;
	int pipefd[2], unbound, rc;
	unsigned int i;
	char group[64], link[256];
	ssize_t n;

	ASSERT_EQ(0, pipe(pipefd));
	/* Not a memory BAR VFIO lets user space mmap; edu has no BAR1. */
	for (i = 0; i < ARRAY_SIZE(not_bars); i++) {
		ASSERT_EQ(0, region_info(self->b.fd, not_bars[i], &info));
		ASSERT_ERRNO(EINVAL, map_bar(self->fd, self->ioasid, self->b.fd,
					     info.offset, PAGE, RW_FIXED,
					     IOVA_BAR));
	}
	/* Past the BAR's end, and unaligned. */
	ASSERT_ERRNO(ENXIO, map_bar(self->fd, self->ioasid, self->b.fd,
				    self->bar0, 2 * BAR_SIZE, RW_FIXED, IOVA_BAR));
	ASSERT_ERRNO(ENXIO, map_bar(self->fd, self->ioasid, self->b.fd,
				    self->bar0 + BAR_SIZE, PAGE, RW_FIXED,
				    IOVA_BAR));
	ASSERT_ERRNO(EINVAL, map_bar(self->fd, self->ioasid, self->b.fd,
				     self->bar0 + 8, PAGE, RW_FIXED, IOVA_BAR));
	/* Not a VFIO device file. */
	ASSERT_ERRNO(ENODEV, map_bar(self->fd, self->ioasid, pipefd[0], 0,
				     PAGE, RW_FIXED, IOVA_BAR));
	n = readlink("/sys/class/vfio-dev/vfio1/device/iommu_group", link,
		     sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = 0;
	snprintf(group, sizeof(group), "/dev/vfio/%s", strrchr(link, '/') + 1);
	unbound = open(group, O_RDWR | O_CLOEXEC);
	/* The group file, busy or not, is no device file. */
	if (unbound >= 0) {
		ASSERT_ERRNO(ENODEV, map_bar(self->fd, self->ioasid, unbound,
					     self->bar0, PAGE, RW_FIXED,
					     IOVA_BAR));
		close(unbound);
	}
	/* A device file not bound yet gives user space nothing. */
	unbound = open(CDEV_B, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, unbound);
	ASSERT_ERRNO(ENODEV, map_bar(self->fd, self->ioasid, unbound,
				     self->bar0, PAGE, RW_FIXED, IOVA_BAR));
	close(unbound);
	/* IOASID_VEC maps memory only. */
	{
		struct ioasid_vec_entry e = { .iova = IOVA_BAR,
					      .addr = self->bar0,
					      .length = PAGE };
		IOASID_CMD(ioasid_vec, vec);

		vec.op = IOASID_VEC_MAP;
		vec.flags = RW_FIXED | IOASID_MAP_FILE;
		vec.ioasid = self->ioasid;
		vec.fd = self->b.fd;
		vec.count = 1;
		vec.entries = (uintptr_t)&e;
		rc = ioctl(self->fd, IOASID_VEC, &vec);
		ASSERT_EQ(-1, rc);
		ASSERT_EQ(ENODEV, errno);
	}
	ASSERT_EQ(0, fdinfo(self, "ioasid-dmem-mappings"));
	ASSERT_EQ(-1, unmap(self->fd, self->ioasid, IOVA_BAR, BAR_SIZE));
	ASSERT_EQ(ENOENT, errno);
	close(pipefd[0]);
	close(pipefd[1]);
}

/*
 * B's memory decode turned off: the mapping leaves the IOMMU at once, and
 * A's DMA faults; turned on again, it is back, with no call.
 */
TEST_F(p2p, decode_off_revokes_and_on_restores)
{
	int faults;

	ASSERT_EQ(0, map_bar(self->fd, self->ioasid, self->b.fd, self->bar0,
			     BAR_SIZE, RW_FIXED, IOVA_BAR));
	ASSERT_TRUE(p2p_write(self, 0x01010101));
	ASSERT_EQ(~0x01010101U, b_live(self));

	ASSERT_EQ(0, edu_decode(&self->b, false));
	ASSERT_EQ(1, fdinfo(self, "ioasid-dmem-revoked"));
	iommu_log_ready();
	faults = kmsg_count(iommu_kind().fault_log);
	ASSERT_TRUE(p2p_write(self, 0x02020202));
	/* Refused by the IOMMU, not dropped by B. */
	ASSERT_FAULT_LOGGED(true, faults);
	ASSERT_EQ(0, edu_decode(&self->b, true));
	ASSERT_EQ(0, fdinfo(self, "ioasid-dmem-revoked"));
	/* The write while revoked never landed. */
	ASSERT_EQ(~0x01010101U, b_live(self));
	ASSERT_TRUE(p2p_write(self, 0x03030303));
	ASSERT_EQ(~0x03030303U, b_live(self));

	/* Mapped while decode is off: in the IOMMU only once it is on. */
	ASSERT_EQ(BAR_SIZE, unmap(self->fd, self->ioasid, IOVA_BAR, BAR_SIZE));
	ASSERT_EQ(0, edu_decode(&self->b, false));
	ASSERT_EQ(0, map_bar(self->fd, self->ioasid, self->b.fd, self->bar0,
			     BAR_SIZE, RW_FIXED, IOVA_BAR));
	ASSERT_EQ(1, fdinfo(self, "ioasid-dmem-revoked"));
	ASSERT_TRUE(p2p_write(self, 0x04040404));
	ASSERT_EQ(0, edu_decode(&self->b, true));
	ASSERT_EQ(~0x03030303U, b_live(self));
	ASSERT_TRUE(p2p_write(self, 0x05050505));
	ASSERT_EQ(~0x05050505U, b_live(self));
}

/* A device attached after the map gets the mapping, revoked or not. */
TEST_F(p2p, attach_after_map)
{
	ASSERT_EQ(0, vfio_detach_ioasid(self->a.fd));
	ASSERT_EQ(0, edu_decode(&self->b, false));
	ASSERT_EQ(0, map_bar(self->fd, self->ioasid, self->b.fd, self->bar0,
			     BAR_SIZE, RW_FIXED, IOVA_BAR));
	ASSERT_EQ(0, vfio_attach_ioasid(self->a.fd, self->ioasid));
	ASSERT_TRUE(p2p_write(self, 0x06060606));
	ASSERT_EQ(0, edu_decode(&self->b, true));
	ASSERT_NE(~0x06060606U, b_live(self));
	ASSERT_TRUE(p2p_write(self, 0x07070707));
	ASSERT_EQ(~0x07070707U, b_live(self));
}

/*
 * B closed: the mapping is revoked for good, whoever opens B next; its
 * IOVA stays taken until it is unmapped.
 */
TEST_F(p2p, close_revokes_for_good)
{
	int faults;

	ASSERT_EQ(0, map_bar(self->fd, self->ioasid, self->b.fd, self->bar0,
			     BAR_SIZE, RW_FIXED, IOVA_BAR));
	ASSERT_TRUE(p2p_write(self, 0x08080808));
	ASSERT_EQ(~0x08080808U, b_live(self));
	close(self->b.fd);
	self->b.fd = -1;
	ASSERT_EQ(1, fdinfo(self, "ioasid-dmem-revoked"));
	iommu_log_ready();
	faults = kmsg_count(iommu_kind().fault_log);
	ASSERT_TRUE(p2p_write(self, 0x09090909));
	ASSERT_FAULT_LOGGED(true, faults);
	/* B again, for someone else: the old mapping stays revoked. */
	ASSERT_EQ(0, edu_open(&self->b, CDEV_B, self->fd));
	ASSERT_TRUE(p2p_write(self, 0x0a0a0a0a));
	ASSERT_EQ(1, fdinfo(self, "ioasid-dmem-revoked"));
	ASSERT_NE(~0x09090909U, b_live(self));
	ASSERT_NE(~0x0a0a0a0aU, b_live(self));
	ASSERT_ERRNO(EEXIST, map_memory(self->fd, self->ioasid, self->buf,
					IOVA_BAR));
	ASSERT_EQ(BAR_SIZE, unmap(self->fd, self->ioasid, IOVA_BAR, BAR_SIZE));
	ASSERT_EQ(0, fdinfo(self, "ioasid-dmem-mappings"));
	ASSERT_EQ(0, fdinfo(self, "ioasid-dmem-revoked"));
}

static bool sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

/* B closed and unbound from vfio-pci: revoked; bound again: still. */
TEST_F(p2p, unbind_revokes)
{
	char bdf[64], link[256];
	ssize_t n;
	int ms;

	n = readlink("/sys/class/vfio-dev/vfio1/device", link, sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = 0;
	snprintf(bdf, sizeof(bdf), "%s", strrchr(link, '/') + 1);
	ASSERT_EQ(0, map_bar(self->fd, self->ioasid, self->b.fd, self->bar0,
			     BAR_SIZE, RW_FIXED, IOVA_BAR));
	ASSERT_TRUE(p2p_write(self, 0x0b0b0b0b));
	close(self->b.fd);
	self->b.fd = -1;
	ASSERT_TRUE(sysfs_write("/sys/bus/pci/drivers/vfio-pci/unbind", bdf));
	ASSERT_TRUE(p2p_write(self, 0x0c0c0c0c));
	ASSERT_EQ(1, fdinfo(self, "ioasid-dmem-revoked"));
	ASSERT_TRUE(sysfs_write("/sys/bus/pci/drivers/vfio-pci/bind", bdf));
	for (ms = 0; ms < 5000 && access(CDEV_B, F_OK); ms += 10)
		usleep(10000);
	ASSERT_EQ(0, edu_open(&self->b, CDEV_B, self->fd));
	ASSERT_EQ(~0x0b0b0b0bU, b_live(self));
	ASSERT_EQ(BAR_SIZE, unmap(self->fd, self->ioasid, IOVA_BAR, BAR_SIZE));
}

/*
 * Fault injection over the map of device memory and over its restore:
 * a failed map leaves nothing; a restore that fails leaves the mapping
 * revoked, and the next decode change restores it.
 */
TEST_F(p2p, fail_nth_map_and_restore)
{
	unsigned int n;
	int rc;

	if (!fault_injection_setup())
		SKIP(return, "no fault injection");
	/*
	 * vfio-pci requests the BAR at its first use; under fault injection
	 * that fails with its own EBUSY.  Use it once first: the sweep is
	 * over the map.
	 */
	b_live(self);
	fail_nth_sweep(n, rc, map_bar(self->fd, self->ioasid, self->b.fd,
				      self->bar0, BAR_SIZE, RW_FIXED,
				      IOVA_BAR)) {
		if (!rc) {
			ASSERT_EQ(BAR_SIZE, unmap(self->fd, self->ioasid,
						  IOVA_BAR, BAR_SIZE));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_EQ(0, fdinfo(self, "ioasid-dmem-mappings"));
	}
	ASSERT_EQ(0, rc);

	ASSERT_EQ(0, edu_decode(&self->b, false));
	fail_nth_sweep(n, rc, edu_decode(&self->b, true)) {
		if (fdinfo(self, "ioasid-dmem-revoked")) {
			ASSERT_EQ(0, edu_decode(&self->b, false));
			ASSERT_EQ(0, edu_decode(&self->b, true));
		}
		ASSERT_EQ(0, fdinfo(self, "ioasid-dmem-revoked"));
		ASSERT_EQ(0, edu_decode(&self->b, false));
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, fdinfo(self, "ioasid-dmem-revoked"));
	ASSERT_TRUE(p2p_write(self, 0x0d0d0d0d));
	ASSERT_EQ(~0x0d0d0d0dU, b_live(self));
}

/*
 * A reset of B's bus (two edu devices behind one bridge): the mapping is
 * out of the IOMMU during the reset, and back after it, with no call.
 */
TEST_F(p2p, hot_reset_restores)
{
	struct {
		struct vfio_pci_hot_reset hdr;
		int32_t fds[1];
	} reset = { .hdr.argsz = sizeof(reset) };

	ASSERT_EQ(0, map_bar(self->fd, self->ioasid, self->b.fd, self->bar0,
			     BAR_SIZE, RW_FIXED, IOVA_BAR));
	if (ioctl(self->b.fd, VFIO_DEVICE_PCI_HOT_RESET, &reset))
		SKIP(return, "no hot reset here: %s", strerror(errno));
	ASSERT_EQ(0, fdinfo(self, "ioasid-dmem-revoked"));
	ASSERT_TRUE(p2p_write(self, 0x0e0e0e0e));
	ASSERT_EQ(~0x0e0e0e0eU, b_live(self));
}

TEST_HARNESS_MAIN
