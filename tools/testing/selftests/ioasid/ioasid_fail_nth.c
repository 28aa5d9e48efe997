// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ioasid error paths, reached by fault injection.
 *
 * /proc/thread-self/fail-nth makes the n-th fault site this thread reaches
 * fail (a slab or page allocation, or a user copy).  Each test runs one
 * operation with n = 1, 2, ... until it completes without reaching an
 * armed site, so every failure point on its path is hit once, and checks
 * after each failure that the operation changed nothing.  Leaks along the
 * unwind paths are caught by the kmemleak scan that ends every VM run.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "ioasid_mock.h"

FIXTURE(fail_nth) {
	int fd;
};

FIXTURE_SETUP(fail_nth)
{
	if (!fault_injection_setup())
		SKIP(return, "fault injection is not available in debugfs");
	ASSERT_LE(0, nth_file());
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(fail_nth)
{
	close(self->fd);
}

TEST_F(fail_nth, open)
{
	unsigned int n;
	int fd;

	fail_nth_sweep(n, fd, ioasid_open()) {
		if (fd >= 0)
			close(fd);
		else
			ASSERT_TRUE(injected_errno(errno));
	}
	ASSERT_LE(0, fd);
	ASSERT_GT(n, 1);
	close(fd);
}

TEST_F(fail_nth, alloc)
{
	unsigned int n, id, first;
	int rc;

	/* Populate the registry so the sweep also covers a non-empty one. */
	ASSERT_EQ(0, ioasid_alloc(self->fd, &first));
	fail_nth_sweep(n, rc, ioasid_alloc(self->fd, &id)) {
		if (rc == 0) {
			/* A site with a fallback absorbed the failure. */
			ASSERT_EQ(first + 1, id);
			ASSERT_EQ(0, ioasid_destroy(self->fd, id));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		/* The failed call reserved no id and published nothing. */
		ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, first + 1));
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(first + 1, id);
	/* Reached: the copy-in, the object, the id and the copy-out. */
	ASSERT_LE(4, n);
}

TEST_F(fail_nth, destroy)
{
	unsigned int n, id;
	int rc;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &id));
	fail_nth_sweep(n, rc, ioasid_destroy(self->fd, id)) {
		ASSERT_EQ(-1, rc);
		ASSERT_TRUE(injected_errno(errno));
	}
	ASSERT_EQ(0, rc);
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, id));
	ASSERT_GT(n, 1);
}

TEST_F(fail_nth, get_info)
{
	IOASID_CMD(ioasid_info, info);
	unsigned int n;
	int rc;

	fail_nth_sweep(n, rc, ioctl(self->fd, IOASID_GET_INFO, &info)) {
		ASSERT_EQ(-1, rc);
		ASSERT_EQ(EFAULT, errno);
	}
	ASSERT_EQ(0, rc);
	/* Reached: the copy-in and the copy-out. */
	ASSERT_EQ(3, n);
}

/* Pins of the page at @va and pages charged to the user, measured. */
static void pin_state(int fd, void *va, __u64 *pins, __u64 *locked)
{
	struct ioasid_test cmd = { .size = sizeof(cmd) };

	cmd.op = IOASID_TEST_OP_PAGE_PINS;
	cmd.page_pins.user_va = (uintptr_t)va;
	if (ioctl(fd, IOASID_TEST, &cmd))
		abort();
	*pins = cmd.page_pins.out_pins;
	cmd.op = IOASID_TEST_OP_LOCKED_VM;
	if (ioctl(fd, IOASID_TEST, &cmd))
		abort();
	*locked = cmd.locked_vm.out_user;
}

#define BUF_SIZE (64 * 4096)

FIXTURE(fail_nth_map) {
	int fd;
	unsigned int ioasid, other;
	void *buf;
	__u64 pins, locked;
};

FIXTURE_SETUP(fail_nth_map)
{
	if (!fault_injection_setup())
		SKIP(return, "fault injection is not available in debugfs");
	ASSERT_LE(0, nth_file());
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->other));
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	pin_state(self->fd, self->buf, &self->pins, &self->locked);
}

FIXTURE_TEARDOWN(fail_nth_map)
{
	close(self->fd);
	munmap(self->buf, BUF_SIZE);
}

static int map_fixed(int fd, unsigned int ioasid, void *va, __u64 iova)
{
	return map_at(fd, ioasid, va, BUF_SIZE, iova);
}

