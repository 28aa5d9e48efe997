// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ioasid as a VFIO container.  VFIO_GROUP_SET_CONTAINER takes an
 * ioasid fd, which then answers the container ioctls with the semantics
 * of VFIO type1.  Every test runs twice, on edu devices bound to vfio-pci:
 * with /dev/vfio/vfio, VFIO's own type1 container, which checks the
 * expectations against the real thing, and with /dev/ioasid.  Where the
 * two answer differently by design, the test asserts each backend's own
 * answer and says why.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "ioasid_test.h"

#define PAGE		4096UL
#define RD		VFIO_DMA_MAP_FLAG_READ
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA_SRC	0x100000UL
#define IOVA_DST	0x200000UL
#define IOVA_DST2	0x300000UL
#define IOVA_FREE	0x900000UL
/* Neither a flag of the map nor of the unmap call. */
#define BAD_FLAG	0x8U
/* vfio_iommu_type1's default dma_entry_limit. */
#define TYPE1_DMA_LIMIT	65535
#define INFO_SIZE	4096

struct edu_slot {
	char bdf[32];
	int group;
};

static bool sysfs_read(const char *dir, const char *name, char *buf,
		       size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return true;
}

/* The last component of the link @dir/@name. */
static const char *link_name(const char *dir, const char *name, char *buf,
			     size_t len)
{
	char path[256];
	const char *slash;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	n = readlink(path, buf, len - 1);
	if (n <= 0)
		return "";
	buf[n] = 0;
	slash = strrchr(buf, '/');
	return slash ? slash + 1 : buf;
}

/* Whether PCI device @bdf is an edu bound to vfio-pci, and its group. */
static bool vfio_edu(const char *bdf, int *group)
{
	char dir[256], id[16], link[256];

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", bdf);
	if (!sysfs_read(dir, "vendor", id, sizeof(id)) ||
	    strtoul(id, NULL, 16) != 0x1234 ||
	    !sysfs_read(dir, "device", id, sizeof(id)) ||
	    strtoul(id, NULL, 16) != 0x11e8 ||
	    strcmp(link_name(dir, "driver", link, sizeof(link)), "vfio-pci"))
		return false;
	*group = atoi(link_name(dir, "iommu_group", link, sizeof(link)));
	return true;
}

/* The edu devices bound to vfio-pci, in BDF order: how many, up to @max. */
static int find_edus(struct edu_slot *slots, int max)
{
	struct dirent **names;
	int i, n, found = 0;

	n = scandir("/sys/bus/pci/devices", &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		const char *bdf = names[i]->d_name;

		if (bdf[0] != '.' && found < max &&
		    strlen(bdf) < sizeof(slots->bdf) &&
		    vfio_edu(bdf, &slots[found].group)) {
			snprintf(slots[found].bdf, sizeof(slots->bdf), "%s", bdf);
			found++;
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return found;
}

static int open_group(int group)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	return open(path, O_RDWR | O_CLOEXEC);
}

static int set_container(int group, int container)
{
	return ioctl(group, VFIO_GROUP_SET_CONTAINER, &container);
}

static int unset_container(int group)
{
	return ioctl(group, VFIO_GROUP_UNSET_CONTAINER);
}

static unsigned int group_flags(int group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status))
		return ~0U;
	return status.flags;
}

static int set_iommu(int container, unsigned long type)
{
	return ioctl(container, VFIO_SET_IOMMU, type);
}

static int extension(int container, unsigned long ext)
{
	return ioctl(container, VFIO_CHECK_EXTENSION, ext);
}

static int get_device(int group, const char *bdf)
{
	return ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
}

/* The device file from the group, bus mastering on, BAR0 found. */
static int open_edu(struct edu *e, int group, const char *bdf)
{
	e->fd = get_device(group, bdf);
	if (e->fd < 0)
		return -1;
	return edu_enable(e);
}

static int dma_map(int fd, void *va, uint64_t iova, uint64_t size,
		   uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

static int dma_unmap(int fd, uint64_t iova, uint64_t size, uint32_t flags,
		     uint64_t *done)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};
	int rc;

	rc = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
	if (done)
		*done = unmap.size;
	return rc;
}

/* How much an unmap of [@iova, @iova + @size) took away, or -1. */
static int64_t unmapped(int fd, uint64_t iova, uint64_t size)
{
	uint64_t done;

	return dma_unmap(fd, iova, size, 0, &done) ? -1 : (int64_t)done;
}

static int64_t unmapped_all(int fd)
{
	uint64_t done;

	return dma_unmap(fd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done) ?
		-1 : (int64_t)done;
}

/* [@iova, @iova + @size) is free: it maps, and unmapping it takes it all. */
static bool range_free(int fd, void *va, uint64_t iova, uint64_t size)
{
	return !dma_map(fd, va, iova, size, RW) &&
	       unmapped(fd, iova, size) == (int64_t)size;
}

#define KB(bytes) ((long)((bytes) / 1024))

union iommu_info {
	struct vfio_iommu_type1_info info;
	uint8_t raw[INFO_SIZE];
};

static int get_info(int fd, union iommu_info *buf, uint32_t argsz)
{
	buf->info.argsz = argsz;
	return ioctl(fd, VFIO_IOMMU_GET_INFO, buf);
}

/*
 * The capability @id in a GET_INFO answer of @argsz bytes, or NULL.  The
 * chain is checked on the way: every header lies after the fixed part and
 * inside the answer, each after the one before.
 */
static struct vfio_info_cap_header *
find_cap(struct __test_metadata *_metadata, union iommu_info *buf,
	 uint32_t argsz, uint16_t id)
{
	struct vfio_info_cap_header *hdr;
	uint32_t off = buf->info.cap_offset, prev = 0;

	ASSERT_TRUE(buf->info.flags & VFIO_IOMMU_INFO_CAPS);
	while (off) {
		ASSERT_LE(sizeof(buf->info), off);
		ASSERT_LE(off + sizeof(*hdr), argsz);
		ASSERT_LT(prev, off);
		hdr = (void *)&buf->raw[off];
		if (hdr->id == id)
			return hdr;
		prev = off;
		off = hdr->next;
	}
	return NULL;
}

/* The whole GET_INFO answer: ask with the argsz the kernel asks for. */
static uint32_t full_info(struct __test_metadata *_metadata, int fd,
			  union iommu_info *buf)
{
	uint32_t argsz;

	memset(buf, 0, sizeof(*buf));
	ASSERT_EQ(0, get_info(fd, buf, sizeof(buf->info)));
	argsz = buf->info.argsz;
	ASSERT_LT(sizeof(buf->info), argsz);
	ASSERT_GE(INFO_SIZE, argsz);
	memset(buf, 0, sizeof(*buf));
	ASSERT_EQ(0, get_info(fd, buf, argsz));
	ASSERT_EQ(argsz, buf->info.argsz);
	ASSERT_NE(0, buf->info.cap_offset);
	return argsz;
}

