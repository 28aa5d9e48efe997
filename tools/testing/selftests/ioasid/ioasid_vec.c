// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ioasid: IOASID_VEC, many maps, unmaps or copies in one call,
 * against the mock IOMMU.
 *
 * A vector is all or nothing: each test puts a bad entry first, in the
 * middle and last, and checks that the call names it in out_failed and
 * that the domain's IOPTEs, the pins and the charge are what they were.
 * The mock counts IOTLB flushes and syncs of new IOPTEs, so the one of
 * each per call is measured, not assumed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "ioasid_mock.h"

#define NR		256
#define IOVA		0x100000000ULL
#define R_FIXED		(IOASID_MAP_READ | IOASID_MAP_FIXED_IOVA)
#define RW_FIXED	(IOASID_MAP_READ | IOASID_MAP_WRITE | IOASID_MAP_FIXED_IOVA)

static int vec(int fd, __u32 op, __u32 flags, unsigned int ioasid,
	       unsigned int src, struct ioasid_vec_entry *e, __u32 count,
	       __u32 *failed)
{
	IOASID_CMD(ioasid_vec, cmd);
	int rc;

	cmd.op = op;
	cmd.flags = flags;
	cmd.ioasid = ioasid;
	cmd.src_ioasid = src;
	cmd.count = count;
	cmd.entries = (uintptr_t)e;
	cmd.out_failed = 0xdead;
	rc = ioctl(fd, IOASID_VEC, &cmd);
	if (failed)
		*failed = cmd.out_failed;
	return rc;
}

/*
 * @len bytes of private memory in 4 KiB pages, each written (an untouched
 * page is the shared zero page); MAP_FAILED on failure.  The pages are
 * faulted in only after MADV_NOHUGEPAGE: populated at mmap() time, a
 * buffer of 2 MiB or more may get a huge page, whose pins count as one.
 */
static char *small_pages(size_t len)
{
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED)
		return buf;
	if (madvise(buf, len, MADV_NOHUGEPAGE)) {
		munmap(buf, len);
		return MAP_FAILED;
	}
	memset(buf, 1, len);
	return buf;
}

FIXTURE(vec) {
	int fd;
	unsigned int ioasid;
	struct mock_dev dev;
	char *buf;
	struct ioasid_vec_entry e[NR];
	long long base;
};

FIXTURE_SETUP(vec)
{
	IOASID_CMD(ioasid_alloc, alloc);
	int i;

	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	alloc.flags = IOASID_ALLOC_ACCOUNT_MM;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_ALLOC, &alloc));
	self->ioasid = alloc.out_ioasid;
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &self->dev));
	ASSERT_EQ(0, attach(self->fd, &self->dev, self->ioasid));
	self->buf = small_pages(NR * SZ_4K);
	ASSERT_NE(MAP_FAILED, self->buf);
	/* One page each, at every other IOVA page: no two merge. */
	for (i = 0; i < NR; i++) {
		self->e[i].iova = IOVA + 2 * i * SZ_4K;
		self->e[i].addr = (uintptr_t)self->buf + i * SZ_4K;
		self->e[i].length = SZ_4K;
	}
	self->base = charged_mm(self->fd);
	ASSERT_LE(0, self->base);
}

FIXTURE_TEARDOWN(vec)
{
	munmap(self->buf, NR * SZ_4K);
	close(self->fd);
}

static uint64_t ptes(int fd, const struct mock_dev *md)
{
	return domain_info(fd, md).mock_domain.out_ptes;
}

static uint64_t syncs(int fd, const struct mock_dev *md)
{
	return domain_info(fd, md).mock_domain.out_iotlb_syncs;
}

static uint64_t map_syncs(int fd, const struct mock_dev *md)
{
	return domain_info(fd, md).mock_domain.out_map_syncs;
}

/* Entry @i maps the page it should, with @prot. */
static bool entry_mapped(int fd, const struct mock_dev *md,
			 const struct ioasid_vec_entry *e, unsigned int prot)
{
	struct ioasid_test pte;

	if (read_pte(fd, md, e->iova, &pte))
		return false;
	return pte.mock_pte.out_phys == page_phys(fd, (void *)(uintptr_t)e->addr, NULL) &&
	       pte.mock_pte.out_prot == prot;
}

static int unmap_vec(int fd, unsigned int ioasid, struct ioasid_vec_entry *e,
		     __u32 count, __u32 *failed)
{
	struct ioasid_vec_entry u[NR];
	__u32 i;

	for (i = 0; i < count; i++)
		u[i] = (struct ioasid_vec_entry){ .iova = e[i].iova,
						  .length = e[i].length };
	return vec(fd, IOASID_VEC_UNMAP, 0, ioasid, 0, u, count, failed);
}

