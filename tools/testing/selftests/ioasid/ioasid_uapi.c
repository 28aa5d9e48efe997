// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ioasid: the ioctl contract shared by every command (sizes, flags,
 * reserved fields, ids) and the object registry.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "ioasid_test.h"

FIXTURE(ioasid) {
	int fd;
};

FIXTURE_SETUP(ioasid)
{
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(ioasid)
{
	close(self->fd);
}

TEST(char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat("/dev/ioasid", &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	/* Pinning memory and driving DMA is granted by group, not to all. */
	ASSERT_EQ(0660, st.st_mode & 0777);
}

TEST(contexts_are_independent)
{
	unsigned int a, b;
	int fd1, fd2;

	fd1 = ioasid_open();
	ASSERT_LE(0, fd1);
	fd2 = ioasid_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioasid_alloc(fd1, &a));
	/* Ids are per context: the same number, and not visible to fd2. */
	ASSERT_EQ(0, ioasid_alloc(fd2, &b));
	ASSERT_EQ(a, b);
	ASSERT_EQ(0, ioasid_destroy(fd2, b));
	ASSERT_ERRNO(ENOENT, ioasid_destroy(fd2, a));
	ASSERT_EQ(0, ioasid_destroy(fd1, a));
	close(fd1);
	close(fd2);
}

TEST_F(ioasid, get_info)
{
	IOASID_CMD(ioasid_info, info);

	info.caps = ~0ULL;
	ASSERT_EQ(0, ioctl(self->fd, IOASID_GET_INFO, &info));
	ASSERT_EQ(sizeof(info), info.size);
	ASSERT_EQ(0, info.caps & ~IOASID_KNOWN_CAPS);
	/*
	 * The test kernel has each feature (VFIO_GROUP and VFIO_IOASID for the
	 * container); the tests of each feature show that it works.
	 */
	ASSERT_EQ(IOASID_KNOWN_CAPS, info.caps);
}

TEST_F(ioasid, unknown_ioctl)
{
	IOASID_CMD(ioasid_info, info);

	/* Below, inside and above the command range. */
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOASID_TYPE, IOASID_CMD_BASE - 1), &info));
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOASID_TYPE, IOASID_CMD_TEST - 1),
				   &info));
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOASID_TYPE, 0xff), &info));
	/* The right number with another encoding is another ioctl. */
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(IOASID_TYPE, IOASID_CMD_GET_INFO,
						   struct ioasid_info), &info));
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IO('x', IOASID_CMD_GET_INFO), &info));
}

TEST_F(ioasid, bad_pointer)
{
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, IOASID_GET_INFO, NULL));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, IOASID_ALLOC, (void *)8));
}

TEST_F(ioasid, short_struct)
{
	IOASID_CMD(ioasid_alloc, alloc);
	IOASID_CMD(ioasid_info, info);

	info.size = 0;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_GET_INFO, &info));
	info.size = offsetof(struct ioasid_info, caps);
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_GET_INFO, &info));
	alloc.size = sizeof(alloc) - 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_ALLOC, &alloc));
	/* Nothing was allocated by the failed call. */
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, 1));
}

TEST_F(ioasid, oversized_struct)
{
	struct {
		struct ioasid_alloc cmd;
		uint64_t tail[2];
	} big = {
		.cmd = { .size = sizeof(big) },
	};
	unsigned int id;

	/* A longer struct from a newer header is fine while its tail is 0. */
	ASSERT_EQ(0, ioctl(self->fd, IOASID_ALLOC, &big));
	id = big.cmd.out_ioasid;
	ASSERT_EQ(0, big.tail[0]);
	ASSERT_EQ(0, big.tail[1]);

	/* A non-zero tail asks for something this kernel does not have. */
	big.tail[1] = 1;
	ASSERT_ERRNO(E2BIG, ioctl(self->fd, IOASID_ALLOC, &big));
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, id + 1));
	ASSERT_EQ(0, ioasid_destroy(self->fd, id));
}

TEST_F(ioasid, unknown_flags)
{
	IOASID_CMD(ioasid_destroy, destroy);
	IOASID_CMD(ioasid_alloc, alloc);
	IOASID_CMD(ioasid_info, info);
	unsigned int id;
	int bit;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &id));
	for (bit = 0; bit < 32; bit++) {
		info.flags = 1U << bit;
		ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_GET_INFO, &info));
		alloc.flags = 1U << bit;
		if (!(alloc.flags & (IOASID_ALLOC_ACCOUNT_MM |
				     IOASID_ALLOC_REQUIRE_COHERENCY)))
			ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_ALLOC, &alloc));
		destroy.flags = 1U << bit;
		destroy.id = id;
		ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_DESTROY, &destroy));
	}
	/* None of the failures allocated or destroyed anything. */
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, id + 1));
	ASSERT_EQ(0, ioasid_destroy(self->fd, id));
}

TEST_F(ioasid, reserved_fields)
{
	IOASID_CMD(ioasid_destroy, destroy);
	IOASID_CMD(ioasid_alloc, alloc);
	unsigned int id;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &id));
	alloc.__reserved = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_ALLOC, &alloc));
	destroy.id = id;
	destroy.__reserved = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_DESTROY, &destroy));
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, id + 1));
	ASSERT_EQ(0, ioasid_destroy(self->fd, id));
}

TEST_F(ioasid, bad_ids)
{
	unsigned int id;

	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, 0));
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, 1));
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, UINT32_MAX));
	ASSERT_EQ(0, ioasid_alloc(self->fd, &id));
	ASSERT_NE(0, id);
	ASSERT_EQ(0, ioasid_destroy(self->fd, id));
	/* Destroyed means gone. */
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, id));
}

TEST_F(ioasid, ids_are_reused_lowest_first)
{
	unsigned int ids[4], again;
	int i;

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, ioasid_alloc(self->fd, &ids[i]));
		if (i)
			ASSERT_EQ(ids[i - 1] + 1, ids[i]);
	}
	ASSERT_EQ(0, ioasid_destroy(self->fd, ids[1]));
	ASSERT_EQ(0, ioasid_alloc(self->fd, &again));
	ASSERT_EQ(ids[1], again);
}

/*
 * The id is written back before the object is published: if that write
 * faults, the IOASID must not exist, or user space would hold an object
 * it cannot name.
 */
TEST_F(ioasid, alloc_reply_fault_leaves_nothing)
{
	struct ioasid_alloc *ro;
	unsigned int id;

	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ro->size = sizeof(*ro);
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, IOASID_ALLOC, ro));
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, 1));
	ASSERT_EQ(0, ioasid_alloc(self->fd, &id));
	ASSERT_EQ(1, id);
	munmap(ro, 4096);
}

/* Closing a context with live objects frees them (kmemleak checks). */
TEST(close_with_objects)
{
	unsigned int id;
	int fd, i;

	fd = ioasid_open();
	ASSERT_LE(0, fd);
	for (i = 0; i < 1000; i++)
		ASSERT_EQ(0, ioasid_alloc(fd, &id));
	ASSERT_EQ(1000, id);
	ASSERT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
