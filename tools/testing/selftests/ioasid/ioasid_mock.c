// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ioasid against the mock IOMMU driver of CONFIG_IOASID_TEST: what
 * every domain backing an IOASID holds, IOPTE by IOPTE, through attach,
 * map, unmap and detach.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "ioasid_mock.h"

#define BUF_PAGES 64
#define BUF_SIZE (BUF_PAGES * SZ_4K)

FIXTURE(mock) {
	int fd;
	unsigned int ioasid;
	struct mock_dev dev;
	char *buf;
};

FIXTURE_SETUP(mock)
{
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &self->dev));
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(mock)
{
	munmap(self->buf, BUF_SIZE);
	close(self->fd);
}

/* Every page from @iova translates to the page of @buf at that offset. */
static bool ptes_match(int fd, const struct mock_dev *md, char *buf,
		       uint64_t iova, size_t npages)
{
	uint64_t page_iova, phys;
	struct ioasid_test pte;
	size_t i;

	for (i = 0; i < npages; i++) {
		page_iova = iova + i * SZ_4K;
		if (read_pte(fd, md, page_iova, &pte))
			return false;
		phys = pte.mock_pte.out_phys +
		       (page_iova & (pte.mock_pte.out_pgsize - 1));
		if (phys != page_phys(fd, buf + i * SZ_4K, NULL) ||
		    pte.mock_pte.out_prot != PROT_RW)
			return false;
	}
	return true;
}

TEST_F(mock, bound_device_is_not_user_destroyable)
{
	ASSERT_NE(self->dev.mock_id, self->dev.dev_id);
	ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, self->dev.dev_id));
	/* Destroying the owner unbinds: the device id is gone with it. */
	ASSERT_EQ(0, ioasid_destroy(self->fd, self->dev.mock_id));
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, self->dev.dev_id));
}

TEST_F(mock, attach_detach)
{
	struct ioasid_test pte;

	/* Not attached: no domain to read. */
	ASSERT_ERRNO(ENODEV, read_pte(self->fd, &self->dev, 0, &pte));
	ASSERT_ERRNO(ENOENT, attach(self->fd, &self->dev, self->ioasid + 100));
	ASSERT_EQ(0, attach(self->fd, &self->dev, self->ioasid));
	ASSERT_ERRNO(EBUSY, attach(self->fd, &self->dev, self->ioasid));
	/* An IOASID in use cannot be destroyed. */
	ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, self->ioasid));
	ASSERT_EQ(0, detach(self->fd, &self->dev));
	ASSERT_ERRNO(ENODEV, read_pte(self->fd, &self->dev, 0, &pte));
	ASSERT_EQ(0, ioasid_destroy(self->fd, self->ioasid));
}

TEST_F(mock, map_unmap_writes_domain)
{
	struct ioasid_test info, pte;
	uint64_t syncs;
	int i;

	ASSERT_EQ(0, attach(self->fd, &self->dev, self->ioasid));
	info = domain_info(self->fd, &self->dev);
	syncs = info.mock_domain.out_map_syncs;
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, BUF_SIZE, 0x100000));
	ASSERT_TRUE(ptes_match(self->fd, &self->dev, self->buf, 0x100000, BUF_PAGES));
	/* However many runs the pages make, the new IOPTEs are synced once. */
	info = domain_info(self->fd, &self->dev);
	ASSERT_EQ(syncs + 1, info.mock_domain.out_map_syncs);
	/* Nothing around the mapping. */
	ASSERT_ERRNO(ENOENT, read_pte(self->fd, &self->dev, 0x100000 - SZ_4K, &pte));
	ASSERT_ERRNO(ENOENT, read_pte(self->fd, &self->dev, 0x100000 + BUF_SIZE, &pte));

	/* Four more mappings, then one unmap of all: one IOTLB flush. */
	for (i = 1; i <= 4; i++)
		ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, BUF_SIZE,
				    0x100000 + i * 0x1000000));
	info = domain_info(self->fd, &self->dev);
	syncs = info.mock_domain.out_iotlb_syncs;
	ASSERT_EQ(5 * BUF_PAGES, info.mock_domain.out_ptes);
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	info = domain_info(self->fd, &self->dev);
	ASSERT_EQ(0, info.mock_domain.out_ptes);
	ASSERT_EQ(syncs + 1, info.mock_domain.out_iotlb_syncs);
}