/* After a failure: nothing pinned, nothing charged, the IOVA still free. */
static bool unchanged(int fd, unsigned int ioasid, void *buf,
		      __u64 base_pins, __u64 base_locked)
{
	__u64 pins, locked;

	pin_state(fd, buf, &pins, &locked);
	if (pins != base_pins || locked != base_locked)
		return false;
	if (map_fixed(fd, ioasid, buf, 0x100000))
		return false;
	return unmap_all(fd, ioasid) == 0;
}

TEST_F(fail_nth_map, map)
{
	unsigned int n;
	int rc;

	fail_nth_sweep(n, rc, map_fixed(self->fd, self->ioasid, self->buf, 0x100000)) {
		if (rc == 0) {
			ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_TRUE(unchanged(self->fd, self->ioasid, self->buf,
				      self->pins, self->locked));
	}
	ASSERT_EQ(0, rc);
	/* Reached at least: copy-in, pages, pin batch, mapping, copy-out. */
	ASSERT_LE(5, n);
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	ASSERT_TRUE(unchanged(self->fd, self->ioasid, self->buf, self->pins,
			      self->locked));
}

TEST_F(fail_nth_map, copy)
{
	IOASID_CMD(ioasid_copy, cmd);
	__u64 pins, locked;
	unsigned int n;
	int rc;

	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, 0x100000));
	pin_state(self->fd, self->buf, &pins, &locked);
	cmd.flags = IOASID_MAP_READ | IOASID_MAP_FIXED_IOVA;
	cmd.src_ioasid = self->ioasid;
	cmd.dst_ioasid = self->other;
	cmd.src_iova = 0x100000;
	cmd.dst_iova = 0x200000;
	cmd.length = BUF_SIZE;
	fail_nth_sweep(n, rc, ioctl(self->fd, IOASID_COPY, &cmd)) {
		if (rc == 0) {
			ASSERT_EQ(0, unmap_all(self->fd, self->other));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		/* The destination is untouched; the source still holds its pin. */
		ASSERT_EQ(0, unmap_all(self->fd, self->other));
		pin_state(self->fd, self->buf, &self->pins, &self->locked);
		ASSERT_EQ(pins, self->pins);
		ASSERT_EQ(locked, self->locked);
	}
	ASSERT_EQ(0, rc);
	ASSERT_LE(3, n);
}

TEST_F(fail_nth_map, unmap)
{
	IOASID_CMD(ioasid_unmap, cmd);
	unsigned int n;
	int rc;

	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, 0x100000));
	cmd.ioasid = self->ioasid;
	cmd.iova = 0x100000;
	cmd.length = BUF_SIZE;
	fail_nth_sweep(n, rc, ioctl(self->fd, IOASID_UNMAP, &cmd)) {
		ASSERT_EQ(-1, rc);
		ASSERT_TRUE(injected_errno(errno));
		/* Still mapped: mapping over it must fail. */
		ASSERT_ERRNO(EEXIST, map_fixed(self->fd, self->ioasid, self->buf,
					       0x100000));
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(BUF_SIZE, cmd.length);
	ASSERT_TRUE(unchanged(self->fd, self->ioasid, self->buf, self->pins,
			      self->locked));
}

static unsigned int nr_ranges(int fd, unsigned int ioasid)
{
	IOASID_CMD(ioasid_iova_ranges, cmd);

	cmd.ioasid = ioasid;
	ioctl(fd, IOASID_IOVA_RANGES, &cmd);
	return cmd.num_ranges;
}

/*
 * Attaching a device with a reserved region to an IOASID with a mapping:
 * the reserved ranges, the new domain, its fill.  A failed attach leaves
 * the device unattached, the ranges and the pins as they were.
 */
