/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the /dev/ioasid selftests.
 */
#ifndef __SELFTEST_IOASID_TEST_H
#define __SELFTEST_IOASID_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/ioasid.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "ioasid_iommu.h"

/* Capability bits the tests know; anything else must read as zero. */
#define IOASID_KNOWN_CAPS						\
	(IOASID_CAP_COHERENCY | IOASID_CAP_VFIO_CONTAINER |		\
	 IOASID_CAP_DEVICE_INFO | IOASID_CAP_MAP_FILE | IOASID_CAP_VEC |	\
	 IOASID_CAP_MAP_DEVICE_MEMORY | IOASID_CAP_CHANGE_OWNER |	\
	 IOASID_CAP_DIRTY_TRACKING)

/* Declare a command struct with its size filled in, everything else 0. */
#define IOASID_CMD(type, name) struct type name = { .size = sizeof(name) }

/* The call must fail, with exactly @err. */
#define ASSERT_ERRNO(err, call)                                                \
	do {                                                                   \
		errno = 0;                                                     \
		ASSERT_EQ(-1, call);                                           \
		ASSERT_EQ(err, errno);                                         \
	} while (0)

/* A "Name: N kB" line of @path (/proc/meminfo, a status file), or -1. */
static inline long kb_field(const char *path, const char *name)
{
	FILE *f = fopen(path, "r");
	size_t len = strlen(name);
	char line[128];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A "Name: N kB" field of /proc/self/status, or -1. */
static inline long proc_status_kb(const char *name)
{
	return kb_field("/proc/self/status", name);
}

/* VmPin in kB: the mm's pinned_vm, as users see it. */
static inline long vm_pin_kb(void)
{
	return proc_status_kb("VmPin");
}

/* VmLck in kB: the mm's locked_vm, which VFIO type1 charges. */
static inline long vm_lck_kb(void)
{
	return proc_status_kb("VmLck");
}

/* A "name:\tvalue" line of the fdinfo of @fd, or -1. */
static inline long long fdinfo_field(int fd, const char *name)
{
	size_t len = strlen(name);
	char path[64], line[128];
	long long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%lld", &val) == 1)
			break;
	fclose(f);
	return val;
}

/*
 * A field of /proc/vmstat, or -1, the per-CPU counts folded in first so
 * that a change of a few pages shows exactly.
 */
static inline long long vmstat_count(const char *field)
{
	size_t len = strlen(field);
	long long val = -1;
	char line[128];
	FILE *f;

	f = fopen("/proc/sys/vm/stat_refresh", "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ' ')
			val = atoll(line + len + 1);
	fclose(f);
	return val;
}

/* Pages pinned in the whole system right now. */
static inline long long pinned_now(void)
{
	return vmstat_count("nr_foll_pin_acquired") - vmstat_count("nr_foll_pin_released");
}

static inline int ioasid_open(void)
{
	return open("/dev/ioasid", O_RDWR | O_CLOEXEC);
}

static inline int ioasid_alloc(int fd, unsigned int *id)
{
	IOASID_CMD(ioasid_alloc, cmd);
	int rc;

	rc = ioctl(fd, IOASID_ALLOC, &cmd);
	if (!rc)
		*id = cmd.out_ioasid;
	return rc;
}

static inline int ioasid_destroy(int fd, unsigned int id)
{
	IOASID_CMD(ioasid_destroy, cmd);

	cmd.id = id;
	return ioctl(fd, IOASID_DESTROY, &cmd);
}

/* Bind the VFIO device cdev @fd to @ioasid_fd; its id to @devid if set. */
static inline int vfio_bind_ioasid(int fd, int ioasid_fd, unsigned int *devid)
{
	struct vfio_device_bind_ioasid_fd bind = {
		.argsz = sizeof(bind),
		.ioasid_fd = ioasid_fd,
	};
	int rc;

	rc = ioctl(fd, VFIO_DEVICE_BIND_IOASID_FD, &bind);
	if (devid)
		*devid = bind.out_devid;
	return rc;
}

static inline int vfio_attach_ioasid(int fd, unsigned int ioasid)
{
	struct vfio_device_attach_ioasid attach = {
		.argsz = sizeof(attach),
		.ioasid = ioasid,
	};

	return ioctl(fd, VFIO_DEVICE_ATTACH_IOASID, &attach);
}

static inline int vfio_detach_ioasid(int fd)
{
	struct vfio_device_detach_ioasid detach = { .argsz = sizeof(detach) };

	return ioctl(fd, VFIO_DEVICE_DETACH_IOASID, &detach);
}

/*
 * QEMU's edu PCI device (1234:11e8), bound to vfio-pci.  edu copies
 * between memory and a 4 KiB buffer of its own at device address 0x40000.
 * Its DMA engine is driven through BAR0: source (0x80), destination
 * (0x88), count (0x90) and command (0x98: bit 0 start/busy, bit 1 device
 * to RAM).  Counts stay below 4096 (QEMU 7.2 aborts on a full 4096) and
 * IOVAs below 256 MiB (edu's DMA mask is 28 bits).
 */
#define EDU_ID		0x00
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF		0x40000
#define DMA_LEN		2048

/* BAR0 is reached through the device file, as a VMM's emulation would. */
struct edu {
	int fd;
	unsigned int devid;	/* in the ioasid context, once bound */
	uint64_t bar0;
};

static inline int region_info(int fd, unsigned int index,
			      struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, info);
}

/* On an open device file: turn bus mastering on and find BAR0. */
static inline int edu_enable(struct edu *e)
{
	struct vfio_region_info cfg, bar;
	uint16_t cmd;

	if (region_info(e->fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) ||
	    region_info(e->fd, VFIO_PCI_BAR0_REGION_INDEX, &bar))
		return -1;
	if (pread(e->fd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		return -1;
	cmd |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
	if (pwrite(e->fd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		return -1;
	e->bar0 = bar.offset;
	return 0;
}

static inline void reg_write(struct edu *e, unsigned int reg, uint64_t val)
{
	if (pwrite(e->fd, &val, sizeof(val), e->bar0 + reg) != sizeof(val))
		abort();
}

static inline uint32_t reg_read(struct edu *e, unsigned int reg)
{
	uint32_t val;

	if (pread(e->fd, &val, sizeof(val), e->bar0 + reg) != sizeof(val))
		abort();
	return val;
}

/* One DMA of @count bytes; false if the engine never finished. */
static inline bool edu_dma_count(struct edu *e, uint64_t src, uint64_t dst,
				 uint32_t count, bool to_ram)
{
	int ms;

	reg_write(e, EDU_DMA_SRC, src);
	reg_write(e, EDU_DMA_DST, dst);
	reg_write(e, EDU_DMA_CNT, count);
	reg_write(e, EDU_DMA_CMD, EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
	for (ms = 0; ms < 10000; ms++) {
		if (!(reg_read(e, EDU_DMA_CMD) & EDU_CMD_START))
			return true;
		usleep(1000);
	}
	return false;
}

/* One DMA of DMA_LEN bytes. */
static inline bool edu_dma(struct edu *e, uint64_t src, uint64_t dst,
			   bool to_ram)
{
	return edu_dma_count(e, src, dst, DMA_LEN, to_ram);
}

/* Memory decode of @e on or off, through its config space. */
static inline int edu_decode(struct edu *e, bool on)
{
	struct vfio_region_info cfg;
	uint16_t cmd;

	if (region_info(e->fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) ||
	    pread(e->fd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		return -1;
	cmd = on ? cmd | PCI_COMMAND_MEMORY : cmd & ~PCI_COMMAND_MEMORY;
	return pwrite(e->fd, &cmd, 2, cfg.offset + PCI_COMMAND) == 2 ? 0 : -1;
}

/* Open the device cdev at @path, bind it to @ioasid_fd and enable it. */
static inline int edu_open(struct edu *e, const char *path, int ioasid_fd)
{
	e->fd = open(path, O_RDWR | O_CLOEXEC);
	if (e->fd < 0)
		return -1;
	if (vfio_bind_ioasid(e->fd, ioasid_fd, &e->devid))
		return -1;
	return edu_enable(e);
}

static inline bool ram_to_dev(struct edu *e, uint64_t iova)
{
	return edu_dma(e, iova, EDU_BUF, false);
}

static inline bool dev_to_ram(struct edu *e, uint64_t iova)
{
	return edu_dma(e, EDU_BUF, iova, true);
}

/* Whether the first DMA_LEN bytes at @p all are @val. */
static inline bool all_bytes(const uint8_t *p, uint8_t val)
{
	size_t i;

	for (i = 0; i < DMA_LEN; i++)
		if (p[i] != val)
			return false;
	return true;
}

/*
 * Whether more than @before lines with @needle reach the kernel log within
 * a second: the IOMMU reports a fault by an interrupt, after the DMA.
 */
static inline bool kmsg_grows(const char *needle, int before)
{
	int ms;

	for (ms = 0; ms < 1000; ms += 10) {
		if (kmsg_count(needle) > before)
			return true;
		usleep(10000);
	}

/*
 * Whether the IOMMU refused a DMA since @_before lines of its fault log
 * were counted is @_expect, for an IOMMU that logs such faults.  One that
 * logs none (QEMU 7.2's AMD-Vi) leaves only the data to show that the DMA
 * did not land, which the callers check as well.
 */
#define ASSERT_FAULT_LOGGED(_expect, _before) do {			\
	const char *_log = iommu_kind().fault_log;			\
									\
	if (_log)							\
		ASSERT_EQ(_expect, kmsg_grows(_log, _before));		\
} while (0)
	return false;
}

/*
 * Fault injection: /proc/thread-self/fail-nth makes the n-th fault site
 * the calling thread reaches fail (a slab or page allocation, a user copy,
 * an ioasid fault point).
 */

/* No path of ours has anywhere near this many fault sites. */
#define MAX_NTH 2000

static inline bool write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

/* A field of /proc/vmstat, or -1. */
static inline long long vmstat_field(const char *name)
{
	FILE *f = fopen("/proc/vmstat", "r");
	long long val, found = -1LL;
	char key[64];

	if (!f)
		return -1LL;
	while (fscanf(f, "%63s %lld", key, &val) == 2)
		if (!strcmp(key, name)) {
			found = val;
			break;
		}
	fclose(f);
	return found;
}

/* Fold the per-CPU vmstat deltas, so that the totals are exact. */
static inline bool vmstat_refresh(void)
{
	return write_file("/proc/sys/vm/stat_refresh", "1");
}

/* Pages pinned (FOLL_PIN) in the whole system right now. */
static inline long long pins_held(void)
{
	long long acquired, released;

	if (!vmstat_refresh())
		return -1LL;
	acquired = vmstat_field("nr_foll_pin_acquired");
	released = vmstat_field("nr_foll_pin_released");
	if (acquired < 0 || released < 0)
		return -1LL;
	return acquired - released;
}

/*
 * Make the fault sites honour fail-nth for ordinary GFP_KERNEL allocations
 * of any order, and quietly: an injected failure is not a splat.
 */
static inline bool fault_injection_setup(void)
{
	static const char *const settings[][2] = {
		{ "failslab/ignore-gfp-wait", "N" },
		{ "failslab/verbose", "0" },
		{ "fail_page_alloc/ignore-gfp-wait", "N" },
		{ "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "fail_page_alloc/min-order", "0" },
		{ "fail_page_alloc/verbose", "0" },
		{ "fail_usercopy/verbose", "0" },
		{ "fail_ioasid/verbose", "0" },
	};
	char path[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(settings); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s", settings[i][0]);
		if (!write_file(path, settings[i][1]))
			return false;
	}
	return true;
}

/* This thread's fail-nth file, opened on first use; -1 if it cannot be. */
static inline int nth_file(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	return fd;
}

/*
 * Writing the count copies it from user space, which is itself a fault
 * site while a count is armed: a write that fails that way consumed the
 * count, and the next one goes through.
 */
static inline void nth_arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	while (pwrite(nth_file(), buf, len, 0) != len)
		if (errno != EFAULT)
			abort();
}

/*
 * Disarm and tell whether the armed site was reached, keeping errno for
 * the caller.  The count is read before the read copies it out, so a
 * count of 1 makes that copy fail: EFAULT there means the site was not
 * reached either.
 */
static inline bool nth_disarm(void)
{
	int saved_errno = errno;
	char buf[16] = {};
	ssize_t len;
	bool fired;

	len = pread(nth_file(), buf, sizeof(buf) - 1, 0);
	if (len < 0 && errno != EFAULT)
		abort();
	fired = len > 0 && atoi(buf) == 0;
	if (!fired)
		nth_arm(0);
	errno = saved_errno;
	return fired;
}

/* An injected failure must come back as one of these, never another. */
static inline bool injected_errno(int err)
{
	return err == ENOMEM || err == EFAULT;
}

static inline unsigned int *nth_first(unsigned int *n)
{
	*n = 1;
	return n;
}

/* Arm the n-th site, unless the sweep is over. */
static inline bool nth_next(const unsigned int *n)
{
	if (*n >= MAX_NTH)
		return false;
	nth_arm(*n);
	return true;
}

/*
 * fail_nth_sweep(n, rc, call) { ... }
 *
 * Run @call with the n-th fault site armed, for n = 1, 2, ... as long as
 * a run reaches the armed site.  The body runs after each run that did,
 * with the site disarmed, @rc holding what @call returned and errno what
 * it left; it may 'continue'.  The first run that reaches no armed site
 * ends the sweep (so does n reaching MAX_NTH): @rc is then its result and
 * @n one more than the number of sites it passed.
 */
#define fail_nth_sweep(n, rc, call)					\
	for (unsigned int *nth_ = nth_first(&(n));			\
	     nth_next(nth_) && ((rc) = (call), nth_disarm());		\
	     (*nth_)++)

#endif /* __SELFTEST_IOASID_TEST_H */
