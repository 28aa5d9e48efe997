/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the /dev/ioasid selftests.
 */
#ifndef __SELFTEST_IOASID_TEST_H
#define __SELFTEST_IOASID_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/ioasid.h>

#include "../kselftest_harness.h"

/* Declare a command struct with its size filled in, everything else 0. */
#define IOASID_CMD(type, name) struct type name = { .size = sizeof(name) }

/* The call must fail, with exactly @err. */
#define ASSERT_ERRNO(err, call)                                                \
	do {                                                                   \
		errno = 0;                                                     \
		ASSERT_EQ(-1, call);                                           \
		ASSERT_EQ(err, errno);                                         \
	} while (0)

/* VmPin of /proc/self/status in kB, or -1: the mm count as users see it. */
static inline long vm_pin_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
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

#endif /* __SELFTEST_IOASID_TEST_H */
