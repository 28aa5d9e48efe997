// SPDX-License-Identifier: GPL-2.0
/*
 * ioasid-bench: /dev/ioasid against its peers, iommufd and VFIO type1,
 * with the same device behind the same IOMMU, and against the cost of
 * only pinning the same memory (the kernel's gup_test), in one run.
 * 'make bench' boots the bench kernel and runs it.
 *
 * A case runs each of its implementations once per round, and the one
 * that goes first rotates from round to round, so that whatever drifts
 * during the run (the host's load, under TCG above all) falls on all of
 * them alike.  Each implementation is set up afresh for each iteration,
 * outside the timed part: a VFIO device cannot be bound through its cdev
 * while its group is open, nor its group opened while the cdev is bound.
 *
 * Prints "case,impl,median_us,iterations" lines on stdout.  Progress,
 * notes ("# ...") and errors go to stderr.  An implementation that fails
 * a case gets no line for it, and the exit status is 1.
 *
 * usage: ioasid-bench [-n ITERATIONS] [-c CASE] [-r ROW] [-i IMPL]
 *   -n: iterations of each case (default: each case's own)
 *   -c: run only the case of that name (make profile runs one)
 *   -r, -i: of its rows, only those of that name, or of that implementation
 *       (ioasid, iommufd, type1, floor)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/ioasid.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "../../drivers/iommu/ioasid/ioasid_test.h"
#include "../../mm/gup_test.h"

#define SZ_4K		0x1000UL
#define SZ_64K		0x10000UL
#define SZ_1M		0x100000UL
#define SZ_2M		0x200000UL
#define SZ_32M		0x2000000UL
#define SZ_64M		0x4000000UL
#define SZ_256M		0x10000000UL
#define SZ_1G		0x40000000UL

/*
 * Clear of the MSI window and of anything else VT-d reserves below 4 GiB,
 * and 1 GiB aligned, so that huge pages can be mapped by huge IOPTEs.
 */
#define IOVA_BASE	(4 * SZ_1G)
#define SMALL_MAPS	10000

/*
 * A guest with a vIOMMU: maps and unmaps of single 4 KiB pages at random
 * IOVAs of 1 GiB, of random pages of 16 MiB, with MIX_LIVE mapped at a
 * time, the unmapped one chosen at random among them.
 */
#define MIX_MAPS	100000
#define MIX_LIVE	1000
#define MIX_SLOTS	(SZ_1G / SZ_4K)
#define MIX_LEN		(16 * SZ_1M)
#define MIX_BATCH	100	/* ranges per IOASID_VEC call */
/* gup_test hands its flags to GUP as they are: the kernel's values. */
#define FOLL_WRITE	0x1
#define FOLL_LONGTERM	0x100

#define VFIO_CDEV	"/dev/vfio/devices/vfio0"
/* QEMU's ivshmem-plain (1af4:1110): BAR2 is its 256 MiB memory backend. */
#define BAR_VENDOR	0x1af4
#define BAR_DEVICE	0x1110
#define BAR_INDEX	VFIO_PCI_BAR2_REGION_INDEX
#define VFIO_CDEV_GROUP	"/sys/class/vfio-dev/vfio0/device/iommu_group"
#define GUP_TEST	"/sys/kernel/debug/gup_test"
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

enum impl { IMPL_IOASID, IMPL_IOMMUFD, IMPL_TYPE1, IMPL_FLOOR };

static const char * const impl_name[] = {
	[IMPL_IOASID] = "ioasid",
	[IMPL_IOMMUFD] = "iommufd",
	[IMPL_TYPE1] = "type1",
	[IMPL_FLOOR] = "floor",
};

/* One set-up implementation; mock devices live as long as the context. */
struct session {
	enum impl impl;
	bool by_file;		/* map the work's memfd, not its view */
	bool container;		/* the VFIO container calls, for any impl */
	int fd;			/* /dev/ioasid, /dev/iommu, container, gup_test */
	int dev;		/* the device cdev, the type1 group, or -1 */
	int bar_dev;		/* the device of the mapped BAR, or -1 */
	void *bar;		/* its BAR, mmapped, or NULL */
	unsigned int ioas;	/* the IOASID or the IOAS */
	unsigned int mock_dev;	/* the first mock device, if any */
};

/* One row of a case: an implementation, and how it is set up. */
struct variant {
	const char *row;	/* the case column, when not the case's name */
	enum impl impl;
	unsigned int mock_iommus;	/* mock devices instead of the edu */
	bool noncoherent;	/* mock devices that let no-snoop DMA through */
	bool by_file;		/* IOASID_MAP_FILE of the case's memfd */
	bool bar;		/* map the large BAR, through a VFIO container */
	bool container;		/* the edu's group in a /dev/ioasid container */
};

static const struct variant peers[] = {
	{ .impl = IMPL_IOASID },
	{ .impl = IMPL_IOMMUFD },
	{ .impl = IMPL_TYPE1 },
	{ .impl = IMPL_FLOOR },
};

/*
 * The same IOASID code with one and with two IOMMU domains to fill, and
 * with one domain that lets no-snoop DMA through, whose pages are flushed
 * from the CPU caches at map and at unpin.
 */
static const struct variant mock_domains[] = {
	{ .row = "one_domain_mock_64M", .impl = IMPL_IOASID, .mock_iommus = 1 },
	{ .row = "two_domains_mock_64M", .impl = IMPL_IOASID, .mock_iommus = 2 },
	{ .row = "nosnoop_mock_64M", .impl = IMPL_IOASID, .mock_iommus = 1,
	  .noncoherent = true },
};

/*
 * A 256 MiB BAR mapped for peer-to-peer DMA by its mmap, through the VFIO
 * container of each: /dev/ioasid maps the device memory behind it, type1
 * walks the VMA page by page.
 */
static const struct variant bar_rows[] = {
	{ .impl = IMPL_IOASID, .bar = true },
	{ .impl = IMPL_TYPE1, .bar = true },
};

/* IOASID_VEC against the pinning of the same pages, one by one. */
static const struct variant vec_rows[] = {
	{ .impl = IMPL_IOASID },
	{ .impl = IMPL_FLOOR },
};

/*
 * A memfd mapped by file and, the way the peers must, by a view of it.
 * Its floor is the pinning of the view.
 */