TEST_F(vec, map_and_unmap_many)
{
	uint64_t before;
	__u32 failed;
	int i;

	before = map_syncs(self->fd, &self->dev);
	ASSERT_EQ(0, vec(self->fd, IOASID_VEC_MAP, RW_FIXED, self->ioasid, 0,
			 self->e, NR, &failed));
	/* 256 mappings, their IOPTEs synced to the IOMMU once. */
	ASSERT_EQ(before + 1, map_syncs(self->fd, &self->dev));
	/* Success writes nothing back. */
	ASSERT_EQ(0xdead, failed);
	ASSERT_EQ(NR, ptes(self->fd, &self->dev));
	ASSERT_EQ(self->base + NR, charged_mm(self->fd));
	for (i = 0; i < NR; i++)
		ASSERT_TRUE(entry_mapped(self->fd, &self->dev, &self->e[i], PROT_RW));

	/* 256 unmaps, one IOTLB flush. */
	before = syncs(self->fd, &self->dev);
	ASSERT_EQ(0, unmap_vec(self->fd, self->ioasid, self->e, NR, NULL));
	ASSERT_EQ(before + 1, syncs(self->fd, &self->dev));
	ASSERT_EQ(0, ptes(self->fd, &self->dev));
	ASSERT_EQ(self->base, charged_mm(self->fd));
}

/* Each entry is a single call's mapping: unmapped alone, copied alone. */
TEST_F(vec, entries_are_separate_mappings)
{
	IOASID_CMD(ioasid_unmap, unmap);

	ASSERT_EQ(0, vec(self->fd, IOASID_VEC_MAP, R_FIXED, self->ioasid, 0,
			 self->e, 4, NULL));
	unmap.ioasid = self->ioasid;
	unmap.iova = self->e[1].iova;
	unmap.length = SZ_4K;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_UNMAP, &unmap));
	ASSERT_EQ(3, ptes(self->fd, &self->dev));
	ASSERT_TRUE(entry_mapped(self->fd, &self->dev, &self->e[0], IOASID_MAP_READ));
	ASSERT_TRUE(entry_mapped(self->fd, &self->dev, &self->e[2], IOASID_MAP_READ));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
}

#define VEC_DATA FIXTURE_DATA(vec)

/*
 * Check that a failed call changed nothing: no IOPTE, pin or charge.  Every
 * page's pins are read, since a call pins pages ahead of the entries that
 * take them.
 */
static void expect_empty(struct __test_metadata *_metadata, VEC_DATA *self)
{
	uint64_t pins;
	int i;

	ASSERT_EQ(0, ptes(self->fd, &self->dev));
	ASSERT_EQ(self->base, charged_mm(self->fd));
	for (i = 0; i < NR; i++) {
		pins = -1;
		ASSERT_NE(0, page_phys(self->fd, self->buf + i * SZ_4K, &pins));
		ASSERT_EQ(0, pins);
	}
}

static const unsigned int places[] = { 0, NR / 2, NR - 1 };

