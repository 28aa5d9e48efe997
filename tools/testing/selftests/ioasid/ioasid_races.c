// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ioasid against what a reviewer tries first: threads racing on the
 * same object, a file sealed while it is being mapped, user memory that
 * faults while the kernel writes an answer (userfaultfd keeps the fault
 * pending for as long as the test wants), loops long enough to starve a
 * CPU, and more mappings than a context may hold.  Each test failed on
 * the code before its fix, by a kernel splat, a wrong answer or a stall.
 */
#define _GNU_SOURCE
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "ioasid_mock.h"

#define PAGE		SZ_4K
#define RW_FIXED	(IOASID_MAP_READ | IOASID_MAP_WRITE | IOASID_MAP_FIXED_IOVA)
#define MAX_MAPPINGS	"/sys/module/ioasid/parameters/max_mappings"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int copy_at(int fd, unsigned int dst, uint64_t dst_iova,
		   unsigned int src, uint64_t src_iova, uint64_t length)
{
	IOASID_CMD(ioasid_copy, cmd);

	cmd.flags = RW_FIXED;
	cmd.dst_ioasid = dst;
	cmd.src_ioasid = src;
	cmd.src_iova = src_iova;
	cmd.dst_iova = dst_iova;
	cmd.length = length;
	return ioctl(fd, IOASID_COPY, &cmd);
}

/* An anonymous page, touched, for the kernel to write an answer into. */
static void *answer_page(void)
{
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * A userfaultfd that write-protects @page: the next write to it, the
 * kernel's included, waits until the test lets it go.  -1 if the kernel
 * has no userfaultfd write protection.
 */
static int uffd_protect(void *page)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)page, .len = PAGE },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = reg.range,
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	int uffd = syscall(__NR_userfaultfd, O_CLOEXEC);

	if (uffd < 0)
		return -1;
	if (ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg) ||
	    ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
		close(uffd);
		return -1;
	}
	return uffd;
}

/* Wait up to @ms for the write fault on the protected page. */
static bool uffd_wait_fault(int uffd, int ms)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&pfd, 1, ms) != 1)
		return false;
	return read(uffd, &msg, sizeof(msg)) == sizeof(msg) &&
	       msg.event == UFFD_EVENT_PAGEFAULT &&
	       (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
}

/* Let the pending write through. */
static bool uffd_release(int uffd, void *page)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)page, .len = PAGE },
	};

	return !ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
}

struct ioctl_call {
	int fd;
	unsigned long nr;
	void *arg;
	int rc;
	int err;
	atomic_bool done;
};

static void *ioctl_thread(void *arg)
{
	struct ioctl_call *c = arg;

	c->rc = ioctl(c->fd, c->nr, c->arg);
	c->err = errno;
	atomic_store(&c->done, true);
	return NULL;
}

/* Whether @c finishes within @ms. */
static bool finishes_within(struct ioctl_call *c, int ms)
{
	double end = now() + ms / 1e3;

	while (!atomic_load(&c->done) && now() < end)
		usleep(1000);
	return atomic_load(&c->done);
}

FIXTURE(races) {
	int fd;
	unsigned int ioasid;
	uint8_t *buf;
};