static const struct variant shmem_rows[] = {
	{ .row = "map_file_shmem_256M", .impl = IMPL_IOASID, .by_file = true },
	{ .row = "map_view_shmem_256M", .impl = IMPL_IOASID },
	{ .row = "map_view_shmem_256M", .impl = IMPL_IOMMUFD },
	{ .row = "map_view_shmem_256M", .impl = IMPL_TYPE1 },
	{ .row = "map_view_shmem_256M", .impl = IMPL_FLOOR },
};

static const struct variant hugetlb_rows[] = {
	{ .row = "map_file_hugetlb_1G", .impl = IMPL_IOASID, .by_file = true },
	{ .row = "map_view_hugetlb_1G", .impl = IMPL_IOASID },
	{ .row = "map_view_hugetlb_1G", .impl = IMPL_IOMMUFD },
	{ .row = "map_view_hugetlb_1G", .impl = IMPL_TYPE1 },
	{ .row = "map_view_hugetlb_1G", .impl = IMPL_FLOOR },
};

/*
 * The dirty bitmap of 1 GiB read by a migrating VMM: natively from a mock
 * domain whose every IOPTE is dirty, and through the VFIO container of
 * each, where QEMU's VT-d cannot track and every mapped page is dirty.
 */
static const struct variant dirty_mock_rows[] = {
	{ .impl = IMPL_IOASID, .mock_iommus = 1 },
};

static const struct variant dirty_compat_rows[] = {
	{ .impl = IMPL_IOASID, .container = true },
	{ .impl = IMPL_TYPE1 },
};

#define MAX_VARIANTS	5
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

enum backing { BACK_NONE, BACK_4K, BACK_THP, BACK_HUGETLB, BACK_MEMFD,
	       BACK_MEMFD_HUGETLB };

struct work {
	char *va;
	size_t len;
	void *map;		/* what to munmap */
	size_t map_len;
	int memfd;		/* for the memfd backings, else -1 */
};

struct bench_case {
	const char *name;
	enum backing backing;
	size_t len;
	int (*iter)(struct session *s, const struct work *w, double *us);
	const struct variant *variants;
	unsigned int nr_variants;
	unsigned int rounds;
	bool unattached;	/* set up with the device bound, not attached */
};

static char group_path[300];
static const char *failed_call;
/* -r and -i: run only the variants of one row, or of one implementation. */
static const char *only_row, *only_impl;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* An ioctl that remembers its name when it fails, for the error line. */
static int call(int fd, unsigned long req, void *arg, const char *name)
{
	int rc = ioctl(fd, req, arg);

	if (rc)
		failed_call = name;
	return rc;
}

static int open_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		failed_call = path;
	return fd;
}

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "# ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static int mock_device(struct session *s, unsigned int iommu,
		       bool noncoherent)
{
	struct ioasid_test add = { .size = sizeof(add) };
	struct ioasid_test at = { .size = sizeof(at) };

	add.op = IOASID_TEST_OP_MOCK_DEVICE;
	add.mock_device.iommu = iommu;
	add.mock_device.flags = noncoherent ? 0 : IOASID_MOCK_COHERENT;
	add.mock_device.pgsize_bitmap = SZ_4K | SZ_2M | SZ_1G;
	add.mock_device.aperture_last = UINT64_MAX;
	if (call(s->fd, IOASID_TEST, &add, "IOASID_TEST_OP_MOCK_DEVICE"))
		return -1;
	if (!iommu)
		s->mock_dev = add.mock_device.out_dev_id;
	at.op = IOASID_TEST_OP_ATTACH;
	at.attach.dev_id = add.mock_device.out_dev_id;
	at.attach.ioasid = s->ioas;
	return call(s->fd, IOASID_TEST, &at, "IOASID_TEST_OP_ATTACH");
}

static int dev_attach(struct session *s)
{
	struct vfio_device_attach_iommufd_pt pt = { .argsz = sizeof(pt) };
	struct vfio_device_attach_ioasid at = { .argsz = sizeof(at) };
	int container = s->fd;

	switch (s->container ? IMPL_TYPE1 : s->impl) {
	case IMPL_IOASID:
		at.ioasid = s->ioas;
		return call(s->dev, VFIO_DEVICE_ATTACH_IOASID, &at,
			    "VFIO_DEVICE_ATTACH_IOASID");
	case IMPL_IOMMUFD:
		pt.pt_id = s->ioas;
		return call(s->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &pt,
			    "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	case IMPL_TYPE1:
		/* Type1 allocates and attaches its domain at SET_IOMMU. */
		if (call(s->dev, VFIO_GROUP_SET_CONTAINER, &container,
			 "VFIO_GROUP_SET_CONTAINER"))
			return -1;
		return call(s->fd, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU,
			    "VFIO_SET_IOMMU");
	default:
		return 0;
	}
}

static int dev_detach(struct session *s)
{
	struct vfio_device_detach_iommufd_pt pt = { .argsz = sizeof(pt) };
	struct vfio_device_detach_ioasid de = { .argsz = sizeof(de) };

	switch (s->container ? IMPL_TYPE1 : s->impl) {
	case IMPL_IOASID:
		return call(s->dev, VFIO_DEVICE_DETACH_IOASID, &de,
			    "VFIO_DEVICE_DETACH_IOASID");
	case IMPL_IOMMUFD:
		return call(s->dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &pt,
			    "VFIO_DEVICE_DETACH_IOMMUFD_PT");
	case IMPL_TYPE1:
		return call(s->dev, VFIO_GROUP_UNSET_CONTAINER, NULL,
			    "VFIO_GROUP_UNSET_CONTAINER");
	default:
		return 0;
	}
}

static int ioasid_open(struct session *s)
{
	struct vfio_device_bind_ioasid_fd bind = { .argsz = sizeof(bind) };
	struct ioasid_alloc alloc = { .size = sizeof(alloc) };

	s->fd = open_file("/dev/ioasid");
	if (s->fd < 0 || call(s->fd, IOASID_ALLOC, &alloc, "IOASID_ALLOC"))
		return -1;
	s->ioas = alloc.out_ioasid;
	s->dev = open_file(VFIO_CDEV);
	if (s->dev < 0)
		return -1;
	bind.ioasid_fd = s->fd;
	return call(s->dev, VFIO_DEVICE_BIND_IOASID_FD, &bind,
		    "VFIO_DEVICE_BIND_IOASID_FD");
}

static int iommufd_open(struct session *s)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	s->fd = open_file("/dev/iommu");
	if (s->fd < 0 ||
	    call(s->fd, IOMMU_IOAS_ALLOC, &alloc, "IOMMU_IOAS_ALLOC"))
		return -1;
	s->ioas = alloc.out_ioas_id;
	s->dev = open_file(VFIO_CDEV);
	if (s->dev < 0)
		return -1;
	bind.iommufd = s->fd;
	return call(s->dev, VFIO_DEVICE_BIND_IOMMUFD, &bind,
		    "VFIO_DEVICE_BIND_IOMMUFD");
}

