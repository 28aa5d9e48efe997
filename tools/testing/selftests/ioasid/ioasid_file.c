// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ioasid: mapping files (IOASID_MAP_FILE) against the mock IOMMU.
 *
 * A file mapping pins the file's own pages, so the tests compare the
 * IOPTEs of the mock domain with the physical pages behind a view of the
 * file, and then take the view away: the device must not notice.  The
 * pins and the charge are read back through IOASID_TEST after every
 * call, failed ones included.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "ioasid_mock.h"

#define FILE_PAGES	64
#define FILE_SIZE	(FILE_PAGES * SZ_4K)
#define IOVA		0x100000000ULL
#define R_FIXED		(IOASID_MAP_READ | IOASID_MAP_FIXED_IOVA)
#define RW_FIXED	(IOASID_MAP_READ | IOASID_MAP_WRITE | IOASID_MAP_FIXED_IOVA)

static int map_file(int fd, unsigned int ioasid, __u32 flags, int file,
		    __u64 offset, __u64 length, __u64 *iova)
{
	IOASID_CMD(ioasid_map, cmd);
	int rc;

	cmd.flags = flags | IOASID_MAP_FILE;
	cmd.ioasid = ioasid;
	cmd.fd = file;
	cmd.file_offset = offset;
	cmd.length = length;
	cmd.iova = *iova;
	rc = ioctl(fd, IOASID_MAP, &cmd);
	*iova = cmd.iova;
	return rc;
}

static int map_file_at(int fd, unsigned int ioasid, __u32 flags, int file,
		       __u64 offset, __u64 length, __u64 iova)
{
	return map_file(fd, ioasid, flags | IOASID_MAP_FIXED_IOVA, file, offset,
			length, &iova);
}

static int unmap(int fd, unsigned int ioasid, __u64 iova, __u64 length)
{
	IOASID_CMD(ioasid_unmap, cmd);

	cmd.ioasid = ioasid;
	cmd.iova = iova;
	cmd.length = length;
	return ioctl(fd, IOASID_UNMAP, &cmd);
}

/* A memfd of @size bytes, each page filled with its index + 1. */
static int filled_memfd(size_t size, unsigned int flags)
{
	int mfd = memfd_create("ioasid", flags | MFD_ALLOW_SEALING);
	uint8_t page[SZ_4K];
	size_t i;

	if (mfd < 0 || ftruncate(mfd, size))
		return -1;
	if (flags & MFD_HUGETLB)
		return mfd;
	for (i = 0; i < size / SZ_4K; i++) {
		memset(page, i + 1, sizeof(page));
		if (pwrite(mfd, page, sizeof(page), i * SZ_4K) != sizeof(page))
			return -1;
	}
	return mfd;
}

/* A count of /proc/meminfo with no unit (HugePages_*), or -1. */
static long meminfo_count(const char *name)
{
	FILE *f = fopen("/proc/meminfo", "r");
	size_t len = strlen(name);
	char line[128];
	long n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* Size the pool of 2 MiB huge pages to exactly @n, all free. */
static bool hugetlb_pool(long n)
{
	char val[16];

	snprintf(val, sizeof(val), "%ld", n);
	return write_file("/proc/sys/vm/nr_hugepages", val) &&
	       meminfo_count("HugePages_Total") == n &&
	       meminfo_count("HugePages_Free") == n &&
	       meminfo_count("HugePages_Rsvd") == 0;
}

FIXTURE(file) {
	int fd;
	unsigned int ioasid;
	struct mock_dev dev;
	int mfd;
	long long base;
};

FIXTURE_SETUP(file)
{
	IOASID_CMD(ioasid_alloc, alloc);

	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	alloc.flags = IOASID_ALLOC_ACCOUNT_MM;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_ALLOC, &alloc));
	self->ioasid = alloc.out_ioasid;
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &self->dev));
	ASSERT_EQ(0, attach(self->fd, &self->dev, self->ioasid));
	self->mfd = filled_memfd(FILE_SIZE, 0);
	ASSERT_LE(0, self->mfd);
	self->base = charged_mm(self->fd);
	ASSERT_LE(0, self->base);
}

FIXTURE_TEARDOWN(file)
{
	close(self->mfd);
	close(self->fd);
}

