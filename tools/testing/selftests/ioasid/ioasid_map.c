// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ioasid: mapping user memory into IOASIDs.
 *
 * Every test measures what the kernel did instead of trusting return
 * values: IOASID_TEST tells how often a page is pinned for DMA and how
 * many pages are charged to RLIMIT_MEMLOCK, so a map must raise both, an
 * unmap must bring them back, and a failed call must leave them as they
 * were.  Buffers are private anonymous memory of small pages, written
 * before use: a large folio counts its pins as a whole, and an untouched
 * page is the shared zero page.
 */
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ioasid_test.h"
#include "../../../../drivers/iommu/ioasid/ioasid_test.h"

#define RW		(IOASID_MAP_READ | IOASID_MAP_WRITE)
#define RW_FIXED	(RW | IOASID_MAP_FIXED_IOVA)
/* Where the tests put their fixed mappings: 4 GiB, clear of IOVA 0. */
#define IOVA		0x100000000ULL
#define SZ_64K		(64UL << 10)
#define SZ_2M		(2UL << 20)
#define BUF_PAGES	16
/* What IOASID_TEST answers when it cannot answer. */
#define NO_ANSWER	(~0ULL)
#define NOBODY		65534

/* How often the page at @va is pinned for DMA, or NO_ANSWER. */
static __u64 page_pins(int fd, const void *va)
{
	IOASID_CMD(ioasid_test, cmd);

	cmd.op = IOASID_TEST_OP_PAGE_PINS;
	cmd.page_pins.user_va = (uintptr_t)va;
	if (ioctl(fd, IOASID_TEST, &cmd))
		return NO_ANSWER;
	return cmd.page_pins.out_pins;
}

/* Pages charged to the caller's mm (@mm) or user, or NO_ANSWER. */
static __u64 charged(int fd, bool mm)
{
	IOASID_CMD(ioasid_test, cmd);

	cmd.op = IOASID_TEST_OP_LOCKED_VM;
	if (ioctl(fd, IOASID_TEST, &cmd))
		return NO_ANSWER;
	return mm ? cmd.locked_vm.out_mm : cmd.locked_vm.out_user;
}

static __u64 locked_user(int fd)
{
	return charged(fd, false);
}

static __u64 locked_mm(int fd)
{
	return charged(fd, true);
}

/* The PFN behind @va from /proc/self/pagemap (root sees PFNs), or 0. */
static __u64 pfn_of(const void *va)
{
	long ps = sysconf(_SC_PAGESIZE);
	__u64 entry = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry), (uintptr_t)va / ps * sizeof(entry)) !=
	    sizeof(entry))
		entry = 0;
	close(fd);
	/* Bit 63 is "present", bits 0-54 the PFN. */
	return entry >> 63 ? entry & ((1ULL << 55) - 1) : 0;
}

/*
 * Map @length bytes at @va.  *@iova is the IOVA for IOASID_MAP_FIXED_IOVA
 * and receives the IOVA of the mapping.
 */
static int map_va(int fd, unsigned int ioasid, __u32 flags, const void *va,
		  __u64 length, __u64 *iova)
{
	IOASID_CMD(ioasid_map, cmd);
	int rc;

	cmd.flags = flags;
	cmd.ioasid = ioasid;
	cmd.user_va = (uintptr_t)va;
	cmd.length = length;
	cmd.iova = *iova;
	rc = ioctl(fd, IOASID_MAP, &cmd);
	if (!rc)
		*iova = cmd.iova;
	return rc;
}

/* Map read-write at a fixed IOVA, which must come back unchanged. */
static int map_fixed(int fd, unsigned int ioasid, const void *va,
		     __u64 length, __u64 iova)
{
	__u64 out = iova;
	int rc;

	rc = map_va(fd, ioasid, RW_FIXED, va, length, &out);
	if (!rc && out != iova) {
		errno = EIO;
		return -1;
	}
	return rc;
}

/* Unmap a range: the bytes unmapped, or -1. */
static long long unmap_range(int fd, unsigned int ioasid, __u64 iova,
			     __u64 length)
{
	IOASID_CMD(ioasid_unmap, cmd);

	cmd.ioasid = ioasid;
	cmd.iova = iova;
	cmd.length = length;
	if (ioctl(fd, IOASID_UNMAP, &cmd))
		return -1;
	return cmd.length;
}

/* Unmap everything: the bytes unmapped, or -1. */
static long long unmap_all(int fd, unsigned int ioasid)
{
	IOASID_CMD(ioasid_unmap, cmd);

	cmd.flags = IOASID_UNMAP_ALL;
	cmd.ioasid = ioasid;
	if (ioctl(fd, IOASID_UNMAP, &cmd))
		return -1;
	return cmd.length;
}

/* Map what @src has at @src_iova into @dst; *@dst_iova as for map_va(). */
static int copy_range(int fd, unsigned int dst, unsigned int src, __u32 flags,
		      __u64 src_iova, __u64 length, __u64 *dst_iova)
{
	IOASID_CMD(ioasid_copy, cmd);
	int rc;

	cmd.flags = flags;
	cmd.dst_ioasid = dst;
	cmd.src_ioasid = src;
	cmd.length = length;
	cmd.src_iova = src_iova;
	cmd.dst_iova = *dst_iova;
	rc = ioctl(fd, IOASID_COPY, &cmd);
	if (!rc)
		*dst_iova = cmd.dst_iova;
	return rc;
}

static int iova_ranges(int fd, unsigned int ioasid, __u32 num,
		       struct ioasid_iova_range *ranges)
{
	IOASID_CMD(ioasid_iova_ranges, cmd);

	cmd.ioasid = ioasid;
	cmd.num_ranges = num;
	cmd.ranges = (uintptr_t)ranges;
	return ioctl(fd, IOASID_IOVA_RANGES, &cmd);
}

/* Private anonymous memory of small pages, each written so it is present. */
static char *alloc_buf(size_t len)
{
	char *buf;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return NULL;
	/* Without THP there are only small pages anyway: ignore failure. */
	madvise(buf, len, MADV_NOHUGEPAGE);
	memset(buf, 0x5a, len);
	return buf;
}

/*
 * A forked child cannot report through the harness: it says what failed
 * and exits non-zero, for the parent to assert on.
 */
static void child_check(bool ok, int line, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "# %s:%d: child: %s failed (errno %d)\n", __FILE__, line, what,
		errno);
	_exit(1);
}

#define CHILD_CHECK(cond) child_check(cond, __LINE__, #cond)