static char bar_group[300], bar_bdf[256];

/*
 * The BAR device's group in a VFIO container (/dev/ioasid or VFIO's own),
 * the device open through it and its BAR mmapped.
 */
static int bar_open(struct session *s)
{
	struct vfio_region_info info = { .argsz = sizeof(info),
					 .index = BAR_INDEX };
	int container;

	s->container = true;
	s->fd = open_file(s->impl == IMPL_IOASID ? "/dev/ioasid" :
			  "/dev/vfio/vfio");
	s->dev = open_file(bar_group);
	if (s->fd < 0 || s->dev < 0)
		return -1;
	container = s->fd;
	if (call(s->dev, VFIO_GROUP_SET_CONTAINER, &container,
		 "VFIO_GROUP_SET_CONTAINER") ||
	    call(s->fd, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU,
		 "VFIO_SET_IOMMU"))
		return -1;
	s->bar_dev = ioctl(s->dev, VFIO_GROUP_GET_DEVICE_FD, bar_bdf);
	if (s->bar_dev < 0) {
		failed_call = "VFIO_GROUP_GET_DEVICE_FD";
		return -1;
	}
	if (call(s->bar_dev, VFIO_DEVICE_GET_REGION_INFO, &info,
		 "VFIO_DEVICE_GET_REGION_INFO"))
		return -1;
	s->bar = mmap(NULL, SZ_256M, PROT_READ | PROT_WRITE, MAP_SHARED,
		      s->bar_dev, info.offset);
	if (s->bar == MAP_FAILED) {
		s->bar = NULL;
		failed_call = "mmap of the BAR";
		return -1;
	}
	return 0;
}

/* Keeps errno, which tells why the session is being closed, if it failed. */
static void session_close(struct session *s)
{
	int err = errno;

	if (s->bar)
		munmap(s->bar, SZ_256M);
	if (s->bar_dev >= 0)
		close(s->bar_dev);
	/* The device file first: it holds the context it is bound to. */
	if (s->dev >= 0)
		close(s->dev);
	if (s->fd >= 0)
		close(s->fd);
	errno = err;
}

static int session_open(struct session *s, const struct variant *v,
			bool attach)
{
	struct ioasid_alloc alloc = { .size = sizeof(alloc) };
	unsigned int i;
	int rc = 0;

	*s = (struct session){ .impl = v->impl, .by_file = v->by_file,
			       .container = v->container,
			       .fd = -1, .dev = -1, .bar_dev = -1 };
	if (v->bar) {
		if (!bar_open(s))
			return 0;
		goto fail;
	}
	if (v->mock_iommus) {
		s->fd = open_file("/dev/ioasid");
		if (s->fd < 0 ||
		    call(s->fd, IOASID_ALLOC, &alloc, "IOASID_ALLOC"))
			goto fail;
		s->ioas = alloc.out_ioasid;
		for (i = 0; i < v->mock_iommus; i++)
			if (mock_device(s, i, v->noncoherent))
				goto fail;
		return 0;
	}
	switch (v->container ? IMPL_TYPE1 : v->impl) {
	case IMPL_IOASID:
		rc = ioasid_open(s);
		break;
	case IMPL_IOMMUFD:
		rc = iommufd_open(s);
		break;
	case IMPL_TYPE1:
		s->dev = open_file(group_path);
		if (s->dev >= 0)
			s->fd = open_file(v->container ? "/dev/ioasid" :
					  "/dev/vfio/vfio");
		rc = s->fd < 0;
		break;
	case IMPL_FLOOR:
		s->fd = open_file(GUP_TEST);
		rc = s->fd < 0;
		break;
	}
	if (!rc && (!attach || !dev_attach(s)))
		return 0;
fail:
	session_close(s);
	return -1;
}

static int dma_map(struct session *s, const struct work *w, void *va,
		   size_t len, uint64_t iova)
{
	struct vfio_iommu_type1_dma_map t1 = { .argsz = sizeof(t1) };
	struct iommu_ioas_map im = { .size = sizeof(im) };
	struct ioasid_map m = { .size = sizeof(m) };

	switch (s->container ? IMPL_TYPE1 : s->impl) {
	case IMPL_IOASID:
		m.flags = IOASID_MAP_READ | IOASID_MAP_WRITE |
			  IOASID_MAP_FIXED_IOVA;
		m.ioasid = s->ioas;
		m.user_va = (uintptr_t)va;
		if (s->by_file) {
			m.flags |= IOASID_MAP_FILE;
			m.fd = w->memfd;
			m.file_offset = (char *)va - w->va;
		}
		m.length = len;
		m.iova = iova;
		return call(s->fd, IOASID_MAP, &m, "IOASID_MAP");
	case IMPL_IOMMUFD:
		im.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			   IOMMU_IOAS_MAP_FIXED_IOVA;
		im.ioas_id = s->ioas;
		im.user_va = (uintptr_t)va;
		im.length = len;
		im.iova = iova;
		return call(s->fd, IOMMU_IOAS_MAP, &im, "IOMMU_IOAS_MAP");
	case IMPL_TYPE1:
		t1.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
		t1.vaddr = (uintptr_t)va;
		t1.iova = iova;
		t1.size = len;
		return call(s->fd, VFIO_IOMMU_MAP_DMA, &t1,
			    "VFIO_IOMMU_MAP_DMA");
	default:
		errno = EINVAL;
		return -1;
	}
}