/* Each IOPTE from @iova translates to the page of @view at that offset. */
static bool ptes_are(int fd, const struct mock_dev *md, uint64_t iova,
		     const uint64_t *phys, size_t npages, unsigned int prot)
{
	struct ioasid_test pte;
	uint64_t at;
	size_t i;

	for (i = 0; i < npages; i++) {
		if (read_pte(fd, md, iova + i * SZ_4K, &pte))
			return false;
		at = pte.mock_pte.out_phys +
		     ((iova + i * SZ_4K) & (pte.mock_pte.out_pgsize - 1));
		if (at != phys[i] || pte.mock_pte.out_prot != prot)
			return false;
	}
	return true;
}

/* The physical pages behind a shared view of the file. */
static bool file_phys(int fd, int mfd, size_t npages, uint64_t *phys)
{
	uint8_t *view = mmap(NULL, npages * SZ_4K, PROT_READ, MAP_SHARED, mfd, 0);
	size_t i;

	if (view == MAP_FAILED)
		return false;
	for (i = 0; i < npages; i++) {
		/* Fault the page in; page_phys() does not. */
		if (view[i * SZ_4K] != (uint8_t)(i + 1))
			return false;
		phys[i] = page_phys(fd, view + i * SZ_4K, NULL);
		if (!phys[i])
			return false;
	}
	munmap(view, npages * SZ_4K);
	return true;
}

TEST_F(file, caps_report_file_and_vec)
{
	IOASID_CMD(ioasid_info, info);

	ASSERT_EQ(0, ioctl(self->fd, IOASID_GET_INFO, &info));
	ASSERT_TRUE(info.caps & IOASID_CAP_MAP_FILE);
	ASSERT_TRUE(info.caps & IOASID_CAP_VEC);
	/* Nothing beyond the features this header knows. */
	ASSERT_EQ(0, info.caps & ~(__u64)IOASID_KNOWN_CAPS);
}

/* The IOPTEs are the file's pages, whether or not a view of it exists. */
TEST_F(file, shmem_ptes_are_the_files_pages)
{
	uint64_t phys[FILE_PAGES], after[FILE_PAGES];

	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, RW_FIXED, self->mfd, 0,
				 FILE_SIZE, IOVA));
	ASSERT_EQ(self->base + FILE_PAGES, charged_mm(self->fd));
	/* The view is made after the map and gone before the next check. */
	ASSERT_TRUE(file_phys(self->fd, self->mfd, FILE_PAGES, phys));
	ASSERT_TRUE(ptes_are(self->fd, &self->dev, IOVA, phys, FILE_PAGES,
			     PROT_RW));
	ASSERT_EQ(FILE_PAGES, domain_info(self->fd, &self->dev).mock_domain.out_ptes);
	/* The pages are the file's still: a new view finds the same ones. */
	ASSERT_TRUE(file_phys(self->fd, self->mfd, FILE_PAGES, after));
	ASSERT_EQ(0, memcmp(phys, after, sizeof(phys)));

	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, FILE_SIZE));
	ASSERT_EQ(self->base, charged_mm(self->fd));
	ASSERT_EQ(0, domain_info(self->fd, &self->dev).mock_domain.out_ptes);
}

/* A part of the file, read-only, at a kernel-chosen IOVA. */
TEST_F(file, part_of_file_read_only_auto_iova)
{
	uint64_t phys[FILE_PAGES];
	__u64 iova = 0;

	ASSERT_TRUE(file_phys(self->fd, self->mfd, FILE_PAGES, phys));
	ASSERT_EQ(0, map_file(self->fd, self->ioasid, IOASID_MAP_READ, self->mfd,
			      8 * SZ_4K, 16 * SZ_4K, &iova));
	/* Aligned like the offset, 32 KiB, for the largest IOPTEs it allows. */
	ASSERT_EQ(0, iova % (8 * SZ_4K));
	ASSERT_TRUE(ptes_are(self->fd, &self->dev, iova, phys + 8, 16,
			     IOASID_MAP_READ));
	ASSERT_EQ(self->base + 16, charged_mm(self->fd));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, iova, 16 * SZ_4K));
	ASSERT_EQ(self->base, charged_mm(self->fd));
}