/* Attaching fills a new domain from the IOASID, without pinning again. */
TEST_F(mock, attach_fills_domain)
{
	uint64_t pins_before = 0, pins_after = 1;

	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, BUF_SIZE, 0x100000));
	page_phys(self->fd, self->buf, &pins_before);
	ASSERT_EQ(0, attach(self->fd, &self->dev, self->ioasid));
	page_phys(self->fd, self->buf, &pins_after);
	ASSERT_EQ(pins_before, pins_after);
	ASSERT_TRUE(ptes_match(self->fd, &self->dev, self->buf, 0x100000, BUF_PAGES));
	/* The new domain was filled, then synced once. */
	ASSERT_EQ(1, domain_info(self->fd, &self->dev).mock_domain.out_map_syncs);
	ASSERT_EQ(0, detach(self->fd, &self->dev));
}

TEST_F(mock, domain_reuse_and_two_iommus)
{
	struct mock_cfg other_iommu = default_cfg;
	struct mock_dev same, other;
	struct ioasid_test a, b, c;
	uint64_t pins = UINT64_MAX;

	other_iommu.iommu = 1;
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &same));
	ASSERT_EQ(0, mock_add(self->fd, &other_iommu, &other));
	ASSERT_EQ(0, attach(self->fd, &self->dev, self->ioasid));
	ASSERT_EQ(0, attach(self->fd, &same, self->ioasid));
	ASSERT_EQ(0, attach(self->fd, &other, self->ioasid));
	a = domain_info(self->fd, &self->dev);
	b = domain_info(self->fd, &same);
	c = domain_info(self->fd, &other);
	ASSERT_NE(0, a.mock_domain.out_domain);
	ASSERT_EQ(a.mock_domain.out_domain, b.mock_domain.out_domain);
	ASSERT_NE(a.mock_domain.out_domain, c.mock_domain.out_domain);

	/* One pin, two domains with the same translations. */
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, BUF_SIZE, 0x100000));
	page_phys(self->fd, self->buf, &pins);
	ASSERT_EQ(1, pins);
	ASSERT_TRUE(ptes_match(self->fd, &self->dev, self->buf, 0x100000, BUF_PAGES));
	ASSERT_TRUE(ptes_match(self->fd, &other, self->buf, 0x100000, BUF_PAGES));

	/* The last device of a domain frees it; the other keeps working. */
	ASSERT_EQ(0, detach(self->fd, &other));
	ASSERT_EQ(0, ioasid_destroy(self->fd, other.mock_id));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(0, domain_info(self->fd, &same).mock_domain.out_ptes);
	page_phys(self->fd, self->buf, &pins);
	ASSERT_EQ(0, pins);
}

/* Huge pages become huge IOPTEs where the domain has them. */
static void huge_ptes(struct __test_metadata *_metadata, int fd,
		      unsigned int ioasid, char *buf, const char *what)
{
	struct mock_cfg small = default_cfg;
	struct mock_dev big_dev, small_dev;
	struct ioasid_test pte;
	uint64_t phys0;

	small.iommu = 1;
	small.pgsize_bitmap = SZ_4K;
	ASSERT_EQ(0, mock_add(fd, &default_cfg, &big_dev));
	ASSERT_EQ(0, mock_add(fd, &small, &small_dev));
	ASSERT_EQ(0, attach(fd, &big_dev, ioasid));
	ASSERT_EQ(0, attach(fd, &small_dev, ioasid));

	phys0 = page_phys(fd, buf, NULL);
	if (phys0 % SZ_2M || page_phys(fd, buf + SZ_2M - SZ_4K, NULL) !=
	    phys0 + SZ_2M - SZ_4K)
		SKIP(return, "%s memory is not backed by a 2 MiB page", what);

	ASSERT_EQ(0, map_at(fd, ioasid, buf, SZ_2M, 0x40000000));
	ASSERT_EQ(0, read_pte(fd, &big_dev, 0x40000000 + SZ_4K, &pte));
	ASSERT_EQ(SZ_2M, pte.mock_pte.out_pgsize);
	ASSERT_EQ(phys0, pte.mock_pte.out_phys);
	ASSERT_EQ(1, domain_info(fd, &big_dev).mock_domain.out_ptes);
	/* The 4 KiB-only IOMMU gets the same memory as 512 IOPTEs. */
	ASSERT_EQ(0, read_pte(fd, &small_dev, 0x40000000 + SZ_4K, &pte));
	ASSERT_EQ(SZ_4K, pte.mock_pte.out_pgsize);
	ASSERT_EQ(phys0 + SZ_4K, pte.mock_pte.out_phys);
	ASSERT_EQ(512, domain_info(fd, &small_dev).mock_domain.out_ptes);
	ASSERT_EQ(0, unmap_all(fd, ioasid));
}