/* Reap @pid; true if it exited with status 0. */
static bool child_ok(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

FIXTURE(mapping) {
	int fd;
	unsigned int ioasid;
	long ps;
	char *buf;
	__u64 pins;	/* of the first page of @buf, before the test */
	__u64 locked;	/* pages charged to the user, before the test */
	unsigned int dev[IOASID_MOCK_IOMMUS];	/* attached mock devices */
};

/*
 * Every test runs on an IOASID with no domain, and again with the
 * devices of one and of two mock IOMMUs attached, whose domains must
 * follow every map, copy and unmap, and every failure's undo.
 */
FIXTURE_VARIANT(mapping) {
	unsigned int domains;
};

FIXTURE_VARIANT_ADD(mapping, no_domain) {
	.domains = 0,
};

FIXTURE_VARIANT_ADD(mapping, one_domain) {
	.domains = 1,
};

FIXTURE_VARIANT_ADD(mapping, two_domains) {
	.domains = 2,
};

/* A mock device of @iommu attached to @ioasid; its device id, or 0. */
static unsigned int attach_mock(int fd, unsigned int iommu, unsigned int ioasid)
{
	struct ioasid_test cmd = { .size = sizeof(cmd) };

	cmd.op = IOASID_TEST_OP_MOCK_DEVICE;
	cmd.mock_device.iommu = iommu;
	cmd.mock_device.pgsize_bitmap = 0x40201000;	/* 4 KiB, 2 MiB, 1 GiB */
	cmd.mock_device.aperture_last = UINT64_MAX;
	if (ioctl(fd, IOASID_TEST, &cmd))
		return 0;
	cmd.op = IOASID_TEST_OP_ATTACH;
	cmd.attach.dev_id = cmd.mock_device.out_dev_id;
	cmd.attach.ioasid = ioasid;
	if (ioctl(fd, IOASID_TEST, &cmd))
		return 0;
	return cmd.attach.dev_id;
}

/* Detach the fixture's mock devices, so that its IOASID can go. */
static int detach_mocks(int fd, const unsigned int *dev, unsigned int n)
{
	struct ioasid_test cmd = { .size = sizeof(cmd) };
	unsigned int i;

	cmd.op = IOASID_TEST_OP_DETACH;
	for (i = 0; i < n; i++) {
		cmd.attach.dev_id = dev[i];
		if (ioctl(fd, IOASID_TEST, &cmd))
			return -1;
	}
	return 0;
}

/* IOPTEs in the domain @dev is attached through, or -1. */
static long long domain_ptes(int fd, unsigned int dev)
{
	struct ioasid_test cmd = { .size = sizeof(cmd) };

	cmd.op = IOASID_TEST_OP_MOCK_DOMAIN;
	cmd.mock_domain.dev_id = dev;
	if (ioctl(fd, IOASID_TEST, &cmd))
		return -1;
	return cmd.mock_domain.out_ptes;
}

FIXTURE_SETUP(mapping)
{
	unsigned int i;

	self->ps = sysconf(_SC_PAGESIZE);
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	self->buf = alloc_buf(BUF_PAGES * self->ps);
	ASSERT_NE(NULL, self->buf);
	self->pins = page_pins(self->fd, self->buf);
	if (self->pins == NO_ANSWER && errno == ENOTTY)
		SKIP(return, "IOASID_TEST needs CONFIG_IOASID_TEST");
	/* A page of our own that nothing has pinned yet. */
	ASSERT_EQ(0, self->pins);
	self->locked = locked_user(self->fd);
	ASSERT_NE(NO_ANSWER, self->locked);
	for (i = 0; i < variant->domains; i++) {
		self->dev[i] = attach_mock(self->fd, i, self->ioasid);
		ASSERT_NE(0, self->dev[i]);
	}
}

FIXTURE_TEARDOWN(mapping)
{
	long long ptes0, ptes1;

	/* Two domains of the same page sizes hold the same IOPTEs. */
	if (variant->domains == 2) {
		ptes0 = domain_ptes(self->fd, self->dev[0]);
		ptes1 = domain_ptes(self->fd, self->dev[1]);
		if (ptes0 >= 0 && ptes1 >= 0)
			EXPECT_EQ(ptes0, ptes1);
	}
	close(self->fd);
	munmap(self->buf, BUF_PAGES * self->ps);
}

/* The fixture's type, for helpers (checkpatch misreads "FIXTURE_DATA(x) *"). */
#define MAPPING_DATA FIXTURE_DATA(mapping)

/*
 * What failed calls must leave: the buffer pinned and the user charged as
 * before the test, and IOVA, where they tried to map, free for a valid map.
 */
static void expect_unchanged(struct __test_metadata *_metadata, MAPPING_DATA *self)
{
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked, locked_user(self->fd));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, self->ps, IOVA));
	ASSERT_EQ(self->ps, unmap_range(self->fd, self->ioasid, IOVA, self->ps));
}

TEST_F(mapping, fixed_map_unmap)
{
	long ps = self->ps;
	__u64 iova = IOVA;

	ASSERT_EQ(0, map_va(self->fd, self->ioasid, RW_FIXED, self->buf, 4 * ps, &iova));
	ASSERT_EQ(IOVA, iova);
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf + 3 * ps));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf + 4 * ps));
	ASSERT_EQ(self->locked + 4, locked_user(self->fd));

	ASSERT_EQ(4 * ps, unmap_range(self->fd, self->ioasid, IOVA, 4 * ps));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf + 3 * ps));
	ASSERT_EQ(self->locked, locked_user(self->fd));
	ASSERT_ERRNO(ENOENT, unmap_range(self->fd, self->ioasid, IOVA, 4 * ps));
}

TEST_F(mapping, kernel_iova_alignment)
{
	size_t len = 2 * SZ_2M;
	char *raw, *huge;
	__u64 iova;

	/* Take IOVA 0 and 2 MiB, both 2 MiB aligned, so neither can be chosen. */
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, self->ps, 0));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, self->ps, SZ_2M));
	raw = alloc_buf(len);
	ASSERT_NE(NULL, raw);
	huge = (char *)(((uintptr_t)raw + SZ_2M - 1) & ~(SZ_2M - 1));

	/* Without IOASID_MAP_FIXED_IOVA the input IOVA is ignored. */
	iova = 1;
	ASSERT_EQ(0, map_va(self->fd, self->ioasid, RW, huge, SZ_2M, &iova));
	ASSERT_EQ(0, iova % SZ_2M);
	ASSERT_LE(2 * SZ_2M, iova);
	/* It is there, whole. */
	ASSERT_ERRNO(EEXIST, map_fixed(self->fd, self->ioasid, self->buf, self->ps,
				       iova + SZ_2M - self->ps));
	ASSERT_EQ(SZ_2M, unmap_range(self->fd, self->ioasid, iova, SZ_2M));

	/* A user address aligned to 64 KiB and no more: so is the IOVA. */
	iova = 0;
	ASSERT_EQ(0, map_va(self->fd, self->ioasid, RW, huge + SZ_64K, 3 * SZ_64K, &iova));
	ASSERT_EQ(0, iova % SZ_64K);
	ASSERT_NE(0, iova);
	ASSERT_EQ(3 * SZ_64K, unmap_range(self->fd, self->ioasid, iova, 3 * SZ_64K));

	ASSERT_EQ(2 * self->ps, unmap_all(self->fd, self->ioasid));
	munmap(raw, len);
}

TEST_F(mapping, unmap_range_and_all)
{
	long ps = self->ps;
	char *buf = self->buf;

	/* Three mappings with gaps: 1 page, 2 pages, 4 pages. */
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, buf, ps, IOVA));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, buf + ps, 2 * ps, IOVA + 2 * ps));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, buf + 4 * ps, 4 * ps, IOVA + 8 * ps));
	ASSERT_EQ(self->locked + 7, locked_user(self->fd));

	/* A range takes every mapping inside it, gaps included. */
	ASSERT_EQ(3 * ps, unmap_range(self->fd, self->ioasid, IOVA, 5 * ps));
	ASSERT_EQ(self->pins, page_pins(self->fd, buf));
	ASSERT_EQ(self->pins, page_pins(self->fd, buf + ps));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, buf + 4 * ps));
	ASSERT_EQ(self->locked + 4, locked_user(self->fd));

	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, buf, ps, IOVA));
	ASSERT_EQ(5 * ps, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(self->pins, page_pins(self->fd, buf));
	ASSERT_EQ(self->pins, page_pins(self->fd, buf + 4 * ps));
	ASSERT_EQ(self->locked, locked_user(self->fd));

	/* Everything was freed, and a range may reach the last IOVA. */
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, buf + 4 * ps, 4 * ps, IOVA + 8 * ps));
	ASSERT_EQ(4 * ps, unmap_range(self->fd, self->ioasid, IOVA, 0 - IOVA));
	ASSERT_EQ(self->locked, locked_user(self->fd));
}

