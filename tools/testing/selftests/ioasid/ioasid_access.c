// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's access API, through the mock emulated device of
 * CONFIG_IOASID_TEST kernels: a driver that reaches an IOASID's memory
 * with the CPU, as a mediated device's driver does, beside (or without)
 * a device behind an IOMMU attached to the same IOASID.
 *
 * The pins are measured on the pages themselves (IOASID_TEST_OP_PAGE_PINS),
 * the driver's side (its unmap callback's calls, what it holds pinned) as
 * the mock device reports it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "ioasid_mock.h"

#define PAGE		SZ_4K
#define NPAGES		8
#define IOVA		0x100000UL
/* The buffer is two mappings: pages 0-3 at IOVA, pages 4-7 right after. */
#define HALF		(NPAGES / 2 * PAGE)

FIXTURE(access) {
	int fd;
	unsigned int ioasid;
	unsigned int other;
	char *buf;
	uint64_t pins;		/* a page's pins once mapped, as in setup */
	struct mock_access ma;
	struct mock_dev dev;
};

/* The same with no other device, and beside a device behind an IOMMU. */
FIXTURE_VARIANT(access) {
	bool iommu_device;
};

FIXTURE_VARIANT_ADD(access, alone) {
	.iommu_device = false,
};

FIXTURE_VARIANT_ADD(access, beside_a_device) {
	.iommu_device = true,
};

FIXTURE_SETUP(access)
{
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->other));
	if (variant->iommu_device) {
		ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &self->dev));
		ASSERT_EQ(0, attach(self->fd, &self->dev, self->ioasid));
	}
	self->buf = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, madvise(self->buf, NPAGES * PAGE, MADV_NOHUGEPAGE));
	memset(self->buf, 0x11, NPAGES * PAGE);
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, HALF, IOVA));
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf + HALF, HALF,
			    IOVA + HALF));
	ASSERT_NE(0, page_phys(self->fd, self->buf, &self->pins));
	ASSERT_EQ(0, access_add(self->fd, 0, &self->ma));
	ASSERT_EQ(0, access_attach(self->fd, &self->ma, self->ioasid));
}

FIXTURE_TEARDOWN(access)
{
	close(self->fd);
	munmap(self->buf, NPAGES * PAGE);
}

/* DMA pins of the page at @va now. */
static uint64_t pins_of(int fd, void *va)
{
	uint64_t pins = UINT64_MAX;

	page_phys(fd, va, &pins);
	return pins;
}

/* Refresh @ma's counts with an op that changes nothing. */
static void counts(int fd, struct mock_access *ma)
{
	access_unpin(fd, ma, 0, 0);
}

TEST_F(access, pin_gives_the_mapped_pages)
{
	char *page = self->buf + PAGE;

	ASSERT_EQ(0, access_pin(self->fd, &self->ma, IOVA + PAGE, PAGE,
				IOASID_MOCK_ACCESS_WRITE));
	ASSERT_EQ(page_phys(self->fd, page, NULL), self->ma.phys);
	ASSERT_EQ(self->pins + 1, pins_of(self->fd, page));
	ASSERT_EQ(self->pins, pins_of(self->fd, self->buf));
	ASSERT_EQ(1, self->ma.pinned);
	ASSERT_EQ(0, access_unpin(self->fd, &self->ma, IOVA + PAGE, PAGE));
	ASSERT_EQ(self->pins, pins_of(self->fd, page));
	ASSERT_EQ(0, self->ma.pinned);
	ASSERT_EQ(0, self->ma.unmaps);
}

/* A range over the end of one mapping and into the next. */
TEST_F(access, pin_spans_mappings)
{
	uint64_t iova = IOVA + HALF - PAGE;
	int i;

	ASSERT_EQ(0, access_pin(self->fd, &self->ma, iova, 3 * PAGE, 0));
	ASSERT_EQ(page_phys(self->fd, self->buf + HALF - PAGE, NULL),
		  self->ma.phys);
	for (i = -1; i < 2; i++)
		ASSERT_EQ(self->pins + 1,
			  pins_of(self->fd, self->buf + HALF + i * PAGE));
	ASSERT_EQ(self->pins, pins_of(self->fd, self->buf + HALF - 2 * PAGE));
	ASSERT_EQ(self->pins, pins_of(self->fd, self->buf + HALF + 2 * PAGE));
	ASSERT_EQ(0, access_unpin(self->fd, &self->ma, iova, 3 * PAGE));
	for (i = -1; i < 2; i++)
		ASSERT_EQ(self->pins,
			  pins_of(self->fd, self->buf + HALF + i * PAGE));
}