TEST_F(vec, map_bad_entry_first_middle_last)
{
	struct ioasid_vec_entry saved;
	char *hole;
	__u32 failed;
	size_t p;

	hole = mmap(NULL, SZ_4K, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	for (p = 0; p < ARRAY_SIZE(places); p++) {
		struct ioasid_vec_entry *e = &self->e[places[p]];
		unsigned int at = places[p];

		saved = *e;
		e->iova += 1;		/* unaligned */
		ASSERT_ERRNO(EINVAL, vec(self->fd, IOASID_VEC_MAP, RW_FIXED,
					 self->ioasid, 0, self->e, NR, &failed));
		ASSERT_EQ(at, failed);
		*e = saved;
		e->length = 0;
		ASSERT_ERRNO(EINVAL, vec(self->fd, IOASID_VEC_MAP, RW_FIXED,
					 self->ioasid, 0, self->e, NR, &failed));
		ASSERT_EQ(at, failed);
		*e = saved;
		e->iova = -SZ_4K;
		e->length = 2 * SZ_4K;
		ASSERT_ERRNO(EOVERFLOW, vec(self->fd, IOASID_VEC_MAP, RW_FIXED,
					    self->ioasid, 0, self->e, NR, &failed));
		ASSERT_EQ(at, failed);
		*e = saved;
		/* Found while pinning: the earlier entries are unpinned. */
		e->addr = (uintptr_t)hole;
		ASSERT_ERRNO(EFAULT, vec(self->fd, IOASID_VEC_MAP, RW_FIXED,
					 self->ioasid, 0, self->e, NR, &failed));
		ASSERT_EQ(at, failed);
		*e = saved;
		/*
		 * Found while inserting: overlapping the entry before it (or,
		 * for the first, the last one), after everything was pinned.
		 */
		e->iova = self->e[at ? at - 1 : NR - 1].iova;
		ASSERT_ERRNO(EEXIST, vec(self->fd, IOASID_VEC_MAP, RW_FIXED,
					 self->ioasid, 0, self->e, NR, &failed));
		ASSERT_EQ(at ? at : NR - 1, failed);
		*e = saved;
		expect_empty(_metadata, self);
	}
	munmap(hole, SZ_4K);
}

/*
 * Consecutive entries are pinned as one stretch of memory, ahead of the
 * entries that take the pages: a page of the stretch that cannot be pinned
 * fails its own entry, and neither the pages before it, taken, nor those
 * pinned ahead stay pinned.
 */
TEST_F(vec, map_hole_inside_a_stretch)
{
	static const unsigned int holes[] = { 0, 100, NR - 1 };
	__u32 failed;
	size_t h;

	for (h = 0; h < ARRAY_SIZE(holes); h++) {
		char *page = self->buf + holes[h] * SZ_4K;

		ASSERT_EQ(0, mprotect(page, SZ_4K, PROT_NONE));
		ASSERT_ERRNO(EFAULT, vec(self->fd, IOASID_VEC_MAP, RW_FIXED,
					 self->ioasid, 0, self->e, NR, &failed));
		ASSERT_EQ(holes[h], failed);
		/* Read-only memory refuses a writable map the same way. */
		ASSERT_EQ(0, mprotect(page, SZ_4K, PROT_READ));
		ASSERT_ERRNO(EFAULT, vec(self->fd, IOASID_VEC_MAP, RW_FIXED,
					 self->ioasid, 0, self->e, NR, &failed));
		ASSERT_EQ(holes[h], failed);
		ASSERT_EQ(0, mprotect(page, SZ_4K, PROT_READ | PROT_WRITE));
		expect_empty(_metadata, self);
	}
}

#define BIG	600	/* pages: more than a batch of pins (512) */

static bool pages_mapped(int fd, const struct mock_dev *md, uint64_t iova,
			 char *va, unsigned int npages)
{
	struct ioasid_test pte;
	unsigned int i;

	for (i = 0; i < npages; i++)
		if (read_pte(fd, md, iova + i * SZ_4K, &pte) ||
		    pte.mock_pte.out_phys != page_phys(fd, va + i * SZ_4K, NULL))
			return false;
	return true;
}

/*
 * Stretches longer than a batch of pins, and one page in two entries: each
 * entry maps its own pages, pinned once for each entry that maps them.
 */
TEST_F(vec, map_stretches_across_batches)
{
	struct ioasid_vec_entry e[4];
	size_t len = (BIG + 2) * SZ_4K;
	uint64_t pins;
	char *buf;
	int i;

	buf = small_pages(len);
	ASSERT_NE(MAP_FAILED, buf);
	/* 1 + BIG + 1 pages without a gap, then the first page again. */
	e[0] = (struct ioasid_vec_entry){ .iova = IOVA, .addr = (uintptr_t)buf,
					  .length = SZ_4K };
	e[1] = (struct ioasid_vec_entry){ .iova = IOVA + 2 * SZ_4K,
					  .addr = e[0].addr + SZ_4K,
					  .length = BIG * SZ_4K };
	e[2] = (struct ioasid_vec_entry){ .iova = IOVA + (BIG + 4) * SZ_4K,
					  .addr = e[1].addr + BIG * SZ_4K,
					  .length = SZ_4K };
	e[3] = (struct ioasid_vec_entry){ .iova = IOVA + (BIG + 8) * SZ_4K,
					  .addr = e[0].addr, .length = SZ_4K };
	ASSERT_EQ(0, vec(self->fd, IOASID_VEC_MAP, RW_FIXED, self->ioasid, 0,
			 e, 4, NULL));
	ASSERT_EQ(BIG + 3, ptes(self->fd, &self->dev));
	ASSERT_EQ(self->base + BIG + 3, charged_mm(self->fd));
	for (i = 0; i < 4; i++)
		ASSERT_TRUE(pages_mapped(self->fd, &self->dev, e[i].iova,
					 (char *)(uintptr_t)e[i].addr,
					 e[i].length / SZ_4K));
	for (i = 0; i < BIG + 2; i++) {
		pins = -1;
		page_phys(self->fd, buf + i * SZ_4K, &pins);
		ASSERT_EQ(i ? 1 : 2, pins);
	}

	ASSERT_EQ(0, unmap_vec(self->fd, self->ioasid, e, 4, NULL));
	ASSERT_EQ(0, ptes(self->fd, &self->dev));
	ASSERT_EQ(self->base, charged_mm(self->fd));
	for (i = 0; i < BIG + 2; i++) {
		pins = -1;
		page_phys(self->fd, buf + i * SZ_4K, &pins);
		ASSERT_EQ(0, pins);
	}
	munmap(buf, len);
}

#define HUGE_ENTRIES	(SZ_2M / SZ_4K)

/*
 * Entries of 4 KiB over one transparent huge page, pinned ahead in
 * batches: each maps its own page of the folio, which counts a pin per
 * entry, and a call that fails just past the huge page leaves none.
 */
TEST_F(vec, map_entries_of_a_huge_page)
{
	struct ioasid_vec_entry e[HUGE_ENTRIES + 1], half[2][HUGE_ENTRIES / 2];
	char *raw, *buf;
	uint64_t pins;
	__u32 failed;
	int i;

	raw = mmap(NULL, 3 * SZ_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, raw);
	buf = thp_in(raw);
	ASSERT_NE(NULL, buf);
	/* The page after the huge page continues its stretch, unreadable. */
	ASSERT_EQ(0, mprotect(buf + SZ_2M, SZ_4K, PROT_NONE));
	for (i = 0; i <= HUGE_ENTRIES; i++)
		e[i] = (struct ioasid_vec_entry){
			.iova = IOVA + 2 * i * SZ_4K,
			.addr = (uintptr_t)buf + i * SZ_4K,
			.length = SZ_4K,
		};

	ASSERT_ERRNO(EFAULT, vec(self->fd, IOASID_VEC_MAP, RW_FIXED,
				 self->ioasid, 0, e, HUGE_ENTRIES + 1, &failed));
	ASSERT_EQ(HUGE_ENTRIES, failed);
	ASSERT_EQ(0, ptes(self->fd, &self->dev));
	ASSERT_EQ(self->base, charged_mm(self->fd));
	ASSERT_NE(0, page_phys(self->fd, buf, &pins));
	ASSERT_EQ(0, pins);

	ASSERT_EQ(0, vec(self->fd, IOASID_VEC_MAP, RW_FIXED, self->ioasid, 0,
			 e, HUGE_ENTRIES, NULL));
	ASSERT_EQ(HUGE_ENTRIES, ptes(self->fd, &self->dev));
	ASSERT_EQ(self->base + HUGE_ENTRIES, charged_mm(self->fd));
	for (i = 0; i < HUGE_ENTRIES; i++)
		ASSERT_TRUE(entry_mapped(self->fd, &self->dev, &e[i], PROT_RW));
	/* One folio: the pins of every entry show on each of its pages. */
	ASSERT_NE(0, page_phys(self->fd, buf + SZ_2M - SZ_4K, &pins));
	ASSERT_EQ(HUGE_ENTRIES, pins);

	/* Each entry gives back its own pin, every other one first. */
	for (i = 0; i < HUGE_ENTRIES; i++)
		half[i % 2][i / 2] = (struct ioasid_vec_entry){
			.iova = e[i].iova, .length = SZ_4K,
		};
	ASSERT_EQ(0, vec(self->fd, IOASID_VEC_UNMAP, 0, self->ioasid, 0,
			 half[0], HUGE_ENTRIES / 2, NULL));
	ASSERT_EQ(HUGE_ENTRIES / 2, ptes(self->fd, &self->dev));
	ASSERT_EQ(self->base + HUGE_ENTRIES / 2, charged_mm(self->fd));
	ASSERT_NE(0, page_phys(self->fd, buf, &pins));
	ASSERT_EQ(HUGE_ENTRIES / 2, pins);
	ASSERT_EQ(0, vec(self->fd, IOASID_VEC_UNMAP, 0, self->ioasid, 0,
			 half[1], HUGE_ENTRIES / 2, NULL));
	ASSERT_EQ(0, ptes(self->fd, &self->dev));
	ASSERT_EQ(self->base, charged_mm(self->fd));
	ASSERT_NE(0, page_phys(self->fd, buf, &pins));
	ASSERT_EQ(0, pins);
	munmap(raw, 3 * SZ_2M);
}

struct hole_punch {
	char *page;
	atomic_bool stop;
	long rounds;
};

/* Take a page of the buffer away and put a fresh one back, again and again. */
static void *punch_holes(void *arg)
{
	struct hole_punch *h = arg;

	while (!atomic_load(&h->stop)) {
		if (munmap(h->page, SZ_4K) ||
		    mmap(h->page, SZ_4K, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
		    h->page)
			return h;
		memset(h->page, 1, SZ_4K);
		h->rounds++;
	}
	return NULL;
}

/*
 * The memory of a stretch goes away and comes back while it is pinned
 * ahead: each call maps every entry, or fails with EFAULT and leaves
 * nothing mapped, pinned or charged.
 */
TEST_F_TIMEOUT(vec, map_races_munmap_of_its_memory, 120)
{
	struct hole_punch h = { .page = self->buf + 100 * SZ_4K };
	int i, mapped = 0, faulted = 0;
	pthread_t t;
	void *ret;

	ASSERT_EQ(0, pthread_create(&t, NULL, punch_holes, &h));
	for (i = 0; i < 100; i++) {
		if (!vec(self->fd, IOASID_VEC_MAP, RW_FIXED, self->ioasid, 0,
			 self->e, NR, NULL)) {
			mapped++;
			ASSERT_EQ(NR, ptes(self->fd, &self->dev));
			ASSERT_EQ(self->base + NR, charged_mm(self->fd));
			ASSERT_EQ(0, unmap_vec(self->fd, self->ioasid, self->e,
					       NR, NULL));
			continue;
		}
		ASSERT_EQ(EFAULT, errno);
		faulted++;
		ASSERT_EQ(0, ptes(self->fd, &self->dev));
		ASSERT_EQ(self->base, charged_mm(self->fd));
	}
	atomic_store(&h.stop, true);
	ASSERT_EQ(0, pthread_join(t, &ret));
	ASSERT_EQ(NULL, ret);
	TH_LOG("%d calls mapped, %d faulted, %ld holes", mapped, faulted,
	       h.rounds);
	expect_empty(_metadata, self);
}

/* An entry on an existing mapping is refused before anything is pinned. */
TEST_F(vec, map_onto_existing_mapping)
{
	__u32 failed;

	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, SZ_4K,
			    self->e[NR / 2].iova));
	ASSERT_ERRNO(EEXIST, vec(self->fd, IOASID_VEC_MAP, RW_FIXED, self->ioasid,
				 0, self->e, NR, &failed));
	ASSERT_EQ(NR / 2, failed);
	ASSERT_EQ(1, ptes(self->fd, &self->dev));
	ASSERT_EQ(self->base + 1, charged_mm(self->fd));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
}