TEST_F(mapping, unmap_all_empty)
{
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, self->ps, IOVA));
	ASSERT_EQ(self->ps, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked, locked_user(self->fd));
}

/* Each map pins and charges on its own, even the same page. */
TEST_F(mapping, pins_per_map)
{
	long ps = self->ps;

	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, ps, IOVA));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, ps, IOVA + ps));
	ASSERT_EQ(self->pins + 2, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked + 2, locked_user(self->fd));
	ASSERT_EQ(ps, unmap_range(self->fd, self->ioasid, IOVA, ps));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked + 1, locked_user(self->fd));
	ASSERT_EQ(ps, unmap_range(self->fd, self->ioasid, IOVA + ps, ps));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked, locked_user(self->fd));
}

/* Pages 0 and 3 of the buffer are pinned @pins times, @locked charged. */
static void expect_pinned(struct __test_metadata *_metadata,
			  MAPPING_DATA *self, __u64 pins, __u64 locked)
{
	ASSERT_EQ(pins, page_pins(self->fd, self->buf));
	ASSERT_EQ(pins, page_pins(self->fd, self->buf + 3 * self->ps));
	ASSERT_EQ(locked, locked_user(self->fd));
}

/* A copy shares the source's pin and charge, and keeps the pages alive. */
TEST_F(mapping, copy_shares_pins)
{
	__u64 len = 4 * self->ps, pins = self->pins, locked = self->locked;
	unsigned int src = self->ioasid, dst;
	__u64 iova;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &dst));

	/* Source unmapped first. */
	ASSERT_EQ(0, map_fixed(self->fd, src, self->buf, len, IOVA));
	iova = 2 * IOVA;
	ASSERT_EQ(0, copy_range(self->fd, dst, src, RW_FIXED, IOVA, len, &iova));
	ASSERT_EQ(2 * IOVA, iova);
	expect_pinned(_metadata, self, pins + 1, locked + 4);
	ASSERT_EQ(len, unmap_range(self->fd, src, IOVA, len));
	expect_pinned(_metadata, self, pins + 1, locked + 4);
	ASSERT_EQ(len, unmap_range(self->fd, dst, 2 * IOVA, len));
	expect_pinned(_metadata, self, pins, locked);

	/* Copy unmapped first. */
	ASSERT_EQ(0, map_fixed(self->fd, src, self->buf, len, IOVA));
	iova = 0;
	ASSERT_EQ(0, copy_range(self->fd, dst, src, IOASID_MAP_READ, IOVA, len, &iova));
	expect_pinned(_metadata, self, pins + 1, locked + 4);
	ASSERT_EQ(len, unmap_range(self->fd, dst, iova, len));
	expect_pinned(_metadata, self, pins + 1, locked + 4);
	ASSERT_EQ(len, unmap_range(self->fd, src, IOVA, len));
	expect_pinned(_metadata, self, pins, locked);

	/* The source IOASID destroyed while the copy lives. */
	ASSERT_EQ(0, map_fixed(self->fd, src, self->buf, len, IOVA));
	iova = IOVA;
	ASSERT_EQ(0, copy_range(self->fd, dst, src, RW_FIXED, IOVA, len, &iova));
	/* An IOASID that devices are attached to cannot be destroyed. */
	if (variant->domains) {
		ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, src));
		ASSERT_EQ(0, detach_mocks(self->fd, self->dev, variant->domains));
	}
	ASSERT_EQ(0, ioasid_destroy(self->fd, src));
	expect_pinned(_metadata, self, pins + 1, locked + 4);
	ASSERT_EQ(len, unmap_all(self->fd, dst));
	expect_pinned(_metadata, self, pins, locked);
}

/* A copy of part of a mapping keeps at least that part pinned. */
TEST_F(mapping, copy_sub_range)
{
	long ps = self->ps;
	char *buf = self->buf;
	unsigned int dst;
	__u64 iova = 0;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &dst));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, buf, 4 * ps, IOVA));
	ASSERT_EQ(0, copy_range(self->fd, dst, self->ioasid, IOASID_MAP_READ, IOVA + ps,
				2 * ps, &iova));
	ASSERT_EQ(0, iova % ps);
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, buf + ps));
	ASSERT_EQ(self->locked + 4, locked_user(self->fd));
	ASSERT_EQ(4 * ps, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, buf + ps));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, buf + 2 * ps));
	/* The copy is exactly the two pages asked for. */
	ASSERT_EQ(2 * ps, unmap_all(self->fd, dst));
	ASSERT_EQ(self->pins, page_pins(self->fd, buf));
	ASSERT_EQ(self->pins, page_pins(self->fd, buf + ps));
	ASSERT_EQ(self->pins, page_pins(self->fd, buf + 3 * ps));
	ASSERT_EQ(self->locked, locked_user(self->fd));
}

TEST_F(mapping, destroy_with_mappings)
{
	long ps = self->ps;
	unsigned int id;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &id));
	ASSERT_EQ(0, map_fixed(self->fd, id, self->buf, 4 * ps, IOVA));
	ASSERT_EQ(0, map_fixed(self->fd, id, self->buf, ps, 2 * IOVA));
	ASSERT_EQ(self->pins + 2, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked + 5, locked_user(self->fd));
	ASSERT_EQ(0, ioasid_destroy(self->fd, id));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf + 3 * ps));
	ASSERT_EQ(self->locked, locked_user(self->fd));
	ASSERT_ERRNO(ENOENT, map_fixed(self->fd, id, self->buf, ps, IOVA));
}

TEST_F(mapping, close_with_mappings)
{
	long ps = self->ps;
	unsigned int id;
	int fd;

	fd = ioasid_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioasid_alloc(fd, &id));
	ASSERT_EQ(0, map_fixed(fd, id, self->buf, 4 * ps, IOVA));
	ASSERT_EQ(0, map_fixed(fd, id, self->buf + 8 * ps, 2 * ps, 2 * IOVA));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked + 6, locked_user(self->fd));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf + 8 * ps));
	ASSERT_EQ(self->locked, locked_user(self->fd));
}

/*
 * A process killed with live mappings: its pins and its charge go with
 * it.  The memory is shared with the child so that the parent can
 * measure the pins the child took.
 */
TEST_F(mapping, kill_with_mappings)
{
	long ps = self->ps;
	int ready[2];
	char *shared;
	pid_t pid;
	int status;
	char c;

	shared = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, shared);
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned int id;
		int fd = ioasid_open();

		if (fd < 0 || ioasid_alloc(fd, &id) ||
		    map_fixed(fd, id, shared, 4 * ps, IOVA))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(1, page_pins(self->fd, shared));
	ASSERT_EQ(self->locked + 4, locked_user(self->fd));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(0, page_pins(self->fd, shared));
	ASSERT_EQ(self->locked, locked_user(self->fd));
	close(ready[0]);
	close(ready[1]);
	munmap(shared, 4 * ps);
}

