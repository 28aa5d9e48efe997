// SPDX-License-Identifier: GPL-2.0
/*
 * What a VMM does with /dev/ioasid, one step at a time, printing each
 * call and what the kernel answered.  'make run' boots a VM and runs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/ioasid.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

static int step_no;

static void step(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("\n[%d] ", ++step_no);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("    ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

/* Issue an ioctl, print what the kernel said, and return its result. */
static int call(int fd, unsigned long req, const char *name, void *arg)
{
	int rc = ioctl(fd, req, arg);

	if (rc)
		say("%s -> -1, errno %d (%s)", name, errno, strerror(errno));
	else
		say("%s -> 0", name);
	return rc;
}

static void die(const char *what)
{
	printf("walkthrough: %s failed: %s\n", what, strerror(errno));
	exit(1);
}

static void show_ranges(int fd, unsigned int ioasid)
{
	struct ioasid_iova_ranges cmd = { .size = sizeof(cmd) };
	struct ioasid_iova_range r[8];
	unsigned int i;

	step("Ask which IOVAs are usable (IOASID_IOVA_RANGES). With no device\n"
	     "    attached yet, all are; devices bring apertures and reserved\n"
	     "    regions (an MSI window, say) that narrow them.");
	cmd.ioasid = ioasid;
	cmd.num_ranges = 8;
	cmd.ranges = (uintptr_t)r;
	if (call(fd, IOASID_IOVA_RANGES, "IOASID_IOVA_RANGES", &cmd))
		die("IOASID_IOVA_RANGES");
	for (i = 0; i < cmd.num_ranges && i < 8; i++)
		say("usable: 0x%llx - 0x%llx", (unsigned long long)r[i].start,
		    (unsigned long long)r[i].last);
	say("every mapping aligned to 0x%llx",
	    (unsigned long long)cmd.out_iova_alignment);
}

/* Map 4 MiB of "guest RAM" at guest-physical 0, then take it away. */
static void map_guest_ram(int fd, unsigned int ioasid)
{
	struct ioasid_unmap unmap = { .size = sizeof(unmap) };
	struct ioasid_map map = { .size = sizeof(map) };
	size_t len = 4 << 20;
	void *ram;

	ram = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap");
	step("Map 4 MiB of guest RAM at IOVA 0 (IOASID_MAP): the kernel pins it\n"
	     "    once, charges it to RLIMIT_MEMLOCK, and writes it into every\n"
	     "    IOMMU domain behind the IOASID, now and later.");
	map.ioasid = ioasid;
	map.flags = IOASID_MAP_READ | IOASID_MAP_WRITE | IOASID_MAP_FIXED_IOVA;
	map.user_va = (uintptr_t)ram;
	map.length = len;
	map.iova = 0;
	if (call(fd, IOASID_MAP, "IOASID_MAP(va, 4 MiB, iova 0)", &map))
		die("IOASID_MAP");

	step("Mapping over an existing mapping is refused: mappings never\n"
	     "    overlap.");
	map.iova = 1 << 20;
	call(fd, IOASID_MAP, "IOASID_MAP(va, 4 MiB, iova 1 MiB)", &map);

	step("Let the kernel choose the IOVA: it aligns it like the memory, so\n"
	     "    huge pages can use huge IOPTEs.");
	map.flags &= ~IOASID_MAP_FIXED_IOVA;
	if (call(fd, IOASID_MAP, "IOASID_MAP(va, 4 MiB)", &map))
		die("IOASID_MAP");
	say("the kernel chose iova 0x%llx", (unsigned long long)map.iova);

	step("Unmap everything (IOASID_UNMAP_ALL): IOTLBs are flushed, then the\n"
	     "    pages are unpinned and the charge returned.");
	unmap.ioasid = ioasid;
	unmap.flags = IOASID_UNMAP_ALL;
	if (call(fd, IOASID_UNMAP, "IOASID_UNMAP(all)", &unmap))
		die("IOASID_UNMAP");
	say("%llu MiB unmapped", (unsigned long long)unmap.length >> 20);
	munmap(ram, len);
}

/* QEMU's edu device: BAR0 registers of its DMA engine. */
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_BUF		0x40000

static void bar_write(int dev, __u64 bar0, unsigned int reg, __u64 val)
{
	if (pwrite(dev, &val, sizeof(val), bar0 + reg) != sizeof(val))
		die("BAR0 write");
}