static int dma_unmap(struct session *s, uint64_t iova, size_t len)
{
	struct vfio_iommu_type1_dma_unmap t1 = { .argsz = sizeof(t1) };
	struct iommu_ioas_unmap iu = { .size = sizeof(iu) };
	struct ioasid_unmap u = { .size = sizeof(u) };

	switch (s->container ? IMPL_TYPE1 : s->impl) {
	case IMPL_IOASID:
		u.ioasid = s->ioas;
		u.iova = iova;
		u.length = len;
		return call(s->fd, IOASID_UNMAP, &u, "IOASID_UNMAP");
	case IMPL_IOMMUFD:
		iu.ioas_id = s->ioas;
		iu.iova = iova;
		iu.length = len;
		return call(s->fd, IOMMU_IOAS_UNMAP, &iu, "IOMMU_IOAS_UNMAP");
	case IMPL_TYPE1:
		t1.iova = iova;
		t1.size = len;
		return call(s->fd, VFIO_IOMMU_UNMAP_DMA, &t1,
			    "VFIO_IOMMU_UNMAP_DMA");
	default:
		errno = EINVAL;
		return -1;
	}
}

/*
 * Pin the range long term and unpin it, writable as the peers pin it.
 * gup_test reports how long the pinning and the unpinning took, apart
 * from the check it makes of every page in between.  Its fast-path
 * benchmark is the one that takes FOLL_LONGTERM as /dev/ioasid and
 * iommufd pin: PIN_LONGTERM_BENCHMARK goes through the slow path, which
 * costs more than what it would be the floor of.
 */
static int pin_unpin_by(int fd, void *va, size_t len, unsigned int per_call,
			double *us)
{
	struct gup_test gup = {
		.addr = (uintptr_t)va,
		.size = len,
		.nr_pages_per_call = per_call,
		.gup_flags = FOLL_WRITE | FOLL_LONGTERM,
	};

	if (call(fd, PIN_FAST_BENCHMARK, &gup, "PIN_FAST_BENCHMARK"))
		return -1;
	if (gup.size != len) {
		failed_call = "PIN_FAST_BENCHMARK (short)";
		errno = EFAULT;
		return -1;
	}
	*us = gup.get_delta_usec + gup.put_delta_usec;
	return 0;
}

static int pin_unpin(int fd, void *va, size_t len, double *us)
{
	return pin_unpin_by(fd, va, len, len / SZ_4K, us);
}

/* Map the whole buffer in one call, then unmap it. */
static int iter_map_unmap(struct session *s, const struct work *w, double *us)
{
	double t;

	if (s->impl == IMPL_FLOOR)
		return pin_unpin(s->fd, w->va, w->len, us);
	t = now_us();
	if (dma_map(s, w, w->va, w->len, IOVA_BASE) ||
	    dma_unmap(s, IOVA_BASE, w->len))
		return -1;
	*us = now_us() - t;
	return 0;
}

/*
 * What an emulated vIOMMU does: one call per 4 KiB page mapped, then one
 * per page unmapped.  Its floor is one gup_test call per page, timed
 * whole, since the system call is part of the cost of that pattern.
 */
static int iter_small(struct session *s, const struct work *w, double *us)
{
	double t = now_us(), ignored;
	unsigned int i;

	for (i = 0; i < SMALL_MAPS; i++) {
		if (s->impl == IMPL_FLOOR) {
			if (pin_unpin(s->fd, w->va + i * SZ_4K, SZ_4K, &ignored))
				return -1;
		} else if (dma_map(s, w, w->va + i * SZ_4K, SZ_4K,
				   IOVA_BASE + i * SZ_4K)) {
			return -1;
		}
	}
	for (i = 0; i < SMALL_MAPS && s->impl != IMPL_FLOOR; i++)
		if (dma_unmap(s, IOVA_BASE + i * SZ_4K, SZ_4K))
			return -1;
	*us = now_us() - t;
	return 0;
}

static int vec_call(struct session *s, __u32 op, struct ioasid_vec_entry *e,
		    unsigned int n)
{
	struct ioasid_vec v = {
		.size = sizeof(v),
		.op = op,
		.ioasid = s->ioas,
		.count = n,
		.entries = (uintptr_t)e,
	};

	if (op == IOASID_VEC_MAP)
		v.flags = IOASID_MAP_READ | IOASID_MAP_WRITE |
			  IOASID_MAP_FIXED_IOVA;
	return call(s->fd, IOASID_VEC, &v, "IOASID_VEC");
}

/*
 * The emulated vIOMMU's 10,000 pages again, @per_call pages to an
 * IOASID_VEC call.  The floor pins and unpins the same pages one by one
 * inside the kernel: the work no call can avoid.
 */
static int iter_vec(struct session *s, const struct work *w,
		    unsigned int per_call, double *us)
{
	static struct ioasid_vec_entry e[256];
	double t = now_us(), part;
	unsigned int i, j, n;
	__u32 op;

	if (s->impl == IMPL_FLOOR) {
		*us = 0;
		for (i = 0; i < SMALL_MAPS; i += per_call) {
			n = SMALL_MAPS - i < per_call ? SMALL_MAPS - i : per_call;
			if (pin_unpin_by(s->fd, w->va + i * SZ_4K, n * SZ_4K, 1,
					 &part))
				return -1;
			*us += part;
		}
		return 0;
	}
	for (op = IOASID_VEC_MAP; op <= IOASID_VEC_UNMAP; op++) {
		for (i = 0; i < SMALL_MAPS; i += n) {
			n = SMALL_MAPS - i < per_call ? SMALL_MAPS - i : per_call;
			for (j = 0; j < n; j++)
				e[j] = (struct ioasid_vec_entry){
					.iova = IOVA_BASE + (i + j) * SZ_4K,
					.addr = op == IOASID_VEC_MAP ?
						(uintptr_t)w->va + (i + j) * SZ_4K : 0,
					.length = SZ_4K,
				};
			if (vec_call(s, op, e, n))
				return -1;
		}
	}
	*us = now_us() - t;
	return 0;
}

static int iter_vec1(struct session *s, const struct work *w, double *us)
{
	return iter_vec(s, w, 1, us);
}

static int iter_vec16(struct session *s, const struct work *w, double *us)
{
	return iter_vec(s, w, 16, us);
}

static int iter_vec256(struct session *s, const struct work *w, double *us)
{
	return iter_vec(s, w, 256, us);
}

struct mix {
	uint32_t rng;
	unsigned int nlive;
	uint32_t live[MIX_LIVE];		/* their IOVA slots */
	uint8_t used[MIX_SLOTS / 8];		/* the slots mapped */
};

/* xorshift32, from the same seed for every implementation. */
static uint32_t mix_random(struct mix *m)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 17;
	m->rng ^= m->rng << 5;
	return m->rng;
}