TEST_F(mock, thp_maps_huge)
{
	char *raw, *buf;

	raw = mmap(NULL, 2 * SZ_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, raw);
	buf = thp_in(raw);
	ASSERT_NE(NULL, buf);
	huge_ptes(_metadata, self->fd, self->ioasid, buf, "THP");
	munmap(raw, 2 * SZ_2M);
}

TEST_F(mock, hugetlbfs_maps_huge)
{
	int nr = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	char *buf;

	ASSERT_LE(0, nr);
	ASSERT_EQ(1, write(nr, "4", 1));
	close(nr);
	buf = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 1, SZ_2M);
	huge_ptes(_metadata, self->fd, self->ioasid, buf, "hugetlbfs");
	munmap(buf, SZ_2M);
}

static int iova_ranges(int fd, unsigned int ioasid,
		       struct ioasid_iova_range *r, unsigned int *n)
{
	IOASID_CMD(ioasid_iova_ranges, cmd);
	int rc;

	cmd.ioasid = ioasid;
	cmd.num_ranges = *n;
	cmd.ranges = (uintptr_t)r;
	rc = ioctl(fd, IOASID_IOVA_RANGES, &cmd);
	*n = cmd.num_ranges;
	return rc;
}

TEST_F(mock, aperture_and_reserved_regions)
{
	struct mock_cfg cfg = default_cfg;
	struct ioasid_iova_range r[4];
	struct mock_dev small;
	unsigned int n = 4;

	cfg.iommu = 1;
	cfg.aperture_last = SZ_1G - 1;
	cfg.resv_start = 0x8000000;
	cfg.resv_length = SZ_2M;
	ASSERT_EQ(0, mock_add(self->fd, &cfg, &small));
	ASSERT_EQ(0, attach(self->fd, &small, self->ioasid));

	ASSERT_EQ(0, iova_ranges(self->fd, self->ioasid, r, &n));
	ASSERT_EQ(2, n);
	ASSERT_EQ(0, r[0].start);
	ASSERT_EQ(0x8000000 - 1, r[0].last);
	ASSERT_EQ(0x8000000 + SZ_2M, r[1].start);
	ASSERT_EQ(SZ_1G - 1, r[1].last);
	n = 1;
	ASSERT_ERRNO(EMSGSIZE, iova_ranges(self->fd, self->ioasid, r, &n));
	ASSERT_EQ(2, n);

	/* Outside the aperture, or touching the reserved region. */
	ASSERT_ERRNO(EADDRNOTAVAIL, map_at(self->fd, self->ioasid, self->buf,
					   BUF_SIZE, SZ_1G));
	ASSERT_ERRNO(EADDRNOTAVAIL, map_at(self->fd, self->ioasid, self->buf,
					   BUF_SIZE, 0x8000000 - SZ_4K));
	ASSERT_ERRNO(EADDRNOTAVAIL, map_at(self->fd, self->ioasid, self->buf,
					   BUF_SIZE, 0x8000000 + SZ_2M - SZ_4K));
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, BUF_SIZE,
			    0x8000000 + SZ_2M));

	/* Detaching frees the ranges again. */
	ASSERT_EQ(0, detach(self->fd, &small));
	n = 4;
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioasid, r, &n));
	ASSERT_EQ(1, n);
	ASSERT_EQ(UINT64_MAX, r[0].last);
}