/* The DMA_AVAIL capability's count. */
static uint32_t dma_avail(struct __test_metadata *_metadata, int fd)
{
	struct vfio_iommu_type1_info_dma_avail *cap;
	union iommu_info buf;
	uint32_t argsz;

	argsz = full_info(_metadata, fd, &buf);
	cap = (void *)find_cap(_metadata, &buf, argsz,
			       VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	ASSERT_NE(NULL, cap);
	return cap->avail;
}

/*
 * type1 has room for 65535 mappings and counts them down: @type1 is what
 * it has left.  ioasid has no such limit and says so with a count above
 * it, not bound to drop by one a mapping.
 */
static void check_avail(struct __test_metadata *_metadata, bool ioasid,
			uint32_t avail, uint32_t type1)
{
	if (ioasid) {
		ASSERT_LT(TYPE1_DMA_LIMIT, avail);
		return;
	}
	ASSERT_EQ(type1, avail);
}

/* A pattern unlike the last test's, so that stale edu data never passes. */
static uint8_t fresh_pattern(void)
{
	return 0x10 + getpid() % 0x60;
}

FIXTURE(compat) {
	struct edu_slot edu[2];
	int nr_edu;
	int container, group;
	struct edu dev;
	uint8_t *buf;		/* 16 pages: src, dst, dst2, the rest spare */
	uint8_t *src, *dst, *dst2;
	uint8_t *ram;		/* the QEMU tests' "guest RAM" */
	uint8_t pattern;
	long vmlck;
};

FIXTURE_VARIANT(compat) {
	const char *path;
	bool ioasid;
};

FIXTURE_VARIANT_ADD(compat, type1) {
	.path = "/dev/vfio/vfio",
};

FIXTURE_VARIANT_ADD(compat, ioasid) {
	.path = "/dev/ioasid",
	.ioasid = true,
};

/* The fixture's types, for helpers (checkpatch misreads "FIXTURE_DATA(x) *"). */
#define COMPAT_DATA FIXTURE_DATA(compat)
#define COMPAT_VARIANT FIXTURE_VARIANT(compat)

FIXTURE_SETUP(compat)
{
	self->container = -1;
	self->group = -1;
	self->dev.fd = -1;
	self->nr_edu = find_edus(self->edu, 2);
	if (!self->nr_edu)
		SKIP(return, "no edu device bound to vfio-pci");
	self->container = open(variant->path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->container);
	self->group = open_group(self->edu[0].group);
	ASSERT_LE(0, self->group);
	self->buf = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->src = self->buf;
	self->dst = self->buf + PAGE;
	self->dst2 = self->buf + 2 * PAGE;
	self->pattern = fresh_pattern();
	memset(self->src, self->pattern, PAGE);
	memset(self->dst, 0xaa, PAGE);
	memset(self->dst2, 0xaa, PAGE);
	self->vmlck = vm_lck_kb();
	ASSERT_LE(0, self->vmlck);
}

FIXTURE_TEARDOWN(compat)
{
	if (self->dev.fd >= 0)
		close(self->dev.fd);
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
}

/* Container set, IOMMU of @type set, the first edu device open. */
static void ready(struct __test_metadata *_metadata,
		  COMPAT_DATA *self, unsigned long type)
{
	ASSERT_EQ(0, set_container(self->group, self->container));
	ASSERT_EQ(0, set_iommu(self->container, type));
	ASSERT_EQ(0, open_edu(&self->dev, self->group, self->edu[0].bdf));
	ASSERT_EQ(0x010000ed, reg_read(&self->dev, EDU_ID));
}

/* edu reads the source page at @src and writes it at @dst. */
static void copy_via(struct __test_metadata *_metadata, struct edu *e,
		     uint64_t src, uint64_t dst)
{
	ASSERT_TRUE(ram_to_dev(e, src));
	ASSERT_TRUE(dev_to_ram(e, dst));
}

TEST_F(compat, api_version)
{
	ASSERT_EQ(VFIO_API_VERSION, ioctl(self->container, VFIO_GET_API_VERSION));
	ASSERT_EQ(0, set_container(self->group, self->container));
	ASSERT_EQ(VFIO_API_VERSION, ioctl(self->container, VFIO_GET_API_VERSION));
	ASSERT_EQ(0, set_iommu(self->container, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(VFIO_API_VERSION, ioctl(self->container, VFIO_GET_API_VERSION));
	ASSERT_EQ(0, open_edu(&self->dev, self->group, self->edu[0].bdf));
	ASSERT_EQ(VFIO_API_VERSION, ioctl(self->container, VFIO_GET_API_VERSION));
}

/*
 * What VFIO_CHECK_EXTENSION answers, but for VFIO_DMA_CC_IOMMU: both
 * type1 flavours and unmap-all from both backends, and VFIO_UPDATE_VADDR
 * once an IOMMU is set (before that there is nothing to update, and both
 * answer 0).  type1 also offers the nesting type, which ioasid does not
 * implement.
 */
static const struct {
	unsigned long ext;
	int type1_before, type1_after, ioasid_before, ioasid_after;
} extensions[] = {
	{ VFIO_TYPE1_IOMMU, 1, 1, 1, 1 },
	{ VFIO_TYPE1v2_IOMMU, 1, 1, 1, 1 },
	{ VFIO_UNMAP_ALL, 1, 1, 1, 1 },
	{ VFIO_UPDATE_VADDR, 0, 1, 0, 1 },
	{ VFIO_TYPE1_NESTING_IOMMU, 1, 1, 0, 0 },
	{ VFIO_SPAPR_TCE_IOMMU, 0, 0, 0, 0 },
	{ VFIO_NOIOMMU_IOMMU, 0, 0, 0, 0 },
	{ 12345, 0, 0, 0, 0 },
};

static void check_extensions(struct __test_metadata *_metadata, int fd,
			     bool ioasid, bool after)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(extensions); i++) {
		int want = ioasid ? (after ? extensions[i].ioasid_after :
				     extensions[i].ioasid_before) :
			   after ? extensions[i].type1_after :
			   extensions[i].type1_before;
		int got = extension(fd, extensions[i].ext);

		if (got != want)
			TH_LOG("extension %lu: %d, not %d",
			       extensions[i].ext, got, want);
		ASSERT_EQ(want, got);
	}
}

/* Before VFIO_SET_IOMMU, with no group and with one: no coherency yet. */
TEST_F(compat, extensions_before_set_iommu)
{
	check_extensions(_metadata, self->container, variant->ioasid, false);
	ASSERT_EQ(0, extension(self->container, VFIO_DMA_CC_IOMMU));
	ASSERT_EQ(0, set_container(self->group, self->container));
	check_extensions(_metadata, self->container, variant->ioasid, false);
	ASSERT_EQ(0, extension(self->container, VFIO_DMA_CC_IOMMU));
}

/*
 * VFIO_DMA_CC_IOMMU after VFIO_SET_IOMMU: 1 iff every IOMMU domain in use
 * blocks no-snoop DMA, which VT-d does with snoop control.  type1 makes
 * its domain at VFIO_SET_IOMMU, ioasid only when the device is opened:
 * until then ioasid has no domain that could let no-snoop through and
 * answers 1, while type1 already answers for its domain.  Once the device
 * is open both answer for the same VT-d domain.
 */
TEST_F(compat, extensions_after_set_iommu)
{
	int sc = iommu_kind().blocks_nosnoop;

	ASSERT_LE(0, sc);
	TH_LOG("%s blocks no-snoop: %s", iommu_kind().name, sc ? "yes" : "no");
	ASSERT_EQ(0, set_container(self->group, self->container));
	ASSERT_EQ(0, set_iommu(self->container, VFIO_TYPE1v2_IOMMU));
	check_extensions(_metadata, self->container, variant->ioasid, true);
	ASSERT_EQ(variant->ioasid ? 1 : sc,
		  extension(self->container, VFIO_DMA_CC_IOMMU));
	ASSERT_EQ(0, open_edu(&self->dev, self->group, self->edu[0].bdf));
	check_extensions(_metadata, self->container, variant->ioasid, true);
	ASSERT_EQ(sc, extension(self->container, VFIO_DMA_CC_IOMMU));
}

TEST_F(compat, set_iommu)
{
	union iommu_info buf;

	/* Only a group gives the container the right to an IOMMU. */
	ASSERT_ERRNO(EINVAL, set_iommu(self->container, VFIO_TYPE1v2_IOMMU));
	ASSERT_ERRNO(EINVAL, set_iommu(self->container, VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, set_container(self->group, self->container));
	/* A type no IOMMU driver offers. */
	ASSERT_ERRNO(ENODEV, set_iommu(self->container, 12345));
	ASSERT_ERRNO(ENODEV, set_iommu(self->container, VFIO_SPAPR_TCE_IOMMU));
	ASSERT_ERRNO(ENODEV, set_iommu(self->container, VFIO_NOIOMMU_IOMMU));
	/*
	 * type1 offers nesting, then fails to attach the group to a VT-d
	 * domain with nesting enabled: EINVAL.  ioasid does not know the
	 * type at all: ENODEV.
	 */
	ASSERT_ERRNO(variant->ioasid ? ENODEV : EINVAL,
		     set_iommu(self->container, VFIO_TYPE1_NESTING_IOMMU));
	/* None of that set anything. */
	ASSERT_ERRNO(EINVAL, get_info(self->container, &buf, sizeof(buf)));
	ASSERT_ERRNO(EINVAL, get_device(self->group, self->edu[0].bdf));

	ASSERT_EQ(0, set_iommu(self->container, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, get_info(self->container, &buf, sizeof(buf)));
	/* Once set, it cannot be set again, to any type. */
	ASSERT_ERRNO(EINVAL, set_iommu(self->container, VFIO_TYPE1v2_IOMMU));
	ASSERT_ERRNO(EINVAL, set_iommu(self->container, VFIO_TYPE1_IOMMU));
	ASSERT_ERRNO(EINVAL, set_iommu(self->container, 12345));
}

/*
 * type1's container hands the ioctls it does not know itself to its IOMMU
 * driver, and has none before VFIO_SET_IOMMU: EINVAL.  No device can be
 * opened before either.
 */
TEST_F(compat, no_iommu_yet)
{
	union iommu_info buf;
	int round;

	for (round = 0; round < 2; round++) {
		TH_LOG("%s", round ? "group set" : "no group");
		ASSERT_ERRNO(EINVAL, get_info(self->container, &buf, sizeof(buf)));
		ASSERT_ERRNO(EINVAL, dma_map(self->container, self->src,
					     IOVA_SRC, PAGE, RW));
		ASSERT_ERRNO(EINVAL, dma_unmap(self->container, IOVA_SRC, PAGE,
					       0, NULL));
		ASSERT_ERRNO(EINVAL, get_device(self->group, self->edu[0].bdf));
		if (!round)
			ASSERT_EQ(0, set_container(self->group, self->container));
	}
	/* With an IOMMU, an ioctl of neither backend (sPAPR's) is not theirs. */
	ASSERT_EQ(0, set_iommu(self->container, VFIO_TYPE1v2_IOMMU));
	ASSERT_ERRNO(ENOTTY, ioctl(self->container, VFIO_IOMMU_ENABLE));
}

TEST_F(compat, group_status)
{
	int other, null_fd, bad = -1;

	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(self->group));
	ASSERT_ERRNO(EINVAL, unset_container(self->group));
	ASSERT_ERRNO(EBADF, ioctl(self->group, VFIO_GROUP_SET_CONTAINER, &bad));
	/* A file that is no container. */
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, null_fd);
	ASSERT_ERRNO(EBADFD, set_container(self->group, null_fd));
	close(null_fd);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(self->group));

	ASSERT_EQ(0, set_container(self->group, self->container));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(self->group));
	/* One container per group, the same one again included. */
	ASSERT_ERRNO(EINVAL, set_container(self->group, self->container));
	other = open(variant->path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	ASSERT_ERRNO(EINVAL, set_container(self->group, other));
	close(other);

	ASSERT_EQ(0, unset_container(self->group));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(self->group));
	ASSERT_ERRNO(EINVAL, unset_container(self->group));
}