static int alloc_account_mm(int fd, unsigned int *id)
{
	IOASID_CMD(ioasid_alloc, cmd);

	cmd.flags = IOASID_ALLOC_ACCOUNT_MM;
	if (ioctl(fd, IOASID_ALLOC, &cmd))
		return -1;
	*id = cmd.out_ioasid;
	return 0;
}

/* The mm is charged instead of the user, and VmPin shows it. */
TEST_F(mapping, account_mm)
{
	__u64 mm = locked_mm(self->fd), len = 4 * self->ps, iova;
	long vm_pin = vm_pin_kb(), pin_kb = len / 1024;
	unsigned int id;
	int fd;

	ASSERT_NE(NO_ANSWER, mm);
	ASSERT_LE(0, vm_pin);
	ASSERT_EQ(0, alloc_account_mm(self->fd, &id));
	ASSERT_EQ(0, map_fixed(self->fd, id, self->buf, len, IOVA));
	ASSERT_EQ(mm + 4, locked_mm(self->fd));
	ASSERT_EQ(vm_pin + pin_kb, vm_pin_kb());
	ASSERT_EQ(self->locked, locked_user(self->fd));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf));

	/* A copy into a user-charged IOASID charges no one again. */
	iova = IOVA;
	ASSERT_EQ(0, copy_range(self->fd, self->ioasid, id, RW_FIXED, IOVA, len, &iova));
	ASSERT_EQ(mm + 4, locked_mm(self->fd));
	ASSERT_EQ(self->locked, locked_user(self->fd));
	ASSERT_EQ(len, unmap_all(self->fd, self->ioasid));

	ASSERT_EQ(len, unmap_range(self->fd, id, IOVA, len));
	ASSERT_EQ(mm, locked_mm(self->fd));
	ASSERT_EQ(vm_pin, vm_pin_kb());
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));

	/* Destroyed with a live mapping. */
	ASSERT_EQ(0, map_fixed(self->fd, id, self->buf, len, IOVA));
	ASSERT_EQ(mm + 4, locked_mm(self->fd));
	ASSERT_EQ(0, ioasid_destroy(self->fd, id));
	ASSERT_EQ(mm, locked_mm(self->fd));
	ASSERT_EQ(vm_pin, vm_pin_kb());

	/* Closed with a live mapping. */
	fd = ioasid_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, alloc_account_mm(fd, &id));
	ASSERT_EQ(0, map_fixed(fd, id, self->buf, len, IOVA));
	ASSERT_EQ(vm_pin + pin_kb, vm_pin_kb());
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(mm, locked_mm(self->fd));
	ASSERT_EQ(vm_pin, vm_pin_kb());
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked, locked_user(self->fd));
}

TEST_F(mapping, map_bad_flags)
{
	__u64 iova = IOVA;
	int bit;

	for (bit = 0; bit < 32; bit++) {
		/* IOASID_MAP_FILE is known, and tested in ioasid_file. */
		if ((1U << bit) & (RW_FIXED | IOASID_MAP_FILE))
			continue;
		ASSERT_ERRNO(EOPNOTSUPP, map_va(self->fd, self->ioasid, RW_FIXED | (1U << bit),
						self->buf, self->ps, &iova));
	}
	/* Neither READ nor WRITE. */
	ASSERT_ERRNO(EINVAL, map_va(self->fd, self->ioasid, IOASID_MAP_FIXED_IOVA, self->buf,
				    self->ps, &iova));
	ASSERT_ERRNO(EINVAL, map_va(self->fd, self->ioasid, 0, self->buf, self->ps, &iova));
	expect_unchanged(_metadata, self);
}

TEST_F(mapping, map_bad_range)
{
	IOASID_CMD(ioasid_map, cmd);
	struct ioasid_map good = {
		.size = sizeof(good),
		.flags = RW_FIXED,
		.ioasid = self->ioasid,
		.user_va = (uintptr_t)self->buf,
		.length = self->ps,
		.iova = IOVA,
	};

	cmd = good;
	cmd.length = 0;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_MAP, &cmd));
	cmd = good;
	cmd.length = self->ps + 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_MAP, &cmd));
	cmd = good;
	cmd.user_va += 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_MAP, &cmd));
	cmd = good;
	cmd.iova += self->ps / 2;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_MAP, &cmd));
	cmd = good;
	cmd.fd = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_MAP, &cmd));
	/* The user range wraps, by its start or by its length. */
	cmd = good;
	cmd.user_va = 0 - self->ps;
	cmd.length = 2 * self->ps;
	ASSERT_ERRNO(EOVERFLOW, ioctl(self->fd, IOASID_MAP, &cmd));
	cmd = good;
	cmd.length = 0 - cmd.user_va + self->ps;
	ASSERT_ERRNO(EOVERFLOW, ioctl(self->fd, IOASID_MAP, &cmd));
	/* The exact same call, none of the above, works. */
	cmd = good;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_MAP, &cmd));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->ps, unmap_all(self->fd, self->ioasid));
	expect_unchanged(_metadata, self);
}

TEST_F(mapping, map_iova_wrap)
{
	__u64 last_page = 0 - (__u64)self->ps;

	/* Checked before any pinning: nothing to undo. */
	ASSERT_ERRNO(EOVERFLOW, map_fixed(self->fd, self->ioasid, self->buf, 2 * self->ps,
					  last_page));
	ASSERT_ERRNO(EOVERFLOW, map_fixed(self->fd, self->ioasid, self->buf, 3 * self->ps,
					  last_page - self->ps));
	expect_unchanged(_metadata, self);

	/* The last page of the IOVA space is usable: only wrapping is not. */
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, self->ps, last_page));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->ps, unmap_range(self->fd, self->ioasid, last_page, self->ps));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));
}

TEST_F(mapping, map_overlap)
{
	static const struct {
		int start, pages;	/* in pages, from the mapping's start */
	} clash[] = {
		{ 0, 4 },	/* the same range */
		{ -1, 2 },	/* its front */
		{ 3, 2 },	/* its back */
		{ 1, 2 },	/* inside it */
		{ -1, 6 },	/* around it */
	};
	char *other = self->buf + 8 * self->ps;
	long ps = self->ps;
	__u64 other_pins;
	size_t i;

	other_pins = page_pins(self->fd, other);
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, 4 * ps, IOVA));
	for (i = 0; i < ARRAY_SIZE(clash); i++) {
		ASSERT_ERRNO(EEXIST, map_fixed(self->fd, self->ioasid, other,
					       clash[i].pages * ps,
					       IOVA + (long long)clash[i].start * ps));
		/* The failed map's pages were given back. */
		ASSERT_EQ(other_pins, page_pins(self->fd, other));
		ASSERT_EQ(self->locked + 4, locked_user(self->fd));
	}
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf));

	/* Touching is not overlapping. */
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, other, ps, IOVA - ps));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, other, ps, IOVA + 4 * ps));
	ASSERT_EQ(6 * ps, unmap_range(self->fd, self->ioasid, IOVA - ps, 6 * ps));
	ASSERT_EQ(other_pins, page_pins(self->fd, other));
	expect_unchanged(_metadata, self);
}