/* A free IOVA slot, now used; 1,000 of 262,144 are, so few draws miss. */
static uint32_t mix_take_slot(struct mix *m)
{
	uint32_t slot;

	do {
		slot = mix_random(m) % MIX_SLOTS;
	} while (m->used[slot / 8] & (1 << (slot % 8)));
	m->used[slot / 8] |= 1 << (slot % 8);
	return slot;
}

/* A live mapping chosen at random, now no longer live. */
static uint32_t mix_drop_live(struct mix *m)
{
	unsigned int j = mix_random(m) % m->nlive;
	uint32_t slot = m->live[j];

	m->live[j] = m->live[--m->nlive];
	m->used[slot / 8] &= ~(1 << (slot % 8));
	return slot;
}

/* The next step's @n unmaps (none until MIX_LIVE are mapped), as entries. */
static unsigned int mix_unmaps(struct mix *m, struct ioasid_vec_entry *e,
			       unsigned int n)
{
	unsigned int j;

	if (m->nlive + n <= MIX_LIVE)
		return 0;
	for (j = 0; j < n; j++)
		e[j] = (struct ioasid_vec_entry){
			.iova = IOVA_BASE + (uint64_t)mix_drop_live(m) * SZ_4K,
			.length = SZ_4K,
		};
	return n;
}

/* The next step's @n maps, as entries. */
static void mix_maps(struct mix *m, const struct work *w,
		     struct ioasid_vec_entry *e, unsigned int n)
{
	uint32_t slot;
	unsigned int j;

	for (j = 0; j < n; j++) {
		slot = mix_take_slot(m);
		m->live[m->nlive++] = slot;
		e[j] = (struct ioasid_vec_entry){
			.iova = IOVA_BASE + (uint64_t)slot * SZ_4K,
			.addr = (uintptr_t)w->va +
				(mix_random(m) % (w->len / SZ_4K)) * SZ_4K,
			.length = SZ_4K,
		};
	}
}

/* Apply entries one call each, or in one IOASID_VEC call. */
static int mix_apply(struct session *s, const struct work *w, __u32 op,
		     struct ioasid_vec_entry *e, unsigned int n, bool vec)
{
	double ignored;
	unsigned int j;

	if (vec)
		return n ? vec_call(s, op, e, n) : 0;
	for (j = 0; j < n; j++) {
		if (s->impl == IMPL_FLOOR) {
			if (op == IOASID_VEC_MAP &&
			    pin_unpin(s->fd, (void *)(uintptr_t)e[j].addr,
				      SZ_4K, &ignored))
				return -1;
		} else if (op == IOASID_VEC_MAP ?
			   dma_map(s, w, (void *)(uintptr_t)e[j].addr, SZ_4K,
				   e[j].iova) :
			   dma_unmap(s, e[j].iova, SZ_4K)) {
			return -1;
		}
	}
	return 0;
}

/*
 * MIX_MAPS maps and as many unmaps, @per_call of each at a step; the
 * floor pins and unpins each page mapped, one gup_test call per page.
 */
static int iter_mix_by(struct session *s, const struct work *w,
		       unsigned int per_call, double *us)
{
	static struct ioasid_vec_entry e[MIX_BATCH];
	static struct mix m;
	bool vec = per_call > 1;
	double t = now_us();
	unsigned int i, n;

	memset(&m, 0, sizeof(m));
	m.rng = 2463534242u;
	for (i = 0; i < MIX_MAPS; i += per_call) {
		n = mix_unmaps(&m, e, per_call);
		if (mix_apply(s, w, IOASID_VEC_UNMAP, e, n, vec))
			return -1;
		mix_maps(&m, w, e, per_call);
		if (mix_apply(s, w, IOASID_VEC_MAP, e, per_call, vec))
			return -1;
	}
	while (m.nlive) {
		n = m.nlive < per_call ? m.nlive : per_call;
		for (i = 0; i < n; i++)
			e[i] = (struct ioasid_vec_entry){
				.iova = IOVA_BASE +
					(uint64_t)mix_drop_live(&m) * SZ_4K,
				.length = SZ_4K,
			};
		if (mix_apply(s, w, IOASID_VEC_UNMAP, e, n, vec))
			return -1;
	}
	*us = now_us() - t;
	return 0;
}

static int iter_mix(struct session *s, const struct work *w, double *us)
{
	return iter_mix_by(s, w, 1, us);
}

static int iter_mix_vec(struct session *s, const struct work *w, double *us)
{
	return iter_mix_by(s, w, MIX_BATCH, us);
}

/* Map the whole BAR by its mmap in one call, then unmap it. */
static int iter_bar(struct session *s, const struct work *w, double *us)
{
	double t = now_us();

	if (dma_map(s, w, s->bar, SZ_256M, IOVA_BASE) ||
	    dma_unmap(s, IOVA_BASE, SZ_256M))
		return -1;
	*us = now_us() - t;
	return 0;
}

static int dirty_tracking(struct session *s, bool on)
{
	struct vfio_iommu_type1_dirty_bitmap vd = { .argsz = sizeof(vd) };
	struct ioasid_dirty_tracking t = { .size = sizeof(t) };

	if (s->container || s->impl == IMPL_TYPE1) {
		vd.flags = on ? VFIO_IOMMU_DIRTY_PAGES_FLAG_START :
				VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
		return call(s->fd, VFIO_IOMMU_DIRTY_PAGES, &vd,
			    "VFIO_IOMMU_DIRTY_PAGES");
	}
	t.flags = on ? IOASID_DIRTY_TRACKING_ENABLE : 0;
	t.ioasid = s->ioas;
	return call(s->fd, IOASID_DIRTY_TRACKING, &t, "IOASID_DIRTY_TRACKING");
}

/* Read, and clear, the dirty bits of @len at 4 KiB a bit. */
static int dirty_read(struct session *s, size_t len, uint64_t *bits)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap hdr;
		struct vfio_iommu_type1_dirty_bitmap_get get;
	} vd = {
		.hdr = { .argsz = sizeof(vd),
			 .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP },
		.get = { .iova = IOVA_BASE, .size = len,
			 .bitmap = { .pgsize = SZ_4K, .size = len / SZ_4K / 8,
				     .data = (void *)bits } },
	};
	struct ioasid_dirty_bitmap b = {
		.size = sizeof(b), .ioasid = s->ioas, .iova = IOVA_BASE,
		.length = len, .page_size = SZ_4K, .data = (uintptr_t)bits,
	};

	if (s->container || s->impl == IMPL_TYPE1)
		return call(s->fd, VFIO_IOMMU_DIRTY_PAGES, &vd,
			    "VFIO_IOMMU_DIRTY_PAGES");
	return call(s->fd, IOASID_DIRTY_BITMAP, &b, "IOASID_DIRTY_BITMAP");
}

