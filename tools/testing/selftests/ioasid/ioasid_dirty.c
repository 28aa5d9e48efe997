// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty tracking against the mock IOMMU driver: IOASID_DIRTY_TRACKING,
 * IOASID_DIRTY_BITMAP and IOASID_UNMAP_DIRTY_BITMAP, with the mock's
 * IOPTEs written as a device would write them (IOASID_TEST_OP_MOCK_WRITE).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "ioasid_mock.h"

#define NPAGES 64
#define BUF_SIZE (NPAGES * SZ_4K)
#define IOVA 0x100000UL

FIXTURE(dirty) {
	int fd;
	unsigned int ioasid;
	struct mock_dev dev;
	char *buf;
	uint64_t bitmap[4];
};

FIXTURE_SETUP(dirty)
{
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &self->dev));
	ASSERT_EQ(0, attach(self->fd, &self->dev, self->ioasid));
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, BUF_SIZE, IOVA));
	memset(self->bitmap, 0, sizeof(self->bitmap));
}

FIXTURE_TEARDOWN(dirty)
{
	munmap(self->buf, BUF_SIZE);
	close(self->fd);
}

TEST_F(dirty, capability)
{
	IOASID_CMD(ioasid_info, info);

	ASSERT_EQ(0, ioctl(self->fd, IOASID_GET_INFO, &info));
	ASSERT_TRUE(info.caps & IOASID_CAP_DIRTY_TRACKING);
}

TEST_F(dirty, read_then_clear)
{
	uint64_t *bm = self->bitmap;

	/* Off: writes leave no record, and there is nothing to read. */
	ASSERT_EQ(0, dev_write(self->fd, &self->dev, IOVA, SZ_4K));
	ASSERT_ERRNO(ENODATA, read_bitmap(self->fd, self->ioasid, IOVA,
					  BUF_SIZE, SZ_4K, bm, 0));

	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, true));
	/* Starting twice is no error. */
	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, true));
	ASSERT_EQ(3, dev_write(self->fd, &self->dev, IOVA + 3 * SZ_4K,
			       3 * SZ_4K));
	ASSERT_EQ(1, dev_write(self->fd, &self->dev, IOVA + 63 * SZ_4K, 1));

	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, IOASID_DIRTY_BITMAP_NO_CLEAR));
	ASSERT_EQ(0x38ULL | 1ULL << 63, bm[0]);
	/* Not cleared: the same again, then cleared by a plain read. */
	bm[0] = 0;
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, IOASID_DIRTY_BITMAP_NO_CLEAR));
	ASSERT_EQ(0x38ULL | 1ULL << 63, bm[0]);
	bm[0] = 0;
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, 0));
	ASSERT_EQ(0x38ULL | 1ULL << 63, bm[0]);
	bm[0] = 0;
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, 0));
	ASSERT_EQ(0, bm[0]);

	/* Bits are set, never cleared: the caller's own bits stay. */
	bm[0] = 1;
	ASSERT_EQ(1, dev_write(self->fd, &self->dev, IOVA + SZ_4K, SZ_4K));
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, 0));
	ASSERT_EQ(3, bm[0]);
}

TEST_F(dirty, stop_forgets_and_start_clears)
{
	uint64_t *bm = self->bitmap;

	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, true));
	ASSERT_EQ(2, dev_write(self->fd, &self->dev, IOVA, 2 * SZ_4K));
	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, false));
	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, false));
	ASSERT_ERRNO(ENODATA, read_bitmap(self->fd, self->ioasid, IOVA,
					  BUF_SIZE, SZ_4K, bm, 0));
	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, true));
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, 0));
	ASSERT_EQ(0, bm[0]);
}

TEST_F(dirty, coarse_pages_and_cut_mappings)
{
	uint64_t *bm = self->bitmap;

	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, true));
	ASSERT_EQ(2, dev_write(self->fd, &self->dev, IOVA + 5 * SZ_4K,
			       2 * SZ_4K));
	ASSERT_EQ(1, dev_write(self->fd, &self->dev, IOVA + 40 * SZ_4K, 1));
	/* 64 KiB a bit from IOVA 0: pages 5 and 6 in bit 16, 40 in 18. */
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, 0, 0x200000, 0x10000,
				 bm, IOASID_DIRTY_BITMAP_NO_CLEAR));
	ASSERT_EQ(1ULL << 16 | 1ULL << 18, bm[0]);
	/* A range from the middle of the mapping, holding unmapped IOVAs. */
	bm[0] = 0;
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA + 6 * SZ_4K,
				 SZ_2M, SZ_4K, bm, 0));
	ASSERT_EQ(1ULL | 1ULL << 34, bm[0]);
	/* Page 5 was outside that read: it is still recorded. */
	bm[0] = 0;
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, 0));
	ASSERT_EQ(1ULL << 5, bm[0]);
}