/* Holes of a file never written are filled by the map, once. */
TEST_F(file, holes_are_allocated)
{
	uint64_t phys[4];
	uint8_t *view;
	int mfd = memfd_create("holes", 0);
	int i;

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 4 * SZ_4K));
	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, RW_FIXED, mfd, 0,
				 4 * SZ_4K, IOVA));
	view = mmap(NULL, 4 * SZ_4K, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, view[i * SZ_4K]);
		phys[i] = page_phys(self->fd, view + i * SZ_4K, NULL);
	}
	ASSERT_TRUE(ptes_are(self->fd, &self->dev, IOVA, phys, 4, PROT_RW));
	munmap(view, 4 * SZ_4K);
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, 4 * SZ_4K));
	close(mfd);
}

/* A 2 MiB hugetlbfs page is one pin and one 2 MiB IOPTE. */
TEST_F(file, hugetlb_is_one_huge_ioptes)
{
	int nr = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	struct ioasid_test pte;
	uint64_t phys, pins = 0;
	uint8_t *view;
	int mfd;

	ASSERT_LE(0, nr);
	ASSERT_EQ(1, write(nr, "4", 1));
	close(nr);
	mfd = filled_memfd(2 * SZ_2M, MFD_HUGETLB);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, RW_FIXED, mfd, SZ_2M,
				 SZ_2M, IOVA));
	ASSERT_EQ(self->base + SZ_2M / SZ_4K, charged_mm(self->fd));
	ASSERT_EQ(1, domain_info(self->fd, &self->dev).mock_domain.out_ptes);
	ASSERT_EQ(0, read_pte(self->fd, &self->dev, IOVA + SZ_4K, &pte));
	ASSERT_EQ(SZ_2M, pte.mock_pte.out_pgsize);

	view = mmap(NULL, 2 * SZ_2M, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	ASSERT_EQ(0, view[SZ_2M]);
	phys = page_phys(self->fd, view + SZ_2M, &pins);
	ASSERT_EQ(phys, pte.mock_pte.out_phys);
	/* One pin for the whole folio, not 512. */
	ASSERT_EQ(1, pins);
	munmap(view, 2 * SZ_2M);

	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, SZ_2M));
	ASSERT_EQ(self->base, charged_mm(self->fd));
	/* Part of a huge page maps too, by 4 KiB IOPTEs. */
	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, R_FIXED, mfd,
				 SZ_2M + 3 * SZ_4K, 2 * SZ_4K, IOVA));
	ASSERT_EQ(0, read_pte(self->fd, &self->dev, IOVA, &pte));
	ASSERT_EQ(SZ_4K, pte.mock_pte.out_pgsize);
	ASSERT_EQ(phys + 3 * SZ_4K, pte.mock_pte.out_phys);
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, 2 * SZ_4K));
	close(mfd);
}