/* What a device writing all the mock domain's memory leaves dirty. */
static int mock_write_all(struct session *s, size_t len)
{
	struct ioasid_test wr = { .size = sizeof(wr) };

	wr.op = IOASID_TEST_OP_MOCK_WRITE;
	wr.mock_write.dev_id = s->mock_dev;
	wr.mock_write.iova = IOVA_BASE;
	wr.mock_write.length = len;
	return call(s->fd, IOASID_TEST, &wr, "IOASID_TEST_OP_MOCK_WRITE");
}

/*
 * One read of the dirty bitmap of the whole buffer, all of it dirty: the
 * map, the start of tracking and the device's writes are not timed.
 */
static int iter_dirty(struct session *s, const struct work *w, double *us)
{
	static uint64_t bits[SZ_1G / SZ_4K / 64];
	double t;

	if (w->len > SZ_1G || dma_map(s, w, w->va, w->len, IOVA_BASE) ||
	    dirty_tracking(s, true) ||
	    (s->mock_dev && mock_write_all(s, w->len)))
		return -1;
	memset(bits, 0, w->len / SZ_4K / 8);
	t = now_us();
	if (dirty_read(s, w->len, bits))
		return -1;
	*us = now_us() - t;
	if (bits[0] != UINT64_MAX || bits[w->len / SZ_4K / 64 - 1] != UINT64_MAX) {
		failed_call = "the bitmap (pages missing)";
		errno = EIO;
		return -1;
	}
	return dirty_tracking(s, false) || dma_unmap(s, IOVA_BASE, w->len);
}

static int iter_attach_detach(struct session *s, const struct work *w,
			      double *us)
{
	double t = now_us();

	if (dev_attach(s) || dev_detach(s))
		return -1;
	*us = now_us() - t;
	return 0;
}

static long meminfo_kb(const char *key)
{
	char line[128];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			kb = atol(line + strlen(key));
	fclose(f);
	return kb;
}

static int set_hugepages(unsigned long n)
{
	FILE *f = fopen(NR_HUGEPAGES, "w");
	int rc;

	if (!f)
		return -1;
	rc = fprintf(f, "%lu\n", n) < 0;
	return fclose(f) || rc ? -1 : 0;
}

/*
 * The memory a case maps, faulted in before any timing.  4 KiB pages are
 * kept from THP, which may be on for all memory.
 */
/*
 * A memfd of the case's size, of 4 KiB shmem pages or of 2 MiB hugetlbfs
 * pages, and a shared view of it with every page faulted in, for the
 * rows that must map it by address.
 */
static int work_alloc_memfd(const struct bench_case *c, struct work *w)
{
	bool huge = c->backing == BACK_MEMFD_HUGETLB;
	size_t off;

	if (huge && set_hugepages(c->len / SZ_2M)) {
		note("error: %s: cannot reserve %zu huge pages: %s", c->name,
		     c->len / SZ_2M, strerror(errno));
		return -1;
	}
	w->memfd = memfd_create("ioasid-bench", huge ? MFD_HUGETLB : 0);
	if (w->memfd < 0 || ftruncate(w->memfd, c->len)) {
		note("error: %s: memfd: %s", c->name, strerror(errno));
		return -1;
	}
	w->map_len = c->len;
	w->map = mmap(NULL, c->len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      w->memfd, 0);
	if (w->map == MAP_FAILED) {
		note("error: %s: mmap of the memfd: %s", c->name,
		     strerror(errno));
		w->map = NULL;
		return -1;
	}
	w->va = w->map;
	for (off = 0; off < c->len; off += SZ_4K)
		w->va[off] = 1;
	return 0;
}