TEST_F(mapping, bad_ids)
{
	struct ioasid_iova_range range;
	unsigned int bad[3], gone;
	long ps = self->ps;
	__u64 iova;
	size_t i;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &gone));
	ASSERT_EQ(0, ioasid_destroy(self->fd, gone));
	/* Ids start at 1; never allocated; destroyed. */
	bad[0] = 0;
	bad[1] = UINT32_MAX;
	bad[2] = gone;
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, ps, IOVA));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_ERRNO(ENOENT, map_fixed(self->fd, bad[i], self->buf + ps, ps, IOVA));
		ASSERT_ERRNO(ENOENT, unmap_range(self->fd, bad[i], IOVA, ps));
		ASSERT_ERRNO(ENOENT, unmap_all(self->fd, bad[i]));
		iova = IOVA;
		ASSERT_ERRNO(ENOENT, copy_range(self->fd, bad[i], self->ioasid, RW_FIXED,
						IOVA, ps, &iova));
		ASSERT_ERRNO(ENOENT, copy_range(self->fd, self->ioasid, bad[i], RW_FIXED,
						IOVA, ps, &iova));
		ASSERT_ERRNO(ENOENT, iova_ranges(self->fd, bad[i], 1, &range));
	}
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf + ps));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf));
	ASSERT_EQ(ps, unmap_all(self->fd, self->ioasid));
	expect_unchanged(_metadata, self);
}

TEST_F(mapping, map_efault)
{
	long ps = self->ps;

	/* A hole after two pages: those are pinned before it is found. */
	ASSERT_EQ(0, munmap(self->buf + 2 * ps, ps));
	ASSERT_ERRNO(EFAULT, map_fixed(self->fd, self->ioasid, self->buf, 4 * ps, IOVA));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf + ps));
	/* Memory that is not user memory, and the never-mapped page 0. */
	ASSERT_ERRNO(EFAULT, map_fixed(self->fd, self->ioasid, (void *)(0 - 16 * ps), ps, IOVA));
	ASSERT_ERRNO(EFAULT, map_fixed(self->fd, self->ioasid, NULL, ps, IOVA));
	expect_unchanged(_metadata, self);
}

/*
 * A length far past the memory that is mapped, with the limit out of the
 * way (root has CAP_IPC_LOCK, as a VMM with RLIMIT_MEMLOCK unlimited would
 * pass the charge): EFAULT, and no allocation sized by the length.
 */
TEST_F(mapping, map_huge_length)
{
	__u64 len = 1ULL << 50;

	ASSERT_ERRNO(EFAULT, map_fixed(self->fd, self->ioasid, self->buf, len, IOVA));
	ASSERT_ERRNO(EFAULT, map_fixed(self->fd, self->ioasid, self->buf, len - self->ps, 0));
	expect_unchanged(_metadata, self);
}

TEST_F(mapping, map_read_only_memory)
{
	char *ro = self->buf + 8 * self->ps;
	__u64 len = 2 * self->ps, ro_pins, iova;
	unsigned int dst;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &dst));
	ASSERT_EQ(0, mprotect(ro, len, PROT_READ));
	ro_pins = page_pins(self->fd, ro);
	ASSERT_NE(NO_ANSWER, ro_pins);
	iova = IOVA;
	ASSERT_ERRNO(EFAULT, map_va(self->fd, self->ioasid, IOASID_MAP_WRITE |
				    IOASID_MAP_FIXED_IOVA, ro, len, &iova));
	ASSERT_ERRNO(EFAULT, map_fixed(self->fd, self->ioasid, ro, len, IOVA));
	ASSERT_EQ(ro_pins, page_pins(self->fd, ro));
	ASSERT_EQ(self->locked, locked_user(self->fd));

	/* Devices may read it; at the IOVA the failed maps left free. */
	ASSERT_EQ(0, map_va(self->fd, self->ioasid, IOASID_MAP_READ | IOASID_MAP_FIXED_IOVA,
			    ro, len, &iova));
	ASSERT_EQ(ro_pins + 1, page_pins(self->fd, ro));
	ASSERT_EQ(self->locked + 2, locked_user(self->fd));

	/* Pinned read-only, it cannot be handed out for writing. */
	iova = IOVA;
	ASSERT_ERRNO(EPERM, copy_range(self->fd, dst, self->ioasid,
				       IOASID_MAP_WRITE | IOASID_MAP_FIXED_IOVA, IOVA, len,
				       &iova));
	ASSERT_ERRNO(EPERM, copy_range(self->fd, dst, self->ioasid, RW_FIXED, IOVA, len, &iova));
	ASSERT_EQ(0, copy_range(self->fd, dst, self->ioasid,
				IOASID_MAP_READ | IOASID_MAP_FIXED_IOVA, IOVA, len, &iova));
	ASSERT_EQ(ro_pins + 1, page_pins(self->fd, ro));
	ASSERT_EQ(self->locked + 2, locked_user(self->fd));
	ASSERT_EQ(len, unmap_all(self->fd, dst));
	ASSERT_EQ(len, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(ro_pins, page_pins(self->fd, ro));

	/* Writable memory mapped read-only is just as read-only. */
	iova = IOVA;
	ASSERT_EQ(0, map_va(self->fd, self->ioasid, IOASID_MAP_READ | IOASID_MAP_FIXED_IOVA,
			    self->buf, len, &iova));
	ASSERT_ERRNO(EPERM, copy_range(self->fd, dst, self->ioasid, RW_FIXED, IOVA, len, &iova));
	ASSERT_EQ(len, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(0, unmap_all(self->fd, dst));
	expect_unchanged(_metadata, self);
}

TEST_F(mapping, unmap_errors)
{
	IOASID_CMD(ioasid_unmap, good);
	IOASID_CMD(ioasid_unmap, cmd);
	long ps = self->ps;
	char *buf = self->buf;

	/* A: 1 page at IOVA; B: 2 pages after it; C: 4 pages after a gap. */
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, buf, ps, IOVA));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, buf + ps, 2 * ps, IOVA + ps));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, buf + 4 * ps, 4 * ps, IOVA + 8 * ps));

	/* Each would cut B or C: nothing goes, not even A, wholly inside. */
	ASSERT_ERRNO(EINVAL, unmap_range(self->fd, self->ioasid, IOVA, 2 * ps));
	ASSERT_ERRNO(EINVAL, unmap_range(self->fd, self->ioasid, IOVA + 2 * ps, ps));
	ASSERT_ERRNO(EINVAL, unmap_range(self->fd, self->ioasid, IOVA + 2 * ps, 4 * ps));
	ASSERT_ERRNO(EINVAL, unmap_range(self->fd, self->ioasid, IOVA + 9 * ps, ps));
	ASSERT_ERRNO(EINVAL, unmap_range(self->fd, self->ioasid, IOVA + 7 * ps, 2 * ps));
	/* Nothing there: the gap, and below every mapping. */
	ASSERT_ERRNO(ENOENT, unmap_range(self->fd, self->ioasid, IOVA + 3 * ps, 5 * ps));
	ASSERT_ERRNO(ENOENT, unmap_range(self->fd, self->ioasid, 0, ps));

	good.ioasid = self->ioasid;
	good.iova = IOVA;
	good.length = ps;
	/* UNMAP_ALL takes no range. */
	cmd = good;
	cmd.flags = IOASID_UNMAP_ALL;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_UNMAP, &cmd));
	cmd.length = 0;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_UNMAP, &cmd));
	cmd.iova = 0;
	cmd.length = ps;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_UNMAP, &cmd));
	cmd = good;
	cmd.flags = IOASID_UNMAP_DIRTY_BITMAP << 1;
	ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_UNMAP, &cmd));
	cmd = good;
	cmd.__reserved = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_UNMAP, &cmd));
	cmd = good;
	cmd.length = 0;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_UNMAP, &cmd));
	cmd = good;
	cmd.length = ps + 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_UNMAP, &cmd));
	cmd = good;
	cmd.iova = IOVA + 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_UNMAP, &cmd));
	cmd = good;
	cmd.iova = 0 - (__u64)ps;
	cmd.length = 2 * ps;
	ASSERT_ERRNO(EOVERFLOW, ioctl(self->fd, IOASID_UNMAP, &cmd));

	/* All three are still mapped, pinned and charged. */
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, buf));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, buf + 2 * ps));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, buf + 5 * ps));
	ASSERT_EQ(self->locked + 7, locked_user(self->fd));
	ASSERT_ERRNO(EEXIST, map_fixed(self->fd, self->ioasid, buf, ps, IOVA));
	ASSERT_ERRNO(EEXIST, map_fixed(self->fd, self->ioasid, buf, ps, IOVA + 9 * ps));

	ASSERT_EQ(7 * ps, unmap_range(self->fd, self->ioasid, IOVA, 12 * ps));
	expect_unchanged(_metadata, self);
}