TEST_F(compat, get_info)
{
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	struct vfio_iommu_type1_info_cap_migration *mig;
	struct vfio_iommu_type1_info_dma_avail *avail;
	static const uint32_t small[] = {
		offsetof(struct vfio_iommu_type1_info, cap_offset),
		offsetof(struct vfio_iommu_type1_info, cap_offset) + 4,
		sizeof(struct vfio_iommu_type1_info),
	};
	union iommu_info buf;
	uint64_t pgsizes;
	uint32_t argsz, i;

	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	argsz = full_info(_metadata, self->container, &buf);
	ASSERT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS,
		  buf.info.flags);
	pgsizes = buf.info.iova_pgsizes;
	TH_LOG("argsz %u, page sizes 0x%llx", argsz, (unsigned long long)pgsizes);
	/* The CPU page is the smallest: vaddr and iova align to it. */
	ASSERT_EQ(PAGE, pgsizes & -pgsizes);

	ranges = (void *)find_cap(_metadata, &buf, argsz,
				  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	ASSERT_NE(NULL, ranges);
	ASSERT_LE(1, ranges->nr_iovas);
	ASSERT_LE((uint8_t *)&ranges->iova_ranges[ranges->nr_iovas] - buf.raw,
		  argsz);
	for (i = 0; i < ranges->nr_iovas; i++) {
		struct vfio_iova_range *r = &ranges->iova_ranges[i];

		TH_LOG("IOVA range 0x%llx-0x%llx", (unsigned long long)r->start,
		       (unsigned long long)r->end);
		ASSERT_LT(r->start, r->end);
		if (i)
			ASSERT_LT(r[-1].end, r->start);
	}
	/* Where the other tests map. */
	ASSERT_LE(ranges->iova_ranges[0].start, IOVA_SRC);
	ASSERT_LT(0x40000000, ranges->iova_ranges[0].end);

	avail = (void *)find_cap(_metadata, &buf, argsz,
				 VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	ASSERT_NE(NULL, avail);
	check_avail(_metadata, variant->ioasid, avail->avail, TYPE1_DMA_LIMIT);

	/* Both track dirty pages for migration, in CPU pages. */
	mig = (void *)find_cap(_metadata, &buf, argsz,
			       VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
	ASSERT_NE(NULL, mig);
	ASSERT_EQ(PAGE, mig->pgsize_bitmap);
	TH_LOG("largest unmap bitmap %llu bytes",
	       (unsigned long long)mig->max_dirty_bitmap_size);
	ASSERT_LE(1 << 20, mig->max_dirty_bitmap_size);

	/*
	 * Room for the fixed part but not the capabilities: success, the
	 * size they need in argsz, no capability offset, and nothing
	 * written past argsz.
	 */
	for (i = 0; i < ARRAY_SIZE(small); i++) {
		size_t b;

		TH_LOG("argsz %u", small[i]);
		memset(&buf, 0xff, sizeof(buf));
		ASSERT_EQ(0, get_info(self->container, &buf, small[i]));
		ASSERT_EQ(argsz, buf.info.argsz);
		ASSERT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS,
			  buf.info.flags);
		ASSERT_EQ(pgsizes, buf.info.iova_pgsizes);
		if (small[i] > offsetof(struct vfio_iommu_type1_info, cap_offset))
			ASSERT_EQ(0, buf.info.cap_offset);
		for (b = small[i]; b < 64; b++)
			ASSERT_EQ(0xff, buf.raw[b]);
	}
	/* One byte short of the capabilities is the same. */
	memset(&buf, 0, sizeof(buf));
	ASSERT_EQ(0, get_info(self->container, &buf, argsz - 1));
	ASSERT_EQ(argsz, buf.info.argsz);
	ASSERT_EQ(0, buf.info.cap_offset);
	/* Below the fixed part up to the page sizes: type1's EINVAL. */
	ASSERT_ERRNO(EINVAL, get_info(self->container, &buf, small[0] - 1));
	ASSERT_ERRNO(EINVAL, get_info(self->container, &buf, 0));
}

/*
 * QEMU's GET_INFO comes before any device is open: the answer already
 * has the page sizes, the IOVA ranges and the mapping budget.
 */
TEST_F(compat, get_info_before_device)
{
	union iommu_info buf;
	uint32_t argsz;

	ASSERT_EQ(0, set_container(self->group, self->container));
	ASSERT_EQ(0, set_iommu(self->container, VFIO_TYPE1v2_IOMMU));
	argsz = full_info(_metadata, self->container, &buf);
	ASSERT_TRUE(buf.info.flags & VFIO_IOMMU_INFO_PGSIZES);
	ASSERT_EQ(PAGE, buf.info.iova_pgsizes & -buf.info.iova_pgsizes);
	ASSERT_NE(NULL, find_cap(_metadata, &buf, argsz,
				 VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE));
	ASSERT_NE(NULL, find_cap(_metadata, &buf, argsz,
				 VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL));
}

/* The mapping budget, before, with three mappings and after. */
TEST_F(compat, dma_avail)
{
	int c = self->container, i;

	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	check_avail(_metadata, variant->ioasid, dma_avail(_metadata, c),
		    TYPE1_DMA_LIMIT);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, dma_map(c, self->buf + i * PAGE,
				     IOVA_SRC + i * PAGE, PAGE, RW));
	check_avail(_metadata, variant->ioasid, dma_avail(_metadata, c),
		    TYPE1_DMA_LIMIT - 3);
	ASSERT_EQ(3 * PAGE, unmapped(c, IOVA_SRC, 3 * PAGE));
	check_avail(_metadata, variant->ioasid, dma_avail(_metadata, c),
		    TYPE1_DMA_LIMIT);
}

/*
 * One 4 KiB page mapped at 65536 IOVAs: type1 refuses the 65536th with
 * ENOSPC, its budget spent; ioasid takes it.
 */
#define MANY		65536
#define MANY_BASE	0x10000000UL

