// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/ioasid across the life of a process: kernel memory charged to the
 * caller's memory cgroup and refused at its limit, SIGKILL in the middle
 * of a large map and of an attach, fork and exec.
 *
 * Pins are measured system-wide, as the difference of nr_foll_pin_acquired
 * and nr_foll_pin_released in /proc/vmstat after folding the per-CPU
 * counts (vm.stat_refresh), against a baseline taken before each test;
 * the RLIMIT_MEMLOCK charge through IOASID_TEST (the user's locked_vm) and
 * VmPin (the mm's pinned_vm, which IOASID_ALLOC_ACCOUNT_MM charges).
 * Every case ends with both back at their baseline.
 *
 * A forked child cannot assert through the harness: it records the line
 * of the check that failed and exits non-zero, for the parent to assert
 * on.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "ioasid_test.h"
#include "../../../../drivers/iommu/ioasid/ioasid_test.h"

#define PAGE		4096UL
#define RW		(IOASID_MAP_READ | IOASID_MAP_WRITE)
#define RW_FIXED	(RW | IOASID_MAP_FIXED_IOVA)
#define CDEV		"/dev/vfio/devices/vfio0"
/* edu reaches IOVAs below 256 MiB only. */
#define IOVA_SRC	0x100000UL
#define IOVA_DST	0x200000UL
#define IOVA_OTHER	0x300000UL
#define IOVA_BIG	0x4000000UL
#define EXEC_ARG	"--exec-image"
#define NO_ANSWER	(-1LL)

/* ---------------------------------------------------------------------
 * Measuring.
 */

/* Pins acquired since boot, folded. */
static long long pins_acquired(void)
{
	if (!vmstat_refresh())
		return NO_ANSWER;
	return vmstat_field("nr_foll_pin_acquired");
}

/* The pages charged to the caller's user (locked_vm), or NO_ANSWER. */
static long long locked_user(void)
{
	IOASID_CMD(ioasid_test, cmd);
	int fd = ioasid_open();
	int rc;

	if (fd < 0)
		return NO_ANSWER;
	cmd.op = IOASID_TEST_OP_LOCKED_VM;
	rc = ioctl(fd, IOASID_TEST, &cmd);
	close(fd);
	return rc ? NO_ANSWER : (long long)cmd.locked_vm.out_user;
}

/* A "Name: N kB" field of /proc/PID/status, or -1. */
static long pid_status_kb(pid_t pid, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	return kb_field(path, name);
}

/* A field of /proc/meminfo in kB, or -1. */
static long meminfo_kb(const char *name)
{
	return kb_field("/proc/meminfo", name);
}

/* ---------------------------------------------------------------------
 * Calls.
 */

static int alloc_flags(int fd, __u32 flags, unsigned int *id)
{
	IOASID_CMD(ioasid_alloc, cmd);

	cmd.flags = flags;
	if (ioctl(fd, IOASID_ALLOC, &cmd))
		return -1;
	*id = cmd.out_ioasid;
	return 0;
}

static int map_fixed(int fd, unsigned int id, const void *va, __u64 len,
		     __u64 iova)
{
	IOASID_CMD(ioasid_map, cmd);

	cmd.flags = RW_FIXED;
	cmd.ioasid = id;
	cmd.user_va = (uintptr_t)va;
	cmd.length = len;
	cmd.iova = iova;
	return ioctl(fd, IOASID_MAP, &cmd);
}

/* Unmap everything: the bytes unmapped, or -1. */
static long long unmap_all(int fd, unsigned int id)
{
	IOASID_CMD(ioasid_unmap, cmd);

	cmd.flags = IOASID_UNMAP_ALL;
	cmd.ioasid = id;
	if (ioctl(fd, IOASID_UNMAP, &cmd))
		return -1;
	return cmd.length;
}

static long long unmap_one(int fd, unsigned int id, __u64 iova, __u64 len)
{
	IOASID_CMD(ioasid_unmap, cmd);

	cmd.ioasid = id;
	cmd.iova = iova;
	cmd.length = len;
	if (ioctl(fd, IOASID_UNMAP, &cmd))
		return -1;
	return cmd.length;
}

/* Open the device cdev, bind it to @ctx, turn bus mastering on. */
static int edu_bind(struct edu *e, int ctx, bool cloexec)
{
	e->fd = open(CDEV, O_RDWR | (cloexec ? O_CLOEXEC : 0));
	if (e->fd < 0)
		return -1;
	if (vfio_bind_ioasid(e->fd, ctx, &e->devid)) {
		close(e->fd);
		return -1;
	}
	return edu_enable(e);
}

static int edu_attach(struct edu *e, unsigned int id)
{
	return vfio_attach_ioasid(e->fd, id);
}

static int edu_detach(struct edu *e)
{
	return vfio_detach_ioasid(e->fd);
}

/* Private anonymous memory of small pages, each written so it is present. */
static uint8_t *alloc_buf(size_t len, uint8_t fill)
{
	uint8_t *buf;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return NULL;
	madvise(buf, len, MADV_NOHUGEPAGE);
	memset(buf, fill, len);
	return buf;
}

/*
 * Memory of small pages that are not physically contiguous: each page
 * is faulted in between two pages of a spacer, freed afterwards, so that
 * a map of it needs about one PFN run per page.
 */
static uint8_t *alloc_scattered(size_t len)
{
	uint8_t *buf, *spacer;
	size_t i;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	spacer = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || spacer == MAP_FAILED)
		return NULL;
	madvise(buf, len, MADV_NOHUGEPAGE);
	madvise(spacer, len, MADV_NOHUGEPAGE);
	for (i = 0; i < len; i += PAGE) {
		buf[i] = 1;
		spacer[i] = 1;
	}
	munmap(spacer, len);
	return buf;
}

/* PFN runs of @len bytes at @buf, from /proc/self/pagemap; 0 on error. */
static long count_runs(const uint8_t *buf, size_t len)
{
	size_t n = len / PAGE, i;
	uint64_t *map, prev = 0;
	long runs = 0;
	int fd;

	map = mmap(NULL, n * sizeof(*map), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return 0;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, map, n * sizeof(*map),
			    (uintptr_t)buf / PAGE * sizeof(*map)) !=
		      (ssize_t)(n * sizeof(*map)))
		n = 0;
	for (i = 0; i < n; i++) {
		/* Bit 63 is "present", bits 0-54 the PFN (root sees it). */
		uint64_t pfn = map[i] & ((1ULL << 55) - 1);

		if (!(map[i] >> 63) || !pfn) {
			runs = 0;
			break;
		}
		if (!i || pfn != prev + 1)
			runs++;
		prev = pfn;
	}
	if (fd >= 0)
		close(fd);
	munmap(map, len / PAGE * sizeof(*map));
	return runs;
}