/* Each pin is its own, and given back on its own. */
TEST_F(access, pins_of_one_page_add_up)
{
	ASSERT_EQ(0, access_pin(self->fd, &self->ma, IOVA, 2 * PAGE, 0));
	ASSERT_EQ(0, access_pin(self->fd, &self->ma, IOVA + PAGE, PAGE, 0));
	ASSERT_EQ(self->pins + 2, pins_of(self->fd, self->buf + PAGE));
	ASSERT_EQ(3, self->ma.pinned);
	ASSERT_EQ(0, access_unpin(self->fd, &self->ma, IOVA, 2 * PAGE));
	ASSERT_EQ(self->pins + 1, pins_of(self->fd, self->buf + PAGE));
	ASSERT_EQ(self->pins, pins_of(self->fd, self->buf));
	ASSERT_EQ(0, access_unpin(self->fd, &self->ma, IOVA + PAGE, PAGE));
	ASSERT_EQ(self->pins, pins_of(self->fd, self->buf + PAGE));
}

/* A 2 MiB hugetlb page pinned in part: one folio pin per page pinned. */
TEST_F(access, part_of_a_huge_page)
{
	uint64_t huge_iova = 0x40000000, pins, huge_pins;
	int nr = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	char *huge;

	if (nr < 0 || write(nr, "1", 1) != 1)
		SKIP(close(nr); return, "cannot reserve a huge page");
	close(nr);
	huge = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		    -1, 0);
	if (huge == MAP_FAILED) {
		write_file("/proc/sys/vm/nr_hugepages", "0");
		SKIP(return, "no huge page");
	}
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, huge, SZ_2M, huge_iova));
	huge_pins = pins_of(self->fd, huge);
	ASSERT_EQ(0, access_pin(self->fd, &self->ma, huge_iova + 5 * PAGE,
				2 * PAGE, IOASID_MOCK_ACCESS_WRITE));
	ASSERT_EQ(page_phys(self->fd, huge, NULL) + 5 * PAGE, self->ma.phys);
	pins = pins_of(self->fd, huge + 300 * PAGE);
	ASSERT_EQ(huge_pins + 2, pins);
	ASSERT_EQ(0, access_unpin(self->fd, &self->ma, huge_iova + 5 * PAGE,
				  2 * PAGE));
	ASSERT_EQ(huge_pins, pins_of(self->fd, huge));
	ASSERT_EQ(SZ_2M, unmapped(self->fd, self->ioasid, huge_iova, SZ_2M));
	munmap(huge, SZ_2M);
	ASSERT_TRUE(write_file("/proc/sys/vm/nr_hugepages", "0"));
}

TEST_F(access, unmap_asks_the_driver_to_unpin)
{
	IOASID_CMD(ioasid_unmap, all);

	ASSERT_EQ(0, access_pin(self->fd, &self->ma, IOVA + PAGE, PAGE, 0));
	ASSERT_EQ(0, access_pin(self->fd, &self->ma, IOVA + HALF, PAGE, 0));
	ASSERT_EQ(HALF, unmapped(self->fd, self->ioasid, IOVA, HALF));
	counts(self->fd, &self->ma);
	ASSERT_EQ(1, self->ma.unmaps);
	/* Only the pin in the unmapped range went, with the mapping's. */
	ASSERT_EQ(1, self->ma.pinned);
	ASSERT_EQ(self->pins - 1, pins_of(self->fd, self->buf + PAGE));
	ASSERT_EQ(self->pins + 1, pins_of(self->fd, self->buf + HALF));
	/* The whole space at once, as IOASID_UNMAP_ALL asks. */
	all.flags = IOASID_UNMAP_ALL;
	all.ioasid = self->ioasid;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_UNMAP, &all));
	ASSERT_EQ(HALF, all.length);
	counts(self->fd, &self->ma);
	ASSERT_EQ(2, self->ma.unmaps);
	ASSERT_EQ(0, self->ma.pinned);
	ASSERT_EQ(self->pins - 1, pins_of(self->fd, self->buf + HALF));
}