TEST_F(mapping, copy_errors)
{
	IOASID_CMD(ioasid_copy, cmd);
	struct ioasid_copy good = {
		.size = sizeof(good),
		.flags = RW_FIXED,
		.src_ioasid = self->ioasid,
		.length = self->ps,
		.src_iova = IOVA,
		.dst_iova = IOVA,
	};
	long ps = self->ps;
	unsigned int dst;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &dst));
	good.dst_ioasid = dst;
	/* Two adjacent mappings: S1 of 4 pages, S2 of 2 pages. */
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, 4 * ps, IOVA));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf + 4 * ps, 2 * ps,
			       IOVA + 4 * ps));

	/* The source range must lie within one mapping. */
	cmd = good;
	cmd.src_iova = IOVA + 3 * ps;
	cmd.length = 2 * ps;
	ASSERT_ERRNO(ENOENT, ioctl(self->fd, IOASID_COPY, &cmd));
	cmd = good;
	cmd.src_iova = IOVA - ps;
	cmd.length = 2 * ps;
	ASSERT_ERRNO(ENOENT, ioctl(self->fd, IOASID_COPY, &cmd));
	cmd = good;
	cmd.src_iova = IOVA + 6 * ps;
	ASSERT_ERRNO(ENOENT, ioctl(self->fd, IOASID_COPY, &cmd));

	cmd = good;
	cmd.flags |= IOASID_MAP_FIXED_IOVA << 1;
	ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_COPY, &cmd));
	cmd = good;
	cmd.flags = IOASID_MAP_FIXED_IOVA;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_COPY, &cmd));
	cmd = good;
	cmd.length = 0;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_COPY, &cmd));
	cmd = good;
	cmd.length = ps - 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_COPY, &cmd));
	cmd = good;
	cmd.src_iova += 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_COPY, &cmd));
	cmd = good;
	cmd.dst_iova += 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_COPY, &cmd));
	cmd = good;
	cmd.src_iova = 0 - (__u64)ps;
	cmd.length = 2 * ps;
	ASSERT_ERRNO(EOVERFLOW, ioctl(self->fd, IOASID_COPY, &cmd));
	cmd = good;
	cmd.dst_iova = 0 - (__u64)ps;
	cmd.length = 2 * ps;
	ASSERT_ERRNO(EOVERFLOW, ioctl(self->fd, IOASID_COPY, &cmd));

	/* One good copy, then copies over it. */
	cmd = good;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_COPY, &cmd));
	ASSERT_ERRNO(EEXIST, ioctl(self->fd, IOASID_COPY, &cmd));
	cmd.dst_iova = IOVA - ps;
	cmd.length = 2 * ps;
	ASSERT_ERRNO(EEXIST, ioctl(self->fd, IOASID_COPY, &cmd));

	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf + 4 * ps));
	ASSERT_EQ(self->locked + 6, locked_user(self->fd));
	/* The destination holds the good copy and nothing else. */
	ASSERT_EQ(ps, unmap_all(self->fd, dst));
	ASSERT_EQ(6 * ps, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf + 4 * ps));
	expect_unchanged(_metadata, self);
}

TEST_F(mapping, iova_ranges)
{
	IOASID_CMD(ioasid_iova_ranges, cmd);
	struct ioasid_iova_range ranges[2];
	int i;

	cmd.ioasid = self->ioasid;
	ASSERT_ERRNO(EMSGSIZE, ioctl(self->fd, IOASID_IOVA_RANGES, &cmd));
	ASSERT_EQ(1, cmd.num_ranges);

	/* Mappings use the usable range; they do not shrink it. */
	for (i = 0; i < 2; i++) {
		memset(ranges, 0xa5, sizeof(ranges));
		cmd.num_ranges = ARRAY_SIZE(ranges);
		cmd.ranges = (uintptr_t)ranges;
		cmd.out_iova_alignment = 0;
		ASSERT_EQ(0, ioctl(self->fd, IOASID_IOVA_RANGES, &cmd));
		ASSERT_EQ(1, cmd.num_ranges);
		ASSERT_EQ(0, ranges[0].start);
		ASSERT_EQ(UINT64_MAX, ranges[0].last);
		/* No device yet: the CPU page size. */
		ASSERT_EQ(self->ps, cmd.out_iova_alignment);
		/* Only the ranges there are get written. */
		ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, ranges[1].start);
		ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, self->ps,
				       IOVA + i * self->ps));
	}
	ASSERT_EQ(2 * self->ps, unmap_all(self->fd, self->ioasid));

	cmd.num_ranges = 1;
	cmd.ranges = 0;
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, IOASID_IOVA_RANGES, &cmd));
	cmd.ranges = (uintptr_t)ranges;
	cmd.flags = 1;
	ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_IOVA_RANGES, &cmd));
}

#define MANY		200000
#define MANY_SPLIT	1000

/* The same page mapped MANY times: each map pins and charges it again. */
TEST_F_TIMEOUT(mapping, many_mappings, 600)
{
	long ps = self->ps;
	unsigned int i;

	/* The count of mappings is the core's: once is enough. */
	if (variant->domains)
		SKIP(return, "run without a domain only");
	for (i = 0; i < MANY; i++)
		if (map_fixed(self->fd, self->ioasid, self->buf, ps, IOVA + (__u64)i * ps))
			break;
	ASSERT_EQ(MANY, i) TH_LOG("map %u failed: %s", i, strerror(errno));
	ASSERT_EQ(self->pins + MANY, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked + MANY, locked_user(self->fd));

	/* One range takes many mappings at once... */
	ASSERT_EQ(MANY_SPLIT * ps, unmap_range(self->fd, self->ioasid, IOVA, MANY_SPLIT * ps));
	ASSERT_EQ(self->pins + MANY - MANY_SPLIT, page_pins(self->fd, self->buf));
	/* ... and UNMAP_ALL the rest. */
	ASSERT_EQ((long long)(MANY - MANY_SPLIT) * ps, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked, locked_user(self->fd));
}