/*
 * What a forked child shares with its parent: a page of shared memory,
 * faulted in before the fork, so that writing it never allocates.
 */
struct report {
	int stage;		/* the child's progress */
	int go;			/* how far the parent lets it go */
	int in_call;		/* set around the call the parent interrupts */
	long calls;		/* calls done */
	int failed_line;	/* the child's check that failed, 0 if none */
	int err[4];		/* errno of the call that failed, per phase */
	long count[4];		/* calls that succeeded before it, per phase */
	long runs;		/* PFN runs of the child's scattered buffer */
};

/* The fields the two processes change under each other's eyes. */
#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

static struct report *report_new(void)
{
	struct report *r;

	r = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		return NULL;
	memset(r, 0, PAGE);
	return r;
}

#define CHILD_CHECK(r, cond)						\
	do {								\
		if (!(cond)) {						\
			STORE((r)->failed_line, __LINE__);		\
			_exit(1);					\
		}							\
	} while (0)

/* In a child: wait, without allocating anything, for the parent's go. */
static void child_wait_go(struct report *r, int go)
{
	while (LOAD(r->go) < go)
		usleep(1000);
}

/* In the parent: wait for the child's stage, or for the child to die. */
static bool wait_stage(struct report *r, pid_t pid, int stage)
{
	int ms, status;

	for (ms = 0; ms < 120000; ms++) {
		if (LOAD(r->stage) >= stage)
			return true;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return false;
		usleep(1000);
	}
	return false;
}

/* Reap @pid: its exit code, or -1 if it did not exit normally. */
static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* ---------------------------------------------------------------------
 * Memory cgroup (v2) accounting.
 */

#define CG_ROOT		"/sys/fs/cgroup"
/* Headroom above memory.current for the first two phases, and the last. */
#define CG_HEADROOM	0x200000L
#define CG_HEADROOM_RUNS 0x10000L
#define SMALL_MAP	0x400000UL
#define MAX_CALLS	200000
/* The kernel keeps a PFN run in three longs. */
#define RUN_BYTES	24

/*
 * A memory cgroup keeps up to MEMCG_CHARGE_BATCH (64) pages charged ahead
 * on each CPU, in memory.current while unused: after a free, memory.current
 * may stay up to that much above what is allocated, and up to that much
 * may be allocated beyond the headroom before memory.max refuses.
 */
static long cg_stock_max(void)
{
	return 64 * PAGE * sysconf(_SC_NPROCESSORS_CONF);
}

/* What memory.current may keep once everything is freed. */
static long cg_slack(void)
{
	return cg_stock_max() + 0x10000L;
}

/*
 * Scattered memory whose PFN runs take a third more than the headroom
 * and every CPU's stock together, in MiB.
 */
static size_t cg_scattered_len(void)
{
	size_t runs = (CG_HEADROOM_RUNS + cg_stock_max()) * 4 / 3 / RUN_BYTES;

	return (runs * PAGE + 0xfffff) & ~0xfffffUL;
}

static bool cgroup2_mounted(void)
{
	char dev[64], dir[192], type[32];
	FILE *f = fopen("/proc/mounts", "r");
	bool found = false;

	if (!f)
		return false;
	while (fscanf(f, "%63s %191s %31s %*[^\n]", dev, dir, type) == 3)
		if (!strcmp(dir, CG_ROOT) && !strcmp(type, "cgroup2"))
			found = true;
	fclose(f);
	return found;
}

static bool cg_write(const char *cg, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return write_file(path, val);
}

static bool cg_write_long(const char *cg, const char *file, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", val);
	return cg_write(cg, file, buf);
}

/* A single number file (memory.current), or -1. */
static long cg_read_long(const char *cg, const char *file)
{
	char path[256];
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

/* A "key value" line of a flat-keyed file (memory.events), or -1. */
static long cg_read_key(const char *cg, const char *file, const char *key)
{
	char path[256], name[64];
	long val, found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &val) == 2)
		if (!strcmp(name, key)) {
			found = val;
			break;
		}
	fclose(f);
	return found;
}

/*
 * Fault in the stack a child will use, before the cgroup limits it: 16
 * frames of a page each, which the recursion keeps the compiler from
 * folding into one.
 */
static int touch_stack(int depth)
{
	char pad[PAGE];

	memset(pad, depth, sizeof(pad));
	asm volatile("" : : "r"(pad) : "memory");
	if (!depth)
		return 0;
	return touch_stack(depth - 1) + pad[depth];
}