static int work_alloc(const struct bench_case *c, struct work *w)
{
	long thp_kb = meminfo_kb("AnonHugePages:");
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	size_t off;

	*w = (struct work){ .len = c->len, .memfd = -1 };
	if (c->backing == BACK_NONE)
		return 0;
	if (c->backing == BACK_MEMFD || c->backing == BACK_MEMFD_HUGETLB)
		return work_alloc_memfd(c, w);
	w->map_len = c->len;
	if (c->backing == BACK_THP)
		w->map_len += SZ_2M;	/* room to align to 2 MiB */
	if (c->backing == BACK_HUGETLB) {
		if (set_hugepages(c->len / SZ_2M)) {
			note("error: %s: cannot reserve %zu huge pages: %s",
			     c->name, c->len / SZ_2M, strerror(errno));
			return -1;
		}
		flags |= MAP_HUGETLB | MAP_POPULATE;
	}
	w->map = mmap(NULL, w->map_len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (w->map == MAP_FAILED) {
		note("error: %s: mmap of %zu MiB: %s", c->name,
		     w->map_len >> 20, strerror(errno));
		w->map = NULL;
		return -1;
	}
	w->va = (char *)(((uintptr_t)w->map + SZ_2M - 1) & ~(SZ_2M - 1));
	if (c->backing != BACK_THP)
		w->va = w->map;
	if (c->backing != BACK_HUGETLB &&
	    madvise(w->va, c->len, c->backing == BACK_THP ?
		    MADV_HUGEPAGE : MADV_NOHUGEPAGE)) {
		note("error: %s: madvise: %s", c->name, strerror(errno));
		return -1;
	}
	for (off = 0; off < c->len; off += SZ_4K)
		w->va[off] = 1;
	if (c->backing == BACK_THP &&
	    meminfo_kb("AnonHugePages:") - thp_kb < (long)(c->len >> 10)) {
		note("error: %s: THP backs %ld of %zu KiB", c->name,
		     meminfo_kb("AnonHugePages:") - thp_kb, c->len >> 10);
		return -1;
	}
	return 0;
}

static void work_free(const struct bench_case *c, struct work *w)
{
	if (w->map)
		munmap(w->map, w->map_len);
	if (w->memfd >= 0)
		close(w->memfd);
	if (c->backing == BACK_HUGETLB || c->backing == BACK_MEMFD_HUGETLB)
		set_hugepages(0);
}

/*
 * What the IOMMU gets for huge pages: the real VT-d's page tables are out
 * of reach, so map the same memory into a mock domain with 4 KiB, 2 MiB
 * and 1 GiB IOPTEs and count what it holds.
 */
static void iopte_note(const struct bench_case *c, const struct work *w,
		       const char *row, bool by_file)
{
	struct ioasid_test dom = { .size = sizeof(dom) };
	struct ioasid_test pte = { .size = sizeof(pte) };
	struct session s;

	if (session_open(&s, &mock_domains[0], true))
		goto fail;
	s.by_file = by_file;
	if (dma_map(&s, w, w->va, w->len, IOVA_BASE))
		goto fail_close;
	dom.op = IOASID_TEST_OP_MOCK_DOMAIN;
	dom.mock_domain.dev_id = s.mock_dev;
	pte.op = IOASID_TEST_OP_MOCK_PTE;
	pte.mock_pte.dev_id = s.mock_dev;
	pte.mock_pte.iova = IOVA_BASE;
	if (call(s.fd, IOASID_TEST, &dom, "IOASID_TEST_OP_MOCK_DOMAIN") ||
	    call(s.fd, IOASID_TEST, &pte, "IOASID_TEST_OP_MOCK_PTE"))
		goto fail_close;
	note("iopte %s: %llu IOPTEs, the first of %llu KiB (mock domain)",
	     row, (unsigned long long)dom.mock_domain.out_ptes,
	     (unsigned long long)pte.mock_pte.out_pgsize >> 10);
	session_close(&s);
	return;
fail_close:
	session_close(&s);
fail:
	note("error: %s: IOPTE check: %s: %s", row, failed_call,
	     strerror(errno));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static bool variant_skipped(const struct bench_case *c,
			    const struct variant *v)
{
	return (only_row && strcmp(only_row, v->row ?: c->name)) ||
	       (only_impl && strcmp(only_impl, impl_name[v->impl]));
}

/* Whether -c, -r and -i leave any row of @c to run. */
static bool case_selected(const struct bench_case *c, const char *only)
{
	unsigned int i;

	if (only && strcmp(only, c->name))
		return false;
	for (i = 0; i < c->nr_variants; i++)
		if (!variant_skipped(c, &c->variants[i]))
			return true;
	return false;
}

/* Run one case; returns the number of its rows that failed. */
static int run_case(const struct bench_case *c, unsigned int rounds)
{
	unsigned int nv = c->nr_variants, r, k, i;
	bool failed[MAX_VARIANTS] = { false };
	const struct variant *v;
	double t0 = now_us();
	struct session s;
	struct work w;
	double *us;
	int bad = 0;

	us = calloc(nv * rounds, sizeof(*us));
	if (!us)
		return nv;
	if (work_alloc(c, &w)) {
		work_free(c, &w);
		free(us);
		return nv;
	}
	if (c->backing == BACK_THP || c->backing == BACK_HUGETLB)
		iopte_note(c, &w, c->name, false);
	/* Huge pages by file and by view: each row shows its IOPTEs. */
	for (i = 0; c->backing == BACK_MEMFD_HUGETLB && i < nv; i++)
		if (c->variants[i].impl == IMPL_IOASID)
			iopte_note(c, &w, c->variants[i].row,
				   c->variants[i].by_file);
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < nv; k++) {
			i = (r + k) % nv;
			v = &c->variants[i];
			if (failed[i] || variant_skipped(c, v))
				continue;
			if (session_open(&s, v, !c->unattached)) {
				failed[i] = true;
			} else {
				failed[i] = c->iter(&s, &w, &us[i * rounds + r]);
				session_close(&s);
			}
			if (failed[i])
				note("error: %s: %s: %s: %s",
				     v->row ?: c->name, impl_name[v->impl],
				     failed_call, strerror(errno));
		}
	}
	for (i = 0; i < nv; i++) {
		v = &c->variants[i];
		if (variant_skipped(c, v))
			continue;
		if (failed[i]) {
			bad++;
			continue;
		}
		printf("%s,%s,%.1f,%u\n", v->row ?: c->name, impl_name[v->impl],
		       median(&us[i * rounds], rounds), rounds);
	}
	note("%s: %u rounds in %.1f s", c->name, rounds,
	     (now_us() - t0) / 1e6);
	work_free(c, &w);
	free(us);
	return bad;
}

#define MAP_UNMAP(what, back, size, n)					\
	{ .name = what, .backing = back, .len = size, .iter = iter_map_unmap, \
	  .variants = peers, .nr_variants = 4, .rounds = n }

