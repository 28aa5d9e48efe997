/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the selftests that drive the mock IOMMU driver of
 * CONFIG_IOASID_TEST kernels through IOASID_TEST.
 */
#ifndef __SELFTEST_IOASID_MOCK_H
#define __SELFTEST_IOASID_MOCK_H

#include <stdint.h>
#include <sys/mman.h>

#include "ioasid_test.h"
#include "../../../../drivers/iommu/ioasid/ioasid_test.h"

#define SZ_4K	0x1000UL
#define SZ_2M	0x200000UL
#define SZ_1G	0x40000000UL
#define PROT_RW	3

struct mock_dev {
	unsigned int mock_id;
	unsigned int dev_id;
};

struct mock_cfg {
	unsigned int iommu;
	unsigned int flags;
	uint64_t pgsize_bitmap;
	uint64_t aperture_last;
	uint64_t resv_start;
	uint64_t resv_length;
};

static const struct mock_cfg default_cfg = {
	.pgsize_bitmap = SZ_4K | SZ_2M | SZ_1G,
	.aperture_last = UINT64_MAX,
};

static inline int test_op(int fd, struct ioasid_test *cmd, unsigned int op)
{
	cmd->size = sizeof(*cmd);
	cmd->op = op;
	return ioctl(fd, IOASID_TEST, cmd);
}

static inline int mock_add(int fd, const struct mock_cfg *cfg, struct mock_dev *md)
{
	struct ioasid_test cmd = {};
	int rc;

	cmd.mock_device.iommu = cfg->iommu;
	cmd.mock_device.flags = cfg->flags;
	cmd.mock_device.pgsize_bitmap = cfg->pgsize_bitmap;
	cmd.mock_device.aperture_last = cfg->aperture_last;
	cmd.mock_device.resv_start = cfg->resv_start;
	cmd.mock_device.resv_length = cfg->resv_length;
	rc = test_op(fd, &cmd, IOASID_TEST_OP_MOCK_DEVICE);
	md->mock_id = cmd.mock_device.out_mock_id;
	md->dev_id = cmd.mock_device.out_dev_id;
	return rc;
}

static inline int attach(int fd, const struct mock_dev *md, unsigned int ioasid)
{
	struct ioasid_test cmd = {};

	cmd.attach.dev_id = md->dev_id;
	cmd.attach.ioasid = ioasid;
	return test_op(fd, &cmd, IOASID_TEST_OP_ATTACH);
}

static inline int replace(int fd, const struct mock_dev *md,
			  unsigned int ioasid)
{
	struct ioasid_test cmd = {};

	cmd.attach.dev_id = md->dev_id;
	cmd.attach.ioasid = ioasid;
	return test_op(fd, &cmd, IOASID_TEST_OP_REPLACE);
}

static inline int detach(int fd, const struct mock_dev *md)
{
	struct ioasid_test cmd = {};

	cmd.attach.dev_id = md->dev_id;
	return test_op(fd, &cmd, IOASID_TEST_OP_DETACH);
}

/* The IOPTE for @iova in @md's domain; -1 with errno if there is none. */
static inline int read_pte(int fd, const struct mock_dev *md, uint64_t iova,
			   struct ioasid_test *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->mock_pte.dev_id = md->dev_id;
	cmd->mock_pte.iova = iova;
	return test_op(fd, cmd, IOASID_TEST_OP_MOCK_PTE);
}

/* Pages charged to the caller's mm (pinned_vm), or -1. */
static inline long long charged_mm(int fd)
{
	struct ioasid_test cmd = {};

	if (test_op(fd, &cmd, IOASID_TEST_OP_LOCKED_VM))
		return -1;
	return cmd.locked_vm.out_mm;
}