/*
 * The child: every page it will touch is faulted in, and its file opened,
 * before it moves into the cgroup, so that its user memory is charged
 * elsewhere and only what the kernel allocates for its ioctls lands in
 * the cgroup.  From then on it allocates nothing in user space (a fault
 * there, at the limit, would be an OOM kill) and reports through @r.
 */
static void memcg_child(struct report *r, const char *cg, size_t scattered)
{
	unsigned int space, id, first = 0;
	long n, npages = scattered / PAGE;
	uint8_t *buf;
	int fd;

	fd = ioasid_open();
	CHILD_CHECK(r, fd >= 0);
	CHILD_CHECK(r, !ioasid_alloc(fd, &space));
	buf = alloc_scattered(scattered);
	CHILD_CHECK(r, buf);
	r->runs = count_runs(buf, scattered);
	touch_stack(16);
	CHILD_CHECK(r, cg_write(cg, "cgroup.procs", "0"));
	STORE(r->stage, 1);
	child_wait_go(r, 1);

	/* Phase 0: IOASIDs, until one cannot be had. */
	for (n = 0; n < MAX_CALLS; n++) {
		if (ioasid_alloc(fd, &id))
			break;
		if (!n)
			first = id;
		/* The lowest free ids, in order. */
		CHILD_CHECK(r, id == first + n);
	}
	r->err[0] = n < MAX_CALLS ? errno : 0;
	r->count[0] = n;
	STORE(r->stage, 2);
	child_wait_go(r, 2);
	while (n--)
		CHILD_CHECK(r, !ioasid_destroy(fd, first + n));

	/* Phase 1: one-page mappings of separate pages. */
	for (n = 0; n < MAX_CALLS; n++)
		if (map_fixed(fd, space, buf + (n % npages) * PAGE, PAGE,
			      IOVA_BIG + n * PAGE))
			break;
	r->err[1] = n < MAX_CALLS ? errno : 0;
	r->count[1] = n;
	STORE(r->stage, 3);
	child_wait_go(r, 3);
	CHILD_CHECK(r, unmap_all(fd, space) == (long long)(n * PAGE));
	STORE(r->stage, 4);
	child_wait_go(r, 4);

	/*
	 * Phase 2: one map of scattered pages, whose PFN runs take more
	 * than the headroom; a smaller one of the same memory fits.
	 */
	r->err[2] = map_fixed(fd, space, buf, scattered, IOVA_BIG) ? errno : 0;
	r->err[3] = map_fixed(fd, space, buf, SMALL_MAP, IOVA_BIG) ? errno : 0;
	r->count[3] = unmap_all(fd, space);
	STORE(r->stage, 5);
	child_wait_go(r, 5);

	close(fd);
	STORE(r->stage, 6);
	child_wait_go(r, 6);
	_exit(0);
}

FIXTURE(memcg) {
	char cg[128];
	bool mounted, made;
	pid_t pid;
	struct report *r;
};

FIXTURE_SETUP(memcg)
{
	char controllers[256] = "";
	FILE *f;

	if (!cgroup2_mounted()) {
		ASSERT_EQ(0, mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL));
		self->mounted = true;
	}
	f = fopen(CG_ROOT "/cgroup.controllers", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(controllers, sizeof(controllers), f));
	fclose(f);
	if (!strstr(controllers, "memory"))
		SKIP(return, "no memory controller");
	ASSERT_TRUE(cg_write(CG_ROOT, "cgroup.subtree_control", "+memory"));
	snprintf(self->cg, sizeof(self->cg), CG_ROOT "/ioasid_lifecycle.%d",
		 getpid());
	ASSERT_EQ(0, mkdir(self->cg, 0755));
	self->made = true;
	self->r = report_new();
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN(memcg)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
	if (self->made)
		rmdir(self->cg);
	if (self->mounted)
		umount(CG_ROOT);
}

/*
 * At the cgroup's memory.max the ioctls fail with ENOMEM, and nothing is
 * killed; the same calls outside the cgroup succeed; closing the file
 * gives the cgroup back everything.
 */