static const struct bench_case cases[] = {
	{ .name = "attach_detach", .iter = iter_attach_detach,
	  .variants = peers, .nr_variants = 3, .rounds = 51,
	  .unattached = true },
	/* Huge pages first, while memory is least fragmented. */
	MAP_UNMAP("map_unmap_hugetlb_2M", BACK_HUGETLB, SZ_2M, 51),
	MAP_UNMAP("map_unmap_hugetlb_256M", BACK_HUGETLB, SZ_256M, 41),
	MAP_UNMAP("map_unmap_hugetlb_1G", BACK_HUGETLB, SZ_1G, 21),
	MAP_UNMAP("map_unmap_thp_2M", BACK_THP, SZ_2M, 51),
	MAP_UNMAP("map_unmap_thp_256M", BACK_THP, SZ_256M, 41),
	MAP_UNMAP("map_unmap_thp_1G", BACK_THP, SZ_1G, 21),
	MAP_UNMAP("map_unmap_4k_4K", BACK_4K, SZ_4K, 101),
	MAP_UNMAP("map_unmap_4k_64K", BACK_4K, SZ_64K, 101),
	MAP_UNMAP("map_unmap_4k_2M", BACK_4K, SZ_2M, 51),
	MAP_UNMAP("map_unmap_4k_32M", BACK_4K, SZ_32M, 41),
	MAP_UNMAP("map_unmap_4k_256M", BACK_4K, SZ_256M, 41),
	MAP_UNMAP("map_unmap_4k_1G", BACK_4K, SZ_1G, 21),
	{ .name = "small_10000x4k", .backing = BACK_4K,
	  .len = SMALL_MAPS * SZ_4K, .iter = iter_small,
	  .variants = peers, .nr_variants = 4, .rounds = 31 },
	{ .name = "vec1_10000x4k", .backing = BACK_4K,
	  .len = SMALL_MAPS * SZ_4K, .iter = iter_vec1,
	  .variants = vec_rows, .nr_variants = 1, .rounds = 31 },
	{ .name = "vec16_10000x4k", .backing = BACK_4K,
	  .len = SMALL_MAPS * SZ_4K, .iter = iter_vec16,
	  .variants = vec_rows, .nr_variants = 2, .rounds = 31 },
	{ .name = "vec256_10000x4k", .backing = BACK_4K,
	  .len = SMALL_MAPS * SZ_4K, .iter = iter_vec256,
	  .variants = vec_rows, .nr_variants = 2, .rounds = 31 },
	{ .name = "mix_100000x4k", .backing = BACK_4K, .len = MIX_LEN,
	  .iter = iter_mix, .variants = peers, .nr_variants = 4, .rounds = 5 },
	{ .name = "mix_vec100_100000x4k", .backing = BACK_4K, .len = MIX_LEN,
	  .iter = iter_mix_vec, .variants = vec_rows, .nr_variants = 1,
	  .rounds = 5 },
	/* The same with the device bound but not attached: no IOMMU work. */
	{ .name = "vec256_unattached_10000x4k", .backing = BACK_4K,
	  .len = SMALL_MAPS * SZ_4K, .iter = iter_vec256,
	  .variants = vec_rows, .nr_variants = 1, .rounds = 31,
	  .unattached = true },
	{ .name = "file_shmem_256M", .backing = BACK_MEMFD, .len = SZ_256M,
	  .iter = iter_map_unmap, .variants = shmem_rows,
	  .nr_variants = ARRAY_SIZE(shmem_rows), .rounds = 11 },
	{ .name = "file_hugetlb_1G", .backing = BACK_MEMFD_HUGETLB,
	  .len = SZ_1G, .iter = iter_map_unmap, .variants = hugetlb_rows,
	  .nr_variants = ARRAY_SIZE(hugetlb_rows), .rounds = 11 },
	{ .name = "mock_64M", .backing = BACK_4K, .len = SZ_64M,
	  .iter = iter_map_unmap, .variants = mock_domains,
	  .nr_variants = ARRAY_SIZE(mock_domains), .rounds = 41 },
	{ .name = "map_unmap_bar_256M", .iter = iter_bar, .variants = bar_rows,
	  .nr_variants = ARRAY_SIZE(bar_rows), .rounds = 11 },
	{ .name = "dirty_read_mock_4k_1G", .backing = BACK_4K, .len = SZ_1G,
	  .iter = iter_dirty, .variants = dirty_mock_rows,
	  .nr_variants = ARRAY_SIZE(dirty_mock_rows), .rounds = 11 },
	{ .name = "dirty_read_mock_thp_1G", .backing = BACK_THP, .len = SZ_1G,
	  .iter = iter_dirty, .variants = dirty_mock_rows,
	  .nr_variants = ARRAY_SIZE(dirty_mock_rows), .rounds = 11 },
	{ .name = "dirty_read_container_1G", .backing = BACK_4K, .len = SZ_1G,
	  .iter = iter_dirty, .variants = dirty_compat_rows,
	  .nr_variants = ARRAY_SIZE(dirty_compat_rows), .rounds = 11 },
};

/* The edu's group, for type1: the cdev and the group name one device. */
static int find_group(void)
{
	char link[256];
	ssize_t n;
	char *p;

	n = readlink(VFIO_CDEV_GROUP, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = '\0';
	p = strrchr(link, '/');
	snprintf(group_path, sizeof(group_path), "/dev/vfio/%s",
		 p ? p + 1 : link);
	return 0;
}

/* The large BAR's device bound to vfio-pci, if the VM has one. */
static bool find_bar_device(void)
{
	char path[320], link[256];
	unsigned int vendor, device;
	struct dirent *d;
	ssize_t n;
	DIR *dir;
	FILE *f;

	dir = opendir("/sys/bus/pci/devices");
	while (dir && (d = readdir(dir))) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		vendor = 0;
		device = 0;
		if (fscanf(f, "%x", &vendor) != 1)
			vendor = 0;
		fclose(f);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 d->d_name);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%x", &device) != 1)
				device = 0;
			fclose(f);
		}
		if (vendor != BAR_VENDOR || device != BAR_DEVICE)
			continue;
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/iommu_group", d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		snprintf(bar_group, sizeof(bar_group), "/dev/vfio/%s",
			 strrchr(link, '/') + 1);
		snprintf(bar_bdf, sizeof(bar_bdf), "%s", d->d_name);
		closedir(dir);
		return true;
	}
	if (dir)
		closedir(dir);
	return false;
}

int main(int argc, char **argv)
{
	unsigned int i, iterations = 0, selected = 0;
	const char *only = NULL;
	int opt, bad = 0;

	while ((opt = getopt(argc, argv, "n:c:r:i:")) != -1) {
		if (opt == 'c') {
			only = optarg;
		} else if (opt == 'r') {
			only_row = optarg;
		} else if (opt == 'i') {
			only_impl = optarg;
		} else if (opt == 'n' && atoi(optarg) >= 1) {
			iterations = atoi(optarg);
		} else {
			fprintf(stderr,
				"usage: %s [-n ITERATIONS] [-c CASE] [-r ROW] [-i IMPL]\n",
				argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (find_group()) {
		fprintf(stderr, "ioasid-bench: no VFIO device at %s: %s\n",
			VFIO_CDEV, strerror(errno));
		return 1;
	}
	note("ioasid-bench: %s, type1 through %s; medians of wall-clock us",
	     VFIO_CDEV, group_path);
	printf("case,impl,median_us,iterations\n");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!case_selected(&cases[i], only))
			continue;
		selected++;
		if (cases[i].iter == iter_bar && !find_bar_device()) {
			note("%s: no ivshmem device bound to vfio-pci", cases[i].name);
			bad++;
			continue;
		}
		bad += run_case(&cases[i], iterations ?: cases[i].rounds);
	}
	/* A misspelt case or row would make an empty table, or profile. */
	if (!selected) {
		fprintf(stderr, "ioasid-bench: no row matches -c, -r and -i\n");
		return 2;
	}
	return bad ? 1 : 0;
}