/* Nothing pinned there: the driver is not bothered. */
TEST_F(access, unmap_of_what_is_not_pinned_is_quiet)
{
	ASSERT_EQ(0, access_pin(self->fd, &self->ma, IOVA, PAGE, 0));
	ASSERT_EQ(HALF, unmapped(self->fd, self->ioasid, IOVA + HALF, HALF));
	counts(self->fd, &self->ma);
	ASSERT_EQ(0, self->ma.unmaps);
	ASSERT_EQ(1, self->ma.pinned);
}

/* A driver that does not let go: the unmap fails and changes nothing. */
TEST_F(access, unmap_refused_while_the_driver_keeps_pins)
{
	IOASID_CMD(ioasid_vec, vec);
	struct ioasid_vec_entry e = { .iova = IOVA, .length = HALF };
	struct mock_access keeper;

	ASSERT_EQ(0, access_detach(self->fd, &self->ma));
	ASSERT_EQ(0, access_add(self->fd, IOASID_MOCK_ACCESS_KEEP_PINS,
				&keeper));
	ASSERT_EQ(0, access_attach(self->fd, &keeper, self->ioasid));
	ASSERT_EQ(0, access_pin(self->fd, &keeper, IOVA + PAGE, PAGE, 0));
	ASSERT_EQ(-1, unmapped(self->fd, self->ioasid, IOVA, HALF));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_ERRNO(EBUSY, unmap_all(self->fd, self->ioasid));
	vec.op = IOASID_VEC_UNMAP;
	vec.ioasid = self->ioasid;
	vec.count = 1;
	vec.entries = (uintptr_t)&e;
	ASSERT_ERRNO(EBUSY, ioctl(self->fd, IOASID_VEC, &vec));
	ASSERT_EQ(0, vec.out_failed);
	counts(self->fd, &keeper);
	ASSERT_EQ(3, keeper.unmaps);
	/* Both mappings are still there, and the device still reaches them. */
	ASSERT_ERRNO(EEXIST, map_at(self->fd, self->ioasid, self->buf, PAGE,
				    IOVA));
	ASSERT_EQ(0, access_pin(self->fd, &keeper, IOVA, PAGE, 0));
	if (variant->iommu_device) {
		struct ioasid_test pte;

		ASSERT_EQ(0, read_pte(self->fd, &self->dev, IOVA + PAGE, &pte));
		ASSERT_EQ(page_phys(self->fd, self->buf + PAGE, NULL),
			  pte.mock_pte.out_phys);
	}
	/* Once the driver lets go, the unmap goes through. */
	ASSERT_EQ(0, access_unpin(self->fd, &keeper, IOVA + PAGE, PAGE));
	ASSERT_EQ(0, access_unpin(self->fd, &keeper, IOVA, PAGE));
	ASSERT_EQ(HALF, unmapped(self->fd, self->ioasid, IOVA, HALF));
	ASSERT_EQ(self->pins - 1, pins_of(self->fd, self->buf + PAGE));
}