TEST_F_TIMEOUT(memcg, enomem_at_limit, 300)
{
	long base, cur, kernel0, kernel, events_max;
	size_t len = cg_scattered_len();
	long slack = cg_slack();
	struct report *r = self->r;
	unsigned int id, other;
	uint8_t *mine;
	int fd;

	fd = ioasid_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioasid_alloc(fd, &id));
	mine = alloc_scattered(len);
	ASSERT_NE(NULL, mine);

	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (!self->pid)
		memcg_child(r, self->cg, len);

	ASSERT_TRUE(wait_stage(r, self->pid, 1))
		TH_LOG("child check at line %d", r->failed_line);
	/* Most pages are a run of their own: the runs array is large. */
	ASSERT_LT(len / PAGE / 2, r->runs);
	base = cg_read_long(self->cg, "memory.current");
	kernel0 = cg_read_key(self->cg, "memory.stat", "kernel");
	ASSERT_LE(0, base);
	ASSERT_LE(0, kernel0);
	/* The child's own memory was charged before it moved in. */
	ASSERT_GT(len / 4, base);
	ASSERT_TRUE(cg_write_long(self->cg, "memory.max", base + CG_HEADROOM));
	STORE(r->go, 1);

	/* IOASIDs up to the limit. */
	ASSERT_TRUE(wait_stage(r, self->pid, 2))
		TH_LOG("child check at line %d", r->failed_line);
	cur = cg_read_long(self->cg, "memory.current");
	TH_LOG("memory.current %ld at the start, %ld after %ld IOASIDs (errno %d)",
	       base, cur, r->count[0], r->err[0]);
	ASSERT_EQ(ENOMEM, r->err[0]);
	ASSERT_LT(100, r->count[0]);
	/* The objects are in the cgroup, which is at its limit. */
	ASSERT_LT(base + CG_HEADROOM / 2, cur);
	ASSERT_GE(base + CG_HEADROOM, cur);
	events_max = cg_read_key(self->cg, "memory.events", "max");
	ASSERT_LT(0, events_max);
	ASSERT_EQ(0, cg_read_key(self->cg, "memory.events", "oom"));
	ASSERT_EQ(0, cg_read_key(self->cg, "memory.events", "oom_kill"));
	/* Outside the cgroup the same call succeeds. */
	ASSERT_EQ(0, ioasid_alloc(fd, &other));
	ASSERT_EQ(0, ioasid_destroy(fd, other));
	STORE(r->go, 2);

	/* Mappings up to the limit. */
	ASSERT_TRUE(wait_stage(r, self->pid, 3))
		TH_LOG("child check at line %d", r->failed_line);
	cur = cg_read_long(self->cg, "memory.current");
	kernel = cg_read_key(self->cg, "memory.stat", "kernel");
	TH_LOG("memory.current %ld after %ld maps (errno %d); memory.stat kernel %ld -> %ld",
	       cur, r->count[1], r->err[1], kernel0, kernel);
	ASSERT_EQ(ENOMEM, r->err[1]);
	ASSERT_LT(100, r->count[1]);
	ASSERT_LT(base + CG_HEADROOM / 2, cur);
	ASSERT_GE(base + CG_HEADROOM, cur);
	ASSERT_LT(kernel0 + CG_HEADROOM / 2, kernel);
	ASSERT_LT(events_max, cg_read_key(self->cg, "memory.events", "max"));
	ASSERT_EQ(0, cg_read_key(self->cg, "memory.events", "oom_kill"));
	ASSERT_EQ(0, map_fixed(fd, id, mine, PAGE, IOVA_BIG));
	ASSERT_EQ(PAGE, unmap_all(fd, id));
	STORE(r->go, 3);

	/* Unmapped, the memory is back; a tighter limit for the runs. */
	ASSERT_TRUE(wait_stage(r, self->pid, 4))
		TH_LOG("child check at line %d", r->failed_line);
	cur = cg_read_long(self->cg, "memory.current");
	TH_LOG("memory.current %ld once unmapped (slack %ld)", cur, slack);
	ASSERT_LE(0, cur);
	ASSERT_GT(base + slack, cur);
	ASSERT_TRUE(cg_write_long(self->cg, "memory.max",
				  cur + CG_HEADROOM_RUNS));
	STORE(r->go, 4);

	ASSERT_TRUE(wait_stage(r, self->pid, 5))
		TH_LOG("child check at line %d", r->failed_line);
	TH_LOG("%zu KiB of %ld runs: errno %d; %lu KiB: errno %d",
	       len >> 10, r->runs, r->err[2], SMALL_MAP >> 10, r->err[3]);
	ASSERT_EQ(ENOMEM, r->err[2]);
	ASSERT_EQ(0, r->err[3]);
	ASSERT_EQ(SMALL_MAP, r->count[3]);
	ASSERT_EQ(0, cg_read_key(self->cg, "memory.events", "oom_kill"));
	/* The same map of the parent's own scattered memory succeeds. */
	ASSERT_LT(len / PAGE / 2, count_runs(mine, len));
	ASSERT_EQ(0, map_fixed(fd, id, mine, len, IOVA_BIG));
	ASSERT_EQ(len, unmap_all(fd, id));
	STORE(r->go, 5);

	/* Closed: the cgroup is back where it started. */
	ASSERT_TRUE(wait_stage(r, self->pid, 6))
		TH_LOG("child check at line %d", r->failed_line);
	cur = cg_read_long(self->cg, "memory.current");
	TH_LOG("memory.current %ld after close", cur);
	ASSERT_LE(0, cur);
	ASSERT_GT(base + slack, cur);
	STORE(r->go, 6);
	ASSERT_EQ(0, reap(self->pid))
		TH_LOG("child check at line %d", r->failed_line);
	self->pid = 0;
	TH_LOG("memory.current %ld after exit",
	       cg_read_long(self->cg, "memory.current"));
	ASSERT_EQ(0, cg_read_key(self->cg, "memory.events", "oom_kill"));
	ASSERT_EQ(0, rmdir(self->cg));
	self->made = false;
	close(fd);
	munmap(mine, len);
}

/* ---------------------------------------------------------------------
 * SIGKILL in the middle of mapping 1 GiB, in one range or in the entries
 * of one IOASID_VEC.
 */

#define BIG_MAP		0x40000000UL
/* Pins seen before the kill: well into the map, far from its end. */
#define KILL_AFTER_PINS	16384
/* The 1 GiB as the most entries a vector takes: consecutive memory. */
#define VEC_ENTRIES	IOASID_VEC_MAX
#define VEC_ENTRY_LEN	(BIG_MAP / VEC_ENTRIES)

FIXTURE(kill_map) {
	long long pins, locked;
	struct report *r;
	pid_t pid;	/* a child to kill, should the test stop half-way */
};

FIXTURE_VARIANT(kill_map) {
	bool account_mm;
	bool vec;	/* IOASID_VEC: each entry charges as it is pinned */
};

FIXTURE_VARIANT_ADD(kill_map, user) {
	.account_mm = false,
};