/* The child writes its copy of a page whose original the parent pinned. */
static int fork_child_write(int fd, char *va, __u64 pinned_pfn)
{
	CHILD_CHECK(va[0] == 'P');
	va[0] = 'C';
	CHILD_CHECK(pfn_of(va) != pinned_pfn);
	CHILD_CHECK(page_pins(fd, va) == 0);
	return 0;
}

/*
 * fork() must not leave the parent's pinned page shared for copy on
 * write, or the parent's next write would move it off the page devices
 * use.
 */
TEST_F(mapping, fork_keeps_pinned_page)
{
	char *va = self->buf;
	__u64 pfn;
	pid_t pid;

	va[0] = 'P';
	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, va, self->ps, IOVA));
	pfn = pfn_of(va);
	ASSERT_NE(0, pfn);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(fork_child_write(self->fd, va, pfn));
	ASSERT_TRUE(child_ok(pid));

	ASSERT_EQ('P', va[0]);
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, va));
	va[0] = 'Q';
	ASSERT_EQ(pfn, pfn_of(va));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, va));
	ASSERT_EQ(self->ps, unmap_range(self->fd, self->ioasid, IOVA, self->ps));
	ASSERT_EQ(self->pins, page_pins(self->fd, va));
}

/* A child closing its copy of the file closes nothing of the parent's. */
TEST_F(mapping, fork_child_close)
{
	long ps = self->ps;
	pid_t pid;

	ASSERT_EQ(0, map_fixed(self->fd, self->ioasid, self->buf, 4 * ps, IOVA));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(close(self->fd) ? 1 : 0);
	ASSERT_TRUE(child_ok(pid));

	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf + 3 * ps));
	ASSERT_EQ(self->locked + 4, locked_user(self->fd));
	ASSERT_ERRNO(EEXIST, map_fixed(self->fd, self->ioasid, self->buf + 4 * ps, ps, IOVA));
	ASSERT_EQ(4 * ps, unmap_range(self->fd, self->ioasid, IOVA, 4 * ps));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked, locked_user(self->fd));
}

/* The context lives as long as any copy of the file: here the child's. */
TEST_F(mapping, fork_parent_close)
{
	long ps = self->ps;
	unsigned int id;
	int fd, go[2];
	pid_t pid;
	char c;

	fd = ioasid_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioasid_alloc(fd, &id));
	ASSERT_EQ(0, map_fixed(fd, id, self->buf, 4 * ps, IOVA));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(go[1]);
		_exit(read(go[0], &c, 1) == 1 ? 0 : 1);
	}
	close(go[0]);
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(self->pins + 1, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->locked + 4, locked_user(self->fd));

	ASSERT_EQ(1, write(go[1], "x", 1));
	close(go[1]);
	ASSERT_TRUE(child_ok(pid));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf));
	ASSERT_EQ(self->pins, page_pins(self->fd, self->buf + 3 * ps));
	ASSERT_EQ(self->locked, locked_user(self->fd));
}

#define THREADS	4
#define ROUNDS	500

struct map_worker {
	pthread_t thread;
	pthread_barrier_t *start;
	int fd;
	unsigned int ioasid;
	long ps;
	char *va;
	__u64 iova;
	int rounds;	/* completed */
	int err;	/* of the failed round; 0 if none failed */
};

/* Map and unmap one page, over and over, within its own IOVA range. */
static void *map_worker(void *arg)
{
	struct map_worker *w = arg;
	__u64 iova;

	pthread_barrier_wait(w->start);
	for (w->rounds = 0; w->rounds < ROUNDS; w->rounds++) {
		/* Move around so that the tree keeps changing shape. */
		iova = w->iova + (w->rounds % 8) * w->ps;
		errno = 0;
		if (map_fixed(w->fd, w->ioasid, w->va, w->ps, iova) ||
		    unmap_range(w->fd, w->ioasid, iova, w->ps) != w->ps) {
			w->err = errno ? errno : EIO;
			break;
		}
	}
	return NULL;
}

struct ranges_worker {
	pthread_t thread;
	pthread_barrier_t *start;
	int fd;
	unsigned int ioasid;
	int stop;
	long calls;
	int err;
};

/* Read the usable ranges while the map workers run. */
static void *ranges_worker(void *arg)
{
	struct ranges_worker *w = arg;
	struct ioasid_iova_range range;

	pthread_barrier_wait(w->start);
	do {
		if (iova_ranges(w->fd, w->ioasid, 1, &range)) {
			w->err = errno;
			break;
		}
		if (range.start || range.last != UINT64_MAX) {
			w->err = EIO;
			break;
		}
		w->calls++;
	} while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE));
	return NULL;
}

struct long_map {
	pthread_barrier_t *start;
	int fd;
	unsigned int ioasid;
	void *va;
	size_t length;
	int rc;
	int err;
};

static void *long_map(void *arg)
{
	struct long_map *m = arg;

	pthread_barrier_wait(m->start);
	m->rc = map_fixed(m->fd, m->ioasid, m->va, m->length, IOVA);
	m->err = errno;
	return NULL;
}

/*
 * IOASID_DESTROY while another thread maps into the IOASID: the map holds
 * the IOASID only for its call, so the destroy does not fail with EBUSY,
 * and whatever the map pinned is given back once the map returns.
 */
TEST_F(mapping, destroy_during_map)
{
	size_t length = 32UL << 20;
	struct long_map m = {
		.fd = self->fd, .ioasid = self->ioasid, .length = length,
	};
	pthread_barrier_t start;
	pthread_t thread;
	int rc;

	/* With a device attached the IOASID cannot go: EBUSY, as above. */
	if (variant->domains)
		SKIP(return, "run without a domain only");
	m.va = mmap(NULL, length, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m.va);
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, 2));
	m.start = &start;
	ASSERT_EQ(0, pthread_create(&thread, NULL, long_map, &m));
	pthread_barrier_wait(&start);
	/* Let the map start pinning (faulting 32 MiB in takes a while). */
	usleep(2000);
	errno = 0;
	rc = ioasid_destroy(self->fd, self->ioasid);
	ASSERT_EQ(0, errno);
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	pthread_barrier_destroy(&start);
	/* The map either finished first or found the IOASID gone. */
	if (m.rc)
		ASSERT_EQ(ENOENT, m.err);
	TH_LOG("the map %s", m.rc ? "found the IOASID gone" : "finished first");
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, self->ioasid));
	ASSERT_EQ(self->locked, locked_user(self->fd));
	munmap(m.va, length);
}