/* Every refusal, each with nothing pinned, charged or mapped after it. */
TEST_F(file, bad_files_and_ranges)
{
	char path[64];
	int ro, wo, sealed, pipefd[2];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->mfd);
	ro = open(path, O_RDONLY);
	wo = open(path, O_WRONLY);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	ASSERT_EQ(0, pipe(pipefd));
	sealed = filled_memfd(FILE_SIZE, 0);
	ASSERT_LE(0, sealed);
	ASSERT_EQ(0, fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE));

	ASSERT_ERRNO(EBADF, map_file_at(self->fd, self->ioasid, RW_FIXED, -1, 0,
					SZ_4K, IOVA));
	ASSERT_ERRNO(EBADF, map_file_at(self->fd, self->ioasid, RW_FIXED, 1000,
					0, SZ_4K, IOVA));
	ASSERT_ERRNO(ENODEV, map_file_at(self->fd, self->ioasid, RW_FIXED,
					 pipefd[0], 0, SZ_4K, IOVA));
	ASSERT_ERRNO(ENODEV, map_file_at(self->fd, self->ioasid, RW_FIXED,
					 self->fd, 0, SZ_4K, IOVA));
	ASSERT_ERRNO(EACCES, map_file_at(self->fd, self->ioasid, RW_FIXED, ro, 0,
					 SZ_4K, IOVA));
	ASSERT_ERRNO(EACCES, map_file_at(self->fd, self->ioasid, R_FIXED, wo, 0,
					 SZ_4K, IOVA));
	ASSERT_ERRNO(EPERM, map_file_at(self->fd, self->ioasid, RW_FIXED, sealed,
					0, SZ_4K, IOVA));
	ASSERT_ERRNO(ENXIO, map_file_at(self->fd, self->ioasid, R_FIXED, self->mfd,
					FILE_SIZE, SZ_4K, IOVA));
	ASSERT_ERRNO(ENXIO, map_file_at(self->fd, self->ioasid, R_FIXED, self->mfd,
					SZ_4K, FILE_SIZE, IOVA));
	ASSERT_ERRNO(EINVAL, map_file_at(self->fd, self->ioasid, R_FIXED,
					 self->mfd, 100, SZ_4K, IOVA));
	ASSERT_ERRNO(EINVAL, map_file_at(self->fd, self->ioasid, R_FIXED,
					 self->mfd, 0, SZ_4K + 1, IOVA));
	ASSERT_ERRNO(EINVAL, map_file_at(self->fd, self->ioasid, R_FIXED,
					 self->mfd, 0, 0, IOVA));
	ASSERT_ERRNO(EOVERFLOW, map_file_at(self->fd, self->ioasid, R_FIXED,
					    self->mfd, -SZ_4K, 2 * SZ_4K, IOVA));
	ASSERT_ERRNO(EOVERFLOW, map_file_at(self->fd, self->ioasid, R_FIXED,
					    self->mfd, 1ULL << 63, SZ_4K, IOVA));
	ASSERT_ERRNO(ENOENT, map_file_at(self->fd, self->ioasid + 100, R_FIXED,
					 self->mfd, 0, SZ_4K, IOVA));
	ASSERT_EQ(self->base, charged_mm(self->fd));
	ASSERT_EQ(0, domain_info(self->fd, &self->dev).mock_domain.out_ptes);

	/* What may be done: read-only maps of a read-only or sealed file. */
	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, R_FIXED, ro, 0, SZ_4K,
				 IOVA));
	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, R_FIXED, sealed, 0,
				 SZ_4K, IOVA + SZ_4K));
	/* A taken IOVA is refused before the file is pinned. */
	ASSERT_ERRNO(EEXIST, map_file_at(self->fd, self->ioasid, R_FIXED,
					 self->mfd, 0, SZ_4K, IOVA));
	ASSERT_EQ(self->base + 2, charged_mm(self->fd));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, 2 * SZ_4K));
	ASSERT_EQ(self->base, charged_mm(self->fd));
	close(sealed);
	close(pipefd[0]);
	close(pipefd[1]);
	close(ro);
	close(wo);
}

/* Without IOASID_MAP_FILE the fd field must be 0; COPY takes no file. */
TEST_F(file, fd_field_needs_the_flag)
{
	IOASID_CMD(ioasid_map, cmd);
	IOASID_CMD(ioasid_copy, copy);
	char *buf = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	ASSERT_NE(MAP_FAILED, buf);
	cmd.flags = RW_FIXED;
	cmd.ioasid = self->ioasid;
	cmd.fd = self->mfd;
	cmd.user_va = (uintptr_t)buf;
	cmd.length = SZ_4K;
	cmd.iova = IOVA;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_MAP, &cmd));
	cmd.fd = 0;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_MAP, &cmd));
	copy.flags = IOASID_MAP_READ | IOASID_MAP_FILE;
	copy.dst_ioasid = self->ioasid;
	copy.src_ioasid = self->ioasid;
	copy.src_iova = IOVA;
	copy.length = SZ_4K;
	ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_COPY, &copy));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, SZ_4K));
	munmap(buf, SZ_4K);
}