FIXTURE_SETUP(races)
{
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	self->buf = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(races)
{
	munmap(self->buf, 16 * PAGE);
	close(self->fd);
}

/*
 * Calls that look an object up while another thread destroys and makes
 * it again under the same id: each lookup finds it or does not, and it
 * is destroyed exactly once.  The last put used to read the object after
 * dropping its reference, so a racing destroy freed it twice.
 */
struct churn {
	int fd;
	unsigned int id;	/* the id the lookups use */
	double end;
	long lookups, found;
	bool bad_errno;
};

static void *churn_ioasid(void *arg)
{
	struct churn *c = arg;
	unsigned int id;

	while (now() < c->end)
		if (!ioasid_alloc(c->fd, &id))
			ioasid_destroy(c->fd, id);
	return NULL;
}

static void *lookup_coherency(void *arg)
{
	struct churn *c = arg;

	while (now() < c->end) {
		IOASID_CMD(ioasid_coherency, cmd);

		cmd.ioasid = c->id;
		c->lookups++;
		if (!ioctl(c->fd, IOASID_COHERENCY, &cmd))
			c->found++;
		else if (errno != ENOENT)
			c->bad_errno = true;
	}
	return NULL;
}

static void *lookup_ranges(void *arg)
{
	struct ioasid_iova_range ranges[4];
	struct churn *c = arg;

	while (now() < c->end) {
		IOASID_CMD(ioasid_iova_ranges, cmd);

		cmd.ioasid = c->id;
		cmd.num_ranges = 4;
		cmd.ranges = (uintptr_t)ranges;
		c->lookups++;
		if (!ioctl(c->fd, IOASID_IOVA_RANGES, &cmd))
			c->found++;
		else if (errno != ENOENT)
			c->bad_errno = true;
	}
	return NULL;
}

TEST_F_TIMEOUT(races, destroy_against_lookups, 120)
{
	struct churn c = { .fd = self->fd, .end = now() + 15 };
	struct churn l1 = c, l2 = c;
	pthread_t t[3];

	/* The churn makes and destroys the IOASID of this id, again and again. */
	ASSERT_EQ(0, ioasid_destroy(self->fd, self->ioasid));
	l1.id = self->ioasid;
	l2.id = self->ioasid;
	ASSERT_EQ(0, pthread_create(&t[0], NULL, churn_ioasid, &c));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, lookup_coherency, &l1));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, lookup_ranges, &l2));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	TH_LOG("%ld + %ld lookups, %ld + %ld found", l1.lookups, l2.lookups,
	       l1.found, l2.found);
	ASSERT_FALSE(l1.bad_errno || l2.bad_errno);
	/* Both outcomes happened: the race was run, not avoided. */
	ASSERT_LT(0, l1.found + l2.found);
	ASSERT_LT(l1.found + l2.found, l1.lookups + l2.lookups);
	/* Nothing is left over: the id is free again. */
	ASSERT_ERRNO(ENOENT, ioasid_destroy(self->fd, self->ioasid));
}

/* The same with a bound device: DEVICE_INFO against bind and unbind. */
static void *churn_mock(void *arg)
{
	struct churn *c = arg;
	struct mock_dev md;

	while (now() < c->end)
		if (!mock_add(c->fd, &default_cfg, &md))
			ioasid_destroy(c->fd, md.mock_id);
	return NULL;
}

static void *lookup_device(void *arg)
{
	struct churn *c = arg;

	while (now() < c->end) {
		IOASID_CMD(ioasid_device_info, cmd);

		cmd.dev_id = c->id;
		c->lookups++;
		if (!ioctl(c->fd, IOASID_DEVICE_INFO, &cmd))
			c->found++;
		else if (errno != ENOENT)
			c->bad_errno = true;
	}
	return NULL;
}

TEST_F_TIMEOUT(races, unbind_against_device_info, 120)
{
	struct churn c = { .fd = self->fd, .end = now() + 10 };
	struct churn l = c;
	struct mock_dev md;
	pthread_t t[2];

	/* Learn the id a device gets here, then let the churn reuse it. */
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &md));
	ASSERT_EQ(0, ioasid_destroy(self->fd, md.mock_id));
	l.id = md.dev_id;
	ASSERT_EQ(0, pthread_create(&t[0], NULL, churn_mock, &c));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, lookup_device, &l));
	ASSERT_EQ(0, pthread_join(t[0], NULL));
	ASSERT_EQ(0, pthread_join(t[1], NULL));
	TH_LOG("%ld lookups, %ld found", l.lookups, l.found);
	ASSERT_FALSE(l.bad_errno);
	ASSERT_LT(0, l.found);
	ASSERT_LT(l.found, l.lookups);
}