TEST_F(dirty, refusals_change_nothing)
{
	IOASID_CMD(ioasid_dirty_tracking, track);
	IOASID_CMD(ioasid_dirty_bitmap, cmd);
	uint64_t *bm = self->bitmap;
	void *ro;

	track.ioasid = self->ioasid;
	track.flags = 1 << 1;
	ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_DIRTY_TRACKING,
				       &track));
	track.flags = IOASID_DIRTY_TRACKING_ENABLE;
	track.__reserved = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_DIRTY_TRACKING, &track));
	track.__reserved = 0;
	track.ioasid = self->dev.dev_id;
	ASSERT_ERRNO(ENOENT, ioctl(self->fd, IOASID_DIRTY_TRACKING, &track));
	track.ioasid = self->ioasid;
	track.size = 8;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_DIRTY_TRACKING, &track));
	/* None of these started tracking. */
	ASSERT_ERRNO(ENODATA, read_bitmap(self->fd, self->ioasid, IOVA,
					  BUF_SIZE, SZ_4K, bm, 0));

	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, true));
	ASSERT_EQ(1, dev_write(self->fd, &self->dev, IOVA, 1));

	cmd.ioasid = self->ioasid;
	cmd.iova = IOVA;
	cmd.length = BUF_SIZE;
	cmd.page_size = SZ_4K;
	cmd.data = (uintptr_t)bm;
	cmd.flags = 1 << 1;
	ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_DIRTY_BITMAP, &cmd));
	cmd.flags = 0;
	cmd.__reserved = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_DIRTY_BITMAP, &cmd));
	cmd.__reserved = 0;
	ASSERT_ERRNO(EINVAL, read_bitmap(self->fd, self->ioasid, IOVA,
					 BUF_SIZE, 0, bm, 0));
	ASSERT_ERRNO(EINVAL, read_bitmap(self->fd, self->ioasid, IOVA,
					 BUF_SIZE, 0x3000, bm, 0));
	ASSERT_ERRNO(EINVAL, read_bitmap(self->fd, self->ioasid, IOVA,
					 BUF_SIZE, 0x800, bm, 0));
	ASSERT_ERRNO(EINVAL, read_bitmap(self->fd, self->ioasid, IOVA + 0x800,
					 BUF_SIZE, SZ_4K, bm, 0));
	ASSERT_ERRNO(EINVAL, read_bitmap(self->fd, self->ioasid, IOVA,
					 SZ_4K, SZ_2M, bm, 0));
	ASSERT_ERRNO(EINVAL, read_bitmap(self->fd, self->ioasid, IOVA, 0,
					 SZ_4K, bm, 0));
	ASSERT_ERRNO(EOVERFLOW, read_bitmap(self->fd, self->ioasid,
					    -(uint64_t)SZ_4K, 2 * SZ_4K,
					    SZ_4K, bm, 0));
	ASSERT_ERRNO(EINVAL, read_bitmap(self->fd, self->ioasid, IOVA,
					 BUF_SIZE, SZ_4K,
					 (uint64_t *)((char *)bm + 1), 0));
	/* 2^31 bits at most: 8 TiB at 4 KiB is one bit too many. */
	ASSERT_ERRNO(E2BIG, read_bitmap(self->fd, self->ioasid, 0,
					(1ULL << 31) * SZ_4K + SZ_4K, SZ_4K,
					bm, 0));
	ASSERT_ERRNO(ENOENT, read_bitmap(self->fd, self->dev.dev_id, IOVA,
					 BUF_SIZE, SZ_4K, bm, 0));
	ASSERT_ERRNO(EFAULT, read_bitmap(self->fd, self->ioasid, IOVA,
					 BUF_SIZE, SZ_4K, NULL, 0));
	ro = mmap(NULL, SZ_4K, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_ERRNO(EFAULT, read_bitmap(self->fd, self->ioasid, IOVA,
					 BUF_SIZE, SZ_4K, ro, 0));
	munmap(ro, SZ_4K);

	/* The record survived every refusal. */
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, 0));
	ASSERT_EQ(1, bm[0]);
}