/* The pins keep the device's pages when the file shrinks. */
TEST_F(file, truncate_keeps_the_mapping)
{
	uint64_t phys[FILE_PAGES];
	uint8_t byte = 0;

	ASSERT_TRUE(file_phys(self->fd, self->mfd, FILE_PAGES, phys));
	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, RW_FIXED, self->mfd, 0,
				 FILE_SIZE, IOVA));
	ASSERT_EQ(0, ftruncate(self->mfd, 0));
	ASSERT_EQ(0, ftruncate(self->mfd, FILE_SIZE));
	/* The file has new, zeroed pages; the device the old ones. */
	ASSERT_EQ(1, pread(self->mfd, &byte, 1, 5 * SZ_4K));
	ASSERT_EQ(0, byte);
	ASSERT_TRUE(ptes_are(self->fd, &self->dev, IOVA, phys, FILE_PAGES,
			     PROT_RW));
	ASSERT_EQ(self->base + FILE_PAGES, charged_mm(self->fd));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, FILE_SIZE));
	ASSERT_EQ(self->base, charged_mm(self->fd));
	/* A shrunk file is refused past its new end. */
	ASSERT_EQ(0, ftruncate(self->mfd, SZ_4K));
	ASSERT_ERRNO(ENXIO, map_file_at(self->fd, self->ioasid, R_FIXED,
					self->mfd, 0, 2 * SZ_4K, IOVA));
}

/* Pinned pages block a write seal; the seal can be added after unmap. */
TEST_F(file, write_seal_waits_for_unmap)
{
	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, R_FIXED, self->mfd, 0,
				 SZ_4K, IOVA));
	ASSERT_ERRNO(EBUSY, fcntl(self->mfd, F_ADD_SEALS, F_SEAL_WRITE));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, SZ_4K));
	ASSERT_EQ(0, fcntl(self->mfd, F_ADD_SEALS, F_SEAL_WRITE));
	ASSERT_ERRNO(EPERM, map_file_at(self->fd, self->ioasid, RW_FIXED,
					self->mfd, 0, SZ_4K, IOVA));
}

/* The mapping holds the file: either can be closed first. */
TEST_F(file, close_orders)
{
	uint64_t phys[4];
	int mfd = filled_memfd(4 * SZ_4K, 0);

	ASSERT_LE(0, mfd);
	ASSERT_TRUE(file_phys(self->fd, mfd, 4, phys));
	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, RW_FIXED, mfd, 0,
				 4 * SZ_4K, IOVA));
	close(mfd);
	ASSERT_TRUE(ptes_are(self->fd, &self->dev, IOVA, phys, 4, PROT_RW));
	ASSERT_EQ(self->base + 4, charged_mm(self->fd));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, 4 * SZ_4K));
	ASSERT_EQ(self->base, charged_mm(self->fd));

	/* The context closed first: its file goes with it, charge and all. */
	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, RW_FIXED, self->mfd, 0,
				 FILE_SIZE, IOVA));
	ASSERT_EQ(self->base + FILE_PAGES, charged_mm(self->fd));
	close(self->fd);
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(self->base, charged_mm(self->fd));
}

/* IOASID_COPY shares a file mapping's pins with a second IOASID. */
TEST_F(file, copy_of_a_file_mapping)
{
	IOASID_CMD(ioasid_copy, copy);
	uint64_t phys[FILE_PAGES];
	struct mock_dev dev2;
	unsigned int dst;

	ASSERT_TRUE(file_phys(self->fd, self->mfd, FILE_PAGES, phys));
	ASSERT_EQ(0, ioasid_alloc(self->fd, &dst));
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &dev2));
	ASSERT_EQ(0, attach(self->fd, &dev2, dst));
	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, RW_FIXED, self->mfd, 0,
				 FILE_SIZE, IOVA));
	copy.flags = RW_FIXED;
	copy.dst_ioasid = dst;
	copy.src_ioasid = self->ioasid;
	copy.src_iova = IOVA + 4 * SZ_4K;
	copy.dst_iova = 0x200000000ULL;
	copy.length = 8 * SZ_4K;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_COPY, &copy));
	ASSERT_TRUE(ptes_are(self->fd, &dev2, copy.dst_iova, phys + 4, 8,
			     PROT_RW));
	/* Pinned and charged once. */
	ASSERT_EQ(self->base + FILE_PAGES, charged_mm(self->fd));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, FILE_SIZE));
	ASSERT_TRUE(ptes_are(self->fd, &dev2, copy.dst_iova, phys + 4, 8,
			     PROT_RW));
	ASSERT_EQ(self->base + FILE_PAGES, charged_mm(self->fd));
	ASSERT_EQ(0, unmap(self->fd, dst, copy.dst_iova, 8 * SZ_4K));
	ASSERT_EQ(self->base, charged_mm(self->fd));
}