/* A memfd mapped by file answers as the caller's memory does. */
TEST_F(access, file_mapping)
{
	IOASID_CMD(ioasid_map, cmd);
	static const char bytes[16] = "0123456789abcdef";
	uint64_t iova = 0x2000000;
	char *view;
	int mfd;

	mfd = memfd_create("access", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 4 * PAGE));
	view = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	memset(view, 0x33, 4 * PAGE);
	cmd.flags = IOASID_MAP_READ | IOASID_MAP_WRITE | IOASID_MAP_FIXED_IOVA |
		    IOASID_MAP_FILE;
	cmd.ioasid = self->ioasid;
	cmd.fd = mfd;
	cmd.length = 4 * PAGE;
	cmd.iova = iova;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_MAP, &cmd));
	ASSERT_EQ(0, access_pin(self->fd, &self->ma, iova + PAGE, 2 * PAGE,
				IOASID_MOCK_ACCESS_WRITE));
	ASSERT_EQ(page_phys(self->fd, view + PAGE, NULL), self->ma.phys);
	ASSERT_EQ(0, access_rw(self->fd, &self->ma, iova + 3 * PAGE - 8,
			       (void *)bytes, 16, IOASID_MOCK_ACCESS_WRITE));
	ASSERT_EQ(0, memcmp(view + 3 * PAGE - 8, bytes, 16));
	ASSERT_EQ(0x33, view[3 * PAGE + 8]);
	ASSERT_EQ(0, access_unpin(self->fd, &self->ma, iova + PAGE, 2 * PAGE));
	ASSERT_EQ(4 * PAGE, unmapped(self->fd, self->ioasid, iova, 4 * PAGE));
	munmap(view, 4 * PAGE);
	close(mfd);
}

/* Bytes across the two mappings, written then read back. */
TEST_F(access, rw_crosses_mappings)
{
	uint64_t iova = IOVA + HALF - PAGE + 100;
	size_t len = 2 * PAGE + 50, i;
	char *in = malloc(len), *out = malloc(len);

	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, out);
	for (i = 0; i < len; i++)
		in[i] = (char)(i * 7 + 3);
	ASSERT_EQ(0, access_rw(self->fd, &self->ma, iova, in, len,
			       IOASID_MOCK_ACCESS_WRITE));
	ASSERT_EQ(0, memcmp(self->buf + HALF - PAGE + 100, in, len));
	ASSERT_EQ(0x11, self->buf[HALF - PAGE + 99]);
	ASSERT_EQ(0x11, self->buf[HALF - PAGE + 100 + len]);
	memset(out, 0, len);
	ASSERT_EQ(0, access_rw(self->fd, &self->ma, iova, out, len, 0));
	ASSERT_EQ(0, memcmp(in, out, len));
	/* Nothing stays pinned by a read or a write. */
	ASSERT_EQ(self->pins, pins_of(self->fd, self->buf + HALF));
	ASSERT_EQ(0, self->ma.pinned);
	free(in);
	free(out);
}

/* Each refusal leaves no pin and no byte written. */
TEST_F(access, refusals)
{
	IOASID_CMD(ioasid_map, ro);
	uint64_t ro_iova = 0x800000;
	struct mock_access idle;
	char bytes[16] = { 0x5a };

	ro.flags = IOASID_MAP_READ | IOASID_MAP_FIXED_IOVA;
	ro.ioasid = self->ioasid;
	ro.user_va = (uintptr_t)self->buf + 6 * PAGE;
	ro.length = PAGE;
	ro.iova = ro_iova;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_MAP, &ro));

	/* Ranges: unaligned, empty, wrapping; flags unknown. */
	ASSERT_ERRNO(EINVAL, access_pin(self->fd, &self->ma, IOVA + 1, PAGE, 0));
	ASSERT_ERRNO(EINVAL, access_pin(self->fd, &self->ma, IOVA, PAGE + 1, 0));
	ASSERT_ERRNO(EINVAL, access_pin(self->fd, &self->ma, IOVA, 0, 0));
	ASSERT_ERRNO(EOVERFLOW, access_rw(self->fd, &self->ma, UINT64_MAX - 4,
					  bytes, 16, 0));
	ASSERT_ERRNO(EINVAL, access_pin(self->fd, &self->ma, IOVA, PAGE, 2));
	ASSERT_ERRNO(EINVAL, access_rw(self->fd, &self->ma, IOVA, bytes, 16, 2));
	/* Nothing mapped, in whole or in part. */
	ASSERT_ERRNO(ENOENT, access_pin(self->fd, &self->ma, 0, PAGE, 0));
	ASSERT_ERRNO(ENOENT, access_pin(self->fd, &self->ma, IOVA + HALF,
					HALF + PAGE, 0));
	ASSERT_ERRNO(ENOENT, access_rw(self->fd, &self->ma,
				       IOVA + 2 * HALF - 8, bytes, 16,
				       IOASID_MOCK_ACCESS_WRITE));
	ASSERT_EQ(0x11, self->buf[NPAGES * PAGE - 8]);
	/* Writing a read-only mapping; reading it is fine. */
	ASSERT_ERRNO(EPERM, access_pin(self->fd, &self->ma, ro_iova, PAGE,
				       IOASID_MOCK_ACCESS_WRITE));
	ASSERT_ERRNO(EPERM, access_rw(self->fd, &self->ma, ro_iova, bytes, 16,
				      IOASID_MOCK_ACCESS_WRITE));
	ASSERT_EQ(0x11, self->buf[6 * PAGE]);
	ASSERT_EQ(0, access_rw(self->fd, &self->ma, ro_iova, bytes, 16, 0));
	ASSERT_EQ(0x11, bytes[15]);
	/* No pin survived a refusal. */
	ASSERT_EQ(0, self->ma.pinned);
	ASSERT_EQ(self->pins, pins_of(self->fd, self->buf + HALF));
	ASSERT_EQ(self->pins + 1, pins_of(self->fd, self->buf + 6 * PAGE));

	/* An access attached nowhere reaches nothing. */
	ASSERT_EQ(0, access_add(self->fd, 0, &idle));
	ASSERT_ERRNO(ENOENT, access_pin(self->fd, &idle, IOVA, PAGE, 0));
	ASSERT_ERRNO(ENOENT, access_rw(self->fd, &idle, IOVA, bytes, 16, 0));
}