TEST_F_TIMEOUT(compat, many_mappings, 300)
{
	struct timespec t0, t1;
	unsigned int i;
	int rc = 0, err = 0;

	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < MANY && !rc; i++)
		rc = dma_map(self->container, self->src, MANY_BASE + i * PAGE,
			     PAGE, RW);
	if (rc)
		err = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("%u maps in %.2f s", i, t1.tv_sec - t0.tv_sec +
	       (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (variant->ioasid) {
		ASSERT_EQ(0, rc);
		ASSERT_EQ(MANY, i);
		check_avail(_metadata, true,
			    dma_avail(_metadata, self->container), 0);
	} else {
		ASSERT_EQ(-1, rc);
		ASSERT_EQ(ENOSPC, err);
		ASSERT_EQ(TYPE1_DMA_LIMIT + 1, i);
		ASSERT_EQ(0, dma_avail(_metadata, self->container));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ((int64_t)(variant->ioasid ? MANY : TYPE1_DMA_LIMIT) * PAGE,
		  unmapped_all(self->container));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("unmap all in %.2f s", t1.tv_sec - t0.tv_sec +
	       (t1.tv_nsec - t0.tv_nsec) / 1e9);
	ASSERT_EQ(self->vmlck, vm_lck_kb());
}

/* A map type1 refuses, and after which nothing is mapped. */
/*
 * A range that wraps: EOVERFLOW from /dev/ioasid, as from upstream type1
 * since Linux 6.18 and iommufd's compat; this kernel's type1 says EINVAL.
 */
#define WRAP_ERRNO(ioasid) ((ioasid) ? EOVERFLOW : EINVAL)

#define ASSERT_MAP_FAILS(err, va, iova, size, flags)			\
	do {								\
		ASSERT_ERRNO(err, dma_map(self->container, va, iova,	\
					  size, flags));		\
		ASSERT_EQ(base, vm_lck_kb());				\
	} while (0)

TEST_F(compat, map_errors)
{
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	const uint64_t a = 0x400000;
	union iommu_info buf;
	uint64_t hole;
	uint32_t argsz;
	long base;

	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	base = vm_lck_kb();
	ASSERT_MAP_FAILS(EINVAL, self->buf, a, PAGE, 0);
	ASSERT_MAP_FAILS(EINVAL, self->buf, a, PAGE, RW | BAD_FLAG);
	ASSERT_MAP_FAILS(EINVAL, self->buf, a, 0, RW);
	ASSERT_MAP_FAILS(EINVAL, self->buf, a + PAGE / 2, PAGE, RW);
	ASSERT_MAP_FAILS(EINVAL, self->buf + PAGE / 2, a, PAGE, RW);
	ASSERT_MAP_FAILS(EINVAL, self->buf, a, PAGE + PAGE / 2, RW);
	ASSERT_MAP_FAILS(WRAP_ERRNO(variant->ioasid), self->buf, -PAGE,
			 2 * PAGE, RW);
	ASSERT_MAP_FAILS(WRAP_ERRNO(variant->ioasid), (void *)-PAGE, a,
			 2 * PAGE, RW);
	ASSERT_TRUE(range_free(self->container, self->buf, a, 2 * PAGE));

	/* Right after the first usable IOVA range, and straddling its end. */
	argsz = full_info(_metadata, self->container, &buf);
	ranges = (void *)find_cap(_metadata, &buf, argsz,
				  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	ASSERT_NE(NULL, ranges);
	hole = ranges->iova_ranges[0].end + 1;
	ASSERT_NE(0, hole);
	TH_LOG("not usable: 0x%llx", (unsigned long long)hole);
	ASSERT_MAP_FAILS(EINVAL, self->buf, hole, PAGE, RW);
	ASSERT_MAP_FAILS(EINVAL, self->buf, hole - PAGE, 2 * PAGE, RW);
	ASSERT_TRUE(range_free(self->container, self->buf, hole - PAGE, PAGE));

	/* Over an existing mapping, in any way: EEXIST, and it stays. */
	ASSERT_EQ(0, dma_map(self->container, self->buf, a, 2 * PAGE, RW));
	base = vm_lck_kb();
	ASSERT_EQ(self->vmlck + KB(2 * PAGE), base);
	ASSERT_MAP_FAILS(EEXIST, self->buf, a, 2 * PAGE, RW);
	ASSERT_MAP_FAILS(EEXIST, self->buf, a + PAGE, 2 * PAGE, RW);
	ASSERT_MAP_FAILS(EEXIST, self->buf, a - PAGE, 2 * PAGE, RW);
	ASSERT_MAP_FAILS(EEXIST, self->buf, a - PAGE, 4 * PAGE, RW);
	ASSERT_MAP_FAILS(EEXIST, self->buf, a + PAGE, PAGE, RD);
	ASSERT_EQ(2 * PAGE, unmapped(self->container, a - PAGE, 4 * PAGE));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
	check_avail(_metadata, variant->ioasid,
		    dma_avail(_metadata, self->container), TYPE1_DMA_LIMIT);
}

/* Memory that cannot be pinned as asked: EFAULT, and nothing kept. */
TEST_F(compat, map_efault)
{
	const uint64_t a = 0x400000;
	uint8_t *part, *ro;
	long base;

	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	base = vm_lck_kb();
	/* The first page is there, the second is not: the map undoes the first. */
	part = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, part);
	ASSERT_EQ(0, munmap(part + PAGE, PAGE));
	ASSERT_MAP_FAILS(EFAULT, part, a, 2 * PAGE, RW);
	ASSERT_EQ(0, unmapped(self->container, a, 2 * PAGE));
	ASSERT_MAP_FAILS(EFAULT, part + PAGE, a, PAGE, RD);
	ASSERT_TRUE(range_free(self->container, part, a, PAGE));

	/* Read-only memory is for device reads only. */
	ro = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memset(ro, 0x11, 2 * PAGE);
	ASSERT_EQ(0, mprotect(ro, 2 * PAGE, PROT_READ));
	ASSERT_MAP_FAILS(EFAULT, ro, a, 2 * PAGE, RW);
	ASSERT_MAP_FAILS(EFAULT, ro, a, 2 * PAGE, VFIO_DMA_MAP_FLAG_WRITE);
	ASSERT_EQ(0, unmapped(self->container, a, 2 * PAGE));
	ASSERT_EQ(0, dma_map(self->container, ro, a, 2 * PAGE, RD));
	ASSERT_EQ(base + KB(2 * PAGE), vm_lck_kb());
	ASSERT_EQ(2 * PAGE, unmapped(self->container, a, 2 * PAGE));
	ASSERT_EQ(base, vm_lck_kb());
	check_avail(_metadata, variant->ioasid,
		    dma_avail(_metadata, self->container), TYPE1_DMA_LIMIT);
	munmap(part, PAGE);
	munmap(ro, 2 * PAGE);
}

/* The unmap arguments type1 refuses whatever its flavour. */
static void bad_unmaps(struct __test_metadata *_metadata, int fd, uint64_t a,
		       bool ioasid)
{
	ASSERT_ERRNO(EINVAL, dma_unmap(fd, a, 0, 0, NULL));
	ASSERT_ERRNO(EINVAL, dma_unmap(fd, a + PAGE / 2, 4 * PAGE, 0, NULL));
	ASSERT_ERRNO(EINVAL, dma_unmap(fd, a, 4 * PAGE + PAGE / 2, 0, NULL));
	ASSERT_ERRNO(WRAP_ERRNO(ioasid), dma_unmap(fd, -PAGE, 2 * PAGE, 0, NULL));
	ASSERT_ERRNO(EINVAL, dma_unmap(fd, a, 4 * PAGE, BAD_FLAG, NULL));
	/* Unmap-all wants neither an iova nor a size. */
	ASSERT_ERRNO(EINVAL, dma_unmap(fd, a, 4 * PAGE, VFIO_DMA_UNMAP_FLAG_ALL,
				       NULL));
	ASSERT_ERRNO(EINVAL, dma_unmap(fd, 0, 4 * PAGE, VFIO_DMA_UNMAP_FLAG_ALL,
				       NULL));
	ASSERT_ERRNO(EINVAL, dma_unmap(fd, a, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL));
}

TEST_F(compat, unmap_v2)
{
	const uint64_t a = 0x400000;
	int c = self->container;

	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	/* Nothing there: success, and nothing unmapped. */
	ASSERT_EQ(0, unmapped(c, a, 16 * PAGE));
	/* The last page of the address space: a range may end at 2^64. */
	ASSERT_EQ(0, unmapped(c, -PAGE, PAGE));

	/* v2: a range that cuts a mapping is refused, the mapping whole. */
	ASSERT_EQ(0, dma_map(c, self->buf, a, 4 * PAGE, RW));
	ASSERT_ERRNO(EINVAL, dma_unmap(c, a + PAGE, PAGE, 0, NULL));
	ASSERT_ERRNO(EINVAL, dma_unmap(c, a, PAGE, 0, NULL));
	ASSERT_ERRNO(EINVAL, dma_unmap(c, a + 3 * PAGE, 2 * PAGE, 0, NULL));
	ASSERT_ERRNO(EINVAL, dma_unmap(c, a - PAGE, 2 * PAGE, 0, NULL));
	bad_unmaps(_metadata, c, a, variant->ioasid);
	ASSERT_ERRNO(EEXIST, dma_map(c, self->buf, a + 3 * PAGE, PAGE, RW));
	ASSERT_EQ(self->vmlck + KB(4 * PAGE), vm_lck_kb());

	/* Several mappings with holes between: all of them, the total. */
	ASSERT_EQ(0, dma_map(c, self->buf + 5 * PAGE, a + 5 * PAGE, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->buf + 8 * PAGE, a + 8 * PAGE, 2 * PAGE, RW));
	ASSERT_EQ(7 * PAGE, unmapped(c, a, 16 * PAGE));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
	ASSERT_EQ(0, unmapped(c, a, 16 * PAGE));

	/* Unmap-all, wherever the mappings are. */
	ASSERT_EQ(0, dma_map(c, self->buf, a, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->buf + PAGE, 0x10000000, 2 * PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->buf + 3 * PAGE, 0x40000000, PAGE, RD));
	ASSERT_EQ(4 * PAGE, unmapped_all(c));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
	ASSERT_EQ(0, unmapped_all(c));
	ASSERT_TRUE(range_free(c, self->buf, a, 4 * PAGE));
}

/*
 * v1 keeps type1's first rule: an unmap takes whole mappings, each one
 * whose start lies in the range.  A range that starts inside a mapping
 * stops there: nothing is unmapped, not even a later mapping inside the
 * range, and the call still succeeds, with a size of 0.
 */
TEST_F(compat, unmap_v1)
{
	const uint64_t a = 0x400000;
	int c = self->container;

	ready(_metadata, self, VFIO_TYPE1_IOMMU);
	ASSERT_EQ(0, unmapped(c, a, 16 * PAGE));
	ASSERT_EQ(0, dma_map(c, self->buf, a, 4 * PAGE, RW));
	ASSERT_EQ(0, unmapped(c, a + PAGE, PAGE));
	ASSERT_EQ(0, unmapped(c, a + PAGE, 8 * PAGE));
	ASSERT_ERRNO(EEXIST, dma_map(c, self->buf, a + 3 * PAGE, PAGE, RW));
	bad_unmaps(_metadata, c, a, variant->ioasid);
	/* Its first page only: the whole mapping goes. */
	ASSERT_EQ(4 * PAGE, unmapped(c, a, PAGE));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
	ASSERT_TRUE(range_free(c, self->buf, a, 4 * PAGE));

	ASSERT_EQ(0, dma_map(c, self->buf, a, 2 * PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->buf + 2 * PAGE, a + 2 * PAGE, 2 * PAGE, RW));
	ASSERT_EQ(0, unmapped(c, a + PAGE, 3 * PAGE));
	ASSERT_EQ(self->vmlck + KB(4 * PAGE), vm_lck_kb());
	/* From a mapping's start: each mapping starting in the range, whole. */
	ASSERT_EQ(0, dma_map(c, self->buf + 5 * PAGE, a + 5 * PAGE, 2 * PAGE, RW));
	ASSERT_EQ(6 * PAGE, unmapped(c, a, 6 * PAGE));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
	ASSERT_EQ(0, unmapped(c, a, 16 * PAGE));

	ASSERT_EQ(0, dma_map(c, self->buf, a, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->buf + PAGE, 0x10000000, PAGE, RW));
	ASSERT_EQ(2 * PAGE, unmapped_all(c));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
}

/* Both charge the caller's locked_vm for what they pin, and give it back. */
TEST_F(compat, accounting)
{
	const uint64_t a = 0x400000, b = 0x800000;
	int c = self->container;

	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(self->vmlck, vm_lck_kb());
	ASSERT_EQ(0, dma_map(c, self->buf, a, 8 * PAGE, RW));
	ASSERT_EQ(self->vmlck + KB(8 * PAGE), vm_lck_kb());
	ASSERT_EQ(0, dma_map(c, self->buf + 8 * PAGE, b, 4 * PAGE, RD));
	ASSERT_EQ(self->vmlck + KB(12 * PAGE), vm_lck_kb());
	ASSERT_EQ(8 * PAGE, unmapped(c, a, 8 * PAGE));
	ASSERT_EQ(self->vmlck + KB(4 * PAGE), vm_lck_kb());
	ASSERT_EQ(4 * PAGE, unmapped_all(c));
	ASSERT_EQ(self->vmlck, vm_lck_kb());

	/* Mappings left at close: the device, then the last group, frees them. */
	ASSERT_EQ(0, dma_map(c, self->buf, a, 16 * PAGE, RW));
	ASSERT_EQ(self->vmlck + KB(16 * PAGE), vm_lck_kb());
	ASSERT_EQ(0, close(self->dev.fd));
	self->dev.fd = -1;
	ASSERT_EQ(self->vmlck + KB(16 * PAGE), vm_lck_kb());
	ASSERT_EQ(0, close(self->group));
	self->group = -1;
	ASSERT_EQ(self->vmlck, vm_lck_kb());
	ASSERT_EQ(0, close(self->container));
	self->container = -1;
	ASSERT_EQ(self->vmlck, vm_lck_kb());
}

/* VFIO_IOMMU_DIRTY_PAGES with one flag and no data. */
static int dirty_pages(int c, uint32_t flags)
{
	struct vfio_iommu_type1_dirty_bitmap dirty = {
		.argsz = sizeof(dirty),
		.flags = flags,
	};

	return ioctl(c, VFIO_IOMMU_DIRTY_PAGES, &dirty);
}

/* A GET_BITMAP call; the bitmap is @nbits at @pgsize from @iova. */
struct dirty_get {
	struct vfio_iommu_type1_dirty_bitmap hdr;
	struct vfio_iommu_type1_dirty_bitmap_get range;
};

static int get_bitmap(int c, uint64_t iova, uint64_t size, uint64_t pgsize,
		      uint64_t *bits, uint64_t bytes)
{
	struct dirty_get get = {
		.hdr = {
			.argsz = sizeof(get),
			.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
		},
		.range = {
			.iova = iova,
			.size = size,
			.bitmap = {
				.pgsize = pgsize,
				.size = bytes,
				.data = (void *)bits,
			},
		},
	};

	memset(bits, 0, bytes);
	return ioctl(c, VFIO_IOMMU_DIRTY_PAGES, &get);
}

/* An unmap with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP; -1 or the size. */
static int64_t unmap_bitmap(int c, uint64_t iova, uint64_t size,
			    uint32_t flags, uint64_t pgsize, uint64_t *bits)
{
	struct {
		struct vfio_iommu_type1_dma_unmap unmap;
		struct vfio_bitmap bitmap;
	} get = {
		.unmap = {
			.argsz = sizeof(get),
			.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | flags,
			.iova = iova,
			.size = size,
		},
		.bitmap = {
			.pgsize = pgsize,
			.size = sizeof(*bits),
			.data = (void *)bits,
		},
	};

	*bits = 0;
	if (ioctl(c, VFIO_IOMMU_UNMAP_DMA, &get))
		return -1;
	return get.unmap.size;
}

/*
 * Dirty tracking as QEMU's migration drives it, the same calls and the
 * same answers from both: type1's answers are the reference.  QEMU's
 * emulated VT-d cannot track dirty IOPTEs, so both report every mapped
 * page dirty at every read, whatever the device did, read-only mappings
 * included.
 */
TEST_F(compat, dirty_tracking)
{
	/* src at bit 0, the four pages from dst at 256, ro at 512. */
	uint64_t bits[12], want[12] = { 1, [4] = 0xf, [8] = 1 };
	struct dirty_get bad = {
		.hdr = { .argsz = sizeof(bad) },
	};
	int c = self->container;

	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, dma_map(c, self->src, IOVA_SRC, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->dst, IOVA_DST, 4 * PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->buf + 5 * PAGE, IOVA_DST2, PAGE, RD));

	/* Not started: nothing to read, nothing to unmap with. */
	ASSERT_ERRNO(EINVAL, get_bitmap(c, IOVA_SRC, 0x300000, PAGE, bits,
					sizeof(bits)));
	ASSERT_ERRNO(EINVAL, unmap_bitmap(c, IOVA_SRC, PAGE, 0, PAGE, bits));
	ASSERT_EQ(0, dirty_pages(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));

	ASSERT_EQ(0, dirty_pages(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_EQ(0, dirty_pages(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	copy_via(_metadata, &self->dev, IOVA_SRC, IOVA_DST);
	ASSERT_TRUE(all_bytes(self->dst, self->pattern));
	ASSERT_EQ(0, get_bitmap(c, IOVA_SRC, 0x300000, PAGE, bits,
				sizeof(bits)));
	ASSERT_EQ(0, memcmp(want, bits, sizeof(bits)));
	/* Read again, without DMA since: all of it again. */
	ASSERT_EQ(0, get_bitmap(c, IOVA_SRC, 0x300000, PAGE, bits,
				sizeof(bits)));
	ASSERT_EQ(0, memcmp(want, bits, sizeof(bits)));
	/* One mapping alone, its bit first. */
	ASSERT_EQ(0, get_bitmap(c, IOVA_DST, 4 * PAGE, PAGE, bits, 8));
	ASSERT_EQ(0xf, bits[0]);

	/* Refusals, all EINVAL as type1's. */
	ASSERT_ERRNO(EINVAL, get_bitmap(c, IOVA_DST, PAGE, PAGE, bits, 8));
	ASSERT_ERRNO(EINVAL, get_bitmap(c, IOVA_DST + PAGE, 3 * PAGE, PAGE,
					bits, 8));
	ASSERT_ERRNO(EINVAL, get_bitmap(c, IOVA_DST, 4 * PAGE, 2 * PAGE, bits,
					8));
	ASSERT_ERRNO(EINVAL, get_bitmap(c, IOVA_SRC, 0x300000, PAGE, bits, 8));
	ASSERT_ERRNO(EINVAL, get_bitmap(c, IOVA_DST, 0, PAGE, bits, 8));
	ASSERT_ERRNO(EINVAL, get_bitmap(c, IOVA_DST + 1, 4 * PAGE, PAGE, bits,
					8));
	ASSERT_ERRNO(EINVAL, get_bitmap(c, -PAGE, 2 * PAGE, PAGE, bits, 8));
	bad.hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
	ASSERT_ERRNO(EINVAL, ioctl(c, VFIO_IOMMU_DIRTY_PAGES, &bad));
	bad.hdr.flags = 1 << 3;
	ASSERT_ERRNO(EINVAL, ioctl(c, VFIO_IOMMU_DIRTY_PAGES, &bad));
	bad.hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	bad.hdr.argsz = sizeof(bad.hdr) + 8;
	ASSERT_ERRNO(EINVAL, ioctl(c, VFIO_IOMMU_DIRTY_PAGES, &bad));
	bad.hdr.argsz = 4;
	ASSERT_ERRNO(EINVAL, ioctl(c, VFIO_IOMMU_DIRTY_PAGES, &bad));

	/* The unmap reports its pages; refused ones unmap nothing. */
	ASSERT_ERRNO(EINVAL, unmap_bitmap(c, IOVA_DST, 4 * PAGE, 0, 2 * PAGE,
					  bits));
	ASSERT_ERRNO(EINVAL, unmap_bitmap(c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
					  PAGE, bits));
	ASSERT_ERRNO(EINVAL, unmap_bitmap(c, IOVA_DST, 4 * PAGE,
					  VFIO_DMA_UNMAP_FLAG_VADDR, PAGE,
					  bits));
	ASSERT_EQ(4 * PAGE, unmap_bitmap(c, IOVA_DST, 4 * PAGE, 0, PAGE, bits));
	ASSERT_EQ(0xf, bits[0]);
	ASSERT_EQ(0, unmap_bitmap(c, IOVA_DST, 4 * PAGE, 0, PAGE, bits));
	ASSERT_EQ(0, bits[0]);

	ASSERT_EQ(0, dirty_pages(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	ASSERT_ERRNO(EINVAL, get_bitmap(c, IOVA_SRC, PAGE, PAGE, bits, 8));
	ASSERT_ERRNO(EINVAL, unmap_bitmap(c, IOVA_SRC, PAGE, 0, PAGE, bits));
	ASSERT_EQ(PAGE, unmapped(c, IOVA_SRC, PAGE));
}

/* Only a v2 container tracks: v1 answers EACCES, as type1's. */
TEST_F(compat, dirty_tracking_v1)
{
	ready(_metadata, self, VFIO_TYPE1_IOMMU);
	ASSERT_ERRNO(EACCES, dirty_pages(self->container,
					 VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
}

/*
 * VFIO_UPDATE_VADDR, the live update of QEMU's cpr: the old VMM takes the
 * user addresses of its mappings away (VFIO_DMA_UNMAP_FLAG_VADDR), the
 * new one gives them back (VFIO_DMA_MAP_FLAG_VADDR) and takes their
 * locked_vm charge; the device's DMA goes on throughout.  Every answer is
 * type1's.
 */
TEST_F(compat, update_vaddr)
{
	const uint64_t a = 0x400000;
	int c = self->container, status, g2 = -1;
	uint64_t done;
	pid_t pid;

	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, dma_map(c, self->src, IOVA_SRC, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->buf + 4 * PAGE, a, 4 * PAGE, RW));
	ASSERT_EQ(self->vmlck + KB(5 * PAGE), vm_lck_kb());

	/* Without a user address, no access may be asked, and back. */
	ASSERT_ERRNO(EINVAL, dma_map(c, self->buf + 4 * PAGE, a, 4 * PAGE,
				     RW | VFIO_DMA_MAP_FLAG_VADDR));
	ASSERT_ERRNO(EINVAL, dma_map(c, self->buf + 4 * PAGE, a, 4 * PAGE, 0));
	/* A mapping with its user address cannot get a new one. */
	ASSERT_ERRNO(EINVAL, dma_map(c, self->buf + 4 * PAGE, a, 4 * PAGE,
				     VFIO_DMA_MAP_FLAG_VADDR));

	ASSERT_EQ(0, dma_unmap(c, a, 4 * PAGE, VFIO_DMA_UNMAP_FLAG_VADDR,
			       &done));
	ASSERT_EQ(4 * PAGE, done);
	/* Not twice; not a range that cuts the mapping (v2). */
	ASSERT_ERRNO(EINVAL, dma_unmap(c, a, 4 * PAGE,
				       VFIO_DMA_UNMAP_FLAG_VADDR, NULL));
	ASSERT_ERRNO(EINVAL, dma_unmap(c, a + PAGE, PAGE,
				       VFIO_DMA_UNMAP_FLAG_VADDR, NULL));
	/* A range with nothing in it: success, size 0. */
	ASSERT_EQ(0, dma_unmap(c, 0x10000000, PAGE, VFIO_DMA_UNMAP_FLAG_VADDR,
			       &done));
	ASSERT_EQ(0, done);
	/* The range stays taken, and is still mapped for the device. */
	ASSERT_ERRNO(EEXIST, dma_map(c, self->buf, a, PAGE, RW));
	copy_via(_metadata, &self->dev, IOVA_SRC, a);
	ASSERT_TRUE(all_bytes(self->buf + 4 * PAGE, self->pattern));
	/* The new address must be for exactly that mapping. */
	ASSERT_ERRNO(ENOENT, dma_map(c, self->buf, 0x10000000, PAGE,
				     VFIO_DMA_MAP_FLAG_VADDR));
	ASSERT_ERRNO(EINVAL, dma_map(c, self->buf + 4 * PAGE, a, 2 * PAGE,
				     VFIO_DMA_MAP_FLAG_VADDR));
	/* No group joins while an address is missing. */
	if (self->nr_edu > 1 && self->edu[1].group != self->edu[0].group) {
		g2 = open_group(self->edu[1].group);
		ASSERT_LE(0, g2);
		ASSERT_ERRNO(EBUSY, set_container(g2, c));
	}

	/* The successor gives the address and takes the charge. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		long before = vm_lck_kb();

		if (dma_map(c, self->buf + 4 * PAGE, a, 4 * PAGE,
			    VFIO_DMA_MAP_FLAG_VADDR))
			_exit(1);
		_exit(vm_lck_kb() == before + KB(4 * PAGE) ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(self->vmlck + KB(PAGE), vm_lck_kb());
	ASSERT_ERRNO(EINVAL, dma_map(c, self->buf + 4 * PAGE, a, 4 * PAGE,
				     VFIO_DMA_MAP_FLAG_VADDR));
	if (g2 >= 0) {
		ASSERT_EQ(0, set_container(g2, c));
		ASSERT_EQ(0, unset_container(g2));
		close(g2);
	}
	/* DMA went on, and the mapping unmaps as any other. */
	memset(self->buf + 4 * PAGE, 0xaa, PAGE);
	copy_via(_metadata, &self->dev, IOVA_SRC, a);
	ASSERT_TRUE(all_bytes(self->buf + 4 * PAGE, self->pattern));
	ASSERT_EQ(4 * PAGE, unmapped(c, a, 4 * PAGE));
	ASSERT_EQ(self->vmlck + KB(PAGE), vm_lck_kb());
}

/*
 * GET_DEVICE_FD leaves the device attached: it reaches what is mapped at
 * once, what is mapped later too, and nothing else.
 */
TEST_F(compat, device_dma)
{
	int c = self->container;
	uint8_t *ro = self->buf + 3 * PAGE;

	ASSERT_EQ(0, set_container(self->group, c));
	ASSERT_EQ(0, set_iommu(c, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, dma_map(c, self->src, IOVA_SRC, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->dst, IOVA_DST, PAGE, RW));
	ASSERT_EQ(0, open_edu(&self->dev, self->group, self->edu[0].bdf));
	copy_via(_metadata, &self->dev, IOVA_SRC, IOVA_DST);
	ASSERT_TRUE(all_bytes(self->dst, self->pattern));

	/* Unmapped IOVAs: the engine runs, the writes go nowhere. */
	memset(self->dst, 0xaa, PAGE);
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_FREE));
	ASSERT_EQ(PAGE, unmapped(c, IOVA_DST, PAGE));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0xaa));
	ASSERT_TRUE(all_bytes(self->src, self->pattern));

	/* Mapped while the device is open: it lands again. */
	ASSERT_EQ(0, dma_map(c, self->dst, IOVA_DST, PAGE, RW));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, self->pattern));

	/* Mapped for device reads only: a device write does not land. */
	memset(ro, 0xaa, PAGE);
	ASSERT_EQ(0, dma_map(c, ro, IOVA_DST2, PAGE, RD));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST2));
	ASSERT_TRUE(all_bytes(ro, 0xaa));
}

/*
 * A group cannot leave its container while one of its devices is open
 * (type1: EBUSY).  The last group leaving takes the container's IOMMU
 * and mappings with it.
 */
TEST_F(compat, unset_container)
{
	union iommu_info buf;
	int c = self->container;

	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, dma_map(c, self->src, IOVA_SRC, 4 * PAGE, RW));
	ASSERT_ERRNO(EBUSY, unset_container(self->group));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(self->group));
	ASSERT_EQ(0, dma_map(c, self->dst2, IOVA_DST2, PAGE, RW));
	copy_via(_metadata, &self->dev, IOVA_SRC, IOVA_DST2);
	ASSERT_TRUE(all_bytes(self->dst2, self->pattern));

	ASSERT_EQ(0, close(self->dev.fd));
	self->dev.fd = -1;
	ASSERT_EQ(0, unset_container(self->group));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(self->group));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
	ASSERT_ERRNO(EINVAL, get_info(c, &buf, sizeof(buf)));
	ASSERT_ERRNO(EINVAL, dma_map(c, self->src, IOVA_SRC, PAGE, RW));
	ASSERT_EQ(0, extension(c, VFIO_DMA_CC_IOMMU));
	ASSERT_ERRNO(EINVAL, set_iommu(c, VFIO_TYPE1v2_IOMMU));

	/* Back again, with a fresh IOMMU: the old mappings are gone. */
	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, unmapped(c, IOVA_SRC, 16 * PAGE));
	ASSERT_EQ(0, dma_map(c, self->src, IOVA_SRC, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->dst, IOVA_DST, PAGE, RW));
	copy_via(_metadata, &self->dev, IOVA_SRC, IOVA_DST);
	ASSERT_TRUE(all_bytes(self->dst, self->pattern));
}