/* Past RLIMIT_MEMLOCK without CAP_IPC_LOCK: ENOMEM, nothing pinned. */
TEST_F(file, memlock_limit)
{
	struct rlimit rl = { .rlim_cur = 8 * SZ_4K, .rlim_max = RLIM_INFINITY };
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (!pid) {
		/* Becoming nobody drops CAP_IPC_LOCK; the file stays open. */
		if (setrlimit(RLIMIT_MEMLOCK, &rl) || setuid(65534))
			_exit(1);
		if (!map_file_at(self->fd, self->ioasid, R_FIXED, self->mfd, 0,
				 16 * SZ_4K, IOVA) || errno != ENOMEM)
			_exit(2);
		if (map_file_at(self->fd, self->ioasid, R_FIXED, self->mfd, 0,
				8 * SZ_4K, IOVA))
			_exit(3);
		_exit(unmap(self->fd, self->ioasid, IOVA, 8 * SZ_4K) ? 4 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, domain_info(self->fd, &self->dev).mock_domain.out_ptes);
}

/* Fault injection over a file map: each failure leaves nothing behind. */
TEST_F(file, fail_nth_map_file)
{
	unsigned int n;
	int rc;

	if (!fault_injection_setup())
		SKIP(return, "no fault injection");
	fail_nth_sweep(n, rc, map_file_at(self->fd, self->ioasid, RW_FIXED,
					  self->mfd, 0, FILE_SIZE, IOVA)) {
		if (!rc) {
			ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, FILE_SIZE));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_EQ(self->base, charged_mm(self->fd));
		ASSERT_EQ(0, domain_info(self->fd, &self->dev).mock_domain.out_ptes);
	}
	ASSERT_EQ(0, rc);
	ASSERT_LT(3, n);
	ASSERT_EQ(self->base + FILE_PAGES, charged_mm(self->fd));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, FILE_SIZE));
}

/*
 * A file map of huge pages that fails part way gives back one pin per
 * folio it pinned, as it took them.  It used to give back one per 4 KiB
 * page (512 per huge page) once a run was recorded, so the fault sweep
 * runs over huge pages in several physical runs, and every huge page
 * must end with no pin and back in the pool.
 */
TEST_F(file, hugetlb_failed_map_unpins_by_folio)
{
	static const int order[] = { 3, 1, 2, 0 };
	uint64_t phys[4], pins = 0;
	unsigned int n;
	uint8_t *view;
	int mfd, i, rc, runs = 1;

	if (!fault_injection_setup())
		SKIP(return, "no fault injection");
	ASSERT_TRUE(hugetlb_pool(8));
	mfd = memfd_create("huge", MFD_HUGETLB);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 4 * SZ_2M));
	view = mmap(NULL, 4 * SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	/* Out of order, so that the file's pages are not one physical run. */
	for (i = 0; i < 4; i++)
		view[order[i] * SZ_2M] = i + 1;
	for (i = 0; i < 4; i++) {
		phys[i] = page_phys(self->fd, view + i * SZ_2M, NULL);
		ASSERT_NE(0, phys[i]);
		runs += i && phys[i] != phys[i - 1] + SZ_2M;
	}
	ASSERT_LE(2, runs);

	fail_nth_sweep(n, rc, map_file_at(self->fd, self->ioasid, RW_FIXED,
					  mfd, 0, 4 * SZ_2M, IOVA)) {
		if (!rc) {
			ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA,
					   4 * SZ_2M));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		for (i = 0; i < 4; i++) {
			page_phys(self->fd, view + i * SZ_2M, &pins);
			ASSERT_EQ(0, pins);
		}
		ASSERT_EQ(self->base, charged_mm(self->fd));
	}
	ASSERT_EQ(0, rc);
	for (i = 0; i < 4; i++) {
		page_phys(self->fd, view + i * SZ_2M, &pins);
		ASSERT_EQ(1, pins);
	}
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, 4 * SZ_2M));
	munmap(view, 4 * SZ_2M);
	close(mfd);
	ASSERT_EQ(8, meminfo_count("HugePages_Free"));
	ASSERT_EQ(0, meminfo_count("HugePages_Rsvd"));
	ASSERT_TRUE(hugetlb_pool(0));
}