FIXTURE_VARIANT_ADD(kill_map, mm) {
	.account_mm = true,
};

FIXTURE_VARIANT_ADD(kill_map, vec_mm) {
	.account_mm = true,
	.vec = true,
};

FIXTURE_SETUP(kill_map)
{
	self->locked = locked_user();
	if (self->locked == NO_ANSWER && errno == ENOTTY)
		SKIP(return, "IOASID_TEST needs CONFIG_IOASID_TEST");
	ASSERT_NE(NO_ANSWER, self->locked);
	self->pins = pins_held();
	ASSERT_NE(NO_ANSWER, self->pins);
	self->r = report_new();
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN(kill_map)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
}

/*
 * The vector of entries that map @buf whole, each on its own mapping;
 * pinned ahead, consecutive entries share the batches of pins.
 */
static struct ioasid_vec_entry *kill_map_entries(char *buf)
{
	struct ioasid_vec_entry *e = calloc(VEC_ENTRIES, sizeof(*e));
	unsigned int i;

	for (i = 0; e && i < VEC_ENTRIES; i++)
		e[i] = (struct ioasid_vec_entry){
			.iova = IOVA_BIG + i * VEC_ENTRY_LEN,
			.addr = (uintptr_t)buf + i * VEC_ENTRY_LEN,
			.length = VEC_ENTRY_LEN,
		};
	return e;
}

static void kill_map_child(struct report *r, bool account_mm, bool vec)
{
	IOASID_CMD(ioasid_vec, vcmd);
	IOASID_CMD(ioasid_map, cmd);
	unsigned int id;
	void *buf;
	int fd;

	buf = mmap(NULL, BIG_MAP, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHILD_CHECK(r, buf != MAP_FAILED);
	/* Small pages: the pins fault them in one by one. */
	madvise(buf, BIG_MAP, MADV_NOHUGEPAGE);
	fd = ioasid_open();
	CHILD_CHECK(r, fd >= 0);
	CHILD_CHECK(r, !alloc_flags(fd, account_mm ? IOASID_ALLOC_ACCOUNT_MM : 0,
				    &id));
	cmd.flags = RW;
	cmd.ioasid = id;
	cmd.user_va = (uintptr_t)buf;
	cmd.length = BIG_MAP;
	if (vec) {
		vcmd.op = IOASID_VEC_MAP;
		vcmd.flags = RW_FIXED;
		vcmd.ioasid = id;
		vcmd.count = VEC_ENTRIES;
		vcmd.entries = (uintptr_t)kill_map_entries(buf);
		CHILD_CHECK(r, vcmd.entries);
	}
	STORE(r->stage, 1);
	STORE(r->in_call, 1);
	if (vec)
		r->err[0] = ioctl(fd, IOASID_VEC, &vcmd) ? errno : 0;
	else
		r->err[0] = ioctl(fd, IOASID_MAP, &cmd) ? errno : 0;
	STORE(r->in_call, 0);
	STORE(r->stage, 2);
	pause();
	_exit(0);
}

/*
 * The child is killed while its map is pinning: the map stops at the next
 * batch, and what it pinned and charged is given back.  A vector stops
 * the same way inside an entry, with the entries before it pinned and
 * charged, and pages pinned ahead for the entries after it.
 */
TEST_F_TIMEOUT(kill_map, sigkill_during_1g_map, 300)
{
	long long acquired, seen = 0, locked_during, taken;
	struct report *r = self->r;
	long vmpin_during;
	pid_t pid;
	int status, ms;

	TH_LOG("MemAvailable %ld kB", meminfo_kb("MemAvailable"));
	acquired = pins_acquired();
	ASSERT_NE(NO_ANSWER, acquired);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		kill_map_child(r, variant->account_mm, variant->vec);
	self->pid = pid;
	ASSERT_TRUE(wait_stage(r, pid, 1))
		TH_LOG("child check at line %d", r->failed_line);
	/* Unfolded counts lag a little: good enough to see progress. */
	for (ms = 0; ms < 120000 && LOAD(r->stage) < 2; ms++) {
		seen = vmstat_field("nr_foll_pin_acquired") - acquired;
		if (seen >= KILL_AFTER_PINS)
			break;
		usleep(1000);
	}
	vmpin_during = pid_status_kb(pid, "VmPin");
	locked_during = locked_user();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	self->pid = 0;
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));
	/* The kill came while the map was still running. */
	ASSERT_EQ(1, LOAD(r->in_call));
	ASSERT_EQ(1, LOAD(r->stage));
	taken = pins_acquired() - acquired;
	TH_LOG("%lld pins seen at the kill, %lld taken of %lu; VmPin %ld kB, locked_vm +%lld",
	       seen, taken, BIG_MAP / PAGE, vmpin_during,
	       locked_during - self->locked);
	ASSERT_LE(KILL_AFTER_PINS, seen);
	ASSERT_GT((long long)(BIG_MAP / PAGE), taken);
	/* Each entry of a vector is charged when it is pinned. */
	if (variant->vec) {
		ASSERT_LT(0, vmpin_during);
		ASSERT_GT((long)(BIG_MAP >> 10), vmpin_during);
		ASSERT_EQ(self->locked, locked_during);
	/* One range is charged whole before pinning starts. */
	} else if (variant->account_mm) {
		ASSERT_EQ(BIG_MAP >> 10, vmpin_during);
		ASSERT_EQ(self->locked, locked_during);
	} else {
		ASSERT_EQ(0, vmpin_during);
		ASSERT_EQ(self->locked + (long long)(BIG_MAP / PAGE),
			  locked_during);
	}
	ASSERT_EQ(self->pins, pins_held());
	ASSERT_EQ(self->locked, locked_user());
}

