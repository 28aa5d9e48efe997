/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IOMMU of the test VM, for the /dev/ioasid selftests and the fuzzer:
 * which one it is, what it can do, and what it logs.
 */
#ifndef __SELFTEST_IOASID_IOMMU_H
#define __SELFTEST_IOASID_IOMMU_H

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A register of the VT-d unit from sysfs ("cap", "ecap"), or -1. */
static inline long long vtd_register(const char *name)
{
	unsigned long long val;
	char path[64];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/class/iommu/dmar0/intel-iommu/%s",
		 name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fscanf(f, "%llx", &val);
	fclose(f);
	return n == 1 ? (long long)val : -1;
}

/*
 * Whether the VT-d unit can block no-snoop DMA: its Snoop Control
 * capability, ECAP bit 7, which QEMU's snoop-control option sets.  -1 if
 * there is no VT-d unit.
 */
static inline int vtd_snoop_control(void)
{
	long long ecap = vtd_register("ecap");

	return ecap < 0 ? -1 : (ecap >> 7) & 1;
}

/* The VT-d unit's maximum guest address width (CAP.MGAW + 1), or -1. */
static inline int vtd_address_width(void)
{
	long long cap = vtd_register("cap");

	return cap < 0 ? -1 : ((cap >> 16) & 0x3f) + 1;
}

/*
 * How many lines of the kernel log contain @needle, or -1; 0 for no
 * needle.  A blocked DMA is logged by the IOMMU driver: "DMAR: [DMA Write"
 * for VT-d.
 */
static inline int kmsg_count(const char *needle)
{
	char rec[1024];
	int count = 0;
	ssize_t n;
	int fd;

	if (!needle)
		return 0;
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten while read: skip it */
		if (n <= 0)
			break;
		rec[n] = 0;
		count += !!strstr(rec, needle);
	}
	close(fd);
	return count;
}

/*
 * The IOMMU the VM's devices sit behind, from /sys/class/iommu, and what
 * the tests expect of it.
 * @name: "vtd", "amd", "virtio" or "none"
 * @blocks_nosnoop: Whether its domains can block no-snoop DMA: VT-d with
 *                  snoop control (ECAP.SC), AMD-Vi always, virtio-iommu
 *                  never (its driver offers no such thing)
 * @fault_log: What its driver logs for a DMA it blocked; NULL for QEMU
 *             7.2's AMD-Vi, which records no event for it
 * @log_prefix: What all its fault lines contain, for the rate limit
 */
struct iommu_kind {
	const char *name;
	int blocks_nosnoop;
	const char *fault_log;
	const char *log_prefix;
};

/* Whether a path matches @pattern. */
static inline bool glob_matches(const char *pattern)
{
	glob_t g;
	bool any;

	any = !glob(pattern, 0, NULL, &g);
	if (any)
		globfree(&g);
	return any;
}

static inline struct iommu_kind iommu_kind(void)
{
	if (!access("/sys/class/iommu/dmar0", F_OK))
		return (struct iommu_kind){ "vtd", vtd_snoop_control(),
					    "DMAR: [DMA Write", "DMAR:" };
	if (!access("/sys/class/iommu/ivhd0", F_OK))
		return (struct iommu_kind){ "amd", 1, NULL, NULL };
	/*
	 * virtio-iommu's entry in /sys/class/iommu is named after its PCI
	 * function: look for a device of its driver instead.
	 */
	if (glob_matches("/sys/bus/virtio/drivers/virtio_iommu/virtio*"))
		return (struct iommu_kind){ "virtio", 0, "fault from EP",
					    "fault from EP" };
	return (struct iommu_kind){ "none", -1, NULL, NULL };
}

/*
 * IOMMU drivers rate-limit what they log of faults (10 lines in 5 s):
 * wait until 5 s have passed since the last such line, so that the next
 * fault is logged whole.
 */
static inline void iommu_log_ready(void)
{
	const char *prefix = iommu_kind().log_prefix;
	unsigned long long usec, last = 0;
	struct timespec now;
	char rec[1024];
	ssize_t n;
	int fd;

	if (!prefix)
		return;
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		if (strstr(rec, prefix) &&
		    sscanf(rec, "%*u,%*u,%llu", &usec) == 1)
			last = usec;
	}
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &now);
	usec = now.tv_sec * 1000000ULL + now.tv_nsec / 1000;
	if (last && usec < last + 5100000)
		usleep(last + 5100000 - usec);
}

#endif /* __SELFTEST_IOASID_IOMMU_H */