/*
 * Mapping a hole of a hugetlb file allocates a huge page for it, which
 * must be one nobody else has reserved: a process that reserved its huge
 * pages (a shared mapping) keeps them.  The map used to take a reserved
 * page, and the process that had reserved it died of SIGBUS touching it.
 */
TEST_F(file, hugetlb_hole_leaves_others_reservations)
{
	int ready[2], go[2], status, mfd;
	char byte = 0;
	pid_t pid;

	ASSERT_TRUE(hugetlb_pool(4));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uint8_t *mem = mmap(NULL, 4 * SZ_2M, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB,
				    -1, 0);

		if (mem == MAP_FAILED)
			_exit(1);
		/* All four reserved, three used. */
		mem[0] = 1;
		mem[SZ_2M] = 1;
		mem[2 * SZ_2M] = 1;
		if (write(ready[1], &byte, 1) != 1 || read(go[0], &byte, 1) != 1)
			_exit(2);
		mem[3 * SZ_2M] = 1;
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &byte, 1));
	ASSERT_EQ(1, meminfo_count("HugePages_Free"));
	ASSERT_EQ(1, meminfo_count("HugePages_Rsvd"));

	mfd = memfd_create("hole", MFD_HUGETLB);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, SZ_2M));
	/* The one free huge page is reserved: none for the hole. */
	ASSERT_ERRNO(ENOMEM, map_file_at(self->fd, self->ioasid, RW_FIXED, mfd,
					 0, SZ_2M, IOVA));
	ASSERT_EQ(self->base, charged_mm(self->fd));
	ASSERT_EQ(1, meminfo_count("HugePages_Rsvd"));
	ASSERT_EQ(1, write(go[1], &byte, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	/* With the process gone, there is a page for the hole. */
	ASSERT_EQ(0, map_file_at(self->fd, self->ioasid, RW_FIXED, mfd, 0,
				 SZ_2M, IOVA));
	ASSERT_EQ(3, meminfo_count("HugePages_Free"));
	ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA, SZ_2M));
	close(mfd);
	/* Every count back where it was: nothing reserved, all free. */
	ASSERT_EQ(4, meminfo_count("HugePages_Free"));
	ASSERT_EQ(0, meminfo_count("HugePages_Rsvd"));
	ASSERT_TRUE(hugetlb_pool(0));
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/*
 * A file truncated while its map pins it: the pages past the new end are
 * gone, which is ENXIO, as for a range past the end at the call.  The pin
 * used to pass on the EINVAL it got for them.
 */
struct truncator {
	int mfd;
	atomic_bool stop;
};

static void *truncate_loop(void *arg)
{
	struct truncator *t = arg;

	while (!atomic_load(&t->stop)) {
		if (ftruncate(t->mfd, 0) || ftruncate(t->mfd, FILE_SIZE))
			break;
	}
	return NULL;
}

TEST_F_TIMEOUT(file, truncation_while_mapping_is_enxio, 120)
{
	struct truncator t = { .mfd = self->mfd };
	int i, mapped = 0, enxio = 0;
	pthread_t thread;

	ASSERT_EQ(0, pthread_create(&thread, NULL, truncate_loop, &t));
	for (i = 0; i < 400; i++) {
		if (!map_file_at(self->fd, self->ioasid, R_FIXED, self->mfd, 0,
				 FILE_SIZE, IOVA)) {
			mapped++;
			ASSERT_EQ(0, unmap(self->fd, self->ioasid, IOVA,
					   FILE_SIZE));
			continue;
		}
		ASSERT_EQ(ENXIO, errno);
		enxio++;
	}
	atomic_store(&t.stop, true);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	TH_LOG("%d mapped, %d ENXIO", mapped, enxio);
	ASSERT_EQ(self->base, charged_mm(self->fd));
	ASSERT_EQ(0, domain_info(self->fd, &self->dev).mock_domain.out_ptes);
}

TEST_HARNESS_MAIN