/*
 * Two groups in one container share its IOMMU: the second needs no (and
 * may not have another) VFIO_SET_IOMMU, and both devices reach the same
 * mappings, old and new.  When one group leaves, the other keeps them;
 * when the last leaves, they go.
 */
TEST_F(compat, two_groups)
{
	union iommu_info buf;
	int c = self->container, g2;
	struct edu dev2;

	if (self->nr_edu < 2 || self->edu[0].group == self->edu[1].group)
		SKIP(return, "no second edu device in a group of its own");
	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, dma_map(c, self->src, IOVA_SRC, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->dst, IOVA_DST, PAGE, RW));
	g2 = open_group(self->edu[1].group);
	ASSERT_LE(0, g2);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(g2));
	ASSERT_EQ(0, set_container(g2, c));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(g2));
	ASSERT_ERRNO(EINVAL, set_iommu(c, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, open_edu(&dev2, g2, self->edu[1].bdf));
	ASSERT_EQ(0x010000ed, reg_read(&dev2, EDU_ID));

	/* The second device reaches what was mapped before it came. */
	copy_via(_metadata, &dev2, IOVA_SRC, IOVA_DST);
	ASSERT_TRUE(all_bytes(self->dst, self->pattern));
	/* Both reach what is mapped now. */
	ASSERT_EQ(0, dma_map(c, self->dst2, IOVA_DST2, PAGE, RW));
	ASSERT_TRUE(dev_to_ram(&dev2, IOVA_DST2));
	ASSERT_TRUE(all_bytes(self->dst2, self->pattern));
	memset(self->dst, 0xaa, PAGE);
	memset(self->dst2, 0xaa, PAGE);
	copy_via(_metadata, &self->dev, IOVA_SRC, IOVA_DST2);
	ASSERT_TRUE(all_bytes(self->dst2, self->pattern));
	/* Neither reaches what is unmapped. */
	ASSERT_EQ(PAGE, unmapped(c, IOVA_DST, PAGE));
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST));
	ASSERT_TRUE(dev_to_ram(&dev2, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0xaa));

	/* The second group leaves: the first keeps the IOMMU and mappings. */
	ASSERT_EQ(0, close(dev2.fd));
	ASSERT_EQ(0, unset_container(g2));
	ASSERT_EQ(0, get_info(c, &buf, sizeof(buf)));
	memset(self->dst2, 0xaa, PAGE);
	ASSERT_TRUE(dev_to_ram(&self->dev, IOVA_DST2));
	ASSERT_TRUE(all_bytes(self->dst2, self->pattern));

	/* The last group leaves: IOMMU and mappings go. */
	ASSERT_EQ(0, close(self->dev.fd));
	self->dev.fd = -1;
	ASSERT_EQ(0, unset_container(self->group));
	ASSERT_ERRNO(EINVAL, get_info(c, &buf, sizeof(buf)));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
	/* The other group comes back to a fresh IOMMU. */
	ASSERT_EQ(0, set_container(g2, c));
	ASSERT_EQ(0, set_iommu(c, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, unmapped_all(c));
	close(g2);
}