/* Two IOMMUs behind one IOASID: a read gathers both records. */
TEST_F(dirty, two_domains)
{
	struct mock_cfg other = default_cfg;
	uint64_t *bm = self->bitmap;
	struct mock_dev dev2;

	other.iommu = 1;
	ASSERT_EQ(0, mock_add(self->fd, &other, &dev2));
	ASSERT_EQ(0, attach(self->fd, &dev2, self->ioasid));
	ASSERT_NE(domain_info(self->fd, &self->dev).mock_domain.out_domain,
		  domain_info(self->fd, &dev2).mock_domain.out_domain);
	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, true));
	ASSERT_EQ(1, dev_write(self->fd, &self->dev, IOVA + SZ_4K, 1));
	ASSERT_EQ(1, dev_write(self->fd, &dev2, IOVA + 2 * SZ_4K, 1));
	ASSERT_EQ(1, dev_write(self->fd, &dev2, IOVA + SZ_4K, 1));
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, 0));
	ASSERT_EQ(6, bm[0]);
	bm[0] = 0;
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, 0));
	ASSERT_EQ(0, bm[0]);

	/* A domain joining while tracking is on tracks from the start. */
	ASSERT_EQ(0, detach(self->fd, &dev2));
	ASSERT_EQ(0, attach(self->fd, &dev2, self->ioasid));
	ASSERT_EQ(1, dev_write(self->fd, &dev2, IOVA + 9 * SZ_4K, 1));
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, 0));
	ASSERT_EQ(1ULL << 9, bm[0]);
}

/* An IOMMU that cannot track: refused up front, and while on. */
TEST_F(dirty, untracking_iommu)
{
	struct mock_cfg blind = default_cfg;
	uint64_t *bm = self->bitmap;
	struct mock_dev dev2;

	blind.iommu = 1;
	blind.flags = IOASID_MOCK_NO_DIRTY;
	ASSERT_EQ(0, mock_add(self->fd, &blind, &dev2));
	ASSERT_EQ(0, attach(self->fd, &dev2, self->ioasid));
	ASSERT_ERRNO(EOPNOTSUPP, set_tracking(self->fd, self->ioasid, true));
	ASSERT_ERRNO(ENODATA, read_bitmap(self->fd, self->ioasid, IOVA,
					  BUF_SIZE, SZ_4K, bm, 0));
	/* The other domain was not left tracking: its writes are lost. */
	ASSERT_EQ(0, dev_write(self->fd, &self->dev, IOVA, 1));

	ASSERT_EQ(0, detach(self->fd, &dev2));
	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, true));
	ASSERT_ERRNO(EOPNOTSUPP, attach(self->fd, &dev2, self->ioasid));
	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, false));
	ASSERT_EQ(0, attach(self->fd, &dev2, self->ioasid));
}

TEST_F(dirty, huge_iopte_reports_all_its_pages)
{
	uint64_t bm[8] = {};
	uint64_t phys;
	char *huge;
	int i;

	ASSERT_TRUE(write_file("/proc/sys/vm/nr_hugepages", "4"));
	huge = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	ASSERT_NE(MAP_FAILED, huge);
	memset(huge, 1, SZ_2M);
	phys = page_phys(self->fd, huge, NULL);
	ASSERT_EQ(0, phys % SZ_2M);
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, huge, SZ_2M, SZ_1G));
	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, true));
	/* One byte written: one 2 MiB IOPTE dirty. */
	ASSERT_EQ(1, dev_write(self->fd, &self->dev, SZ_1G + 100, 1));
	/* At 64 KiB a bit, all 32 bits of the IOPTE. */
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, SZ_1G, SZ_2M, 0x10000,
				 bm, IOASID_DIRTY_BITMAP_NO_CLEAR));
	ASSERT_EQ(0xffffffffULL, bm[0]);
	/* Half of it at 4 KiB a bit: its 256 pages in the range. */
	memset(bm, 0, sizeof(bm));
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, SZ_1G + SZ_2M / 2,
				 SZ_2M / 2, SZ_4K, bm, 0));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(UINT64_MAX, bm[i]);
	ASSERT_EQ(0, bm[4]);
	/* The IOMMU records per IOPTE: that read cleared all of it. */
	memset(bm, 0, sizeof(bm));
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, SZ_1G, SZ_2M, 0x10000,
				 bm, 0));
	ASSERT_EQ(0, bm[0]);
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	munmap(huge, SZ_2M);
}