TEST_F(vec, unmap_bad_entry_first_middle_last)
{
	struct ioasid_vec_entry u[NR];
	uint64_t before;
	__u32 failed;
	size_t p;
	int i;

	/* One page per entry, with a free page after each. */
	ASSERT_EQ(0, vec(self->fd, IOASID_VEC_MAP, RW_FIXED, self->ioasid, 0,
			 self->e, NR, NULL));
	before = syncs(self->fd, &self->dev);
	for (p = 0; p < ARRAY_SIZE(places); p++) {
		unsigned int at = places[p];

		for (i = 0; i < NR; i++)
			u[i] = (struct ioasid_vec_entry){ .iova = self->e[i].iova,
							  .length = SZ_4K };
		/* Nothing mapped there: the gap after the entry's page. */
		u[at].iova += SZ_4K;
		ASSERT_ERRNO(ENOENT, vec(self->fd, IOASID_VEC_UNMAP, 0,
					 self->ioasid, 0, u, NR, &failed));
		ASSERT_EQ(at, failed);
		/* Cutting a mapping in two: a range of its first half. */
		u[at].iova = self->e[at].iova;
		u[at].length = 2 * SZ_4K;
		ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, 2 * SZ_4K,
				    IOVA + 2 * NR * SZ_4K));
		u[at].iova = IOVA + 2 * NR * SZ_4K;
		u[at].length = SZ_4K;
		ASSERT_ERRNO(EINVAL, vec(self->fd, IOASID_VEC_UNMAP, 0,
					 self->ioasid, 0, u, NR, &failed));
		ASSERT_EQ(at, failed);
		/* The same range twice: the second finds nothing. */
		u[at] = u[at ? at - 1 : 1];
		ASSERT_ERRNO(ENOENT, vec(self->fd, IOASID_VEC_UNMAP, 0,
					 self->ioasid, 0, u, NR, &failed));
		ASSERT_EQ(at ? at : 1, failed);
		/* An unmap entry names no memory. */
		u[at] = (struct ioasid_vec_entry){ .iova = self->e[at].iova,
						   .addr = 1, .length = SZ_4K };
		ASSERT_ERRNO(EINVAL, vec(self->fd, IOASID_VEC_UNMAP, 0,
					 self->ioasid, 0, u, NR, &failed));
		ASSERT_EQ(at, failed);

		/* Nothing was unmapped, nothing flushed. */
		ASSERT_EQ(NR + 2, ptes(self->fd, &self->dev));
		ASSERT_EQ(before, syncs(self->fd, &self->dev));
		for (i = 0; i < NR; i++)
			ASSERT_TRUE(entry_mapped(self->fd, &self->dev,
						 &self->e[i], PROT_RW));
		u[0] = (struct ioasid_vec_entry){ .iova = IOVA + 2 * NR * SZ_4K,
						  .length = 2 * SZ_4K };
		ASSERT_EQ(0, vec(self->fd, IOASID_VEC_UNMAP, 0, self->ioasid, 0,
				 u, 1, NULL));
		before = syncs(self->fd, &self->dev);
	}
	ASSERT_EQ(0, unmap_vec(self->fd, self->ioasid, self->e, NR, NULL));
	expect_empty(_metadata, self);
}