/*
 * F_SEAL_WRITE added while a writable file map is on its way: one of the
 * two wins, never both.  The device used to be able to write a memfd
 * sealed against writes, whose users trust the seal.
 */
struct seal_race {
	int fd, mfd;
	unsigned int ioasid;
	pthread_barrier_t start;
	int map_rc, seal_rc;
};

#define SEAL_FILE	(4UL << 20)

static void *map_writable(void *arg)
{
	IOASID_CMD(ioasid_map, cmd);
	struct seal_race *r = arg;

	cmd.flags = RW_FIXED | IOASID_MAP_FILE;
	cmd.ioasid = r->ioasid;
	cmd.fd = r->mfd;
	cmd.length = SEAL_FILE;
	cmd.iova = 0x40000000;
	pthread_barrier_wait(&r->start);
	r->map_rc = ioctl(r->fd, IOASID_MAP, &cmd);
	return NULL;
}

static void *add_write_seal(void *arg)
{
	struct seal_race *r = arg;

	pthread_barrier_wait(&r->start);
	r->seal_rc = fcntl(r->mfd, F_ADD_SEALS, F_SEAL_WRITE);
	return NULL;
}

TEST_F_TIMEOUT(races, write_seal_against_writable_map, 300)
{
	struct seal_race r = { .fd = self->fd, .ioasid = self->ioasid };
	int i, maps = 0, seals = 0;
	pthread_t t[2];

	for (i = 0; i < 100; i++) {
		r.mfd = memfd_create("sealrace", MFD_ALLOW_SEALING);
		ASSERT_LE(0, r.mfd);
		ASSERT_EQ(0, ftruncate(r.mfd, SEAL_FILE));
		ASSERT_EQ(0, pthread_barrier_init(&r.start, NULL, 2));
		ASSERT_EQ(0, pthread_create(&t[0], NULL, map_writable, &r));
		ASSERT_EQ(0, pthread_create(&t[1], NULL, add_write_seal, &r));
		ASSERT_EQ(0, pthread_join(t[0], NULL));
		ASSERT_EQ(0, pthread_join(t[1], NULL));
		pthread_barrier_destroy(&r.start);
		/* Exactly one of the two: mapped writable, or sealed. */
		ASSERT_NE(!r.map_rc, !r.seal_rc);
		maps += !r.map_rc;
		seals += !r.seal_rc;
		if (!r.map_rc)
			ASSERT_EQ(SEAL_FILE, unmapped(self->fd, self->ioasid,
						      0x40000000, SEAL_FILE));
		close(r.mfd);
	}
	TH_LOG("%d maps won, %d seals won", maps, seals);
}

/*
 * A map whose IOVA cannot be told to user space is undone.  Meanwhile
 * another thread unmapped it and mapped the same pages at the same IOVA
 * again: the undo must leave that mapping, which is not its own.  The
 * undo used to recognise its mapping by IOVA and pages, and removed it.
 */
TEST_F_TIMEOUT(races, failed_answer_undoes_only_its_own_map, 60)
{
	struct ioctl_call map = { .fd = self->fd, .nr = IOASID_MAP };
	unsigned int other;
	struct ioasid_map *cmd;
	uint8_t *page;
	pthread_t t;
	int uffd;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	page = answer_page();
	ASSERT_NE(NULL, page);
	cmd = (struct ioasid_map *)page;
	*cmd = (struct ioasid_map) {
		.size = sizeof(*cmd),
		.flags = IOASID_MAP_READ | IOASID_MAP_WRITE,
		.ioasid = self->ioasid,
		.user_va = (uintptr_t)self->buf,
		.length = PAGE,
	};
	uffd = uffd_protect(page);
	if (uffd < 0)
		SKIP(return, "no userfaultfd write protection");
	map.arg = cmd;
	ASSERT_EQ(0, pthread_create(&t, NULL, ioctl_thread, &map));
	/* The map is in; its answer, the kernel-chosen IOVA 0, waits. */
	ASSERT_TRUE(uffd_wait_fault(uffd, 10000));
	ASSERT_EQ(0, copy_at(self->fd, other, 0x100000, self->ioasid, 0, PAGE));
	ASSERT_EQ(PAGE, unmapped(self->fd, self->ioasid, 0, PAGE));
	ASSERT_EQ(0, copy_at(self->fd, self->ioasid, 0, other, 0x100000, PAGE));
	ASSERT_EQ(PAGE, unmapped(self->fd, other, 0x100000, PAGE));
	/* Now the answer fails: its page is gone. */
	ASSERT_EQ(0, munmap(page, PAGE));
	close(uffd);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(-1, map.rc);
	ASSERT_EQ(EFAULT, map.err);
	/* The mapping made by the copy is still there. */
	ASSERT_EQ(PAGE, unmapped(self->fd, self->ioasid, 0, PAGE));
}