static inline struct ioasid_test domain_info(int fd, const struct mock_dev *md)
{
	struct ioasid_test cmd = {};

	cmd.mock_domain.dev_id = md->dev_id;
	if (test_op(fd, &cmd, IOASID_TEST_OP_MOCK_DOMAIN))
		cmd.mock_domain.out_domain = 0;
	return cmd;
}

static inline uint64_t page_phys(int fd, void *va, uint64_t *pins)
{
	struct ioasid_test cmd = {};

	cmd.page_pins.user_va = (uintptr_t)va;
	if (test_op(fd, &cmd, IOASID_TEST_OP_PAGE_PINS))
		return 0;
	if (pins)
		*pins = cmd.page_pins.out_pins;
	return cmd.page_pins.out_phys;
}

/*
 * The 2 MiB-aligned part of the private anonymous mapping @raw, made a
 * transparent huge page and written; @raw must be 2 MiB longer than what
 * the caller needs from the huge page on.  NULL if the advice is refused.
 */
static inline char *thp_in(char *raw)
{
	char *buf = (char *)(((uintptr_t)raw + SZ_2M - 1) & ~(SZ_2M - 1));

	if (madvise(buf, SZ_2M, MADV_HUGEPAGE))
		return NULL;
	memset(buf, 1, SZ_2M);
	return buf;
}

static inline int map_at(int fd, unsigned int ioasid, void *va, size_t len,
			 uint64_t iova)
{
	IOASID_CMD(ioasid_map, cmd);

	cmd.flags = IOASID_MAP_READ | IOASID_MAP_WRITE | IOASID_MAP_FIXED_IOVA;
	cmd.ioasid = ioasid;
	cmd.user_va = (uintptr_t)va;
	cmd.length = len;
	cmd.iova = iova;
	return ioctl(fd, IOASID_MAP, &cmd);
}

/* The bytes an unmap of [@iova, @iova + @length) took, or -1. */
static inline long long unmapped(int fd, unsigned int ioasid, uint64_t iova,
				 uint64_t length)
{
	IOASID_CMD(ioasid_unmap, cmd);

	cmd.ioasid = ioasid;
	cmd.iova = iova;
	cmd.length = length;
	if (ioctl(fd, IOASID_UNMAP, &cmd))
		return -1;
	return cmd.length;
}

static inline int unmap_all(int fd, unsigned int ioasid)
{
	IOASID_CMD(ioasid_unmap, cmd);

	cmd.flags = IOASID_UNMAP_ALL;
	cmd.ioasid = ioasid;
	return ioctl(fd, IOASID_UNMAP, &cmd);
}

static inline int set_tracking(int fd, unsigned int ioasid, bool on)
{
	IOASID_CMD(ioasid_dirty_tracking, cmd);

	cmd.flags = on ? IOASID_DIRTY_TRACKING_ENABLE : 0;
	cmd.ioasid = ioasid;
	return ioctl(fd, IOASID_DIRTY_TRACKING, &cmd);
}

static inline int read_bitmap(int fd, unsigned int ioasid, uint64_t iova,
			      uint64_t length, uint64_t page_size,
			      uint64_t *bitmap, uint32_t flags)
{
	IOASID_CMD(ioasid_dirty_bitmap, cmd);

	cmd.flags = flags;
	cmd.ioasid = ioasid;
	cmd.iova = iova;
	cmd.length = length;
	cmd.page_size = page_size;
	cmd.data = (uintptr_t)bitmap;
	return ioctl(fd, IOASID_DIRTY_BITMAP, &cmd);
}

/* IOPTEs a device writing all over [@iova, @iova + @length) dirtied. */
static inline long long dev_write(int fd, const struct mock_dev *md,
				  uint64_t iova, uint64_t length)
{
	struct ioasid_test cmd = {};

	cmd.mock_write.dev_id = md->dev_id;
	cmd.mock_write.iova = iova;
	cmd.mock_write.length = length;
	if (test_op(fd, &cmd, IOASID_TEST_OP_MOCK_WRITE))
		return -1;
	return cmd.mock_write.out_ptes;
}