/* A device whose reserved regions or aperture collide changes nothing. */
TEST_F(mock, attach_conflicts_with_mappings)
{
	struct mock_cfg narrow = default_cfg, resv = default_cfg;
	struct mock_dev n_dev, r_dev;
	struct ioasid_iova_range r[2];
	unsigned int n = 2;
	uint64_t pins = UINT64_MAX;

	narrow.iommu = 1;
	narrow.aperture_last = SZ_1G - 1;
	resv.iommu = 1;
	resv.resv_start = 0x100000;
	resv.resv_length = SZ_4K;
	ASSERT_EQ(0, mock_add(self->fd, &narrow, &n_dev));
	ASSERT_EQ(0, mock_add(self->fd, &resv, &r_dev));
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, BUF_SIZE, 0x100000));
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, BUF_SIZE, SZ_1G));

	ASSERT_ERRNO(EADDRINUSE, attach(self->fd, &n_dev, self->ioasid));
	ASSERT_ERRNO(EADDRINUSE, attach(self->fd, &r_dev, self->ioasid));
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioasid, r, &n));
	ASSERT_EQ(1, n);
	page_phys(self->fd, self->buf, &pins);
	ASSERT_EQ(2, pins);
	/* Both devices are still free to attach elsewhere. */
	ASSERT_EQ(0, ioasid_alloc(self->fd, &n));
	ASSERT_EQ(0, attach(self->fd, &n_dev, n));
	ASSERT_EQ(0, attach(self->fd, &r_dev, n));
}

TEST_F(mock, auto_iova_avoids_reserved)
{
	IOASID_CMD(ioasid_map, map);
	struct mock_cfg cfg = default_cfg;
	struct mock_dev dev;

	cfg.resv_start = 0;
	cfg.resv_length = SZ_1G;
	ASSERT_EQ(0, mock_add(self->fd, &cfg, &dev));
	ASSERT_EQ(0, attach(self->fd, &dev, self->ioasid));
	map.flags = IOASID_MAP_READ;
	map.ioasid = self->ioasid;
	map.user_va = (uintptr_t)self->buf;
	map.length = BUF_SIZE;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_MAP, &map));
	ASSERT_LE(SZ_1G, map.iova);
}

/* Replace moves the device's translations to the other IOASID's. */
TEST_F(mock, replace)
{
	struct ioasid_test pte, info;
	unsigned int other, domain;
	char *other_buf;

	other_buf = self->buf + 32 * SZ_4K;
	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, SZ_4K, 0x100000));
	ASSERT_EQ(0, map_at(self->fd, other, other_buf, SZ_4K, 0x100000));
	ASSERT_ERRNO(EINVAL, replace(self->fd, &self->dev, other));
	ASSERT_EQ(0, attach(self->fd, &self->dev, self->ioasid));
	domain = domain_info(self->fd, &self->dev).mock_domain.out_domain;
	/* Replacing with the same IOASID changes nothing. */
	ASSERT_EQ(0, replace(self->fd, &self->dev, self->ioasid));
	ASSERT_EQ(domain, domain_info(self->fd, &self->dev).mock_domain.out_domain);
	ASSERT_ERRNO(ENOENT, replace(self->fd, &self->dev, other + 100));

	ASSERT_EQ(0, replace(self->fd, &self->dev, other));
	info = domain_info(self->fd, &self->dev);
	ASSERT_NE(domain, info.mock_domain.out_domain);
	ASSERT_EQ(1, info.mock_domain.out_ptes);
	ASSERT_EQ(0, read_pte(self->fd, &self->dev, 0x100000, &pte));
	ASSERT_EQ(page_phys(self->fd, other_buf, NULL), pte.mock_pte.out_phys);
	/* The old IOASID is free again; the new one is in use. */
	ASSERT_EQ(0, ioasid_destroy(self->fd, self->ioasid));
	ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, other));
}

/* A failed replace leaves the device where it was. */
TEST_F(mock, replace_conflict_keeps_device)
{
	struct mock_cfg narrow = default_cfg;
	struct mock_dev dev;
	unsigned int other;

	narrow.aperture_last = SZ_1G - 1;
	ASSERT_EQ(0, mock_add(self->fd, &narrow, &dev));
	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	ASSERT_EQ(0, map_at(self->fd, other, self->buf, SZ_4K, SZ_1G));
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, self->buf, SZ_4K, 0x100000));
	ASSERT_EQ(0, attach(self->fd, &dev, self->ioasid));
	ASSERT_ERRNO(EADDRINUSE, replace(self->fd, &dev, other));
	ASSERT_TRUE(ptes_match(self->fd, &dev, self->buf, 0x100000, 1));
	ASSERT_ERRNO(EBUSY, ioasid_destroy(self->fd, self->ioasid));
	ASSERT_EQ(0, ioasid_destroy(self->fd, other));
}

/* Closing the context with devices attached and memory mapped. */
static int device_info(int fd, unsigned int dev_id,
		       struct ioasid_iova_range *ranges, unsigned int n,
		       struct ioasid_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->dev_id = dev_id;
	info->num_reserved = n;
	info->reserved = (uintptr_t)ranges;
	return ioctl(fd, IOASID_DEVICE_INFO, info);
}