/* Two devices of one group (behind a PCI bridge), one container. */
TEST_F(compat, one_group_two_devices)
{
	struct edu dev2;
	int c = self->container;

	if (self->nr_edu < 2 || self->edu[0].group != self->edu[1].group)
		SKIP(return, "no two edu devices in one IOMMU group");
	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, open_edu(&dev2, self->group, self->edu[1].bdf));
	ASSERT_EQ(0x010000ed, reg_read(&dev2, EDU_ID));
	ASSERT_EQ(0, dma_map(c, self->src, IOVA_SRC, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->dst, IOVA_DST, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->dst2, IOVA_DST2, PAGE, RW));
	copy_via(_metadata, &self->dev, IOVA_SRC, IOVA_DST);
	ASSERT_TRUE(all_bytes(self->dst, self->pattern));
	copy_via(_metadata, &dev2, IOVA_SRC, IOVA_DST2);
	ASSERT_TRUE(all_bytes(self->dst2, self->pattern));
	/* Either open device keeps the group in the container. */
	ASSERT_EQ(0, close(self->dev.fd));
	self->dev.fd = -1;
	ASSERT_ERRNO(EBUSY, unset_container(self->group));
	ASSERT_EQ(0, close(dev2.fd));
	ASSERT_EQ(0, unset_container(self->group));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
}

/*
 * QEMU 7.2's bring-up of a VFIO device (hw/vfio/common.c): open the group
 * and check it is viable, open the container and check the API version,
 * pick the first type it offers of TYPE1v2 and TYPE1, set the container
 * and the IOMMU, read the IOMMU info (growing the buffer to the argsz the
 * kernel asks for), map guest RAM, then get the device.  Here "guest RAM"
 * is 32 pages at IOVA 0x100000, mapped as two sections of 16 pages, and a
 * "ROM" of 4 pages is mapped for device reads; edu copies a RAM page to
 * the upper section, which is then unmapped.  The lower one and the ROM
 * are left for the closes that follow, which must give back everything.
 */
#define RAM_IOVA	0x100000UL
#define RAM_PAGES	32
#define RAM_KEPT	16
#define ROM_IOVA	0xc0000UL
#define ROM_PAGES	4
#define KEPT_KB		KB((RAM_KEPT + ROM_PAGES) * PAGE)