TEST_F(fail_nth_map, attach)
{
	struct mock_cfg cfg = default_cfg;
	struct ioasid_test info;
	struct mock_dev dev;
	__u64 pins, locked;
	unsigned int n;
	int rc;

	cfg.resv_start = 0x8000000;
	cfg.resv_length = 0x200000;
	ASSERT_EQ(0, mock_add(self->fd, &cfg, &dev));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, 0x100000));
	pin_state(self->fd, self->buf, &pins, &locked);
	fail_nth_sweep(n, rc, attach(self->fd, &dev, self->ioasid)) {
		if (rc == 0) {
			ASSERT_EQ(0, detach(self->fd, &dev));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		info = domain_info(self->fd, &dev);
		ASSERT_EQ(0, info.mock_domain.out_domain);
		ASSERT_EQ(1, nr_ranges(self->fd, self->ioasid));
		pin_state(self->fd, self->buf, &self->pins, &self->locked);
		ASSERT_EQ(pins, self->pins);
		ASSERT_EQ(locked, self->locked);
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(2, nr_ranges(self->fd, self->ioasid));
	ASSERT_EQ(BUF_SIZE / 4096, domain_info(self->fd, &dev).mock_domain.out_ptes);
	/* Reached: the regions, the reservations, the domain, its IOPTEs. */
	ASSERT_LE(5, n);
}

/* Mapping into an IOASID backed by two domains: each failure unwinds both. */
TEST_F(fail_nth_map, map_two_domains)
{
	struct mock_cfg other = default_cfg;
	struct mock_dev a, b;
	unsigned int n;
	int rc;

	other.iommu = 1;
	other.pgsize_bitmap = 4096;
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &a));
	ASSERT_EQ(0, mock_add(self->fd, &other, &b));
	ASSERT_EQ(0, attach(self->fd, &a, self->ioasid));
	ASSERT_EQ(0, attach(self->fd, &b, self->ioasid));
	fail_nth_sweep(n, rc, map_fixed(self->fd, self->ioasid, self->buf, 0x100000)) {
		if (rc == 0) {
			ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_EQ(0, domain_info(self->fd, &a).mock_domain.out_ptes);
		ASSERT_EQ(0, domain_info(self->fd, &b).mock_domain.out_ptes);
		ASSERT_TRUE(unchanged(self->fd, self->ioasid, self->buf,
				      self->pins, self->locked));
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(BUF_SIZE / 4096, domain_info(self->fd, &b).mock_domain.out_ptes);
	ASSERT_LE(5, n);
}

/* Creating and binding a mock device: a failure leaves no id behind. */
TEST_F(fail_nth_map, bind)
{
	struct mock_dev dev;
	unsigned int n, next;
	int rc;

	/* The next free id: allocate one and give it back. */
	ASSERT_EQ(0, ioasid_alloc(self->fd, &next));
	ASSERT_EQ(0, ioasid_destroy(self->fd, next));
	fail_nth_sweep(n, rc, mock_add(self->fd, &default_cfg, &dev)) {
		if (rc == 0) {
			ASSERT_EQ(0, ioasid_destroy(self->fd, dev.mock_id));
			continue;
		}
		/*
		 * The core's bus notifier cannot report a failed probe:
		 * the device then has no IOMMU, which binding reports.
		 */
		ASSERT_TRUE(injected_errno(errno) || errno == ENODEV);
		ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, next));
		ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, next + 1));
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(next, dev.mock_id);
	ASSERT_LE(5, n);
}

/*
 * A map of more than one pin batch, whose PFN runs are sized from the
 * first batch: every failure, in any batch, leaves nothing behind.
 */