/* Run one edu DMA and wait for the engine to finish. */
static void edu_dma(int dev, __u64 bar0, __u64 src, __u64 dst, int to_ram)
{
	__u32 cmd = 1;
	int ms;

	bar_write(dev, bar0, EDU_DMA_SRC, src);
	bar_write(dev, bar0, EDU_DMA_DST, dst);
	bar_write(dev, bar0, EDU_DMA_CNT, 2048);
	bar_write(dev, bar0, EDU_DMA_CMD, 1 | (to_ram ? 2 : 0));
	for (ms = 0; ms < 10000 && (cmd & 1); ms++) {
		usleep(1000);
		if (pread(dev, &cmd, sizeof(cmd), bar0 + EDU_DMA_CMD) != sizeof(cmd))
			die("BAR0 read");
	}
}

static __u64 region_offset(int dev, unsigned int index)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &info))
		die("VFIO_DEVICE_GET_REGION_INFO");
	return info.offset;
}

/* A real device doing DMA through the IOASID. */
static void device_dma(int fd, unsigned int ioasid)
{
	struct vfio_device_bind_ioasid_fd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_ioasid attach = { .argsz = sizeof(attach) };
	struct ioasid_coherency coherency = { .size = sizeof(coherency) };
	struct ioasid_unmap unmap = { .size = sizeof(unmap) };
	struct ioasid_map map = { .size = sizeof(map) };
	const char *path = "/dev/vfio/devices/vfio0";
	__u64 bar0, cfg;
	__u16 command;
	char *buf;
	int dev;

	dev = open(path, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		printf("\n(no VFIO device at %s: skipping the DMA part)\n", path);
		return;
	}
	step("Bind the guest's device, QEMU's edu DMA device behind an emulated\n"
	     "    VT-d, to this context (VFIO_DEVICE_BIND_IOASID_FD on its VFIO\n"
	     "    cdev). Its DMA is blocked until it is attached.");
	bind.ioasid_fd = fd;
	if (call(dev, VFIO_DEVICE_BIND_IOASID_FD, "VFIO_DEVICE_BIND_IOASID_FD", &bind))
		die("VFIO_DEVICE_BIND_IOASID_FD");
	say("device id in the context = %u", bind.out_devid);

	step("Attach it to the IOASID (VFIO_DEVICE_ATTACH_IOASID): the kernel\n"
	     "    gives the IOASID an IOMMU domain of the device's VT-d unit.");
	attach.ioasid = ioasid;
	if (call(dev, VFIO_DEVICE_ATTACH_IOASID, "VFIO_DEVICE_ATTACH_IOASID", &attach))
		die("VFIO_DEVICE_ATTACH_IOASID");

	step("Ask whether the device's DMA can bypass the CPU caches\n"
	     "    (IOASID_COHERENCY). Where the IOMMU can, its domain blocks no-snoop\n"
	     "    DMA; a KVM VM given this file (KVM_DEV_VFIO_FILE_ADD) then need\n"
	     "    not emulate the guest's WBINVD.");
	coherency.ioasid = ioasid;
	if (call(fd, IOASID_COHERENCY, "IOASID_COHERENCY", &coherency))
		die("IOASID_COHERENCY");
	say("%u domain(s), %u letting no-snoop DMA through: %s",
	    coherency.out_domains, coherency.out_noncoherent_domains,
	    coherency.out_noncoherent_domains ?
	    "KVM must emulate WBINVD" : "WBINVD can stay a no-op");

	buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	snprintf(buf, 4096, "hello from guest memory, through /dev/ioasid");
	step("Map two pages, each its own mapping: the first, holding a message,\n"
	     "    at IOVA 0x100000; the second, empty, at IOVA 0x101000.");
	map.ioasid = ioasid;
	map.flags = IOASID_MAP_READ | IOASID_MAP_WRITE | IOASID_MAP_FIXED_IOVA;
	map.user_va = (uintptr_t)buf;
	map.length = 4096;
	map.iova = 0x100000;
	if (call(fd, IOASID_MAP, "IOASID_MAP(page 1, iova 0x100000)", &map))
		die("IOASID_MAP");
	map.user_va = (uintptr_t)buf + 4096;
	map.iova = 0x101000;
	if (call(fd, IOASID_MAP, "IOASID_MAP(page 2, iova 0x101000)", &map))
		die("IOASID_MAP");

	cfg = region_offset(dev, VFIO_PCI_CONFIG_REGION_INDEX);
	bar0 = region_offset(dev, VFIO_PCI_BAR0_REGION_INDEX);
	if (pread(dev, &command, 2, cfg + PCI_COMMAND) != 2)
		die("config read");
	command |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
	if (pwrite(dev, &command, 2, cfg + PCI_COMMAND) != 2)
		die("config write");

	step("Program the device: DMA the first page into the device (IOVA\n"
	     "    0x100000), then back out to the second page (IOVA 0x101000).");
	edu_dma(dev, bar0, 0x100000, EDU_BUF, 0);
	edu_dma(dev, bar0, EDU_BUF, 0x101000, 1);
	say("second page now reads: \"%s\"", buf + 4096);
	if (strcmp(buf, buf + 4096))
		die("the DMA round trip");

	step("Unmap the second page and DMA to it again: the IOMMU blocks the\n"
	     "    write (the kernel logs a DMAR fault) and the page is untouched.");
	memset(buf + 4096, 0, 4096);
	unmap.ioasid = ioasid;
	unmap.iova = 0x101000;
	unmap.length = 4096;
	if (call(fd, IOASID_UNMAP, "IOASID_UNMAP(iova 0x101000)", &unmap))
		die("IOASID_UNMAP");
	edu_dma(dev, bar0, EDU_BUF, 0x101000, 1);
	say("second page now reads: \"%s\" (%s)", buf + 4096,
	    buf[4096] ? "written!" : "empty, as it should be");
	if (buf[4096])
		die("blocking DMA to an unmapped IOVA");
	close(dev);
	printf("    (closing the device file detached and unbound it)\n");
	munmap(buf, 8192);
}