static inline int unmap_dirty(int fd, unsigned int ioasid, uint64_t iova,
			      uint64_t *length, uint64_t page_size,
			      uint64_t *bitmap)
{
	IOASID_CMD(ioasid_unmap, cmd);
	int rc;

	cmd.flags = IOASID_UNMAP_DIRTY_BITMAP;
	cmd.ioasid = ioasid;
	cmd.iova = iova;
	cmd.length = *length;
	cmd.page_size = page_size;
	cmd.data = (uintptr_t)bitmap;
	rc = ioctl(fd, IOASID_UNMAP, &cmd);
	*length = cmd.length;
	return rc;
}

/* A mock emulated device: a driver with an access on the context. */
struct mock_access {
	unsigned int id;
	unsigned int access_id;
	uint64_t unmaps;	/* its unmap callback's calls, at the last op */
	uint64_t pinned;	/* pages it held pinned, at the last op */
	uint64_t phys;		/* the first page its last pin got */
};

static inline int access_add(int fd, unsigned int flags, struct mock_access *ma)
{
	struct ioasid_test cmd = {};
	int rc;

	cmd.access.flags = flags;
	rc = test_op(fd, &cmd, IOASID_TEST_OP_ACCESS_CREATE);
	ma->id = cmd.access.id;
	ma->access_id = cmd.access.out_access_id;
	ma->unmaps = 0;
	ma->pinned = 0;
	return rc;
}

/* One IOASID_TEST_OP_ACCESS_* op; the device's counts are kept in @ma. */
static inline int access_op(int fd, struct mock_access *ma, unsigned int op,
			    unsigned int ioasid, uint64_t iova,
			    uint64_t length, unsigned int flags, void *buf)
{
	struct ioasid_test cmd = {};
	int rc, err;

	cmd.access.id = ma->id;
	cmd.access.ioasid = ioasid;
	cmd.access.iova = iova;
	cmd.access.length = length;
	cmd.access.flags = flags;
	cmd.access.uptr = (uintptr_t)buf;
	rc = test_op(fd, &cmd, op);
	err = errno;
	ma->unmaps = cmd.access.out_unmaps;
	ma->pinned = cmd.access.out_pinned;
	ma->phys = cmd.access.out_phys;
	errno = err;
	return rc;
}

static inline int access_attach(int fd, struct mock_access *ma,
				unsigned int ioasid)
{
	return access_op(fd, ma, IOASID_TEST_OP_ACCESS_ATTACH, ioasid, 0, 0, 0,
			 NULL);
}

static inline int access_replace(int fd, struct mock_access *ma,
				 unsigned int ioasid)
{
	return access_op(fd, ma, IOASID_TEST_OP_ACCESS_REPLACE, ioasid, 0, 0,
			 0, NULL);
}

static inline int access_detach(int fd, struct mock_access *ma)
{
	return access_op(fd, ma, IOASID_TEST_OP_ACCESS_DETACH, 0, 0, 0, 0,
			 NULL);
}

static inline int access_pin(int fd, struct mock_access *ma, uint64_t iova,
			     uint64_t length, unsigned int flags)
{
	return access_op(fd, ma, IOASID_TEST_OP_ACCESS_PIN, 0, iova, length,
			 flags, NULL);
}

static inline int access_unpin(int fd, struct mock_access *ma, uint64_t iova,
			       uint64_t length)
{
	return access_op(fd, ma, IOASID_TEST_OP_ACCESS_UNPIN, 0, iova, length,
			 0, NULL);
}

static inline int access_rw(int fd, struct mock_access *ma, uint64_t iova,
			    void *buf, uint64_t length, unsigned int flags)
{
	return access_op(fd, ma, IOASID_TEST_OP_ACCESS_RW, 0, iova, length,
			 flags, buf);
}

#endif /* __SELFTEST_IOASID_MOCK_H */