/* ---------------------------------------------------------------------
 * The edu device: SIGKILL during attach, fork, exec.
 */

FIXTURE(dev) {
	long long pins, locked;
	struct report *r;
	uint8_t *src, *dst;
	pid_t pid;	/* a child to kill, should the test stop half-way */
};

FIXTURE_SETUP(dev)
{
	if (access(CDEV, F_OK))
		SKIP(return, "no edu device bound to vfio-pci");
	self->locked = locked_user();
	if (self->locked == NO_ANSWER && errno == ENOTTY)
		SKIP(return, "IOASID_TEST needs CONFIG_IOASID_TEST");
	ASSERT_NE(NO_ANSWER, self->locked);
	self->pins = pins_held();
	ASSERT_NE(NO_ANSWER, self->pins);
	self->r = report_new();
	ASSERT_NE(NULL, self->r);
	self->src = alloc_buf(PAGE, 0x5a);
	self->dst = alloc_buf(PAGE, 0xaa);
	ASSERT_NE(NULL, self->src);
	ASSERT_NE(NULL, self->dst);
}

FIXTURE_TEARDOWN(dev)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
}

/* The fixture's type, for helpers (checkpatch misreads "FIXTURE_DATA(x) *"). */
#define DEV_DATA FIXTURE_DATA(dev)

/*
 * The device works for a new owner: bound to a fresh context, attached,
 * it copies @fill from one mapped page to another.
 */
static void expect_dma_works(struct __test_metadata *_metadata,
			     DEV_DATA *self, uint8_t fill)
{
	unsigned int id;
	struct edu e;
	int fd;

	memset(self->src, fill, PAGE);
	memset(self->dst, 0xaa, PAGE);
	fd = ioasid_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioasid_alloc(fd, &id));
	ASSERT_EQ(0, edu_bind(&e, fd, true));
	ASSERT_EQ(0x010000ed, reg_read(&e, EDU_ID));
	ASSERT_EQ(0, map_fixed(fd, id, self->src, PAGE, IOVA_SRC));
	ASSERT_EQ(0, map_fixed(fd, id, self->dst, PAGE, IOVA_DST));
	ASSERT_EQ(0, edu_attach(&e, id));
	ASSERT_TRUE(ram_to_dev(&e, IOVA_SRC));
	ASSERT_TRUE(dev_to_ram(&e, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, fill));
	close(e.fd);
	close(fd);
	ASSERT_EQ(self->pins, pins_held());
	ASSERT_EQ(self->locked, locked_user());
}

/* 64 MiB of scattered pages: an attach must map each run into the domain. */
#define ATTACH_MAP	0x4000000UL

static void attach_child(struct report *r)
{
	unsigned int id;
	struct edu e;
	uint8_t *buf;
	int fd;

	fd = ioasid_open();
	CHILD_CHECK(r, fd >= 0);
	CHILD_CHECK(r, !ioasid_alloc(fd, &id));
	buf = alloc_scattered(ATTACH_MAP);
	CHILD_CHECK(r, buf);
	CHILD_CHECK(r, !map_fixed(fd, id, buf, ATTACH_MAP, IOVA_BIG));
	CHILD_CHECK(r, !edu_bind(&e, fd, true));
	STORE(r->stage, 1);
	for (;;) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		STORE(r->in_call, 1);
		CHILD_CHECK(r, !edu_attach(&e, id));
		STORE(r->in_call, 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* Microseconds spent attaching, in all. */
		r->count[0] += (t1.tv_sec - t0.tv_sec) * 1000000 +
			       (t1.tv_nsec - t0.tv_nsec) / 1000;
		STORE(r->calls, LOAD(r->calls) + 1);
		CHILD_CHECK(r, !edu_detach(&e));
	}
}

/*
 * Spin until the child is inside its call: false if a check of its
 * failed or it is gone (not reaped: the caller reaps it).
 */
static bool wait_in_call(struct report *r, pid_t pid)
{
	siginfo_t info;
	long spins;

	for (spins = 0; !LOAD(r->in_call); spins++) {
		if (LOAD(r->failed_line))
			return false;
		if (spins % 4096)
			continue;
		memset(&info, 0, sizeof(info));
		if (!waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) &&
		    info.si_pid == pid)
			return false;
	}
	return true;
}

/*
 * A child that binds the device and attaches it again and again, to an
 * IOASID holding 64 MiB, is killed inside the attach call.  Its exit
 * detaches and unbinds: the device binds again, attaches and does DMA,
 * and every pin and charge is gone.
 */
TEST_F_TIMEOUT(dev, sigkill_during_attach, 300)
{
	static const int delay_us[] = { 0, 2000, 8000, 16000 };
	struct report *r = self->r;
	unsigned int i, tries;
	int status;
	pid_t pid;

	for (i = 0; i < ARRAY_SIZE(delay_us); i++) {
		memset(r, 0, sizeof(*r));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			attach_child(r);
		self->pid = pid;
		ASSERT_TRUE(wait_stage(r, pid, 1))
			TH_LOG("child check at line %d", r->failed_line);
		/* A few rounds first. */
		while (LOAD(r->calls) < 2 + i && !LOAD(r->failed_line))
			usleep(1000);
		/*
		 * Then @delay_us into an attach, if one lasts that long:
		 * else, after enough tries, at the start of one.
		 */
		for (tries = 0;; tries++) {
			long calls;

			ASSERT_TRUE(wait_in_call(r, pid))
				TH_LOG("child check at line %d", r->failed_line);
			calls = LOAD(r->calls);
			if (tries == 100)
				break;
			usleep(delay_us[i]);
			if (LOAD(r->in_call) && LOAD(r->calls) == calls)
				break;
		}
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		self->pid = 0;
		ASSERT_TRUE(WIFSIGNALED(status));
		ASSERT_EQ(SIGKILL, WTERMSIG(status));
		ASSERT_EQ(0, r->failed_line);
		/* It never returned from that attach. */
		ASSERT_EQ(1, LOAD(r->in_call));
		TH_LOG("kill %u: %ld attaches of %ld us, then %d us into one (%u tries)",
		       i, LOAD(r->calls), r->count[0] / LOAD(r->calls),
		       tries < 100 ? delay_us[i] : 0, tries);
		ASSERT_EQ(self->pins, pins_held());
		ASSERT_EQ(self->locked, locked_user());
		expect_dma_works(_metadata, self, 0x30 + i);
	}
}