TEST_F(mapping, threads)
{
	struct map_worker workers[THREADS];
	struct ranges_worker ranges = {};
	pthread_barrier_t start;
	__u64 pins[THREADS];
	int i;

	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, THREADS + 1));
	for (i = 0; i < THREADS; i++) {
		workers[i] = (struct map_worker) {
			.start = &start,
			.fd = self->fd,
			.ioasid = self->ioasid,
			.ps = self->ps,
			.va = self->buf + i * self->ps,
			.iova = IOVA + ((__u64)i << 30),
		};
		pins[i] = page_pins(self->fd, workers[i].va);
		ASSERT_NE(NO_ANSWER, pins[i]);
	}
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_create(&workers[i].thread, NULL, map_worker, &workers[i]));
	ranges.start = &start;
	ranges.fd = self->fd;
	ranges.ioasid = self->ioasid;
	ASSERT_EQ(0, pthread_create(&ranges.thread, NULL, ranges_worker, &ranges));

	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_join(workers[i].thread, NULL));
	__atomic_store_n(&ranges.stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(ranges.thread, NULL));
	pthread_barrier_destroy(&start);

	for (i = 0; i < THREADS; i++) {
		ASSERT_EQ(0, workers[i].err)
			TH_LOG("worker %d failed in round %d", i, workers[i].rounds);
		ASSERT_EQ(ROUNDS, workers[i].rounds);
		ASSERT_EQ(pins[i], page_pins(self->fd, workers[i].va));
	}
	ASSERT_EQ(0, ranges.err);
	ASSERT_LT(0, ranges.calls);
	ASSERT_EQ(self->locked, locked_user(self->fd));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
}

/*
 * RLIMIT_MEMLOCK.  The tests run with CAP_IPC_LOCK, which lifts the limit,
 * so a child gives it up, either alone or by becoming nobody, and checks
 * the limit on the count it is charged to.
 */
#define LIMIT_PAGES	8

FIXTURE(rlimit) {
	int fd;
	long ps;
	char *buf;
};

FIXTURE_VARIANT(rlimit) {
	__u32 alloc_flags;
	bool become_nobody;
};

FIXTURE_VARIANT_ADD(rlimit, user_drop_cap) {
	.alloc_flags = 0,
	.become_nobody = false,
};

FIXTURE_VARIANT_ADD(rlimit, user_nobody) {
	.alloc_flags = 0,
	.become_nobody = true,
};

FIXTURE_VARIANT_ADD(rlimit, mm_drop_cap) {
	.alloc_flags = IOASID_ALLOC_ACCOUNT_MM,
	.become_nobody = false,
};

FIXTURE_VARIANT_ADD(rlimit, mm_nobody) {
	.alloc_flags = IOASID_ALLOC_ACCOUNT_MM,
	.become_nobody = true,
};

FIXTURE_SETUP(rlimit)
{
	if (geteuid())
		SKIP(return, "needs root, to give up CAP_IPC_LOCK");
	self->ps = sysconf(_SC_PAGESIZE);
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	self->buf = alloc_buf((LIMIT_PAGES + 2) * self->ps);
	ASSERT_NE(NULL, self->buf);
	if (page_pins(self->fd, self->buf) == NO_ANSWER && errno == ENOTTY)
		SKIP(return, "IOASID_TEST needs CONFIG_IOASID_TEST");
}

FIXTURE_TEARDOWN(rlimit)
{
	close(self->fd);
	munmap(self->buf, (LIMIT_PAGES + 2) * self->ps);
}

static bool has_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, data))
		return true;
	return data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK);
}

static int drop_ipc_lock(bool become_nobody)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
	struct __user_cap_data_struct *d = &data[CAP_TO_INDEX(CAP_IPC_LOCK)];

	/* Changing every uid from root clears every capability. */
	if (become_nobody)
		return setuid(NOBODY);
	if (syscall(SYS_capget, &hdr, data))
		return -1;
	d->effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	d->permitted &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	d->inheritable &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	return syscall(SYS_capset, &hdr, data);
}

/* Only the soft limit counts; the hard one stays for a later change. */
static int set_memlock(__u64 pages, long ps)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return -1;
	rl.rlim_cur = pages * ps;
	if (rl.rlim_max < rl.rlim_cur)
		rl.rlim_max = rl.rlim_cur;
	return setrlimit(RLIMIT_MEMLOCK, &rl);
}

/* Charges are counted with and limited without CAP_IPC_LOCK. */
static int rlimit_child(int fd, __u32 alloc_flags, bool become_nobody, char *buf,
			long ps)
{
	IOASID_CMD(ioasid_alloc, alloc);
	bool mm = alloc_flags & IOASID_ALLOC_ACCOUNT_MM;
	__u64 base, pins, iova;
	unsigned int id, copy;

	alloc.flags = alloc_flags;
	CHILD_CHECK(!ioctl(fd, IOASID_ALLOC, &alloc));
	id = alloc.out_ioasid;
	CHILD_CHECK(!ioasid_alloc(fd, &copy));
	/* Own the pages: until written they are shared with the parent. */
	memset(buf, 0x3c, (LIMIT_PAGES + 2) * ps);
	pins = page_pins(fd, buf);
	CHILD_CHECK(pins != NO_ANSWER);

	/* With CAP_IPC_LOCK the limit is lifted, but the pages still count. */
	CHILD_CHECK(has_ipc_lock());
	base = charged(fd, mm);
	CHILD_CHECK(!set_memlock(base + LIMIT_PAGES, ps));
	CHILD_CHECK(!map_fixed(fd, id, buf, (LIMIT_PAGES + 1) * ps, IOVA));
	CHILD_CHECK(charged(fd, mm) == base + LIMIT_PAGES + 1);
	CHILD_CHECK(unmap_all(fd, id) == (LIMIT_PAGES + 1) * ps);
	CHILD_CHECK(charged(fd, mm) == base);

	CHILD_CHECK(!drop_ipc_lock(become_nobody));
	CHILD_CHECK(!has_ipc_lock());
	/* Measure again: as nobody, the user count is nobody's. */
	base = charged(fd, mm);
	CHILD_CHECK(!set_memlock(base + LIMIT_PAGES, ps));

	errno = 0;
	CHILD_CHECK(map_fixed(fd, id, buf, (LIMIT_PAGES + 1) * ps, IOVA) && errno == ENOMEM);
	CHILD_CHECK(charged(fd, mm) == base);
	CHILD_CHECK(page_pins(fd, buf) == pins);

	/* Up to the limit is fine, one page more is not. */
	CHILD_CHECK(!map_fixed(fd, id, buf, LIMIT_PAGES * ps, IOVA));
	CHILD_CHECK(charged(fd, mm) == base + LIMIT_PAGES);
	CHILD_CHECK(page_pins(fd, buf) == pins + 1);
	errno = 0;
	CHILD_CHECK(map_fixed(fd, id, buf + LIMIT_PAGES * ps, ps, 2 * IOVA) && errno == ENOMEM);
	CHILD_CHECK(charged(fd, mm) == base + LIMIT_PAGES);
	CHILD_CHECK(page_pins(fd, buf + LIMIT_PAGES * ps) == pins);

	/* A copy charges nothing, so the limit does not stop it. */
	iova = IOVA;
	CHILD_CHECK(!copy_range(fd, copy, id, RW_FIXED, IOVA, LIMIT_PAGES * ps, &iova));
	CHILD_CHECK(charged(fd, mm) == base + LIMIT_PAGES);
	CHILD_CHECK(unmap_all(fd, copy) == LIMIT_PAGES * ps);

	CHILD_CHECK(unmap_all(fd, id) == LIMIT_PAGES * ps);
	CHILD_CHECK(charged(fd, mm) == base);
	CHILD_CHECK(page_pins(fd, buf) == pins);
	return 0;
}

TEST_F(rlimit, memlock)
{
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(rlimit_child(self->fd, variant->alloc_flags, variant->become_nobody,
				   self->buf, self->ps));
	ASSERT_TRUE(child_ok(pid));
}

TEST_HARNESS_MAIN
