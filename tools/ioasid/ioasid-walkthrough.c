// SPDX-License-Identifier: GPL-2.0
/*
 * What a VMM does with /dev/ioasid, one step at a time, printing each
 * call and what the kernel answered.  'make run' boots a VM and runs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/ioasid.h>

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