TEST_F(vec, copy_many)
{
	struct ioasid_vec_entry c[NR];
	struct mock_dev dev2;
	unsigned int dst;
	__u32 failed;
	size_t p;
	int i;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &dst));
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &dev2));
	ASSERT_EQ(0, attach(self->fd, &dev2, dst));
	ASSERT_EQ(0, vec(self->fd, IOASID_VEC_MAP, R_FIXED, self->ioasid, 0,
			 self->e, NR, NULL));
	for (i = 0; i < NR; i++)
		c[i] = (struct ioasid_vec_entry){ .iova = 0x200000000ULL + i * SZ_4K,
						  .addr = self->e[i].iova,
						  .length = SZ_4K };
	for (p = 0; p < ARRAY_SIZE(places); p++) {
		unsigned int at = places[p];

		c[at].addr += SZ_4K;	/* the gap: no source mapping */
		ASSERT_ERRNO(ENOENT, vec(self->fd, IOASID_VEC_COPY, R_FIXED, dst,
					 self->ioasid, c, NR, &failed));
		ASSERT_EQ(at, failed);
		c[at].addr -= SZ_4K;
		ASSERT_EQ(0, ptes(self->fd, &dev2));
	}
	/* The source was pinned read-only: no writable copy of it. */
	ASSERT_ERRNO(EPERM, vec(self->fd, IOASID_VEC_COPY, RW_FIXED, dst,
				self->ioasid, c, NR, &failed));
	ASSERT_EQ(0, failed);
	ASSERT_EQ(0, vec(self->fd, IOASID_VEC_COPY, R_FIXED, dst, self->ioasid,
			 c, NR, NULL));
	ASSERT_EQ(NR, ptes(self->fd, &dev2));
	for (i = 0; i < NR; i++) {
		struct ioasid_vec_entry back = { .iova = c[i].iova,
						 .addr = self->e[i].addr };

		ASSERT_TRUE(entry_mapped(self->fd, &dev2, &back, IOASID_MAP_READ));
	}
	/* Pinned once, for both IOASIDs. */
	ASSERT_EQ(self->base + NR, charged_mm(self->fd));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(self->base + NR, charged_mm(self->fd));
	ASSERT_EQ(0, unmap_all(self->fd, dst));
	ASSERT_EQ(self->base, charged_mm(self->fd));
}