/*
 * What a bound device's IOMMU imposes, asked before any attach: page
 * sizes, aperture, reserved regions and whether it can be coherent.
 */
TEST_F(mock, device_info)
{
	struct mock_cfg cfg = {
		.flags = IOASID_MOCK_COHERENT,
		.pgsize_bitmap = SZ_4K | SZ_2M,
		.aperture_last = (1ULL << 39) - 1,
		.resv_start = 0xfee00000,
		.resv_length = 0x100000,
	};
	struct ioasid_iova_range ranges[2];
	struct ioasid_device_info info;
	struct mock_dev md;

	ASSERT_EQ(0, mock_add(self->fd, &cfg, &md));
	ASSERT_EQ(0, device_info(self->fd, md.dev_id, ranges, 2, &info));
	ASSERT_EQ(IOASID_DEVICE_INFO_COHERENT, info.out_flags);
	ASSERT_EQ(SZ_4K | SZ_2M, info.out_pgsizes);
	ASSERT_EQ(0, info.out_aperture_start);
	ASSERT_EQ((1ULL << 39) - 1, info.out_aperture_last);
	ASSERT_EQ(1, info.num_reserved);
	ASSERT_EQ(0xfee00000, ranges[0].start);
	ASSERT_EQ(0xfeefffff, ranges[0].last);

	/* The default mock: no coherency, no reserved region. */
	ASSERT_EQ(0, device_info(self->fd, self->dev.dev_id, ranges, 2, &info));
	ASSERT_EQ(0, info.out_flags);
	ASSERT_EQ(0, info.num_reserved);
	ASSERT_EQ(UINT64_MAX, info.out_aperture_last);

	/* Too little room: the count, and EMSGSIZE. */
	ASSERT_ERRNO(EMSGSIZE, device_info(self->fd, md.dev_id, ranges, 0, &info));
	ASSERT_EQ(1, info.num_reserved);
	ASSERT_ERRNO(EFAULT, device_info(self->fd, md.dev_id, (void *)8, 2, &info));
	/* What the device info says, an attach then holds to. */
	ASSERT_EQ(0, attach(self->fd, &md, self->ioasid));
	ASSERT_ERRNO(EADDRNOTAVAIL, map_at(self->fd, self->ioasid, self->buf,
					   SZ_4K, 1ULL << 39));
	ASSERT_EQ(0, detach(self->fd, &md));
}

TEST_F(mock, device_info_errors)
{
	struct ioasid_device_info info;

	ASSERT_ERRNO(ENOENT, device_info(self->fd, self->ioasid, NULL, 0, &info));
	ASSERT_ERRNO(ENOENT, device_info(self->fd, self->dev.mock_id, NULL, 0, &info));
	ASSERT_ERRNO(ENOENT, device_info(self->fd, 12345, NULL, 0, &info));
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.dev_id = self->dev.dev_id;
	info.flags = 1;
	ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_DEVICE_INFO, &info));
	info.flags = 0;
	info.__reserved = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_DEVICE_INFO, &info));
	info.__reserved = 0;
	info.size = offsetof(struct ioasid_device_info, reserved);
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_DEVICE_INFO, &info));
}

TEST(close_with_attached_devices)
{
	struct mock_cfg other = default_cfg;
	struct mock_dev a, b;
	unsigned int ioasid;
	uint64_t pins = UINT64_MAX;
	char *buf;
	int fd, probe;

	probe = ioasid_open();
	ASSERT_LE(0, probe);
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	fd = ioasid_open();
	ASSERT_LE(0, fd);
	other.iommu = 1;
	ASSERT_EQ(0, ioasid_alloc(fd, &ioasid));
	ASSERT_EQ(0, mock_add(fd, &default_cfg, &a));
	ASSERT_EQ(0, mock_add(fd, &other, &b));
	ASSERT_EQ(0, attach(fd, &a, ioasid));
	ASSERT_EQ(0, attach(fd, &b, ioasid));
	ASSERT_EQ(0, map_at(fd, ioasid, buf, BUF_SIZE, 0x100000));
	ASSERT_EQ(0, close(fd));
	page_phys(probe, buf, &pins);
	ASSERT_EQ(0, pins);
	close(probe);
}

TEST_HARNESS_MAIN