int main(void)
{
	struct ioasid_destroy destroy = { .size = sizeof(destroy) };
	struct ioasid_alloc alloc = { .size = sizeof(alloc) };
	struct ioasid_info info = { .size = sizeof(info) };
	unsigned int gpa_space;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("/dev/ioasid walkthrough: the calls a VMM makes to give its\n");
	printf("guest's devices DMA access to guest memory.\n");

	step("Open /dev/ioasid. Each open file is a private context: the ids it\n"
	     "    hands out mean nothing to any other file.");
	fd = open("/dev/ioasid", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open(/dev/ioasid)");
	say("open(\"/dev/ioasid\") -> fd %d", fd);

	step("Ask what this kernel offers (IOASID_GET_INFO). There is no version\n"
	     "    number: features are capability bits or are probed by use.");
	if (call(fd, IOASID_GET_INFO, "IOASID_GET_INFO", &info))
		die("IOASID_GET_INFO");
	say("caps = 0x%llx", (unsigned long long)info.caps);

	step("Allocate an IOASID: the I/O address space that will hold the\n"
	     "    guest-physical layout, so that a device's DMA addresses are GPAs.");
	if (call(fd, IOASID_ALLOC, "IOASID_ALLOC", &alloc))
		die("IOASID_ALLOC");
	gpa_space = alloc.out_ioasid;
	say("new IOASID id = %u", gpa_space);

	step("Every ioctl checks its struct: a flag this kernel does not know is\n"
	     "    refused with EOPNOTSUPP and changes nothing.");
	alloc.flags = 1U << 31;
	call(fd, IOASID_ALLOC, "IOASID_ALLOC(flags = 1 << 31)", &alloc);

	show_ranges(fd, gpa_space);
	map_guest_ram(fd, gpa_space);
	device_dma(fd, gpa_space);

	step("Destroy the IOASID. An IOASID in use by a device would refuse with\n"
	     "    EBUSY; this one is idle, so it goes, and its id is free again.");
	destroy.id = gpa_space;
	if (call(fd, IOASID_DESTROY, "IOASID_DESTROY", &destroy))
		die("IOASID_DESTROY");
	call(fd, IOASID_DESTROY, "IOASID_DESTROY (again)", &destroy);

	step("Close the file: whatever the context still holds is released.");
	close(fd);
	say("close(fd) -> 0");
	printf("\nwalkthrough: done\n");
	return 0;
}