/*
 * fork: the child gets copies of the parent's pages, never the pinned
 * originals, so what the device reads is the parent's data whatever the
 * child writes.  The inherited file is the same context, with no owner:
 * the child can use it like the parent, and what it maps is its own
 * memory, pinned from its own mm and charged to it, and staying pinned
 * in the context after the child has gone.
 */
TEST_F_TIMEOUT(dev, fork_child_writes_its_copy, 120)
{
	struct report *r = self->r;
	unsigned int id, next;
	uint8_t *mine;
	struct edu e;
	pid_t pid;
	int fd;

	mine = alloc_buf(2 * PAGE, 0x3c);
	ASSERT_NE(NULL, mine);
	fd = ioasid_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, alloc_flags(fd, IOASID_ALLOC_ACCOUNT_MM, &id));
	ASSERT_EQ(0, edu_bind(&e, fd, true));
	ASSERT_EQ(0, map_fixed(fd, id, self->src, PAGE, IOVA_SRC));
	ASSERT_EQ(0, map_fixed(fd, id, self->dst, PAGE, IOVA_DST));
	ASSERT_EQ(0, edu_attach(&e, id));
	ASSERT_EQ(2 * PAGE >> 10, vm_pin_kb());
	ASSERT_EQ(self->pins + 2, pins_held());

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Nothing pinned is charged to the new mm. */
		CHILD_CHECK(r, vm_pin_kb() == 0);
		CHILD_CHECK(r, self->src[0] == 0x5a);
		memset(self->src, 0xc3, PAGE);
		/* The parent's mapping is in the same context... */
		errno = 0;
		CHILD_CHECK(r, map_fixed(fd, id, mine, PAGE, IOVA_SRC) == -1);
		CHILD_CHECK(r, errno == EEXIST);
		/* ... and a mapping of the child's pins the child's page. */
		CHILD_CHECK(r, !map_fixed(fd, id, mine, PAGE, IOVA_OTHER));
		CHILD_CHECK(r, vm_pin_kb() == PAGE >> 10);
		CHILD_CHECK(r, !map_fixed(fd, id, mine + PAGE, PAGE,
					  IOVA_OTHER + PAGE));
		CHILD_CHECK(r, vm_pin_kb() == 2 * PAGE >> 10);
		CHILD_CHECK(r, unmap_one(fd, id, IOVA_OTHER + PAGE, PAGE) == PAGE);
		CHILD_CHECK(r, vm_pin_kb() == PAGE >> 10);
		/* It leaves the first one mapped. */
		_exit(0);
	}
	ASSERT_EQ(0, reap(pid))
		TH_LOG("child check at line %d", r->failed_line);

	/* The device reads the parent's page, not the child's copy. */
	ASSERT_TRUE(all_bytes(self->src, 0x5a));
	ASSERT_TRUE(ram_to_dev(&e, IOVA_SRC));
	ASSERT_TRUE(dev_to_ram(&e, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x5a));
	ASSERT_EQ(2 * PAGE >> 10, vm_pin_kb());
	/* What the child mapped is still pinned: its page, not ours. */
	ASSERT_EQ(self->pins + 3, pins_held());
	memset(mine, 0, PAGE);
	memset(self->dst, 0xaa, PAGE);
	ASSERT_TRUE(ram_to_dev(&e, IOVA_OTHER));
	ASSERT_TRUE(dev_to_ram(&e, IOVA_DST));
	ASSERT_TRUE(all_bytes(self->dst, 0x3c));
	ASSERT_EQ((long long)PAGE, unmap_one(fd, id, IOVA_OTHER, PAGE));
	ASSERT_EQ(self->pins + 2, pins_held());
	ASSERT_EQ(2 * PAGE >> 10, vm_pin_kb());
	/* The child's objects are gone: the next id is the lowest free. */
	ASSERT_EQ(0, ioasid_alloc(fd, &next));
	ASSERT_EQ(e.devid + 1, next);

	close(e.fd);
	close(fd);
	ASSERT_EQ(0, vm_pin_kb());
	ASSERT_EQ(self->pins, pins_held());
	ASSERT_EQ(self->locked, locked_user());
	munmap(mine, 2 * PAGE);
}

/*
 * exec: a context opened with O_CLOEXEC is closed by the exec and gives
 * back its pins at once; one opened without survives it, still reaching
 * the memory of the old image, pinned, until the new image closes it.
 */

enum { EXEC_CLOEXEC, EXEC_KEEP };