TEST_F(access, attach_refusals)
{
	ASSERT_ERRNO(EBUSY, access_attach(self->fd, &self->ma, self->other));
	ASSERT_EQ(0, access_detach(self->fd, &self->ma));
	ASSERT_ERRNO(EINVAL, access_replace(self->fd, &self->ma, self->other));
	ASSERT_ERRNO(ENOENT, access_attach(self->fd, &self->ma, 9999));
	ASSERT_ERRNO(ENOENT, access_attach(self->fd, &self->ma,
					   self->ma.access_id));
	ASSERT_EQ(0, access_attach(self->fd, &self->ma, self->other));
	/* Attached, the IOASID stays; the access is not user space's. */
	ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, self->other));
	ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, self->ma.access_id));
	ASSERT_ERRNO(ENOENT, access_replace(self->fd, &self->ma, 9999));
	ASSERT_EQ(0, access_replace(self->fd, &self->ma, self->other));
	ASSERT_EQ(0, access_detach(self->fd, &self->ma));
	ASSERT_EQ(0, access_detach(self->fd, &self->ma));
	ASSERT_EQ(0, ioasid_destroy(self->fd, self->other));
}

/* A move asks the driver to unpin everything, and fails if it does not. */
TEST_F(access, replace_and_detach_with_pins)
{
	struct mock_access keeper;

	ASSERT_EQ(0, access_pin(self->fd, &self->ma, IOVA, 2 * PAGE, 0));
	ASSERT_EQ(0, map_at(self->fd, self->other, self->buf, PAGE, 0x7000));
	ASSERT_EQ(0, access_replace(self->fd, &self->ma, self->other));
	ASSERT_EQ(1, self->ma.unmaps);
	ASSERT_EQ(0, self->ma.pinned);
	ASSERT_EQ(self->pins + 1, pins_of(self->fd, self->buf));
	/* Now the other IOASID's memory is what it reaches. */
	ASSERT_ERRNO(ENOENT, access_pin(self->fd, &self->ma, IOVA, PAGE, 0));
	ASSERT_EQ(0, access_pin(self->fd, &self->ma, 0x7000, PAGE, 0));
	ASSERT_EQ(self->pins + 2, pins_of(self->fd, self->buf));
	ASSERT_EQ(0, access_detach(self->fd, &self->ma));
	ASSERT_EQ(2, self->ma.unmaps);
	ASSERT_EQ(self->pins + 1, pins_of(self->fd, self->buf));

	ASSERT_EQ(0, access_add(self->fd, IOASID_MOCK_ACCESS_KEEP_PINS,
				&keeper));
	ASSERT_EQ(0, access_attach(self->fd, &keeper, self->ioasid));
	ASSERT_EQ(0, access_pin(self->fd, &keeper, IOVA + PAGE, PAGE, 0));
	ASSERT_ERRNO(EBUSY, access_replace(self->fd, &keeper, self->other));
	ASSERT_ERRNO(EBUSY, access_detach(self->fd, &keeper));
	ASSERT_EQ(2, keeper.unmaps);
	/* It stayed where it was, pins and all. */
	ASSERT_EQ(0, access_pin(self->fd, &keeper, IOVA, PAGE, 0));
	ASSERT_EQ(2, keeper.pinned);
	ASSERT_EQ(0, access_unpin(self->fd, &keeper, IOVA, PAGE));
	ASSERT_EQ(0, access_unpin(self->fd, &keeper, IOVA + PAGE, PAGE));
	ASSERT_EQ(0, access_detach(self->fd, &keeper));
	ASSERT_EQ(self->pins, pins_of(self->fd, self->buf + PAGE));
}