/* A file's pages, by offset, many ranges at once. */
TEST_F(vec, map_file_ranges)
{
	IOASID_CMD(ioasid_vec, cmd);
	struct ioasid_vec_entry f[16];
	int mfd = memfd_create("vec", 0);
	int i;

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 16 * SZ_4K));
	for (i = 0; i < 16; i++)
		f[i] = (struct ioasid_vec_entry){ .iova = IOVA + 2 * i * SZ_4K,
						  .addr = (15 - i) * SZ_4K,
						  .length = SZ_4K };
	cmd.op = IOASID_VEC_MAP;
	cmd.flags = RW_FIXED | IOASID_MAP_FILE;
	cmd.ioasid = self->ioasid;
	cmd.fd = mfd;
	cmd.count = 16;
	cmd.entries = (uintptr_t)f;
	f[15].addr = 16 * SZ_4K;	/* past the end of the file */
	ASSERT_ERRNO(ENXIO, ioctl(self->fd, IOASID_VEC, &cmd));
	ASSERT_EQ(15, cmd.out_failed);
	expect_empty(_metadata, self);
	f[15].addr = 0;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_VEC, &cmd));
	ASSERT_EQ(16, ptes(self->fd, &self->dev));
	ASSERT_EQ(self->base + 16, charged_mm(self->fd));
	/* A bad file is no entry's fault. */
	cmd.fd = self->fd;
	ASSERT_ERRNO(ENODEV, ioctl(self->fd, IOASID_VEC, &cmd));
	ASSERT_EQ(16, cmd.out_failed);
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(self->base, charged_mm(self->fd));
	close(mfd);
}