TEST_F(fail_nth_map, map_many_batches)
{
	IOASID_CMD(ioasid_unmap, unmap);
	size_t len = 1536 * 4096;
	__u64 pins, locked;
	unsigned int n;
	void *buf;
	int rc;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	pin_state(self->fd, buf, &pins, &locked);
	fail_nth_sweep(n, rc, map_at(self->fd, self->ioasid, buf, len, 0x100000)) {
		if (rc == 0) {
			ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		pin_state(self->fd, buf, &self->pins, &self->locked);
		ASSERT_EQ(pins, self->pins);
		ASSERT_EQ(locked, self->locked);
		unmap.ioasid = self->ioasid;
		unmap.iova = 0x100000;
		unmap.length = len;
		ASSERT_ERRNO(ENOENT, ioctl(self->fd, IOASID_UNMAP, &unmap));
	}
	ASSERT_EQ(0, rc);
	/* Reached at least: pages, pin batches and runs, mapping. */
	ASSERT_LE(5, n);
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	munmap(buf, len);
}

/* Unmap the buffer's mapping at 0x100000, its dirty bits into @bm. */
static int unmap_buf_dirty(int fd, unsigned int ioasid, uint64_t *bm,
			   uint64_t *length)
{
	*length = BUF_SIZE;
	return unmap_dirty(fd, ioasid, 0x100000, length, 4096, bm);
}

/* What two devices wrote: one page each, through their own domains. */
static void dirty_two(struct __test_metadata *_metadata, int fd,
		      struct mock_dev *a, struct mock_dev *b)
{
	ASSERT_EQ(1, dev_write(fd, a, 0x100000, 1));
	ASSERT_EQ(1, dev_write(fd, b, 0x101000, 1));
}

/*
 * Dirty tracking over two domains: a failed start leaves neither
 * tracking; a failed read or unmap with bitmap loses no dirty bit and
 * unmaps nothing.
 */
TEST_F(fail_nth_map, dirty_tracking)
{
	struct mock_cfg other = default_cfg;
	struct mock_dev a, b;
	uint64_t bm[1], length;
	unsigned int n;
	int rc;

	other.iommu = 1;
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &a));
	ASSERT_EQ(0, mock_add(self->fd, &other, &b));
	ASSERT_EQ(0, attach(self->fd, &a, self->ioasid));
	ASSERT_EQ(0, attach(self->fd, &b, self->ioasid));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, 0x100000));

	fail_nth_sweep(n, rc, set_tracking(self->fd, self->ioasid, true)) {
		if (rc == 0) {
			ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, false));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_EQ(0, dev_write(self->fd, &a, 0x100000, 1));
		ASSERT_EQ(0, dev_write(self->fd, &b, 0x100000, 1));
	}
	ASSERT_EQ(0, rc);
	/* Reached: the copy-in, each domain's switch. */
	ASSERT_LE(3, n);

	dirty_two(_metadata, self->fd, &a, &b);
	fail_nth_sweep(n, rc, read_bitmap(self->fd, self->ioasid, 0x100000,
					  BUF_SIZE, 4096, bm,
					  IOASID_DIRTY_BITMAP_NO_CLEAR)) {
		if (rc)
			ASSERT_TRUE(injected_errno(errno));
		bm[0] = 0;
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(3, bm[0]);
	ASSERT_LE(2, n);

	fail_nth_sweep(n, rc, unmap_buf_dirty(self->fd, self->ioasid, bm,
					      &length)) {
		if (rc == 0) {
			ASSERT_EQ(0, map_fixed(self->fd, self->ioasid,
					       self->buf, 0x100000));
			dirty_two(_metadata, self->fd, &a, &b);
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_ERRNO(EEXIST, map_fixed(self->fd, self->ioasid,
					       self->buf, 0x100000));
		bm[0] = 0;
		ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, 0x100000,
					 BUF_SIZE, 4096, bm,
					 IOASID_DIRTY_BITMAP_NO_CLEAR));
		ASSERT_EQ(3, bm[0]);
		bm[0] = 0;
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(BUF_SIZE, length);
	ASSERT_EQ(3, bm[0]);
	ASSERT_EQ(0, domain_info(self->fd, &a).mock_domain.out_ptes);
	ASSERT_EQ(0, domain_info(self->fd, &b).mock_domain.out_ptes);
}

/*
 * An emulated device's driver pins across two mappings, attaches its
 * access and has it moved: each failure leaves no pin and the access
 * where it was.
 */
TEST_F(fail_nth_map, access)
{
	__u64 half = BUF_SIZE / 2, pins, locked;
	struct mock_access ma;
	unsigned int n;
	int rc;

	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, half, 0x100000));
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, (char *)self->buf + half,
			    half, 0x100000 + half));
	ASSERT_EQ(0, access_add(self->fd, 0, &ma));
	/*
	 * EFAULT is the test op's copy-in (nothing done) or its answer (done):
	 * start again from detached.  A failed allocation changes nothing.
	 */
	fail_nth_sweep(n, rc, access_attach(self->fd, &ma, self->ioasid)) {
		if (rc == 0 || errno == EFAULT) {
			ASSERT_EQ(0, access_detach(self->fd, &ma));
			continue;
		}
		ASSERT_EQ(ENOMEM, errno);
		ASSERT_ERRNO(ENOENT, access_pin(self->fd, &ma, 0x100000,
						4096, 0));
	}
	ASSERT_EQ(0, rc);

	fail_nth_sweep(n, rc, access_pin(self->fd, &ma, 0x100000, BUF_SIZE,
					 IOASID_MOCK_ACCESS_WRITE)) {
		if (rc == 0 || errno == EFAULT) {
			access_unpin(self->fd, &ma, 0x100000, BUF_SIZE);
			ASSERT_EQ(0, ma.pinned);
			continue;
		}
		ASSERT_EQ(ENOMEM, errno);
		ASSERT_EQ(0, ma.pinned);
		pin_state(self->fd, (char *)self->buf + BUF_SIZE - 4096, &pins,
			  &locked);
		ASSERT_EQ(self->pins + 1, pins);
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(BUF_SIZE / 4096, ma.pinned);
	/* Reached at least the copy-in and a record of each mapping. */
	ASSERT_LE(3, n);

	/* The driver lets go when asked; the move itself may fail after. */
	fail_nth_sweep(n, rc, access_replace(self->fd, &ma, self->other))
		ASSERT_TRUE(injected_errno(errno));
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, ma.pinned);
	ASSERT_EQ(0, ioasid_destroy(self->fd, ma.id));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	ASSERT_TRUE(unchanged(self->fd, self->ioasid, self->buf, self->pins,
			      self->locked));
}

TEST_HARNESS_MAIN