/*
 * IOASID_IOVA_RANGES writes its answer to user memory that may fault for
 * as long as user space likes; the IOASID must not stay locked meanwhile.
 */
TEST_F_TIMEOUT(races, ranges_answer_does_not_hold_the_ioasid, 60)
{
	IOASID_CMD(ioasid_iova_ranges, cmd);
	IOASID_CMD(ioasid_map, map);
	struct ioctl_call ranges = { .fd = self->fd, .nr = IOASID_IOVA_RANGES };
	struct ioctl_call mapper = { .fd = self->fd, .nr = IOASID_MAP,
				     .arg = &map };
	pthread_t t[2];
	uint8_t *page;
	int uffd;

	page = answer_page();
	ASSERT_NE(NULL, page);
	cmd.ioasid = self->ioasid;
	cmd.num_ranges = 4;
	cmd.ranges = (uintptr_t)page;
	ranges.arg = &cmd;
	map.flags = RW_FIXED;
	map.ioasid = self->ioasid;
	map.user_va = (uintptr_t)self->buf;
	map.length = PAGE;
	map.iova = 0x100000;
	uffd = uffd_protect(page);
	if (uffd < 0)
		SKIP(return, "no userfaultfd write protection");
	ASSERT_EQ(0, pthread_create(&t[0], NULL, ioctl_thread, &ranges));
	ASSERT_TRUE(uffd_wait_fault(uffd, 10000));
	/* A map needs the IOASID for writing: it goes through meanwhile. */
	ASSERT_EQ(0, pthread_create(&t[1], NULL, ioctl_thread, &mapper));
	EXPECT_TRUE(finishes_within(&mapper, 5000));
	ASSERT_FALSE(atomic_load(&ranges.done));
	ASSERT_TRUE(uffd_release(uffd, page));
	ASSERT_EQ(0, pthread_join(t[0], NULL));
	ASSERT_EQ(0, pthread_join(t[1], NULL));
	ASSERT_EQ(0, ranges.rc);
	ASSERT_EQ(0, mapper.rc);
	ASSERT_EQ(1, cmd.num_ranges);
	close(uffd);
	munmap(page, PAGE);
}

/*
 * A context holds at most max_mappings mappings; copies count, though
 * they pin nothing new, and unmapping makes room again.
 */
TEST_F(races, max_mappings_bounds_copies)
{
	char saved[32] = {};
	int fd, i;

	fd = open(MAX_MAPPINGS, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, saved, sizeof(saved) - 1));
	close(fd);
	ASSERT_TRUE(write_file(MAX_MAPPINGS, "8"));
	EXPECT_EQ(0, map_at(self->fd, self->ioasid, self->buf, PAGE, 0));
	for (i = 1; i < 8; i++)
		EXPECT_EQ(0, copy_at(self->fd, self->ioasid, i * PAGE,
				     self->ioasid, 0, PAGE));
	ASSERT_ERRNO(ENOSPC, copy_at(self->fd, self->ioasid, 8 * PAGE,
				     self->ioasid, 0, PAGE));
	ASSERT_ERRNO(ENOSPC, map_at(self->fd, self->ioasid, self->buf + PAGE,
				    PAGE, 8 * PAGE));
	EXPECT_EQ(PAGE, unmapped(self->fd, self->ioasid, 7 * PAGE, PAGE));
	EXPECT_EQ(0, copy_at(self->fd, self->ioasid, 8 * PAGE, self->ioasid,
			     0, PAGE));
	ASSERT_TRUE(write_file(MAX_MAPPINGS, saved));
	EXPECT_EQ(8 * PAGE, unmapped(self->fd, self->ioasid, 0, 16 * PAGE));
}