/* The call's own fields: out_failed is the count when no entry is to blame. */
TEST_F(vec, bad_calls)
{
	IOASID_CMD(ioasid_vec, cmd);
	__u32 failed;

	ASSERT_ERRNO(EINVAL, vec(self->fd, IOASID_VEC_MAP, RW_FIXED, self->ioasid,
				 0, self->e, 0, &failed));
	ASSERT_EQ(0, failed);
	ASSERT_ERRNO(EINVAL, vec(self->fd, IOASID_VEC_MAP, RW_FIXED, self->ioasid,
				 0, self->e, IOASID_VEC_MAX + 1, &failed));
	ASSERT_EQ(IOASID_VEC_MAX + 1, failed);
	ASSERT_ERRNO(EOPNOTSUPP, vec(self->fd, 3, RW_FIXED, self->ioasid, 0,
				     self->e, 4, &failed));
	ASSERT_EQ(4, failed);
	/* Kernel-chosen IOVAs are not offered. */
	ASSERT_ERRNO(EINVAL, vec(self->fd, IOASID_VEC_MAP, IOASID_MAP_READ,
				 self->ioasid, 0, self->e, 4, &failed));
	ASSERT_ERRNO(EINVAL, vec(self->fd, IOASID_VEC_MAP, IOASID_MAP_FIXED_IOVA,
				 self->ioasid, 0, self->e, 4, &failed));
	ASSERT_ERRNO(EOPNOTSUPP, vec(self->fd, IOASID_VEC_MAP, RW_FIXED | (1 << 4),
				     self->ioasid, 0, self->e, 4, &failed));
	ASSERT_ERRNO(EOPNOTSUPP, vec(self->fd, IOASID_VEC_COPY,
				     RW_FIXED | IOASID_MAP_FILE, self->ioasid,
				     self->ioasid, self->e, 4, &failed));
	ASSERT_ERRNO(EOPNOTSUPP, vec(self->fd, IOASID_VEC_UNMAP, 1, self->ioasid,
				     0, self->e, 4, &failed));
	ASSERT_ERRNO(EINVAL, vec(self->fd, IOASID_VEC_MAP, RW_FIXED, self->ioasid,
				 self->ioasid, self->e, 4, &failed));
	ASSERT_ERRNO(ENOENT, vec(self->fd, IOASID_VEC_MAP, RW_FIXED,
				 self->ioasid + 100, 0, self->e, 4, &failed));
	ASSERT_EQ(4, failed);
	ASSERT_ERRNO(ENOENT, vec(self->fd, IOASID_VEC_COPY, RW_FIXED, self->ioasid,
				 self->ioasid + 100, self->e, 4, &failed));
	ASSERT_EQ(4, failed);
	ASSERT_ERRNO(EFAULT, vec(self->fd, IOASID_VEC_MAP, RW_FIXED, self->ioasid,
				 0, (void *)8, 4, &failed));
	ASSERT_EQ(4, failed);

	/* fd without IOASID_MAP_FILE. */
	cmd.op = IOASID_VEC_MAP;
	cmd.flags = RW_FIXED;
	cmd.ioasid = self->ioasid;
	cmd.fd = 3;
	cmd.count = 1;
	cmd.entries = (uintptr_t)self->e;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_VEC, &cmd));
	cmd.fd = -1;
	cmd.flags |= IOASID_MAP_FILE;
	ASSERT_ERRNO(EBADF, ioctl(self->fd, IOASID_VEC, &cmd));
	/* Sizes: too short, and unknown trailing bytes that are not zero. */
	cmd.fd = 0;
	cmd.flags = RW_FIXED;
	cmd.size = offsetof(struct ioasid_vec, entries);
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_VEC, &cmd));
	{
		struct {
			struct ioasid_vec v;
			__u64 more;
		} big = { .v = cmd, .more = 1 };

		big.v.size = sizeof(big);
		ASSERT_ERRNO(E2BIG, ioctl(self->fd, IOASID_VEC, &big));
		big.more = 0;
		ASSERT_EQ(0, ioctl(self->fd, IOASID_VEC, &big));
	}
	ASSERT_EQ(1, ptes(self->fd, &self->dev));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	expect_empty(_metadata, self);
}