/* A bitmap larger than one piece is read piece by piece. */
TEST_F(dirty, bitmap_in_pieces)
{
	uint64_t far = 40 * SZ_1G, len = 48 * SZ_1G;
	size_t bytes = len / SZ_4K / 8;
	uint64_t *bm;

	bm = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bm);
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, SZ_4K, far));
	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, true));
	ASSERT_EQ(1, dev_write(self->fd, &self->dev, IOVA, 1));
	ASSERT_EQ(1, dev_write(self->fd, &self->dev, far, 1));
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, 0, len, SZ_4K, bm, 0));
	ASSERT_EQ(1ULL << (IOVA / SZ_4K % 64), bm[IOVA / SZ_4K / 64]);
	ASSERT_EQ(1, bm[far / SZ_4K / 64]);
	munmap(bm, bytes);
}

TEST_F(dirty, unmap_returns_the_bits)
{
	uint64_t *bm = self->bitmap;
	uint64_t length;

	/* Tracking off: refused, nothing unmapped. */
	length = BUF_SIZE;
	ASSERT_ERRNO(ENODATA, unmap_dirty(self->fd, self->ioasid, IOVA,
					  &length, SZ_4K, bm));
	ASSERT_EQ(0, set_tracking(self->fd, self->ioasid, true));
	ASSERT_EQ(2, dev_write(self->fd, &self->dev, IOVA + 10 * SZ_4K,
			       2 * SZ_4K));

	/* A range cutting the mapping, and a bad bitmap: nothing lost. */
	length = SZ_4K;
	ASSERT_ERRNO(EINVAL, unmap_dirty(self->fd, self->ioasid, IOVA, &length,
					 SZ_4K, bm));
	length = BUF_SIZE;
	ASSERT_ERRNO(EFAULT, unmap_dirty(self->fd, self->ioasid, IOVA, &length,
					 SZ_4K, NULL));
	length = BUF_SIZE;
	ASSERT_ERRNO(EINVAL, unmap_dirty(self->fd, self->ioasid, IOVA, &length,
					 0x3000, bm));
	/* At most 2^23 bits: 32 GiB at 4 KiB. */
	length = 32 * SZ_1G + SZ_4K;
	ASSERT_ERRNO(E2BIG, unmap_dirty(self->fd, self->ioasid, 0, &length,
					SZ_4K, bm));
	ASSERT_EQ(0, read_bitmap(self->fd, self->ioasid, IOVA, BUF_SIZE, SZ_4K,
				 bm, IOASID_DIRTY_BITMAP_NO_CLEAR));
	ASSERT_EQ(3ULL << 10, bm[0]);

	bm[0] = 0;
	length = BUF_SIZE;
	ASSERT_EQ(0, unmap_dirty(self->fd, self->ioasid, IOVA, &length, SZ_4K,
				 bm));
	ASSERT_EQ(BUF_SIZE, length);
	ASSERT_EQ(3ULL << 10, bm[0]);
	ASSERT_EQ(0, domain_info(self->fd, &self->dev).mock_domain.out_ptes);
	length = BUF_SIZE;
	ASSERT_ERRNO(ENOENT, unmap_dirty(self->fd, self->ioasid, IOVA, &length,
					 SZ_4K, bm));
}