static void qemu_bringup(struct __test_metadata *_metadata,
			 COMPAT_DATA *self, const COMPAT_VARIANT *variant)
{
	union iommu_info buf;
	uint32_t argsz;
	uint8_t *rom;

	close(self->group);
	close(self->container);
	self->group = open_group(self->edu[0].group);
	ASSERT_LE(0, self->group);
	ASSERT_TRUE(group_flags(self->group) & VFIO_GROUP_FLAGS_VIABLE);
	self->container = open(variant->path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->container);
	ASSERT_EQ(VFIO_API_VERSION, ioctl(self->container, VFIO_GET_API_VERSION));
	ASSERT_EQ(1, extension(self->container, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, set_container(self->group, self->container));
	ASSERT_EQ(0, set_iommu(self->container, VFIO_TYPE1v2_IOMMU));

	memset(&buf, 0, sizeof(buf));
	ASSERT_EQ(0, get_info(self->container, &buf, sizeof(buf.info)));
	argsz = buf.info.argsz;
	ASSERT_LT(sizeof(buf.info), argsz);
	ASSERT_EQ(0, get_info(self->container, &buf, argsz));
	ASSERT_EQ(argsz, buf.info.argsz);
	ASSERT_TRUE(buf.info.flags & VFIO_IOMMU_INFO_PGSIZES);
	ASSERT_TRUE(buf.info.iova_pgsizes & PAGE);
	ASSERT_NE(NULL, find_cap(_metadata, &buf, argsz,
				 VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL));

	self->ram = mmap(NULL, RAM_PAGES * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->ram);
	rom = mmap(NULL, ROM_PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rom);
	/* 0x90-0xef: neither the RAM pattern nor the RAM's 0. */
	memset(rom, self->pattern + 0x80, ROM_PAGES * PAGE);
	memset(self->ram, 0, RAM_PAGES * PAGE);
	memset(self->ram, self->pattern, PAGE);
	ASSERT_EQ(0, dma_map(self->container, self->ram, RAM_IOVA,
			     RAM_KEPT * PAGE, RW));
	ASSERT_EQ(0, dma_map(self->container, self->ram + RAM_KEPT * PAGE,
			     RAM_IOVA + RAM_KEPT * PAGE,
			     (RAM_PAGES - RAM_KEPT) * PAGE, RW));
	ASSERT_EQ(0, dma_map(self->container, rom, ROM_IOVA, ROM_PAGES * PAGE, RD));
	ASSERT_EQ(self->vmlck + KB((RAM_PAGES + ROM_PAGES) * PAGE), vm_lck_kb());

	ASSERT_EQ(0, open_edu(&self->dev, self->group, self->edu[0].bdf));
	copy_via(_metadata, &self->dev, RAM_IOVA, RAM_IOVA + RAM_KEPT * PAGE);
	ASSERT_TRUE(all_bytes(self->ram + RAM_KEPT * PAGE, self->pattern));

	ASSERT_EQ((RAM_PAGES - RAM_KEPT) * PAGE,
		  unmapped(self->container, RAM_IOVA + RAM_KEPT * PAGE,
			   (RAM_PAGES - RAM_KEPT) * PAGE));
	ASSERT_EQ(self->vmlck + KEPT_KB, vm_lck_kb());
}

/* The device still reads the ROM and writes the RAM that stayed mapped. */
static void qemu_dma_works(struct __test_metadata *_metadata,
			   COMPAT_DATA *self)
{
	memset(self->ram + PAGE, 0, PAGE);
	copy_via(_metadata, &self->dev, ROM_IOVA, RAM_IOVA + PAGE);
	ASSERT_TRUE(all_bytes(self->ram + PAGE, self->pattern + 0x80));
}

/* Close one of the fixture's files, and forget it. */
static int close_fd(int *fd)
{
	int rc = close(*fd);

	*fd = -1;
	return rc;
}

TEST_F(compat, qemu_close_device_group_container)
{
	qemu_bringup(_metadata, self, variant);
	qemu_dma_works(_metadata, self);
	ASSERT_EQ(0, close_fd(&self->dev.fd));
	ASSERT_EQ(self->vmlck + KEPT_KB, vm_lck_kb());
	/* The last group leaving the container takes the mappings. */
	ASSERT_EQ(0, close_fd(&self->group));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
	ASSERT_EQ(0, close_fd(&self->container));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
}

/* The group holds the container: closing its file first changes nothing. */
TEST_F(compat, qemu_close_container_first)
{
	qemu_bringup(_metadata, self, variant);
	ASSERT_EQ(0, close_fd(&self->container));
	ASSERT_EQ(self->vmlck + KEPT_KB, vm_lck_kb());
	qemu_dma_works(_metadata, self);
	ASSERT_EQ(0, close_fd(&self->dev.fd));
	ASSERT_EQ(self->vmlck + KEPT_KB, vm_lck_kb());
	ASSERT_EQ(0, close_fd(&self->group));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
}

/* The device holds the group: closing the group's file first is the same. */
TEST_F(compat, qemu_close_group_first)
{
	qemu_bringup(_metadata, self, variant);
	ASSERT_EQ(0, close_fd(&self->group));
	ASSERT_EQ(self->vmlck + KEPT_KB, vm_lck_kb());
	qemu_dma_works(_metadata, self);
	ASSERT_EQ(0, close_fd(&self->dev.fd));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
	ASSERT_EQ(0, close_fd(&self->container));
	ASSERT_EQ(self->vmlck, vm_lck_kb());
}

/*
 * Error paths of the ioasid backend, reached by fault injection (see
 * ioasid_fail_nth.c): each call is run with every fault site on its path
 * failing in turn, and either succeeds or fails with an errno and changes
 * nothing, until it succeeds with no fault left.  type1 is not the
 * subject here.
 */
static bool fail_nth_ready(struct __test_metadata *_metadata, bool ioasid)
{
	if (!ioasid)
		return false;
	if (!fault_injection_setup())
		return false;
	ASSERT_LE(0, nth_file());
	return true;
}

#define FAIL_NTH_SKIP "fault injection sweeps are for the ioasid backend, with fault injection in debugfs"

TEST_F_TIMEOUT(compat, fail_nth_set_container, 120)
{
	unsigned int n;
	int rc;

	if (!fail_nth_ready(_metadata, variant->ioasid))
		SKIP(return, FAIL_NTH_SKIP);
	fail_nth_sweep(n, rc, set_container(self->group, self->container)) {
		if (rc == 0) {
			ASSERT_EQ(0, unset_container(self->group));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(self->group));
		ASSERT_ERRNO(EINVAL, set_iommu(self->container,
					       VFIO_TYPE1v2_IOMMU));
	}
	TH_LOG("%u fault sites", n - 1);
	ASSERT_EQ(0, rc);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(self->group));
	ASSERT_EQ(0, set_iommu(self->container, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, open_edu(&self->dev, self->group, self->edu[0].bdf));
}

TEST_F_TIMEOUT(compat, fail_nth_set_iommu, 120)
{
	union iommu_info buf;
	unsigned int n;
	int rc;

	if (!fail_nth_ready(_metadata, variant->ioasid))
		SKIP(return, FAIL_NTH_SKIP);
	ASSERT_EQ(0, set_container(self->group, self->container));
	fail_nth_sweep(n, rc, set_iommu(self->container, VFIO_TYPE1v2_IOMMU)) {
		if (rc == 0) {
			/* Only the last group leaving unsets the IOMMU. */
			ASSERT_EQ(0, unset_container(self->group));
			ASSERT_EQ(0, set_container(self->group, self->container));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_ERRNO(EINVAL, get_info(self->container, &buf, sizeof(buf)));
		ASSERT_ERRNO(EINVAL, get_device(self->group, self->edu[0].bdf));
	}
	TH_LOG("%u fault sites", n - 1);
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, get_info(self->container, &buf, sizeof(buf)));
	ASSERT_EQ(0, open_edu(&self->dev, self->group, self->edu[0].bdf));
}

/* Whether ACPI routes PCI interrupts, which the command line can turn off. */
static bool acpi_pci_irqs(void)
{
	char cmdline[4096] = "";

	sysfs_read("/proc", "cmdline", cmdline, sizeof(cmdline));
	return !strstr(cmdline, "acpi=noirq") && !strstr(cmdline, "pci=noacpi") &&
	       !strstr(cmdline, "acpi=off");
}

/*
 * The device open runs through the VFIO core and vfio-pci as well, whose
 * failures are not only ENOMEM and EFAULT: any errno will do, as long as
 * nothing stays behind.  A device left open would keep the group in the
 * container.
 *
 * When vfio-pci enables the PCI device, and when it disables it at the
 * last close, ACPI evaluates the host bridge's _PRT for the device's
 * interrupt, unless the kernel was told not to route PCI interrupts with
 * ACPI (acpi=noirq).  ACPICA does not survive a series of allocations
 * failing there (it loses count of its references, and a later _PRT
 * evaluation reads freed memory), so with ACPI routing the sweep ends at
 * the first failure the call absorbs.
 */
TEST_F_TIMEOUT(compat, fail_nth_get_device_fd, 300)
{
	bool acpi = acpi_pci_irqs();
	int c = self->container;
	unsigned int n;
	int fd;

	if (!fail_nth_ready(_metadata, variant->ioasid))
		SKIP(return, FAIL_NTH_SKIP);
	ASSERT_EQ(0, set_container(self->group, c));
	ASSERT_EQ(0, set_iommu(c, VFIO_TYPE1v2_IOMMU));
	fail_nth_sweep(n, fd, get_device(self->group, self->edu[0].bdf)) {
		if (fd >= 0 && acpi)
			break;
		if (fd >= 0) {
			close(fd);
			continue;
		}
		ASSERT_NE(0, errno);
		ASSERT_EQ(0, unset_container(self->group));
		ASSERT_EQ(0, set_container(self->group, c));
		ASSERT_EQ(0, set_iommu(c, VFIO_TYPE1v2_IOMMU));
	}
	TH_LOG("sweep ended at n = %u%s", n,
	       acpi ? ", at the first absorbed failure (ACPI routes PCI interrupts)" : "");
	ASSERT_LE(0, fd);
	ASSERT_LT(1, n);
	self->dev.fd = fd;
	ASSERT_EQ(0, edu_enable(&self->dev));
	ASSERT_EQ(0, dma_map(c, self->src, IOVA_SRC, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, self->dst, IOVA_DST, PAGE, RW));
	copy_via(_metadata, &self->dev, IOVA_SRC, IOVA_DST);
	ASSERT_TRUE(all_bytes(self->dst, self->pattern));
}

TEST_F_TIMEOUT(compat, fail_nth_map_dma, 300)
{
	const uint64_t a = 0x400000;
	int c = self->container;
	unsigned int n;
	long base;
	int rc;

	if (!fail_nth_ready(_metadata, variant->ioasid))
		SKIP(return, FAIL_NTH_SKIP);
	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	base = vm_lck_kb();
	fail_nth_sweep(n, rc, dma_map(c, self->buf, a, 16 * PAGE, RW)) {
		if (rc == 0) {
			ASSERT_EQ(16 * PAGE, unmapped(c, a, 16 * PAGE));
			continue;
		}
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_EQ(base, vm_lck_kb());
		ASSERT_EQ(0, unmapped(c, a, 16 * PAGE));
	}
	TH_LOG("%u fault sites", n - 1);
	ASSERT_EQ(0, rc);
	ASSERT_LT(1, n);
	ASSERT_EQ(base + KB(16 * PAGE), vm_lck_kb());
	copy_via(_metadata, &self->dev, a, a + PAGE);
	ASSERT_TRUE(all_bytes(self->dst, self->pattern));
}

/*
 * From VFIO_SET_IOMMU on, before any device is open, the container knows
 * its group's IOMMU: GET_INFO gives the real IOVA ranges, and a map of
 * what the group cannot use is refused then, not when a device opens.
 * QEMU and DPDK map all guest memory before they open a device.  The
 * last page of the aperture maps and unmaps, and what was mapped before
 * the device opened is where its DMA goes.
 */
TEST_F(compat, ranges_from_set_iommu)
{
	struct vfio_iommu_type1_info_cap_iova_range *before, *after;
	union iommu_info b, a;
	uint64_t end;
	uint32_t argsz;
	long base;

	ASSERT_EQ(0, set_container(self->group, self->container));
	ASSERT_EQ(0, set_iommu(self->container, VFIO_TYPE1v2_IOMMU));
	argsz = full_info(_metadata, self->container, &b);
	before = (void *)find_cap(_metadata, &b, argsz,
				  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	ASSERT_NE(NULL, before);
	/* The MSI window cuts the space in two, at least. */
	ASSERT_LE(2, before->nr_iovas);
	end = before->iova_ranges[before->nr_iovas - 1].end;
	TH_LOG("%u ranges, the last ends at 0x%llx", before->nr_iovas,
	       (unsigned long long)end);

	base = vm_lck_kb();
	ASSERT_MAP_FAILS(EINVAL, self->buf, 0xfee00000, PAGE, RW);
	if (end != UINT64_MAX)
		ASSERT_MAP_FAILS(EINVAL, self->buf, end + 1, PAGE, RW);
	ASSERT_EQ(0, dma_map(self->container, self->buf, end + 1 - PAGE, PAGE,
			     RW));
	/*
	 * type1 ends its walk at a mapping that starts at or past iova + size,
	 * which wraps to 0 for the last page of a 64-bit aperture (AMD-Vi's):
	 * it maps that page but never unmaps it.
	 */
	ASSERT_EQ(variant->ioasid || end != UINT64_MAX ? PAGE : 0,
		  unmapped(self->container, end + 1 - PAGE, PAGE));
	ASSERT_EQ(0, dma_map(self->container, self->src, IOVA_SRC, PAGE, RD));
	ASSERT_EQ(0, dma_map(self->container, self->dst, IOVA_DST, PAGE, RW));

	/* The device changes nothing of it. */
	ASSERT_EQ(0, open_edu(&self->dev, self->group, self->edu[0].bdf));
	ASSERT_EQ(argsz, full_info(_metadata, self->container, &a));
	after = (void *)find_cap(_metadata, &a, argsz,
				 VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	ASSERT_NE(NULL, after);
	ASSERT_EQ(before->nr_iovas, after->nr_iovas);
	ASSERT_EQ(0, memcmp(before->iova_ranges, after->iova_ranges,
			    before->nr_iovas * sizeof(before->iova_ranges[0])));
	ASSERT_EQ(b.info.iova_pgsizes, a.info.iova_pgsizes);
	copy_via(_metadata, &self->dev, IOVA_SRC, IOVA_DST);
	ASSERT_EQ(0, memcmp(self->src, self->dst, DMA_LEN));
}

/*
 * Peer to peer as QEMU does it: VFIO_IOMMU_MAP_DMA of the mmap of the
 * second edu's BAR0, then the first edu writes 4 bytes to its register
 * 0x04, which reads back their complement.  Both containers take the map
 * and the write lands.  Then the BAR stops being valid: its memory decode
 * off, then its device closed.  edu drops writes it does not decode, so
 * both leave the register as it was; the difference is where the write
 * stops.  /dev/ioasid has taken the BAR out of the IOMMU, which logs a
 * fault; type1 still maps it (a BAR that may belong to someone else by
 * then), and nothing is logged.
 */
#define IOVA_BAR	0x8000000UL
#define BAR_SIZE	0x100000UL
#define EDU_LIVE	0x04

/* @a writes @val, from the source page, to the peer's register. */
static bool peer_write(struct edu *a, uint8_t *src, uint32_t val)
{
	memcpy(src, &val, sizeof(val));
	return edu_dma_count(a, IOVA_SRC, EDU_BUF, 4, false) &&
	       edu_dma_count(a, EDU_BUF, IOVA_BAR + EDU_LIVE, 4, true);
}

TEST_F(compat, peer_to_peer_through_a_bar_mmap)
{
	struct vfio_region_info bar;
	int c = self->container, g2 = -1, faults;
	struct edu b;
	void *bar_va;

	if (self->nr_edu < 2)
		SKIP(return, "no second edu device");
	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	if (self->edu[1].group != self->edu[0].group) {
		g2 = open_group(self->edu[1].group);
		ASSERT_LE(0, g2);
		ASSERT_EQ(0, set_container(g2, c));
	}
	ASSERT_EQ(0, open_edu(&b, g2 >= 0 ? g2 : self->group, self->edu[1].bdf));
	ASSERT_EQ(0, region_info(b.fd, VFIO_PCI_BAR0_REGION_INDEX, &bar));
	bar_va = mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, b.fd,
		      bar.offset);
	ASSERT_NE(MAP_FAILED, bar_va);
	ASSERT_EQ(0, dma_map(c, self->src, IOVA_SRC, PAGE, RW));
	ASSERT_EQ(0, dma_map(c, bar_va, IOVA_BAR, BAR_SIZE, RW));
	ASSERT_TRUE(peer_write(&self->dev, self->src, 0x5a5a1234));
	ASSERT_EQ(~0x5a5a1234U, reg_read(&b, EDU_LIVE));

	/* Decode off: dropped by edu, refused by the IOMMU for ioasid only. */
	ASSERT_EQ(0, edu_decode(&b, false));
	iommu_log_ready();
	faults = kmsg_count(iommu_kind().fault_log);
	ASSERT_TRUE(peer_write(&self->dev, self->src, 0x5a5a5678));
	ASSERT_FAULT_LOGGED(variant->ioasid, faults);
	/* Decode on: the mapping works again, for ioasid with no call. */
	ASSERT_EQ(0, edu_decode(&b, true));
	ASSERT_EQ(~0x5a5a1234U, reg_read(&b, EDU_LIVE));
	ASSERT_TRUE(peer_write(&self->dev, self->src, 0x5a5a9abc));
	ASSERT_EQ(~0x5a5a9abcU, reg_read(&b, EDU_LIVE));

	/* The peer closed: type1 keeps its BAR in the IOMMU, ioasid not. */
	ASSERT_EQ(0, munmap(bar_va, BAR_SIZE));
	ASSERT_EQ(0, close(b.fd));
	iommu_log_ready();
	faults = kmsg_count(iommu_kind().fault_log);
	ASSERT_TRUE(peer_write(&self->dev, self->src, 0x5a5adef0));
	ASSERT_FAULT_LOGGED(variant->ioasid, faults);
	/* The mapping answers UNMAP_DMA like any other. */
	ASSERT_EQ(BAR_SIZE, unmapped(c, IOVA_BAR, BAR_SIZE));
	ASSERT_EQ(self->vmlck + KB(PAGE), vm_lck_kb());
	if (g2 >= 0)
		close(g2);
}

/*
 * I/O memory that is no VFIO device's BAR: a PCI BAR mapped through
 * sysfs, behind VFIO's back.  type1 maps the raw PFNs of any such VMA;
 * /dev/ioasid maps only memory it can tell the validity of, and refuses
 * this as memory it cannot pin: EFAULT.
 */
TEST_F(compat, other_io_memory)
{
	char path[128];
	void *va;
	int fd;

	ready(_metadata, self, VFIO_TYPE1v2_IOMMU);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0",
		 self->edu[0].bdf);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	va = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, va);
	if (variant->ioasid) {
		ASSERT_ERRNO(EFAULT, dma_map(self->container, va, IOVA_BAR,
					     PAGE, RW));
	} else {
		ASSERT_EQ(0, dma_map(self->container, va, IOVA_BAR, PAGE, RW));
		ASSERT_EQ(PAGE, unmapped(self->container, IOVA_BAR, PAGE));
	}
	munmap(va, PAGE);
}

TEST_HARNESS_MAIN