/* Fault injection over each operation: every failure leaves nothing. */
TEST_F(vec, fail_nth)
{
	struct ioasid_vec_entry c[16];
	unsigned int n, dst;
	struct mock_dev dev2;
	int rc, i;

	if (!fault_injection_setup())
		SKIP(return, "no fault injection");
	fail_nth_sweep(n, rc, vec(self->fd, IOASID_VEC_MAP, RW_FIXED,
				  self->ioasid, 0, self->e, 16, NULL)) {
		if (!rc) {
			ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		expect_empty(_metadata, self);
	}
	ASSERT_EQ(0, rc);
	ASSERT_LT(16, n);

	ASSERT_EQ(0, ioasid_alloc(self->fd, &dst));
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &dev2));
	ASSERT_EQ(0, attach(self->fd, &dev2, dst));
	for (i = 0; i < 16; i++)
		c[i] = (struct ioasid_vec_entry){ .iova = 0x200000000ULL + i * SZ_4K,
						  .addr = self->e[i].iova,
						  .length = SZ_4K };
	fail_nth_sweep(n, rc, vec(self->fd, IOASID_VEC_COPY, RW_FIXED, dst,
				  self->ioasid, c, 16, NULL)) {
		if (!rc) {
			ASSERT_EQ(0, unmap_all(self->fd, dst));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_EQ(0, ptes(self->fd, &dev2));
		ASSERT_EQ(self->base + 16, charged_mm(self->fd));
	}
	ASSERT_EQ(0, rc);
	ASSERT_LT(16, n);

	fail_nth_sweep(n, rc, unmap_vec(self->fd, dst, c, 16, NULL)) {
		if (!rc)
			break;
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_EQ(16, ptes(self->fd, &dev2));
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, ptes(self->fd, &dev2));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	expect_empty(_metadata, self);
}

/*
 * A stretch of memory longer than a call pins in its own frame: the batch
 * it then allocates fails too, and nothing stays pinned past any failure.
 */
TEST_F(vec, fail_nth_long_stretch)
{
	/* Past the 16 pages the kernel pins ahead without allocating. */
	const unsigned int count = 64;
	uint64_t pins;
	unsigned int n, i;
	int rc;

	if (!fault_injection_setup())
		SKIP(return, "no fault injection");
	fail_nth_sweep(n, rc, vec(self->fd, IOASID_VEC_MAP, RW_FIXED,
				  self->ioasid, 0, self->e, count, NULL)) {
		if (!rc) {
			ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_EQ(0, ptes(self->fd, &self->dev));
		ASSERT_EQ(self->base, charged_mm(self->fd));
		for (i = 0; i < count; i++) {
			pins = -1;
			page_phys(self->fd, self->buf + i * SZ_4K, &pins);
			ASSERT_EQ(0, pins);
		}
	}
	ASSERT_EQ(0, rc);
	ASSERT_LT(count, n);
	ASSERT_EQ(count, ptes(self->fd, &self->dev));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	expect_empty(_metadata, self);
}

/*
 * One call that maps the first and the last page of the 64-bit IOVA
 * space syncs the whole space, whose length does not fit in a size: it
 * used to wrap to a sync of 0 bytes, which the mock refuses.
 */
TEST_F(vec, map_spans_the_whole_iova_space)
{
	struct ioasid_vec_entry e[2] = {
		{ .iova = 0, .addr = self->e[0].addr, .length = SZ_4K },
		{ .iova = -SZ_4K, .addr = self->e[1].addr, .length = SZ_4K },
	};
	uint64_t before = map_syncs(self->fd, &self->dev);

	ASSERT_EQ(0, vec(self->fd, IOASID_VEC_MAP, RW_FIXED, self->ioasid, 0,
			 e, 2, NULL));
	ASSERT_TRUE(entry_mapped(self->fd, &self->dev, &e[0], PROT_RW));
	ASSERT_TRUE(entry_mapped(self->fd, &self->dev, &e[1], PROT_RW));
	/* Its two halves, each a size that fits. */
	ASSERT_EQ(before + 2, map_syncs(self->fd, &self->dev));
	ASSERT_EQ(0, unmap_vec(self->fd, self->ioasid, e, 2, NULL));
	ASSERT_EQ(0, ptes(self->fd, &self->dev));
}

TEST_HARNESS_MAIN