TEST_F(dirty, unmap_flag_refusals)
{
	IOASID_CMD(ioasid_unmap, cmd);

	cmd.ioasid = self->ioasid;
	cmd.flags = IOASID_UNMAP_ALL | IOASID_UNMAP_DIRTY_BITMAP;
	cmd.page_size = SZ_4K;
	cmd.data = (uintptr_t)self->bitmap;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_UNMAP, &cmd));
	/* Bitmap fields without the flag. */
	cmd.flags = 0;
	cmd.iova = IOVA;
	cmd.length = BUF_SIZE;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_UNMAP, &cmd));
	cmd.page_size = 0;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_UNMAP, &cmd));
	/* A caller of the first struct cannot ask for a bitmap. */
	cmd.data = 0;
	cmd.flags = IOASID_UNMAP_DIRTY_BITMAP;
	cmd.size = offsetof(struct ioasid_unmap, page_size);
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_UNMAP, &cmd));
	ASSERT_EQ(NPAGES, domain_info(self->fd, &self->dev).mock_domain.out_ptes);
	cmd.flags = 0;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_UNMAP, &cmd));
	ASSERT_EQ(BUF_SIZE, cmd.length);
}

struct race {
	int fd;
	unsigned int ioasid;
	struct mock_dev *dev;
	char *buf;
	atomic_bool stop;
	long reads;
};

static void *race_reader(void *arg)
{
	struct race *r = arg;
	uint64_t bm[2];

	while (!atomic_load(&r->stop)) {
		bm[0] = 0;
		bm[1] = 0;
		if (!read_bitmap(r->fd, r->ioasid, IOVA, 2 * BUF_SIZE, SZ_4K,
				 bm, 0))
			r->reads++;
		dev_write(r->fd, r->dev, IOVA, BUF_SIZE);
	}
	return NULL;
}

/*
 * Readers, a writer device, maps and unmaps and tracking switched on and
 * off, all at once: the kernel must stay consistent (lockdep, KASAN).
 * Its 2000 rounds on the debug kernel under TCG once ran past the
 * harness's default 30 s while the host was busy: the timeout is for
 * the machine, not for the kernel.
 */
TEST_F_TIMEOUT(dirty, race_read_map_unmap_toggle, 120)
{
	struct race r = {
		.fd = self->fd, .ioasid = self->ioasid, .dev = &self->dev,
		.buf = self->buf,
	};
	uint64_t bm[1], length;
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_reader, &r));
	for (i = 0; i < 2000; i++) {
		set_tracking(self->fd, self->ioasid, i % 3);
		length = BUF_SIZE;
		if (i % 2)
			unmap_dirty(self->fd, self->ioasid, IOVA + BUF_SIZE,
				    &length, SZ_4K, bm);
		else
			map_at(self->fd, self->ioasid, self->buf, BUF_SIZE,
			       IOVA + BUF_SIZE);
	}
	atomic_store(&r.stop, true);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	ASSERT_LT(0, r.reads);
	TH_LOG("%ld reads", r.reads);
}

/*
 * The reader of a long bitmap, in a child: it says when it starts the
 * read and when the read returned, through @pipefd.
 */
static void long_read(int pipefd)
{
	uint64_t len = 1ULL << 40, *bm;
	struct mock_dev dev;
	unsigned int id;
	char *page;
	int fd;

	fd = ioasid_open();
	page = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	/* 1 TiB at 4 KiB a bit: 32 MiB of bitmap, 32 pieces. */
	bm = mmap(NULL, len / SZ_4K / 8, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || page == MAP_FAILED || bm == MAP_FAILED ||
	    ioasid_alloc(fd, &id) || mock_add(fd, &default_cfg, &dev) ||
	    attach(fd, &dev, id) || map_at(fd, id, page, SZ_4K, IOVA) ||
	    set_tracking(fd, id, true))
		_exit(1);
	if (write(pipefd, "s", 1) != 1)
		_exit(1);
	read_bitmap(fd, id, 0, len, SZ_4K, bm, 0);
	if (write(pipefd, "d", 1) != 1)
		_exit(1);
	_exit(0);
}

/*
 * SIGKILL while a read walks its pieces: the read stops between two, and
 * the pieces' pins and the context go with the process.
 */
TEST(sigkill_during_a_long_read)
{
	long long pins = pins_held();
	int p[2], status;
	char c = 0;
	pid_t pid;

	ASSERT_LE(0, pins);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[0]);
		long_read(p[1]);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	ASSERT_EQ('s', c);
	usleep(200 * 1000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	/* Killed before the read returned: it was mid-call. */
	ASSERT_EQ(0, read(p[0], &c, 1));
	close(p[0]);
	ASSERT_EQ(pins, pins_held());
}

TEST_HARNESS_MAIN