/* A driver closed with pins held gives them back; so does a closed fd. */
TEST_F(access, destroy_and_close_with_pins)
{
	int probe = ioasid_open();

	ASSERT_LE(0, probe);
	ASSERT_EQ(0, access_pin(self->fd, &self->ma, IOVA, 3 * PAGE, 0));
	ASSERT_EQ(0, ioasid_destroy(self->fd, self->ma.id));
	ASSERT_EQ(self->pins, pins_of(self->fd, self->buf + 2 * PAGE));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));

	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, HALF, IOVA));
	ASSERT_EQ(0, access_add(self->fd, 0, &self->ma));
	ASSERT_EQ(0, access_attach(self->fd, &self->ma, self->ioasid));
	ASSERT_EQ(0, access_pin(self->fd, &self->ma, IOVA, 2 * PAGE, 0));
	ASSERT_EQ(self->pins + 1, pins_of(probe, self->buf + PAGE));
	close(self->fd);
	self->fd = probe;
	/* Neither the mapping nor the access pins them any more. */
	ASSERT_EQ(self->pins - 1, pins_of(probe, self->buf + PAGE));
	ASSERT_EQ(self->pins - 1, pins_of(probe, self->buf));
}

struct pinner {
	int fd;
	struct mock_access *ma;
	atomic_bool stop;
	unsigned long pins, refused;
};

static void *pin_loop(void *arg)
{
	struct pinner *p = arg;

	while (!atomic_load(&p->stop)) {
		if (!access_pin(p->fd, p->ma, IOVA + PAGE, 2 * PAGE, 0)) {
			p->pins++;
			access_unpin(p->fd, p->ma, IOVA + PAGE, 2 * PAGE);
		} else {
			p->refused++;
		}
	}
	return NULL;
}

/*
 * A driver pinning and unpinning while user space unmaps and maps the
 * same range: each unmap either asks the driver and goes through, and
 * no pin outlives the race.
 */
TEST_F_TIMEOUT(access, pins_race_unmaps, 120)
{
	struct pinner p = { .fd = self->fd, .ma = &self->ma };
	unsigned long rounds = 0, busy = 0;
	long long n;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, pin_loop, &p));
	while (rounds < 2000) {
		n = unmapped(self->fd, self->ioasid, IOVA, HALF);
		if (n == HALF) {
			ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf,
					    HALF, IOVA));
		} else {
			/* Pinned again between the callback and the retry. */
			ASSERT_EQ(EBUSY, errno);
			busy++;
		}
		rounds++;
	}
	atomic_store(&p.stop, true);
	ASSERT_EQ(0, pthread_join(t, NULL));
	TH_LOG("%lu unmaps (%lu busy), %lu pins, %lu refused", rounds, busy,
	       p.pins, p.refused);
	ASSERT_LT(0, p.pins);
	counts(self->fd, &self->ma);
	ASSERT_EQ(0, self->ma.pinned);
	ASSERT_EQ(self->pins, pins_of(self->fd, self->buf + PAGE));
	ASSERT_EQ(self->pins, pins_of(self->fd, self->buf + 2 * PAGE));
}

TEST_HARNESS_MAIN