/*
 * Attaching a device to an IOASID of many scattered mappings, and closing
 * it, must let other tasks on the same CPU run: this kernel does not
 * preempt kernel code, so a loop without a reschedule point holds the
 * CPU for as long as it runs.  A second thread on the same CPU measures
 * how long it waits for its 1 ms sleeps.
 */
#define SCATTERED	32768

struct waiter {
	atomic_bool stop;
	double worst;
};

static void pin_to_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *measure_wakeups(void *arg)
{
	struct waiter *w = arg;
	double t, last;

	pin_to_cpu0();
	last = now();
	while (!atomic_load(&w->stop)) {
		usleep(1000);
		t = now();
		if (t - last > w->worst)
			w->worst = t - last;
		last = t;
	}
	return NULL;
}

/* Map SCATTERED pages, every other page of @mem, one mapping each. */
static int map_scattered(int fd, unsigned int ioasid, uint8_t *mem)
{
	IOASID_CMD(ioasid_vec, vec);
	struct ioasid_vec_entry *e = calloc(IOASID_VEC_MAX, sizeof(*e));
	int i, j, rc = 0;

	vec.op = IOASID_VEC_MAP;
	vec.flags = RW_FIXED;
	vec.ioasid = ioasid;
	vec.entries = (uintptr_t)e;
	for (i = 0; i < SCATTERED && !rc; i += IOASID_VEC_MAX) {
		for (j = 0; j < IOASID_VEC_MAX; j++) {
			e[j].iova = (uint64_t)(i + j) * PAGE;
			e[j].addr = (uintptr_t)mem + 2UL * (i + j) * PAGE;
			e[j].length = PAGE;
		}
		vec.count = IOASID_VEC_MAX;
		rc = ioctl(fd, IOASID_VEC, &vec);
	}
	free(e);
	return rc;
}

TEST_F_TIMEOUT(races, long_loops_let_others_run, 300)
{
	struct waiter w = {};
	struct mock_dev md;
	double t0, attach_time, close_time;
	uint8_t *mem;
	pthread_t t;

	mem = mmap(NULL, 2UL * SCATTERED * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, madvise(mem, 2UL * SCATTERED * PAGE, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, map_scattered(self->fd, self->ioasid, mem));
	ASSERT_EQ(0, mock_add(self->fd, &default_cfg, &md));

	pin_to_cpu0();
	ASSERT_EQ(0, pthread_create(&t, NULL, measure_wakeups, &w));
	usleep(50000);
	t0 = now();
	/* A new domain, filled with every mapping. */
	ASSERT_EQ(0, attach(self->fd, &md, self->ioasid));
	attach_time = now() - t0;
	t0 = now();
	/* Detach, unmap all, unpin all. */
	close(self->fd);
	close_time = now() - t0;
	self->fd = ioasid_open();
	atomic_store(&w.stop, true);
	ASSERT_EQ(0, pthread_join(t, NULL));
	TH_LOG("attach %.0f ms, close %.0f ms, longest wait %.0f ms",
	       attach_time * 1e3, close_time * 1e3, w.worst * 1e3);
	/* Long enough to tell a loop that holds the CPU from one that yields. */
	ASSERT_LT(1.0, attach_time + close_time);
	ASSERT_GT(0.2, w.worst);
	munmap(mem, 2UL * SCATTERED * PAGE);
}

TEST_HARNESS_MAIN