/* Re-execute this program as the image of an exec case. */
static void exec_image(int mode, int fd, int dev_fd, long long pins,
		       long long locked)
{
	char args[5][24];

	snprintf(args[0], sizeof(args[0]), "%d", mode);
	snprintf(args[1], sizeof(args[1]), "%d", fd);
	snprintf(args[2], sizeof(args[2]), "%d", dev_fd);
	snprintf(args[3], sizeof(args[3]), "%lld", pins);
	snprintf(args[4], sizeof(args[4]), "%lld", locked);
	execl("/proc/self/exe", "ioasid_lifecycle", EXEC_ARG, args[0], args[1],
	      args[2], args[3], args[4], (char *)NULL);
	_exit(100);
}

/* The new image has no harness either: it says what failed and exits. */
static void image_check(bool ok, int line, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "# exec image: %s failed (line %d)\n", what, line);
	_exit(line % 100 + 1);
}

#define IMAGE_CHECK(cond) image_check(cond, __LINE__, #cond)

/* main() of the new image. */
static int exec_main(int argc, char **argv)
{
	long long pins, locked;
	int mode, fd, dev_fd;
	unsigned int id;
	uint8_t *dst;
	struct edu e;

	if (argc != 7)
		return 2;
	mode = atoi(argv[2]);
	fd = atoi(argv[3]);
	dev_fd = atoi(argv[4]);
	pins = atoll(argv[5]);
	locked = atoll(argv[6]);
	/* A new mm: nothing is charged to it. */
	IMAGE_CHECK(vm_pin_kb() == 0);
	if (mode == EXEC_CLOEXEC) {
		IMAGE_CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
		IMAGE_CHECK(pins_held() == pins);
		IMAGE_CHECK(locked_user() == locked);
		return 0;
	}

	/* Still open, still holding the old image's page, pinned. */
	IMAGE_CHECK(fcntl(fd, F_GETFD) == 0);
	IMAGE_CHECK(pins_held() == pins + 1);
	IMAGE_CHECK(locked_user() == locked + 1);
	e.fd = dev_fd;
	IMAGE_CHECK(!edu_enable(&e));
	IMAGE_CHECK(reg_read(&e, EDU_ID) == 0x010000ed);
	/* Its IOASID is the first object; the device is bound and attached. */
	id = 1;
	IMAGE_CHECK(ioasid_destroy(fd, id) == -1 && errno == EBUSY);
	dst = alloc_buf(PAGE, 0xaa);
	IMAGE_CHECK(dst);
	IMAGE_CHECK(!map_fixed(fd, id, dst, PAGE, IOVA_DST));
	IMAGE_CHECK(pins_held() == pins + 2);
	IMAGE_CHECK(locked_user() == locked + 2);
	/* The device reads the old image's memory, which nothing else maps. */
	IMAGE_CHECK(ram_to_dev(&e, IOVA_SRC));
	IMAGE_CHECK(dev_to_ram(&e, IOVA_DST));
	IMAGE_CHECK(all_bytes(dst, 0x6b));
	close(dev_fd);
	IMAGE_CHECK(pins_held() == pins + 2);
	close(fd);
	IMAGE_CHECK(pins_held() == pins);
	IMAGE_CHECK(locked_user() == locked);
	return 0;
}

TEST_F_TIMEOUT(dev, exec_closes_cloexec_context, 120)
{
	struct report *r = self->r;
	unsigned int id;
	uint8_t *buf;
	pid_t pid;

	buf = alloc_buf(16 * PAGE, 0x11);
	ASSERT_NE(NULL, buf);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = ioasid_open();	/* O_CLOEXEC */

		CHILD_CHECK(r, fd >= 0);
		CHILD_CHECK(r, !ioasid_alloc(fd, &id));
		CHILD_CHECK(r, !map_fixed(fd, id, buf, 16 * PAGE, IOVA_SRC));
		CHILD_CHECK(r, pins_held() == self->pins + 16);
		CHILD_CHECK(r, locked_user() == self->locked + 16);
		exec_image(EXEC_CLOEXEC, fd, -1, self->pins, self->locked);
	}
	ASSERT_EQ(0, reap(pid))
		TH_LOG("child check at line %d", r->failed_line);
	ASSERT_EQ(0, r->failed_line);
	ASSERT_EQ(self->pins, pins_held());
	ASSERT_EQ(self->locked, locked_user());
	munmap(buf, 16 * PAGE);
}

TEST_F_TIMEOUT(dev, exec_keeps_inherited_context, 120)
{
	struct report *r = self->r;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned int id;
		struct edu e;
		uint8_t *src;
		int fd;

		fd = open("/dev/ioasid", O_RDWR);
		CHILD_CHECK(r, fd >= 0);
		CHILD_CHECK(r, !ioasid_alloc(fd, &id) && id == 1);
		src = alloc_buf(PAGE, 0x6b);
		CHILD_CHECK(r, src);
		CHILD_CHECK(r, !map_fixed(fd, id, src, PAGE, IOVA_SRC));
		CHILD_CHECK(r, !edu_bind(&e, fd, false));
		CHILD_CHECK(r, !edu_attach(&e, id));
		CHILD_CHECK(r, pins_held() == self->pins + 1);
		exec_image(EXEC_KEEP, fd, e.fd, self->pins, self->locked);
	}
	ASSERT_EQ(0, reap(pid))
		TH_LOG("child check at line %d", r->failed_line);
	ASSERT_EQ(0, r->failed_line);
	ASSERT_EQ(self->pins, pins_held());
	ASSERT_EQ(self->locked, locked_user());
	/* The device is free again, and works. */
	expect_dma_works(_metadata, self, 0x77);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], EXEC_ARG))
		return exec_main(argc, argv);
	return test_harness_run(argc, argv);
}
