// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioasid_fuzz: seeded random sequences of /dev/ioasid calls, every answer
 * checked against a model of what the kernel must hold.
 *
 * The model keeps, for each context, every object id and its type; for
 * each IOASID its mappings (IOVA range, the pinned pages behind it, its
 * permissions); for each page of a small memory pool, and of a memfd
 * mapped by file (IOASID_MAP_FILE), how often it must be pinned; and the
 * pages charged to RLIMIT_MEMLOCK.  Vectored calls (IOASID_VEC) are
 * checked entry by entry: the call fails with the errno of an entry the
 * model says must fail, names it, and changes nothing.  Calls are
 * built well formed or malformed in many ways, and the model says which
 * answers the documentation allows: success, or which errnos.  After each
 * call the kernel's view is read back and compared: the usable IOVA
 * ranges, the bytes an unmap removed, the pins of the pages involved and
 * the charge (pins and charges through the IOASID_TEST ioctl of
 * CONFIG_IOASID_TEST kernels).  Every few hundred calls an audit proves
 * each mapping of the model present, whole and alone with IOASID_COPY.
 * About half the runs give up CAP_IPC_LOCK under a small RLIMIT_MEMLOCK,
 * so that maps past it must fail with ENOMEM.
 *
 * Where edu devices are bound to vfio-pci (/dev/vfio/devices/vfioN), they
 * are bound to the context, attached, moved, detached and unbound too,
 * and real DMA checks that a mapped IOVA reaches its memory and that an
 * IOVA that is not mapped, or mapped read-only, does not.
 *
 * A run also forks (the child checks what it sees, closes its copy of
 * the files and exits; the parent's state must be as it was), closes the
 * context and opens a new one (a context a bound device still holds must
 * live on), and has a second thread work on the same IOASIDs for a
 * while.  During that phase only what holds under any interleaving is
 * checked: each call answers success or one of the errnos some order of
 * the two threads allows; after the join the bytes left mapped must be
 * what the two threads mapped and unmapped, and the pins and charges
 * must agree with the model again.
 *
 * Output is KTAP, one test per run (per seed).  A failing run prints its
 * last calls and the command line that replays it.
 *
 * usage: ioasid_fuzz [--seed S] [--ops N] [--runs R] [--verbose]
 * R runs from seed S (R is 1 when only S is given); without arguments
 * seeds 1 to DEFAULT_RUNS, DEFAULT_OPS operations each.  --verbose
 * prints every call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <linux/ioasid.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "../kselftest.h"
#include "ioasid_iommu.h"
#include "../../../../drivers/iommu/ioasid/ioasid_test.h"

#define DEFAULT_OPS	2500
#define DEFAULT_RUNS	4

#define PAGE		4096UL
#define POOL_PAGES	64
/* The memfd's pages, numbered after the pool's in the model. */
#define FILE_PAGES	32
#define NPAGES		(POOL_PAGES + FILE_PAGES)
#define GUARD_PAGES	4
#define MAX_IDS		24	/* the model holds ids 1 to MAX_IDS - 1 */
#define MAX_SPACES	8	/* IOASIDs per context */
#define MAX_MAPS	40	/* mappings per IOASID */
#define MAX_PINS	1024
#define MAX_CTX		4
#define MAX_DEVS	2
#define MAX_RANGES	8
#define MAX_ERRNO	256
#define LOG_LINES	24
/* Where most fixed mappings go: a small window, so that they collide. */
#define WIN_BASE	0x100000UL
#define WIN_PAGES	96
#define MSI_START	0xfee00000UL
#define MSI_LAST	0xfeefffffUL

#define RW		(IOASID_MAP_READ | IOASID_MAP_WRITE)
#define MAP_FLAGS	(RW | IOASID_MAP_FIXED_IOVA)
#define ALLOC_FLAGS	(IOASID_ALLOC_ACCOUNT_MM | IOASID_ALLOC_REQUIRE_COHERENCY)

/*
 * QEMU's edu device: BAR0 registers of its DMA engine, and its own 4 KiB
 * buffer at device address 0x40000.  Counts stay below 4096 (QEMU 7.2
 * aborts on a full 4096) and IOVAs below 256 MiB (a 28-bit DMA mask).
 */
#define EDU_ID		0x00
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_START	0x1
#define EDU_TO_RAM	0x2
#define EDU_BUF		0x40000UL
#define DMA_LEN		2048
#define DMA_LIMIT	(256UL << 20)

/* ---------------------------------------------------------------------
 * Random numbers: splitmix64, one stream per run and per thread.
 */
struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z;

	r->s += 0x9e3779b97f4a7c15ULL;
	z = r->s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? rnd(r) % n : 0;
}

/* ---------------------------------------------------------------------
 * The model.
 */

/* What one IOASID_MAP pinned: pool pages, shared by its copies. */
struct pinset {
	int refs;		/* mappings using it; 0: a free slot */
	int first;		/* first pool page */
	int npages;
	bool writable;		/* pinned for writing */
	bool mm;		/* charged to the mm, else to the user */
};

struct mapping {
	uint64_t iova, len;
	int pin;		/* its pinset */
	int off;		/* its first page within the pinset */
	uint32_t prot;		/* IOASID_MAP_READ and _WRITE */
};

struct space {
	uint32_t flags;		/* IOASID_ALLOC_* */
	bool dirty;		/* IOASID_DIRTY_TRACKING is on */
	int n;
	struct mapping m[MAX_MAPS];	/* by IOVA */
};

enum { OBJ_FREE, OBJ_SPACE, OBJ_DEVICE };

struct context {
	bool used;
	int fd;			/* -1 once closed: bound devices keep it */
	int type[MAX_IDS];
	struct space *sp[MAX_IDS];
};

struct device {
	int fd;			/* the device file, -1 while unbound */
	int ctx;		/* the context it is bound to */
	uint32_t id;		/* its id there */
	uint32_t space;		/* the IOASID it is attached to, or 0 */
	uint64_t bar0;
	int buf;		/* the byte edu's buffer holds, -1: unknown */
};

/* A page that was mapped at @iova of an IOASID, and no longer is. */
struct gone {
	int ctx;
	uint32_t space;
	uint64_t iova;
	int page;
};

struct run {
	struct rng rng;
	uint64_t seed;
	unsigned long op, nops;
	bool failed;
	char *region, *pool, *guard_lo, *guard_hi;
	bool hole[NPAGES];	/* munmap()ed (pool pages only) */
	bool ro[NPAGES];	/* mprotect()ed read-only (pool pages only) */
	int memfd;		/* the file IOASID_MAP_FILE maps */
	int memfd_ro;		/* the same file, opened read-only */
	char *fview;		/* a shared view of it, for checks and DMA data */
	struct pinset pin[MAX_PINS];
	struct context ctx[MAX_CTX];
	int cur;		/* the context fuzzed calls go to */
	struct device dev[MAX_DEVS];
	int probe_fd;		/* a context of its own, for IOASID_TEST */
	bool limited;		/* RLIMIT_MEMLOCK applies */
	bool cap_dropped;
	struct rlimit old_limit;
	uint64_t limit, base_user, base_mm;
	long base_vmpin;
	struct gone gone[8];
	int ngone;
	bool touched[NPAGES];
	uint32_t tspace[8];
	int ntspace;
	int dma_left, dma_budget;
	unsigned long next_audit;
	unsigned long fork_at[4], reopen_at[4], phase_at;
};

static struct run *R;

/* What the machine has, found once. */
static int ndevs;
static char dev_path[MAX_DEVS][40];
static int dev_group[MAX_DEVS];
static bool snoop;		/* the IOMMU blocks no-snoop DMA */
static bool have_test;		/* IOASID_TEST answers */
static int devnull = -1;

/* The usable IOVA ranges of an IOASID an edu device is attached to. */
static struct ioasid_iova_range devr[MAX_RANGES];
static int ndevr;
static uint64_t dev_align = PAGE;
/* IOASID_DEVICE_INFO of an edu device, and its reserved regions. */
static struct ioasid_device_info dinfo;
static struct ioasid_iova_range dresv[MAX_RANGES];
static int ndresv;
/* What IOASID_GET_INFO answered first. */
static uint64_t info_caps;

static bool verbose;

static struct totals {
	unsigned long ops, calls, fuzzed, ok, failed, mismatches;
	unsigned long err[MAX_ERRNO];
	unsigned long dma_reach, dma_blocked, forks, reopens, audits;
	unsigned long file_maps, vecs;
	unsigned long phases, thread_ops;
} tot;

static uint32_t pick(uint32_t n)
{
	return below(&R->rng, n);
}

static bool odds(unsigned int percent)
{
	return pick(100) < percent;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	__atomic_add_fetch(&tot.calls, 1, __ATOMIC_RELAXED);
	return ioctl(fd, req, arg);
}

/* ---------------------------------------------------------------------
 * Reporting.
 */
static const char *errname(int err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" },
		{ EBADF, "EBADF" }, { ENOMEM, "ENOMEM" }, { EFAULT, "EFAULT" },
		{ EBUSY, "EBUSY" }, { EEXIST, "EEXIST" }, { ENODEV, "ENODEV" },
		{ EINVAL, "EINVAL" }, { ENOTTY, "ENOTTY" }, { ENOSPC, "ENOSPC" },
		{ E2BIG, "E2BIG" }, { EMSGSIZE, "EMSGSIZE" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { EADDRINUSE, "EADDRINUSE" },
		{ EADDRNOTAVAIL, "EADDRNOTAVAIL" }, { EOVERFLOW, "EOVERFLOW" },
		{ EBADFD, "EBADFD" }, { EMEDIUMTYPE, "EMEDIUMTYPE" },
		{ EALREADY, "EALREADY" }, { EIO, "EIO" }, { EACCES, "EACCES" },
		{ ENXIO, "ENXIO" }, { ENODATA, "ENODATA" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].err == err)
			return names[i].name;
	return "another errno";
}

static char ring[LOG_LINES][240];
static unsigned int ring_pos;

/* Remember a call for the report of a failing run. */
static __printf(1, 2) void note(const char *fmt, ...)
{
	char *line = ring[ring_pos++ % LOG_LINES];
	va_list ap;
	int len;

	len = snprintf(line, sizeof(ring[0]), "op %lu: ", R->op);
	va_start(ap, fmt);
	vsnprintf(line + len, sizeof(ring[0]) - len, fmt, ap);
	va_end(ap);
	if (verbose)
		printf("# %s\n", line);
}

static void dump_ring(void)
{
	unsigned int i, n = ring_pos < LOG_LINES ? ring_pos : LOG_LINES;

	printf("# the last %u calls of seed %lu:\n", n, R->seed);
	for (i = ring_pos - n; i != ring_pos; i++)
		printf("#   %s\n", ring[i % LOG_LINES]);
}

/* The kernel and the model disagree: the run fails. */
static __printf(1, 2) void mismatch(const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tot.mismatches++;
	printf("# MISMATCH, seed %lu, operation %lu: %s\n", R->seed, R->op, msg);
	R->failed = true;
}

/* ---------------------------------------------------------------------
 * Expected answers: success, or one of a set of errnos.
 */
struct want {
	bool ok;		/* success is a right answer */
	int n;
	int err[12];
};

static void want_init(struct want *w)
{
	w->ok = true;
	w->n = 0;
}

static void may_fail(struct want *w, int err)
{
	int i;

	for (i = 0; i < w->n; i++)
		if (w->err[i] == err)
			return;
	if (w->n < (int)ARRAY_SIZE(w->err))
		w->err[w->n++] = err;
}

/* A condition the call meets for sure: it must fail, @err is right. */
static void must_fail(struct want *w, int err)
{
	w->ok = false;
	may_fail(w, err);
}

static void only(struct want *w, int err)
{
	w->n = 0;
	must_fail(w, err);
}

static bool want_has(const struct want *w, int err)
{
	int i;

	for (i = 0; i < w->n; i++)
		if (w->err[i] == err)
			return true;
	return false;
}

static void want_str(const struct want *w, char *buf, size_t len)
{
	size_t used = 0;
	int i;

	buf[0] = 0;
	if (w->ok)
		used += snprintf(buf, len, "success");
	for (i = 0; i < w->n && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s", used ? " or " : "",
				 errname(w->err[i]));
}

static void count_answer(unsigned long *ok, unsigned long *failed,
			 unsigned long *errs, int rc, int err)
{
	if (!rc) {
		(*ok)++;
	} else {
		(*failed)++;
		errs[err > 0 && err < MAX_ERRNO ? err : 0]++;
	}
}

/* Check a fuzzed call's answer; true when the model allows it. */
static bool answer(const char *desc, int rc, int err, const struct want *w)
{
	bool right = rc ? rc == -1 && want_has(w, err) : w->ok;
	char allowed[160];

	tot.fuzzed++;
	count_answer(&tot.ok, &tot.failed, tot.err, rc, err);
	note("%s -> %s", desc, rc ? errname(err) : "0");
	if (!right) {
		want_str(w, allowed, sizeof(allowed));
		mismatch("%s: the kernel answered %s (%d), the model allows %s",
			 desc, rc ? errname(err) : "success", rc ? err : 0, allowed);
	}
	return right;
}

/* ---------------------------------------------------------------------
 * The model's queries and updates.
 */
static struct context *C(int c)
{
	return &R->ctx[c];
}

static char *page_va(int page)
{
	if (page >= POOL_PAGES)
		return R->fview + (page - POOL_PAGES) * PAGE;
	return R->pool + page * PAGE;
}

/* The pool page holding @va, or -1. */
static int va_page(uint64_t va)
{
	uint64_t start = (uintptr_t)R->pool;

	if (va < start || va - start >= POOL_PAGES * PAGE)
		return -1;
	return (va - start) / PAGE;
}

/* Whether pinning [va, va + len) faults: memory not there, or read-only. */
static bool user_fault(uint64_t va, uint64_t len, bool write)
{
	uint64_t off;
	int p;

	if (len > POOL_PAGES * PAGE)
		return true;
	for (off = 0; off < len; off += PAGE) {
		p = va_page(va + off);
		if (p < 0 || R->hole[p] || (write && R->ro[p]))
			return true;
	}
	return false;
}

/* Page aligned, not empty, not wrapping; else the errno, into @w. */
static bool range_ok(uint64_t start, uint64_t len, struct want *w)
{
	if (!len || start % PAGE || len % PAGE) {
		must_fail(w, EINVAL);
		return false;
	}
	if (start + (len - 1) < start) {
		must_fail(w, EOVERFLOW);
		return false;
	}
	return true;
}

static uint64_t model_charged(bool mm)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < MAX_PINS; i++)
		if (R->pin[i].refs && R->pin[i].mm == mm)
			n += R->pin[i].npages;
	return n;
}

/* Whether charging @n more pages fits RLIMIT_MEMLOCK. */
static bool charge_fits(bool mm, uint64_t n)
{
	uint64_t base = mm ? R->base_mm : R->base_user;

	return !R->limited || base + model_charged(mm) + n <= R->limit;
}

static int model_pins(int page)
{
	int i, n = 0;

	for (i = 0; i < MAX_PINS; i++)
		if (R->pin[i].refs && page >= R->pin[i].first &&
		    page < R->pin[i].first + R->pin[i].npages)
			n++;
	return n;
}

static void touch_pages(int first, int n)
{
	int i;

	for (i = first; i < first + n; i++)
		if (i >= 0 && i < NPAGES)
			R->touched[i] = true;
}

static void touch_space(uint32_t id)
{
	int i;

	for (i = 0; i < R->ntspace; i++)
		if (R->tspace[i] == id)
			return;
	if (R->ntspace < (int)ARRAY_SIZE(R->tspace))
		R->tspace[R->ntspace++] = id;
}

/* Whether the model has room for @n more pinsets. */
static bool pin_slots_free(int n)
{
	int i;

	for (i = 0; i < MAX_PINS && n > 0; i++)
		if (!R->pin[i].refs)
			n--;
	return !n;
}

static bool pin_slot_free(void)
{
	return pin_slots_free(1);
}

/* A new pinset, with no mapping yet (map_add() takes the reference). */
static int pin_new(int first, int npages, bool writable, bool mm)
{
	int i;

	for (i = 0; i < MAX_PINS; i++) {
		if (R->pin[i].refs)
			continue;
		R->pin[i] = (struct pinset) {
			.first = first, .npages = npages,
			.writable = writable, .mm = mm,
		};
		return i;
	}
	abort();
}

static struct space *space_at(int c, uint32_t id)
{
	if (c < 0 || id >= MAX_IDS || C(c)->type[id] != OBJ_SPACE)
		return NULL;
	return C(c)->sp[id];
}

static int obj_type(int c, uint32_t id)
{
	return id < MAX_IDS ? C(c)->type[id] : OBJ_FREE;
}

/* Devices attached to @id of context @c, and their distinct groups. */
static int attached_groups(int c, uint32_t id, int *devices)
{
	int i, j, groups = 0, n = 0;
	bool seen;

	for (i = 0; i < MAX_DEVS; i++) {
		if (R->dev[i].fd < 0 || R->dev[i].ctx != c || R->dev[i].space != id)
			continue;
		n++;
		seen = false;
		for (j = 0; j < i; j++)
			if (R->dev[j].fd >= 0 && R->dev[j].ctx == c &&
			    R->dev[j].space == id && dev_group[j] == dev_group[i])
				seen = true;
		groups += !seen;
	}
	if (devices)
		*devices = n;
	return groups;
}

static bool is_attached(int c, uint32_t id)
{
	return id && attached_groups(c, id, NULL);
}

/* The usable IOVA ranges the model expects of an IOASID. */
static int model_ranges(int c, uint32_t id, struct ioasid_iova_range *out)
{
	if (is_attached(c, id)) {
		memcpy(out, devr, ndevr * sizeof(*devr));
		return ndevr;
	}
	out[0].start = 0;
	out[0].last = UINT64_MAX;
	return 1;
}

static bool within(const struct ioasid_iova_range *r, int n, uint64_t iova,
		   uint64_t last)
{
	int i;

	for (i = 0; i < n; i++)
		if (iova >= r[i].start && last <= r[i].last)
			return true;
	return false;
}

static bool usable(int c, uint32_t id, uint64_t iova, uint64_t last)
{
	struct ioasid_iova_range r[MAX_RANGES];

	return within(r, model_ranges(c, id, r), iova, last);
}

/* The first mapping of @sp overlapping [iova, last], or -1. */
static int overlap(const struct space *sp, uint64_t iova, uint64_t last)
{
	int i;

	for (i = 0; i < sp->n; i++)
		if (sp->m[i].iova <= last && sp->m[i].iova + sp->m[i].len - 1 >= iova)
			return i;
	return -1;
}

/* The mapping of @sp holding all of [iova, iova + len), or -1. */
static int containing(const struct space *sp, uint64_t iova, uint64_t len)
{
	int i;

	for (i = 0; i < sp->n; i++)
		if (sp->m[i].iova <= iova &&
		    iova + len - 1 <= sp->m[i].iova + sp->m[i].len - 1)
			return i;
	return -1;
}

/* Whether a mapping of @sp lies where an attached device may not go. */
static bool conflicts(const struct space *sp)
{
	int i;

	for (i = 0; i < sp->n; i++)
		if (!within(devr, ndevr, sp->m[i].iova,
			    sp->m[i].iova + sp->m[i].len - 1))
			return true;
	return false;
}

static uint64_t space_bytes(const struct space *sp)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < sp->n; i++)
		n += sp->m[i].len;
	return n;
}

/*
 * The documented alignment of a kernel-chosen IOVA: like @hint (the user
 * address, or the source IOVA of a copy), up to the largest power of two
 * that fits in @len, and at least a page.
 */
static uint64_t chosen_align(uint64_t hint, uint64_t len)
{
	uint64_t align = 1UL << (63 - __builtin_clzl(len));

	if (hint && (hint & -hint) < align)
		align = hint & -hint;
	return align < PAGE ? PAGE : align;
}

static bool hole_fits(uint64_t lo, uint64_t hi, uint64_t len, uint64_t align)
{
	uint64_t start = (lo + align - 1) & ~(align - 1);

	return start >= lo && start <= hi && hi - start >= len - 1;
}

/* Whether a free, usable, aligned IOVA range of @len exists in @id. */
static bool fit_exists(int c, uint32_t id, uint64_t len, uint64_t align)
{
	struct ioasid_iova_range r[MAX_RANGES];
	struct space *sp = space_at(c, id);
	int nr = model_ranges(c, id, r), i, j;
	uint64_t cur, mlast;
	bool done;

	for (i = 0; i < nr; i++) {
		cur = r[i].start;
		done = false;
		for (j = 0; j < sp->n && !done; j++) {
			mlast = sp->m[j].iova + sp->m[j].len - 1;
			if (mlast < cur || sp->m[j].iova > r[i].last)
				continue;
			if (sp->m[j].iova > cur &&
			    hole_fits(cur, sp->m[j].iova - 1, len, align))
				return true;
			if (mlast >= r[i].last)
				done = true;
			else
				cur = mlast + 1;
		}
		if (!done && hole_fits(cur, r[i].last, len, align))
			return true;
	}
	return false;
}

static void map_add(struct space *sp, uint64_t iova, uint64_t len, int pin,
		    int off, uint32_t prot)
{
	int i = sp->n;

	while (i > 0 && sp->m[i - 1].iova > iova) {
		sp->m[i] = sp->m[i - 1];
		i--;
	}
	sp->m[i] = (struct mapping) {
		.iova = iova, .len = len, .pin = pin, .off = off, .prot = prot,
	};
	sp->n++;
	/* A new pinset's pages, all; a copy's, one. */
	if (!R->pin[pin].refs++)
		touch_pages(R->pin[pin].first, R->pin[pin].npages);
}

static void remember_gone(int c, uint32_t id, const struct mapping *m)
{
	struct gone *g = &R->gone[R->ngone < (int)ARRAY_SIZE(R->gone) ?
				  R->ngone++ : pick(ARRAY_SIZE(R->gone))];

	*g = (struct gone) {
		.ctx = c, .space = id, .iova = m->iova,
		.page = R->pin[m->pin].first + m->off,
	};
}

static void map_del(int c, uint32_t id, struct space *sp, int i)
{
	struct mapping *m = &sp->m[i];
	struct pinset *p = &R->pin[m->pin];

	remember_gone(c, id, m);
	if (!--p->refs)
		touch_pages(p->first, p->npages);
	else
		touch_pages(p->first + pick(p->npages), 1);
	memmove(m, m + 1, (sp->n - i - 1) * sizeof(*m));
	sp->n--;
}

static void space_clear(int c, uint32_t id)
{
	struct space *sp = space_at(c, id);

	while (sp->n)
		map_del(c, id, sp, sp->n - 1);
}

static void space_free(int c, uint32_t id)
{
	space_clear(c, id);
	free(C(c)->sp[id]);
	C(c)->sp[id] = NULL;
	C(c)->type[id] = OBJ_FREE;
}

/* The last reference to a context is gone: it destroys all it holds. */
static void ctx_release(int c)
{
	uint32_t id;

	for (id = 1; id < MAX_IDS; id++)
		if (C(c)->type[id] == OBJ_SPACE)
			space_free(c, id);
	memset(C(c), 0, sizeof(*C(c)));
	C(c)->fd = -1;
	touch_pages(0, NPAGES);
}

static int devices_bound(int c)
{
	int i, n = 0;

	for (i = 0; i < MAX_DEVS; i++)
		n += R->dev[i].fd >= 0 && R->dev[i].ctx == c;
	return n;
}

/* Ids are given lowest first; 0 when the model has no room left. */
static uint32_t lowest_free(int c)
{
	uint32_t id;

	for (id = 1; id < MAX_IDS; id++)
		if (C(c)->type[id] == OBJ_FREE)
			return id;
	return 0;
}

static int nspaces(int c)
{
	uint32_t id;
	int n = 0;

	for (id = 1; id < MAX_IDS; id++)
		n += C(c)->type[id] == OBJ_SPACE;
	return n;
}

static uint32_t random_object(int c, int type)
{
	uint32_t ids[MAX_IDS], id;
	int n = 0;

	for (id = 1; id < MAX_IDS; id++)
		if (C(c)->type[id] == type)
			ids[n++] = id;
	return n ? ids[pick(n)] : 0;
}

/* An id for a call: mostly an IOASID, sometimes anything else. */
static uint32_t pick_id(int c)
{
	uint32_t sp = random_object(c, OBJ_SPACE);
	uint32_t dev = random_object(c, OBJ_DEVICE);
	unsigned int v = pick(100);
	uint32_t id;

	if (v < 88 && sp)
		return sp;
	if (v < 91 && dev)
		return dev;
	if (v < 95) {
		id = 1 + pick(MAX_IDS + 8);
		return obj_type(c, id) == OBJ_FREE ? id : MAX_IDS + pick(64);
	}
	if (v < 97)
		return 0;
	return v < 99 ? 0x7fffffff : 0xffffffff;
}

/* ---------------------------------------------------------------------
 * The kernel's view.
 */
static bool read_charges(uint64_t *user, uint64_t *mm)
{
	struct ioasid_test cmd = { .size = sizeof(cmd) };

	cmd.op = IOASID_TEST_OP_LOCKED_VM;
	if (xioctl(R->probe_fd, IOASID_TEST, &cmd))
		return false;
	*user = cmd.locked_vm.out_user;
	*mm = cmd.locked_vm.out_mm;
	return true;
}

static bool read_pins(int page, uint64_t *pins)
{
	struct ioasid_test cmd = { .size = sizeof(cmd) };

	cmd.op = IOASID_TEST_OP_PAGE_PINS;
	cmd.page_pins.user_va = (uintptr_t)page_va(page);
	if (xioctl(R->probe_fd, IOASID_TEST, &cmd))
		return false;
	*pins = cmd.page_pins.out_pins;
	return true;
}

static void check_charges(void)
{
	uint64_t user, mm;

	if (!have_test)
		return;
	if (!read_charges(&user, &mm)) {
		mismatch("IOASID_TEST LOCKED_VM failed: %s", errname(errno));
		return;
	}
	if (user - R->base_user != model_charged(false) ||
	    mm - R->base_mm != model_charged(true))
		mismatch("charged pages: user %lu, mm %lu; the model has user %lu, mm %lu",
			 user - R->base_user, mm - R->base_mm,
			 model_charged(false), model_charged(true));
}

static void check_pins(int page)
{
	uint64_t pins;

	if (!have_test || R->hole[page])
		return;
	if (!read_pins(page, &pins))
		mismatch("IOASID_TEST PAGE_PINS of pool page %d failed: %s", page,
			 errname(errno));
	else if (pins != (uint64_t)model_pins(page))
		mismatch("pool page %d is pinned %lu times, the model has %d",
			 page, pins, model_pins(page));
}

/* VmPin of /proc/self/status in kB, or -1. */
static long vm_pin_kb(void)
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

/* The usable IOVA ranges of @id, compared with the model's. */
static void check_ranges(int c, uint32_t id)
{
	struct ioasid_iova_range got[MAX_RANGES + 1], want[MAX_RANGES];
	struct ioasid_iova_ranges cmd = { .size = sizeof(cmd) };
	int n, i, rc;

	if (C(c)->fd < 0)
		return;
	cmd.ioasid = id;
	cmd.num_ranges = ARRAY_SIZE(got);
	cmd.ranges = (uintptr_t)got;
	rc = xioctl(C(c)->fd, IOASID_IOVA_RANGES, &cmd);
	if (!space_at(c, id)) {
		if (!rc || errno != ENOENT)
			mismatch("IOVA_RANGES of id %u, no IOASID: %s, not ENOENT", id,
				 rc ? errname(errno) : "success");
		return;
	}
	if (rc) {
		mismatch("IOVA_RANGES of IOASID %u failed: %s", id, errname(errno));
		return;
	}
	n = model_ranges(c, id, want);
	if ((int)cmd.num_ranges != n) {
		mismatch("IOASID %u has %u usable ranges, the model %d", id,
			 cmd.num_ranges, n);
		return;
	}
	for (i = 0; i < n; i++)
		if (got[i].start != want[i].start || got[i].last != want[i].last)
			mismatch("IOASID %u range %d: %#llx-%#llx, the model %#llx-%#llx",
				 id, i, got[i].start, got[i].last, want[i].start,
				 want[i].last);
	if (cmd.out_iova_alignment != (is_attached(c, id) ? dev_align : PAGE))
		mismatch("IOASID %u: IOVA alignment %#llx", id,
			 cmd.out_iova_alignment);
}

/* Domain counts of @id: within [lo, hi] for the model. */
static void domains_of(int c, uint32_t id, unsigned int *lo, unsigned int *hi)
{
	int groups = attached_groups(c, id, NULL);

	*lo = groups ? 1 : 0;
	*hi = groups;
}

static bool coherency_right(const struct ioasid_coherency *cmd,
			    unsigned int lo, unsigned int hi, uint32_t flags)
{
	return cmd->out_domains >= lo && cmd->out_domains <= hi &&
	       cmd->out_noncoherent_domains == (snoop ? 0 : cmd->out_domains) &&
	       cmd->out_flags == flags;
}

/* IOASID_COHERENCY of the context and of each IOASID, against the model. */
static void check_coherency(int c)
{
	struct ioasid_coherency cmd = { .size = sizeof(cmd) };
	unsigned int lo, hi, sum_lo = 0, sum_hi = 0;
	uint32_t id, flags;

	if (C(c)->fd < 0)
		return;
	for (id = 1; id < MAX_IDS; id++) {
		if (!space_at(c, id))
			continue;
		domains_of(c, id, &lo, &hi);
		sum_lo += lo;
		sum_hi += hi;
		cmd.flags = 0;
		cmd.ioasid = id;
		flags = space_at(c, id)->flags & IOASID_ALLOC_REQUIRE_COHERENCY ?
			IOASID_COHERENCY_REQUIRED : 0;
		if (xioctl(C(c)->fd, IOASID_COHERENCY, &cmd))
			mismatch("COHERENCY of IOASID %u failed: %s", id, errname(errno));
		else if (!coherency_right(&cmd, lo, hi, flags))
			mismatch("COHERENCY of IOASID %u: flags %#x, %u domains, %u non-coherent",
				 id, cmd.out_flags, cmd.out_domains,
				 cmd.out_noncoherent_domains);
	}
	cmd.flags = IOASID_COHERENCY_CONTEXT;
	cmd.ioasid = 0;
	if (xioctl(C(c)->fd, IOASID_COHERENCY, &cmd))
		mismatch("COHERENCY of the context failed: %s", errname(errno));
	else if (!coherency_right(&cmd, sum_lo, sum_hi, 0))
		mismatch("COHERENCY of the context: %u domains, %u non-coherent",
			 cmd.out_domains, cmd.out_noncoherent_domains);
}

/* After each call: the pages and IOASIDs it touched, and the charge. */
static void verify_touched(void)
{
	int i;

	if (R->failed)
		return;
	check_charges();
	if (!(R->op % 4))
		R->touched[pick(NPAGES)] = true;
	for (i = 0; i < NPAGES && !R->failed; i++)
		if (R->touched[i])
			check_pins(i);
	for (i = 0; i < R->ntspace && !R->failed; i++)
		check_ranges(R->cur, R->tspace[i]);
	memset(R->touched, 0, sizeof(R->touched));
	R->ntspace = 0;
}

/* Everything the kernel shows of the model. */
static void verify_all(void)
{
	long kb;
	uint32_t id;
	int i;

	if (R->failed)
		return;
	check_charges();
	for (i = 0; i < NPAGES && !R->failed; i++)
		check_pins(i);
	kb = vm_pin_kb();
	if (kb >= 0 && R->base_vmpin >= 0 &&
	    (uint64_t)(kb - R->base_vmpin) != model_charged(true) * (PAGE / 1024))
		mismatch("VmPin grew by %ld kB, the model has %lu pages charged to the mm",
			 kb - R->base_vmpin, model_charged(true));
	for (id = 1; id < MAX_IDS + 2 && !R->failed; id++)
		check_ranges(R->cur, id);
	if (!R->failed)
		check_coherency(R->cur);
	memset(R->touched, 0, sizeof(R->touched));
	R->ntspace = 0;
}

/* ---------------------------------------------------------------------
 * A fuzzed call: its struct presented as it should be, or not, then
 * issued, and its answer checked, by the same few helpers for every op.
 */
union ubuf {
	uint64_t align;
	unsigned char b[512];
};

enum { SH_OK, SH_LONG, SH_JUNK, SH_SHORT, SH_FAULT };

static int pick_shape(void)
{
	unsigned int v = pick(100);

	if (v < 86)
		return SH_OK;
	if (v < 91)
		return SH_LONG;
	if (v < 95)
		return SH_JUNK;
	return v < 98 ? SH_SHORT : SH_FAULT;
}

/*
 * A fuzzed call on the current context: its struct, built in @u, what
 * the model allows it to answer, and its description for the log.
 */
struct call {
	union ubuf u;
	void *arg;		/* what the ioctl gets: @u, or an unreadable page */
	const char *name;	/* the command, in mismatches */
	size_t len;		/* the struct's size in the uAPI */
	uint32_t size;		/* the size the call gives */
	int shape;
	struct want w;
	char desc[240];
	int rc, err;
	bool right;		/* the model allows the answer */
};

/*
 * Start a call of command @name with its @len-byte struct zeroed, well
 * formed (its leading size field says @len, as the ioctls without shapes
 * need) and allowed to succeed; returns the struct to fill in.
 */
static void *call_begin(struct call *call, const char *name, size_t len)
{
	memset(call, 0, sizeof(*call));
	call->arg = &call->u;
	call->name = name;
	call->len = len;
	call->size = len;
	memcpy(call->u.b, &call->size, sizeof(call->size));
	want_init(&call->w);
	return call->u.b;
}

/* The call as the log and any mismatch name it; call_shape() appends to it. */
static __printf(2, 3) void call_desc(struct call *call, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(call->desc, sizeof(call->desc), fmt, ap);
	va_end(ap);
}

/*
 * Present the struct as @shape says, and add what the shape alone makes
 * the answer: a longer struct with a zero tail is accepted, with a
 * non-zero tail E2BIG, a shorter one EINVAL, and an unreadable one
 * EFAULT.  Comes after call_desc(): the description gets the shape.
 */
static void call_shape(struct call *call, int shape)
{
	size_t used = strlen(call->desc), room = sizeof(call->desc) - used;
	uint32_t extra = 8 * (1 + pick(16));

	call->shape = shape;
	switch (shape) {
	case SH_LONG:
		call->size = call->len + extra;
		break;
	case SH_JUNK:
		call->size = call->len + extra;
		call->u.b[call->len + pick(extra)] = 1 + pick(255);
		only(&call->w, E2BIG);
		break;
	case SH_SHORT:
		call->size = pick(call->len);
		only(&call->w, EINVAL);
		break;
	case SH_FAULT:
		only(&call->w, EFAULT);
		snprintf(call->desc + used, room, " [struct unreadable]");
		call->arg = R->guard_lo;
		return;
	}
	memcpy(call->u.b, &call->size, sizeof(call->size));
	if (shape != SH_OK)
		snprintf(call->desc + used, room, " [size %u of %zu]", call->size, call->len);
}

/*
 * Issue the call and check its answer against the model's.  True when the
 * model allows it and the kernel wrote the struct back: on success, and on
 * EMSGSIZE, which says how much room an array needs.  A struct longer than
 * the kernel's must then come back with its tail zero.
 */
static bool call_issue(struct call *call, unsigned long req)
{
	size_t i;

	call->rc = xioctl(C(R->cur)->fd, req, call->arg);
	call->err = errno;
	call->right = answer(call->desc, call->rc, call->err, &call->w);
	if (!call->right || (call->rc && call->err != EMSGSIZE))
		return false;
	for (i = call->len; call->shape == SH_LONG && i < call->size; i++)
		if (call->u.b[i]) {
			mismatch("%s wrote byte %zu past its %zu-byte struct",
				 call->name, i, call->len);
			break;
		}
	return true;
}

/* ---------------------------------------------------------------------
 * IOVAs and user ranges for calls.
 */
static uint64_t aperture_end(void)
{
	return ndevr ? devr[ndevr - 1].last + 1 : 1UL << 39;
}

static uint64_t pick_iova(int npages)
{
	unsigned int v = pick(100);

	if (v < 66)
		return WIN_BASE + pick(WIN_PAGES - npages + 1) * PAGE;
	if (v < 74)
		return MSI_START - 2 * PAGE + pick(4) * PAGE;
	if (v < 80)
		return aperture_end() - pick(3) * PAGE;
	if (v < 85)
		return -(uint64_t)npages * PAGE;
	if (v < 89)
		return -(uint64_t)(1 + pick(npages)) * PAGE;
	if (v < 92)
		return WIN_BASE + 512 * (1 + pick(7));
	return pick(4) * PAGE;
}

static uint32_t pick_prot(void)
{
	unsigned int v = pick(10);

	return v < 2 ? IOASID_MAP_READ : v < 3 ? IOASID_MAP_WRITE : RW;
}

/* ---------------------------------------------------------------------
 * The fuzzed calls.
 */
static void op_destroy(void);
static void op_unmap(uint32_t all_of);

static void op_alloc(void)
{
	static const uint32_t good[] = {
		0, 0, 0, IOASID_ALLOC_ACCOUNT_MM, IOASID_ALLOC_ACCOUNT_MM,
		IOASID_ALLOC_REQUIRE_COHERENCY, ALLOC_FLAGS,
	};
	int c = R->cur, shape = pick_shape();
	struct ioasid_alloc *cmd;
	uint32_t id = lowest_free(c);
	unsigned int v = pick(100);
	struct call call;

	cmd = call_begin(&call, "ALLOC", sizeof(*cmd));
	cmd->flags = good[pick(ARRAY_SIZE(good))];
	if (v < 5) {
		cmd->flags |= 1U << (2 + pick(30));
		must_fail(&call.w, EOPNOTSUPP);
	} else if (v < 10) {
		cmd->__reserved = 1 + pick(0xffff);
		must_fail(&call.w, EINVAL);
	} else if (v < 20) {
		cmd->out_ioasid = pick(0xffffff);	/* output only */
	}
	call_desc(&call, "ALLOC flags %#x reserved %#x", cmd->flags, cmd->__reserved);
	call_shape(&call, shape);
	if (call.w.ok && (!id || nspaces(c) >= MAX_SPACES)) {
		op_destroy();
		return;
	}
	if (!call_issue(&call, IOASID_ALLOC))
		return;
	if (cmd->out_ioasid != id)
		mismatch("ALLOC gave id %u, the lowest free id is %u", cmd->out_ioasid, id);
	C(c)->type[id] = OBJ_SPACE;
	C(c)->sp[id] = calloc(1, sizeof(struct space));
	C(c)->sp[id]->flags = cmd->flags;
	touch_space(id);
}

static void op_destroy(void)
{
	int c = R->cur, shape = pick_shape(), type;
	struct ioasid_destroy *cmd;
	unsigned int v = pick(100);
	struct call call;

	cmd = call_begin(&call, "DESTROY", sizeof(*cmd));
	cmd->id = pick_id(c);
	if (v < 4) {
		cmd->flags = 1U << pick(32);
		must_fail(&call.w, EOPNOTSUPP);
	} else if (v < 8) {
		cmd->__reserved = 1 + pick(0xffff);
		must_fail(&call.w, EINVAL);
	}
	type = obj_type(c, cmd->id);
	if (type == OBJ_FREE)
		must_fail(&call.w, ENOENT);
	else if (type == OBJ_DEVICE || is_attached(c, cmd->id))
		must_fail(&call.w, EBUSY);
	call_desc(&call, "DESTROY id %u (%s) flags %#x reserved %#x", cmd->id,
		  type == OBJ_SPACE ? "IOASID" : type == OBJ_DEVICE ? "device" : "free",
		  cmd->flags, cmd->__reserved);
	call_shape(&call, shape);
	touch_space(cmd->id);
	if (call_issue(&call, IOASID_DESTROY))
		space_free(c, cmd->id);
}

/* A user range: mostly pool pages, sometimes anything but. */
static void pick_user(uint64_t *va, uint64_t *len, int *v)
{
	int n = 1 + pick(odds(10) ? 16 : 6);

	*va = (uintptr_t)page_va(pick(POOL_PAGES - n + 1));
	*len = n * PAGE;
	*v = pick(100);
	switch (*v) {
	case 0:
	case 1:
		*va += 512 * (1 + pick(7));
		break;
	case 2:
		*len = 0;
		break;
	case 3:
		*len += 256;
		break;
	case 4:
		*va = -PAGE;
		*len = 2 * PAGE;
		break;
	case 5:
	case 6:
		*va = (uintptr_t)page_va(POOL_PAGES - 1);
		*len = (2 + pick(2)) * PAGE;
		break;
	case 7:
	case 8:
		*va = (uintptr_t)R->guard_lo;
		*len = PAGE;
		break;
	case 9:
		*va = 0xffff888000000000UL;
		*len = PAGE;
		break;
	}
}

/* A kernel-chosen IOVA must be aligned as documented, usable and free. */
static void check_placement(const char *what, int c, uint32_t id, uint64_t hint,
			    uint64_t len, uint64_t iova)
{
	uint64_t align = chosen_align(hint, len);

	if (iova % align || iova + len - 1 < iova ||
	    !usable(c, id, iova, iova + len - 1) ||
	    overlap(space_at(c, id), iova, iova + len - 1) >= 0)
		mismatch("%s: kernel-chosen IOVA %#lx (%#lx bytes) not free, usable, %#lx-aligned",
			 what, iova, len, align);
}

/*
 * What a map that succeeded must show: a fixed IOVA writes nothing back,
 * a chosen one is placed as documented, aligned like @hint.  Then the
 * model gains the mapping of the pages from model page @page.
 */
static void map_succeeded(const struct call *call, const union ubuf *before, int c,
			  uint32_t id, struct space *sp, uint64_t hint, int page)
{
	const struct ioasid_map *cmd = (const void *)call->u.b;

	if (cmd->flags & IOASID_MAP_FIXED_IOVA) {
		if (memcmp(before, &call->u, sizeof(*before)))
			mismatch("%s with IOASID_MAP_FIXED_IOVA wrote its struct back",
				 call->name);
	} else {
		check_placement(call->name, c, id, hint, cmd->length, cmd->iova);
	}
	if (R->failed)
		return;
	map_add(sp, cmd->iova, cmd->length,
		pin_new(page, cmd->length / PAGE, cmd->flags & IOASID_MAP_WRITE,
			sp->flags & IOASID_ALLOC_ACCOUNT_MM),
		0, cmd->flags & RW);
}

/*
 * IOASID_MAP_FILE of the memfd: the pages are the file's, so holes and
 * read-only pages of the pool mean nothing here; what may be wrong is the
 * file (none, another kind, opened read-only) and the range in it.
 */
static void op_map_file(int c, uint32_t id, struct space *sp)
{
	int n = 1 + pick(6), v = pick(100);
	uint64_t off, len, iova = 0;
	struct ioasid_map *cmd;
	struct call call;
	union ubuf before;
	bool fixed, ok;

	tot.file_maps++;
	cmd = call_begin(&call, "MAP_FILE", sizeof(*cmd));
	off = pick(FILE_PAGES - n + 1) * PAGE;
	len = n * PAGE;
	cmd->flags = pick_prot() | IOASID_MAP_FILE;
	cmd->fd = R->memfd;
	fixed = odds(65);
	if (fixed)
		cmd->flags |= IOASID_MAP_FIXED_IOVA;
	if (v < 4)
		off += 512 * (1 + pick(7));
	else if (v < 8)
		off = (FILE_PAGES - pick(n)) * PAGE;	/* past the end */
	else if (v < 10)
		cmd->fd = odds(50) ? -1 : 1000 + pick(1000);
	else if (v < 12)
		cmd->fd = devnull;
	else if (v < 20)
		cmd->fd = R->memfd_ro;
	else if (v < 22)
		cmd->flags &= ~RW;
	if (fixed)
		iova = pick_iova(n);
	cmd->ioasid = id;
	cmd->file_offset = off;
	cmd->length = len;
	cmd->iova = fixed ? iova : odds(20) ? rnd(&R->rng) : 0;

	if (!(cmd->flags & RW))
		must_fail(&call.w, EINVAL);
	ok = range_ok(off, len, &call.w);
	if (fixed)
		ok = range_ok(iova, len, &call.w) && ok;
	if (!sp)
		must_fail(&call.w, ENOENT);
	if (sp && ok) {
		if (cmd->fd == devnull)
			must_fail(&call.w, ENODEV);
		else if (cmd->fd != R->memfd && cmd->fd != R->memfd_ro)
			must_fail(&call.w, EBADF);
		else if (cmd->fd == R->memfd_ro && (cmd->flags & IOASID_MAP_WRITE))
			must_fail(&call.w, EACCES);
		if (off + len > FILE_PAGES * PAGE)
			must_fail(&call.w, ENXIO);
		if (fixed && !usable(c, id, iova, iova + len - 1))
			must_fail(&call.w, EADDRNOTAVAIL);
		if (fixed && overlap(sp, iova, iova + len - 1) >= 0)
			must_fail(&call.w, EEXIST);
		if (!charge_fits(sp->flags & IOASID_ALLOC_ACCOUNT_MM, n))
			must_fail(&call.w, ENOMEM);
		if (!fixed && !fit_exists(c, id, len, chosen_align(off, len)))
			must_fail(&call.w, ENOSPC);
	}
	call_desc(&call, "MAP_FILE IOASID %u flags %#x fd %s offset %#lx len %#lx iova %#lx",
		  id, cmd->flags,
		  cmd->fd == R->memfd ? "memfd" : cmd->fd == R->memfd_ro ? "memfd-ro" :
		  cmd->fd == devnull ? "/dev/null" : "bad", off, len, (uint64_t)cmd->iova);
	call_shape(&call, pick_shape());
	before = call.u;
	touch_space(id);
	if (off < FILE_PAGES * PAGE)
		touch_pages(POOL_PAGES + off / PAGE, 1);
	if (call_issue(&call, IOASID_MAP))
		map_succeeded(&call, &before, c, id, sp, off, POOL_PAGES + off / PAGE);
}

#define EDU_BAR_SIZE	0x100000UL

/*
 * IOASID_MAP_FILE of a bound edu's BAR0, device memory for peer-to-peer
 * DMA, and its unmap in the same operation: the model keeps no device
 * memory across operations (it has no pins to audit, and the fuzzer's
 * DMA checks use RAM), only the answers, and the range free again.
 */
static void op_map_bar(void)
{
	int c = R->cur, di = pick(ndevs), n = 1 + pick(4);
	struct ioasid_unmap un = { .size = sizeof(un) };
	uint64_t off = pick(EDU_BAR_SIZE / PAGE - n + 1) * PAGE;
	struct device *dv = &R->dev[di];
	unsigned int v = pick(100);
	struct ioasid_map *cmd;
	struct space *sp;
	struct call call;
	bool ok;

	if (dv->fd < 0)
		return;
	cmd = call_begin(&call, "MAP_BAR", sizeof(*cmd));
	cmd->flags = pick_prot() | IOASID_MAP_FILE | IOASID_MAP_FIXED_IOVA;
	cmd->ioasid = pick_id(c);
	cmd->fd = dv->fd;
	cmd->length = n * PAGE;
	cmd->iova = pick_iova(n);
	if (v < 5) {
		off += 8;
		must_fail(&call.w, EINVAL);
		may_fail(&call.w, ENXIO);
	} else if (v < 10) {
		off = EDU_BAR_SIZE - PAGE * pick(n);	/* past its end */
		must_fail(&call.w, ENXIO);
	} else if (v < 13) {
		cmd->flags &= ~RW;
		must_fail(&call.w, EINVAL);
	}
	cmd->file_offset = dv->bar0 + off;
	sp = space_at(c, cmd->ioasid);
	ok = range_ok(cmd->iova, cmd->length, &call.w);
	if (!sp)
		must_fail(&call.w, ENOENT);
	if (sp && ok) {
		if (!usable(c, cmd->ioasid, cmd->iova, cmd->iova + cmd->length - 1))
			must_fail(&call.w, EADDRNOTAVAIL);
		if (overlap(sp, cmd->iova, cmd->iova + cmd->length - 1) >= 0)
			must_fail(&call.w, EEXIST);
	}
	call_desc(&call, "MAP_BAR IOASID %u device %d flags %#x offset %#lx len %#llx iova %#llx",
		  cmd->ioasid, di, cmd->flags, off, cmd->length, cmd->iova);
	touch_space(cmd->ioasid);
	if (!call_issue(&call, IOASID_MAP))
		return;
	un.ioasid = cmd->ioasid;
	un.iova = cmd->iova;
	un.length = cmd->length;
	if (xioctl(C(c)->fd, IOASID_UNMAP, &un) || un.length != cmd->length)
		mismatch("UNMAP of the BAR mapping at %#llx: %s, %llu bytes",
			 cmd->iova, errname(errno), un.length);
}

static void op_map(void)
{
	int c = R->cur, v, page;
	uint64_t va, len, iova = 0;
	struct ioasid_map *cmd;
	struct space *sp;
	struct call call;
	union ubuf before;
	bool fixed, ok;
	uint32_t id;

	id = pick_id(c);
	sp = space_at(c, id);
	if ((sp && sp->n >= MAX_MAPS) || !pin_slot_free()) {
		op_unmap(sp ? id : random_object(c, OBJ_SPACE));
		return;
	}
	if (odds(25)) {
		op_map_file(c, id, sp);
		return;
	}
	cmd = call_begin(&call, "MAP", sizeof(*cmd));
	pick_user(&va, &len, &v);
	cmd->flags = pick_prot();
	fixed = odds(65);
	if (fixed)
		cmd->flags |= IOASID_MAP_FIXED_IOVA;
	if (v == 10)
		cmd->flags &= ~RW;
	else if (v == 11)
		/* Bit 3 is IOASID_MAP_FILE: not unknown to MAP. */
		cmd->flags |= 1U << (4 + pick(28));
	else if (v == 12)
		cmd->fd = 1 + pick(0xffff);
	if (fixed)
		iova = pick_iova(len ? (len + PAGE - 1) / PAGE : 1);
	cmd->ioasid = id;
	cmd->user_va = va;
	cmd->length = len;
	cmd->iova = fixed ? iova : odds(20) ? rnd(&R->rng) : 0;

	if (cmd->flags & ~MAP_FLAGS)
		must_fail(&call.w, EOPNOTSUPP);
	if (!(cmd->flags & RW) || cmd->fd)
		must_fail(&call.w, EINVAL);
	ok = range_ok(va, len, &call.w);
	if (fixed)
		ok = range_ok(iova, len, &call.w) && ok;
	if (!sp)
		must_fail(&call.w, ENOENT);
	if (sp && ok) {
		if (fixed && !usable(c, id, iova, iova + len - 1))
			must_fail(&call.w, EADDRNOTAVAIL);
		if (fixed && overlap(sp, iova, iova + len - 1) >= 0)
			must_fail(&call.w, EEXIST);
		if (!charge_fits(sp->flags & IOASID_ALLOC_ACCOUNT_MM, len / PAGE))
			must_fail(&call.w, ENOMEM);
		if (user_fault(va, len, cmd->flags & IOASID_MAP_WRITE))
			must_fail(&call.w, EFAULT);
		if (!fixed && !fit_exists(c, id, len, chosen_align(va, len)))
			must_fail(&call.w, ENOSPC);
	}
	page = va_page(va);
	call_desc(&call, "MAP IOASID %u flags %#x fd %d va %s%#lx len %#lx iova %#lx",
		  id, cmd->flags, cmd->fd, page >= 0 ? "pool+" : "",
		  page >= 0 ? va - (uintptr_t)R->pool : va, len, (uint64_t)cmd->iova);
	call_shape(&call, pick_shape());
	before = call.u;
	touch_space(id);
	if (!call_issue(&call, IOASID_MAP)) {
		/* A failed map pins nothing: look at the ends of its range. */
		if (page >= 0 && len)
			touch_pages(page, 1);
		if (page >= 0 && va_page(va + len - 1) >= 0)
			touch_pages(va_page(va + len - 1), 1);
		return;
	}
	map_succeeded(&call, &before, c, id, sp, va, page);
}

/* The source range of a copy: mostly about a mapping of @sp. */
static void pick_copy_src(const struct space *sp, uint64_t *iova, uint64_t *len)
{
	const struct mapping *m;
	int np, a;

	if (!sp || !sp->n || odds(10)) {
		*iova = WIN_BASE + pick(WIN_PAGES) * PAGE;
		*len = (1 + pick(4)) * PAGE;
		return;
	}
	a = pick(sp->n);
	m = &sp->m[a];
	np = m->len / PAGE;
	switch (pick(10)) {
	case 0: case 1: case 2: case 3:
		*iova = m->iova;
		*len = m->len;
		break;
	case 4: case 5: case 6:
		a = pick(np);
		*iova = m->iova + a * PAGE;
		*len = (1 + pick(np - a)) * PAGE;
		break;
	case 7:
		*iova = m->iova;
		*len = m->len + PAGE;
		break;
	case 8:
		*iova = m->iova - PAGE;
		*len = m->len + PAGE;
		break;
	default:
		*iova = m->iova;
		*len = a + 1 < sp->n ? sp->m[a + 1].iova + sp->m[a + 1].len - m->iova :
			2 * m->len;
		break;
	}
}

static void op_copy(void)
{
	int c = R->cur, k = -1;
	struct space *ss, *ds;
	struct ioasid_copy *cmd;
	uint64_t siova, len, diova = 0;
	uint32_t src, dst;
	unsigned int v = pick(100);
	struct mapping *m;
	struct call call;
	bool fixed, ok;

	src = pick_id(c);
	dst = odds(30) ? src : pick_id(c);
	ss = space_at(c, src);
	ds = space_at(c, dst);
	if (ds && ds->n >= MAX_MAPS) {
		op_unmap(dst);
		return;
	}
	cmd = call_begin(&call, "COPY", sizeof(*cmd));
	pick_copy_src(ss, &siova, &len);
	cmd->flags = pick_prot();
	fixed = odds(60);
	if (fixed)
		cmd->flags |= IOASID_MAP_FIXED_IOVA;
	if (v < 3) {
		cmd->flags |= 1U << (3 + pick(29));
	} else if (v < 5) {
		cmd->flags &= ~RW;
	} else if (v < 7) {
		siova += 512;
	} else if (v < 8) {
		len = 0;
	} else if (v < 9) {
		siova = -PAGE;
		len = 2 * PAGE;
	}
	if (fixed)
		diova = pick_iova(len ? (len + PAGE - 1) / PAGE : 1);
	cmd->src_ioasid = src;
	cmd->dst_ioasid = dst;
	cmd->src_iova = siova;
	cmd->length = len;
	cmd->dst_iova = fixed ? diova : odds(20) ? rnd(&R->rng) : 0;

	if (cmd->flags & ~MAP_FLAGS)
		must_fail(&call.w, EOPNOTSUPP);
	if (!(cmd->flags & RW))
		must_fail(&call.w, EINVAL);
	ok = range_ok(siova, len, &call.w);
	if (fixed)
		ok = range_ok(diova, len, &call.w) && ok;
	if (!ss || !ds)
		must_fail(&call.w, ENOENT);
	if (ss && ds && ok) {
		if (fixed && !usable(c, dst, diova, diova + len - 1))
			must_fail(&call.w, EADDRNOTAVAIL);
		if (fixed && overlap(ds, diova, diova + len - 1) >= 0)
			must_fail(&call.w, EEXIST);
		k = containing(ss, siova, len);
		if (k < 0)
			must_fail(&call.w, ENOENT);
		else if ((cmd->flags & IOASID_MAP_WRITE) && !R->pin[ss->m[k].pin].writable)
			must_fail(&call.w, EPERM);
		if (!fixed && !fit_exists(c, dst, len, chosen_align(siova, len)))
			must_fail(&call.w, ENOSPC);
	}
	call_desc(&call, "COPY IOASID %u %#lx len %#lx to IOASID %u flags %#x iova %#lx",
		  src, siova, len, dst, cmd->flags, (uint64_t)cmd->dst_iova);
	call_shape(&call, pick_shape());
	touch_space(src);
	touch_space(dst);
	/* A copy pins nothing more. */
	if (k >= 0)
		touch_pages(R->pin[ss->m[k].pin].first + pick(R->pin[ss->m[k].pin].npages), 1);
	if (!call_issue(&call, IOASID_COPY))
		return;
	if (fixed && cmd->dst_iova != diova)
		mismatch("COPY to fixed IOVA %#lx answered IOVA %#llx", diova,
			 cmd->dst_iova);
	if (!fixed)
		check_placement("COPY", c, dst, siova, len, cmd->dst_iova);
	if (R->failed)
		return;
	m = &ss->m[k];
	map_add(ds, cmd->dst_iova, len, m->pin, m->off + (siova - m->iova) / PAGE,
		cmd->flags & RW);
}

/*
 * What unmapping [iova, last] from @sp does: 0 with the bytes and the
 * first and last mapping removed, -ENOENT or -EINVAL.
 */
static int unmap_model(const struct space *sp, uint64_t iova, uint64_t last,
		       uint64_t *bytes, int *lo, int *hi)
{
	uint64_t mlast;
	int i;

	*bytes = 0;
	*lo = -1;
	for (i = 0; i < sp->n; i++) {
		mlast = sp->m[i].iova + sp->m[i].len - 1;
		if (mlast < iova || sp->m[i].iova > last)
			continue;
		if (sp->m[i].iova < iova || mlast > last)
			return -EINVAL;
		if (*lo < 0)
			*lo = i;
		*hi = i;
		*bytes += sp->m[i].len;
	}
	return *lo < 0 ? -ENOENT : 0;
}

/* The range of an unmap: about the mappings of @sp, or anywhere. */
static void pick_unmap_range(const struct space *sp, uint64_t *iova,
			     uint64_t *len)
{
	const struct mapping *m;
	unsigned int v = pick(100);
	int i, j;

	if (sp && sp->n && v < 72) {
		i = pick(sp->n);
		m = &sp->m[i];
		if (v < 30) {
			*iova = m->iova;
			*len = m->len;
		} else if (v < 38) {
			*iova = m->iova - PAGE;
			*len = m->len + PAGE;
		} else if (v < 46) {
			*iova = m->iova;
			*len = m->len + PAGE * (1 + pick(3));
		} else if (v < 54) {
			*iova = m->iova + (m->len > PAGE ? PAGE : 0);
			*len = m->len > PAGE ? m->len - PAGE : 2 * PAGE;
		} else {
			j = i + pick(sp->n - i);
			*iova = m->iova;
			*len = sp->m[j].iova + sp->m[j].len - m->iova;
		}
		return;
	}
	if (v < 94) {
		*iova = WIN_BASE + pick(WIN_PAGES) * PAGE;
		*len = (1 + pick(24)) * PAGE;
		return;
	}
	*iova = 0;
	*len = -PAGE;
}

/* Unmap; @all_of: UNMAP_ALL of that IOASID, well formed. */
#define UNMAP_V1_SIZE	offsetof(struct ioasid_unmap, page_size)

/* Whether a byte of @u in [from, to) is not zero. */
static bool junk_in(const union ubuf *u, size_t from, size_t to)
{
	for (; from < to; from++)
		if (u->b[from])
			return true;
	return false;
}

static void op_unmap(uint32_t all_of)
{
	int c = R->cur, shape = SH_OK, lo = -1, hi = -1, e;
	unsigned int v = pick(100);
	struct ioasid_unmap *cmd;
	uint64_t iova = 0, len = 0, last = UINT64_MAX, bytes = 0;
	struct space *sp;
	struct call call;
	struct want pre;
	bool all, ok;
	uint32_t id;

	id = all_of ? all_of : pick_id(c);
	sp = space_at(c, id);
	all = all_of || v < 8;
	if (!all)
		pick_unmap_range(sp, &iova, &len);
	cmd = call_begin(&call, "UNMAP", UNMAP_V1_SIZE);
	cmd->flags = all ? IOASID_UNMAP_ALL : 0;
	if (!all_of) {
		shape = pick_shape();
		v = pick(100);
		if (v < 3) {
			/* Past IOASID_UNMAP_DIRTY_BITMAP, op_dirty's. */
			cmd->flags |= 4U << pick(30);
		} else if (v < 5) {
			cmd->__reserved = 1;
		} else if (v < 7 && all) {
			iova = PAGE * pick(3);
			len = iova ? 0 : PAGE;
		} else if (v < 8 && !all) {
			len = 0;
		} else if (v < 9 && !all) {
			iova |= 256;
		} else if (v < 10 && !all) {
			iova = -PAGE;
			len = 2 * PAGE;
		}
	}
	cmd->ioasid = id;
	cmd->iova = iova;
	cmd->length = len;

	if (cmd->flags & ~IOASID_UNMAP_ALL)
		must_fail(&call.w, EOPNOTSUPP);
	if (cmd->__reserved)
		must_fail(&call.w, EINVAL);
	if (all) {
		ok = !iova && !len;
		if (!ok)
			must_fail(&call.w, EINVAL);
	} else {
		ok = range_ok(iova, len, &call.w);
		last = iova + len - 1;
	}
	if (!sp)
		must_fail(&call.w, ENOENT);
	if (sp && ok) {
		e = unmap_model(sp, all ? 0 : iova, last, &bytes, &lo, &hi);
		if (e && !(all && e == -ENOENT))
			must_fail(&call.w, -e);
	}
	call_desc(&call, "UNMAP IOASID %u flags %#x reserved %#x iova %#lx len %#lx",
		  id, cmd->flags, cmd->__reserved, iova, len);
	/*
	 * Shaped as the first version of the struct, which ends at @length:
	 * what follows is the dirty bitmap's, zero without its flag, and a
	 * non-zero byte there fails the call's own checks, then EINVAL,
	 * rather than E2BIG.
	 */
	pre = call.w;
	call_shape(&call, shape);
	if (shape == SH_JUNK && junk_in(&call.u, UNMAP_V1_SIZE, sizeof(*cmd))) {
		call.w = pre;
		must_fail(&call.w, EINVAL);
	}
	touch_space(id);
	if (!call_issue(&call, IOASID_UNMAP))
		return;
	if (cmd->length != bytes) {
		mismatch("UNMAP removed %#llx bytes, the model %#lx", cmd->length, bytes);
		return;
	}
	for (; lo >= 0 && hi >= lo; hi--)
		map_del(c, id, sp, hi);
}

/*
 * IOASID_VEC, map or unmap, of up to VEC_MAX entries.  The model applies
 * the entries in order to a copy of the IOASID and gives each the answers
 * the single call would have (an unmap entry finds nothing where an
 * earlier one unmapped; a map entry collides with an earlier one): the
 * call must succeed when no entry fails, and otherwise fail with the
 * errno of an entry that does, named in out_failed, changing nothing.
 */
#define VEC_MAX	8

struct vec_model {
	struct want call;		/* the call's own checks */
	struct want e[VEC_MAX];		/* each entry's */
	bool any_bad;
};

static void vec_map_model(int c, uint32_t id, const struct space *sp,
			  uint32_t flags, const struct ioasid_vec_entry *e, int n,
			  struct vec_model *vm)
{
	bool mm = sp->flags & IOASID_ALLOC_ACCOUNT_MM, ok;
	struct space *trial = malloc(sizeof(*trial));
	uint64_t charge = 0, last;
	int i;

	*trial = *sp;
	for (i = 0; i < n; i++) {
		struct want *w = &vm->e[i];

		want_init(w);
		ok = range_ok(e[i].addr, e[i].length, w);
		ok = range_ok(e[i].iova, e[i].length, w) && ok;
		if (!ok)
			continue;
		last = e[i].iova + e[i].length - 1;
		charge += e[i].length / PAGE;
		if (!usable(c, id, e[i].iova, last))
			must_fail(w, EADDRNOTAVAIL);
		if (overlap(trial, e[i].iova, last) >= 0)
			must_fail(w, EEXIST);
		if (!charge_fits(mm, charge))
			must_fail(w, ENOMEM);
		if (user_fault(e[i].addr, e[i].length, flags & IOASID_MAP_WRITE))
			must_fail(w, EFAULT);
		if (w->ok && trial->n < MAX_MAPS)
			trial->m[trial->n++] = (struct mapping){
				.iova = e[i].iova, .len = e[i].length,
			};
	}
	free(trial);
}

/* Apply the unmap entries to a copy; *bytes gets what the call removes. */
static void vec_unmap_model(const struct space *sp,
			    const struct ioasid_vec_entry *e, int n,
			    struct vec_model *vm)
{
	struct space *trial = malloc(sizeof(*trial));
	uint64_t bytes;
	int i, rc, lo, hi;

	*trial = *sp;
	for (i = 0; i < n; i++) {
		struct want *w = &vm->e[i];

		want_init(w);
		if (e[i].addr)
			must_fail(w, EINVAL);
		if (!range_ok(e[i].iova, e[i].length, w) || !w->ok)
			continue;
		rc = unmap_model(trial, e[i].iova, e[i].iova + e[i].length - 1,
				 &bytes, &lo, &hi);
		if (rc) {
			must_fail(w, -rc);
			continue;
		}
		memmove(&trial->m[lo], &trial->m[hi + 1],
			(trial->n - hi - 1) * sizeof(trial->m[0]));
		trial->n -= hi - lo + 1;
	}
	free(trial);
}

/* An entry for a vectored map or unmap, mostly about the IOASID's. */
static void pick_vec_entry(const struct space *sp, bool map,
			   struct ioasid_vec_entry *e)
{
	uint64_t va, len;
	int v;

	if (map) {
		pick_user(&va, &len, &v);
		e->addr = va;
		e->length = len;
		e->iova = pick_iova(len ? (len + PAGE - 1) / PAGE : 1);
		return;
	}
	pick_unmap_range(sp, &va, &len);
	e->iova = va;
	e->length = len;
	e->addr = odds(3) ? PAGE : 0;
}

static void op_vec(void)
{
	int c = R->cur, n = 1 + pick(VEC_MAX), i, rc, err, v = pick(100);
	struct ioasid_vec_entry e[VEC_MAX];
	struct vec_model vm = { .any_bad = false };
	struct ioasid_vec cmd = { .size = sizeof(cmd) };
	bool map = odds(55), right;
	struct space *sp;
	uint32_t id;
	char d[200];

	tot.vecs++;
	id = pick_id(c);
	sp = space_at(c, id);
	if (map && ((sp && sp->n + VEC_MAX > MAX_MAPS) || !pin_slots_free(VEC_MAX))) {
		op_unmap(sp ? id : random_object(c, OBJ_SPACE));
		return;
	}
	for (i = 0; i < n; i++)
		pick_vec_entry(sp, map, &e[i]);
	cmd.op = map ? IOASID_VEC_MAP : IOASID_VEC_UNMAP;
	cmd.flags = map ? pick_prot() | IOASID_MAP_FIXED_IOVA : 0;
	cmd.ioasid = id;
	cmd.count = n;
	cmd.entries = (uintptr_t)e;
	cmd.out_failed = 0xdead;
	want_init(&vm.call);
	if (v < 2)
		cmd.count = 0;
	else if (v < 3)
		cmd.count = IOASID_VEC_MAX + 1;
	else if (v < 5)
		cmd.flags |= map ? 1U << (4 + pick(28)) : 1U << pick(32);
	else if (v < 7 && map)
		cmd.flags &= ~IOASID_MAP_FIXED_IOVA;
	else if (v < 8)
		cmd.op = 3 + pick(100);
	else if (v < 9)
		cmd.entries = 8;
	else if (v < 10)
		cmd.src_ioasid = 1 + pick(MAX_IDS);

	if (cmd.op > IOASID_VEC_COPY ||
	    (cmd.flags & ~(map ? MAP_FLAGS : 0)))
		must_fail(&vm.call, EOPNOTSUPP);
	if (!cmd.count || cmd.count > IOASID_VEC_MAX || cmd.src_ioasid ||
	    (map && !(cmd.flags & IOASID_MAP_FIXED_IOVA)) ||
	    (map && !(cmd.flags & RW)))
		must_fail(&vm.call, EINVAL);
	if (cmd.entries == 8)
		must_fail(&vm.call, EFAULT);
	if (!sp)
		must_fail(&vm.call, ENOENT);
	if (vm.call.ok) {
		if (map)
			vec_map_model(c, id, sp, cmd.flags, e, n, &vm);
		else
			vec_unmap_model(sp, e, n, &vm);
		for (i = 0; i < n; i++)
			vm.any_bad |= !vm.e[i].ok;
	}
	snprintf(d, sizeof(d), "VEC %s IOASID %u flags %#x count %u%s",
		 map ? "MAP" : "UNMAP", id, cmd.flags, cmd.count,
		 vm.call.ok ? "" : " (malformed)");
	rc = xioctl(C(c)->fd, IOASID_VEC, &cmd);
	err = errno;
	touch_space(id);
	for (i = 0; i < n; i++) {
		int page = va_page(e[i].addr);

		if (map && page >= 0)
			touch_pages(page, 1);
	}
	tot.fuzzed++;
	count_answer(&tot.ok, &tot.failed, tot.err, rc, err);
	note("%s -> %s, out_failed %u", d, rc ? errname(err) : "0", cmd.out_failed);
	if (!vm.call.ok) {
		/* The call's own fault: no entry is named. */
		right = rc == -1 && want_has(&vm.call, err) &&
			cmd.out_failed == cmd.count;
	} else if (!vm.any_bad) {
		right = !rc && cmd.out_failed == 0xdead;
	} else {
		right = rc == -1 && cmd.out_failed < (uint32_t)n &&
			!vm.e[cmd.out_failed].ok &&
			want_has(&vm.e[cmd.out_failed], err);
	}
	if (!right) {
		mismatch("%s: the kernel answered %s, out_failed %u; the model %s",
			 d, rc ? errname(err) : "success", cmd.out_failed,
			 !vm.call.ok ? "refuses the call" :
			 vm.any_bad ? "has a failing entry" : "takes every entry");
		return;
	}
	if (rc)
		return;
	for (i = 0; i < n; i++) {
		uint64_t bytes;
		int lo, hi, page;

		if (map) {
			page = va_page(e[i].addr);
			map_add(sp, e[i].iova, e[i].length,
				pin_new(page, e[i].length / PAGE,
					cmd.flags & IOASID_MAP_WRITE,
					sp->flags & IOASID_ALLOC_ACCOUNT_MM),
				0, cmd.flags & RW);
			continue;
		}
		unmap_model(sp, e[i].iova, e[i].iova + e[i].length - 1, &bytes,
			    &lo, &hi);
		for (; hi >= lo; hi--)
			map_del(c, id, sp, hi);
	}
}

static void op_ranges(void)
{
	struct ioasid_iova_range got[MAX_RANGES + 2], want[MAX_RANGES];
	int c = R->cur, shape = pick_shape(), n = 0, i;
	struct ioasid_iova_ranges *cmd;
	unsigned int v = pick(100);
	struct call call;

	cmd = call_begin(&call, "IOVA_RANGES", sizeof(*cmd));
	cmd->ioasid = pick_id(c);
	memset(got, 0xa5, sizeof(got));
	if (space_at(c, cmd->ioasid))
		n = model_ranges(c, cmd->ioasid, want);
	switch (pick(4)) {
	case 0:
		cmd->num_ranges = 0;
		break;
	case 1:
		cmd->num_ranges = 1;
		break;
	case 2:
		cmd->num_ranges = n;
		break;
	default:
		cmd->num_ranges = ARRAY_SIZE(got);
	}
	cmd->ranges = cmd->num_ranges || odds(50) ? (uintptr_t)got : 0;
	if (v < 4) {
		cmd->flags = 1U << pick(32);
		must_fail(&call.w, EOPNOTSUPP);
	} else if (v < 8 && cmd->num_ranges) {
		cmd->ranges = (uintptr_t)R->guard_lo;
		if (n)
			must_fail(&call.w, EFAULT);
	} else if (v < 12) {
		cmd->out_iova_alignment = rnd(&R->rng);
	}
	if (!space_at(c, cmd->ioasid))
		must_fail(&call.w, ENOENT);
	else if ((int)cmd->num_ranges < n)
		must_fail(&call.w, EMSGSIZE);
	call_desc(&call, "IOVA_RANGES IOASID %u flags %#x room %u%s", cmd->ioasid,
		  cmd->flags, cmd->num_ranges,
		  cmd->ranges == (uintptr_t)R->guard_lo ? " [array unwritable]" : "");
	call_shape(&call, shape);
	i = cmd->num_ranges;
	if (!call_issue(&call, IOASID_IOVA_RANGES))
		return;
	if ((int)cmd->num_ranges != n)
		mismatch("IOVA_RANGES: %u ranges, the model %d", cmd->num_ranges, n);
	if (cmd->out_iova_alignment != (is_attached(c, cmd->ioasid) ? dev_align : PAGE))
		mismatch("IOVA_RANGES: alignment %#llx", cmd->out_iova_alignment);
	if (cmd->ranges != (uintptr_t)got)
		return;
	for (i = i < n ? i : n; i-- > 0;)
		if (got[i].start != want[i].start || got[i].last != want[i].last)
			mismatch("IOVA_RANGES: range %d is %#llx-%#llx, the model %#llx-%#llx",
				 i, got[i].start, got[i].last, want[i].start, want[i].last);
	if (got[n].start != 0xa5a5a5a5a5a5a5a5ULL)
		mismatch("IOVA_RANGES wrote past the %d ranges", n);
}

static void op_coherency(void)
{
	int c = R->cur, shape = pick_shape(), sum_lo = 0, sum_hi = 0;
	struct ioasid_coherency *cmd;
	unsigned int v = pick(100), lo, hi;
	uint32_t id, flags = 0;
	struct call call;

	cmd = call_begin(&call, "COHERENCY", sizeof(*cmd));
	if (v < 40) {
		cmd->flags = IOASID_COHERENCY_CONTEXT;
		if (odds(10)) {
			cmd->ioasid = pick_id(c) | 1;
			must_fail(&call.w, EINVAL);
		}
	} else {
		cmd->ioasid = pick_id(c);
		if (!space_at(c, cmd->ioasid))
			must_fail(&call.w, ENOENT);
	}
	if (odds(5)) {
		cmd->flags |= 2U << pick(31);
		must_fail(&call.w, EOPNOTSUPP);
	}
	if (odds(30)) {
		cmd->out_flags = ~0U;
		cmd->out_domains = 77;
		cmd->out_noncoherent_domains = 77;
	}
	call_desc(&call, "COHERENCY flags %#x IOASID %u", cmd->flags, cmd->ioasid);
	call_shape(&call, shape);
	if (!call_issue(&call, IOASID_COHERENCY))
		return;
	if (cmd->flags & IOASID_COHERENCY_CONTEXT) {
		for (id = 1; id < MAX_IDS; id++) {
			if (!space_at(c, id))
				continue;
			domains_of(c, id, &lo, &hi);
			sum_lo += lo;
			sum_hi += hi;
		}
		lo = sum_lo;
		hi = sum_hi;
	} else {
		domains_of(c, cmd->ioasid, &lo, &hi);
		if (space_at(c, cmd->ioasid)->flags & IOASID_ALLOC_REQUIRE_COHERENCY)
			flags = IOASID_COHERENCY_REQUIRED;
	}
	if (!coherency_right(cmd, lo, hi, flags))
		mismatch("COHERENCY: flags %#x, %u domains, %u non-coherent; model: %#x, %u-%u",
			 cmd->out_flags, cmd->out_domains, cmd->out_noncoherent_domains,
			 flags, lo, hi);
}

static void op_info(void)
{
	int shape = pick_shape();
	struct ioasid_info *cmd;
	struct call call;

	cmd = call_begin(&call, "GET_INFO", sizeof(*cmd));
	if (odds(20)) {
		cmd->flags = 1U << pick(32);
		must_fail(&call.w, EOPNOTSUPP);
	}
	cmd->caps = odds(50) ? rnd(&R->rng) : 0;
	call_desc(&call, "GET_INFO flags %#x", cmd->flags);
	call_shape(&call, shape);
	if (!call_issue(&call, IOASID_GET_INFO))
		return;
	if (cmd->caps != info_caps)
		mismatch("GET_INFO: caps %#llx, first %#lx", cmd->caps, info_caps);
}

/*
 * Whether the VM's IOMMU tracks dirty IOPTEs: -1 until an answer tells.
 * QEMU's emulated IOMMUs do not, so that tracking can only be on in an
 * IOASID without domains, and any attach to it is refused.
 */
static int iommu_tracks = -1;

/*
 * Learn from the answer to a call that put a domain under tracking: an
 * enable with devices attached, or an attach while tracking is on.
 */
static void learn_tracking(int rc, int err)
{
	if (!rc)
		iommu_tracks = 1;
	else if (err == EOPNOTSUPP)
		iommu_tracks = 0;
}

/*
 * IOASID_DIRTY_TRACKING on or off, or IOASID_DIRTY_BITMAP, against the
 * model's tracking state and the IOMMU's answer so far.
 */
static void op_dirty(void)
{
	int c = R->cur, shape = pick_shape();
	uint64_t bits[4] = {}, page = 4096;
	struct ioasid_dirty_tracking *t;
	struct ioasid_dirty_bitmap *b;
	unsigned int v = pick(100), lo, hi;
	struct space *sp;
	bool on, domains = false;
	struct call call;

	if (v < 50) {
		t = call_begin(&call, "DIRTY_TRACKING", sizeof(*t));
		t->ioasid = pick_id(c);
		on = odds(60);
		t->flags = on ? IOASID_DIRTY_TRACKING_ENABLE : 0;
		sp = space_at(c, t->ioasid);
		if (odds(5)) {
			t->flags |= 2U << pick(31);
			must_fail(&call.w, EOPNOTSUPP);
		} else if (odds(5)) {
			t->__reserved = 1U << pick(32);
			must_fail(&call.w, EINVAL);
		} else if (!sp) {
			must_fail(&call.w, ENOENT);
		} else if (on && !sp->dirty) {
			domains_of(c, t->ioasid, &lo, &hi);
			domains = hi > 0;
			if (lo && !iommu_tracks)
				must_fail(&call.w, EOPNOTSUPP);
			else if (hi && iommu_tracks < 0)
				may_fail(&call.w, EOPNOTSUPP);
		}
		call_desc(&call, "DIRTY_TRACKING flags %#x IOASID %u", t->flags, t->ioasid);
		call_shape(&call, shape);
		if (call_issue(&call, IOASID_DIRTY_TRACKING))
			sp->dirty = on;
		if (call.right && domains)
			learn_tracking(call.rc, call.err);
		return;
	}
	b = call_begin(&call, "DIRTY_BITMAP", sizeof(*b));
	b->ioasid = pick_id(c);
	b->iova = pick(64) * page;
	b->length = (1 + pick(256)) * page;
	b->page_size = page;
	b->data = (uintptr_t)bits;
	b->flags = odds(30) ? IOASID_DIRTY_BITMAP_NO_CLEAR : 0;
	sp = space_at(c, b->ioasid);
	v = pick(100);
	if (v < 5) {
		b->flags |= 2U << pick(31);
		must_fail(&call.w, EOPNOTSUPP);
	} else if (v < 10) {
		b->page_size = odds(50) ? 0 : page << 1 | page;
		must_fail(&call.w, EINVAL);
	} else if (v < 15) {
		b->iova |= 1ULL << pick(12);
		must_fail(&call.w, EINVAL);
	} else if (v < 18) {
		b->data |= 4;
		must_fail(&call.w, EINVAL);
	} else if (v < 21) {
		b->iova = -page;
		b->length = 2 * page;
		must_fail(&call.w, EOVERFLOW);
	} else if (v < 24) {
		b->length = (1ULL << 31) * page + page;
		b->iova = 0;
		must_fail(&call.w, E2BIG);
	} else if (!sp) {
		must_fail(&call.w, ENOENT);
	} else if (!sp->dirty) {
		must_fail(&call.w, ENODATA);
	}
	call_desc(&call, "DIRTY_BITMAP flags %#x IOASID %u %#llx+%#llx",
		  b->flags, b->ioasid, (unsigned long long)b->iova,
		  (unsigned long long)b->length);
	call_shape(&call, shape);
	if (!call_issue(&call, IOASID_DIRTY_BITMAP))
		return;
	/* Tracking is on only where no domain is, unless the IOMMU tracks. */
	if (iommu_tracks != 1 && (bits[0] | bits[1] | bits[2] | bits[3]))
		mismatch("DIRTY_BITMAP: bits %#llx set where nothing tracks",
			 (unsigned long long)(bits[0] | bits[1] | bits[2] | bits[3]));
}

/*
 * IOASID_CHANGE_OWNER by the process that pinned everything (no forked
 * child maps): it owns every range already, so a success moves nothing
 * and every charge stays as the model has it.
 */
static void op_change_owner(void)
{
	int shape = pick_shape();
	struct ioasid_change_owner *cmd;
	struct call call;

	cmd = call_begin(&call, "CHANGE_OWNER", sizeof(*cmd));
	if (odds(20)) {
		cmd->flags = 1U << pick(32);
		must_fail(&call.w, EOPNOTSUPP);
	} else if (odds(10)) {
		cmd->__reserved = 1ULL << pick(64);
		must_fail(&call.w, EINVAL);
	}
	cmd->out_pages = odds(50) ? rnd(&R->rng) : 0;
	call_desc(&call, "CHANGE_OWNER flags %#x", cmd->flags);
	call_shape(&call, shape);
	if (!call_issue(&call, IOASID_CHANGE_OWNER))
		return;
	if (cmd->out_pages)
		mismatch("CHANGE_OWNER: %llu pages moved to the owner they had",
			 cmd->out_pages);
}

/* IOASID_DEVICE_INFO: what any edu device answers, for bound devices. */
static void op_devinfo(void)
{
	struct ioasid_iova_range got[MAX_RANGES + 1];
	int c = R->cur, shape = pick_shape(), room, i, n;
	struct ioasid_device_info *cmd;
	unsigned int v = pick(100);
	struct call call;

	cmd = call_begin(&call, "DEVICE_INFO", sizeof(*cmd));
	cmd->dev_id = odds(70) ? random_object(c, OBJ_DEVICE) : 0;
	if (!cmd->dev_id)
		cmd->dev_id = pick_id(c);
	room = v % 4 == 0 ? 0 : v % 4 == 1 ? 1 : v % 4 == 2 ? ndresv : MAX_RANGES + 1;
	cmd->num_reserved = room;
	cmd->reserved = room || odds(50) ? (uintptr_t)got : 0;
	memset(got, 0xa5, sizeof(got));
	if (v < 4) {
		cmd->flags = 1U << pick(32);
		must_fail(&call.w, EOPNOTSUPP);
	} else if (v < 8) {
		cmd->__reserved = 1 + pick(0xffff);
		must_fail(&call.w, EINVAL);
	} else if (v < 16) {
		cmd->out_flags = ~0U;
		cmd->out_pgsizes = 3;
	}
	if (obj_type(c, cmd->dev_id) != OBJ_DEVICE)
		must_fail(&call.w, ENOENT);
	else if (room < ndresv)
		must_fail(&call.w, EMSGSIZE);
	call_desc(&call, "DEVICE_INFO id %u flags %#x reserved %#x room %u",
		  cmd->dev_id, cmd->flags, cmd->__reserved, room);
	call_shape(&call, shape);
	if (!call_issue(&call, IOASID_DEVICE_INFO))
		return;
	if (cmd->out_flags != dinfo.out_flags || cmd->out_pgsizes != dinfo.out_pgsizes ||
	    cmd->out_aperture_start != dinfo.out_aperture_start ||
	    cmd->out_aperture_last != dinfo.out_aperture_last ||
	    (int)cmd->num_reserved != ndresv)
		mismatch("DEVICE_INFO: flags %#x, pgsizes %#llx, aperture %#llx-%#llx, %u regions",
			 cmd->out_flags, cmd->out_pgsizes, cmd->out_aperture_start,
			 cmd->out_aperture_last, cmd->num_reserved);
	n = room < ndresv ? room : ndresv;
	for (i = 0; i < n && cmd->reserved == (uintptr_t)got; i++)
		if (got[i].start != dresv[i].start || got[i].last != dresv[i].last)
			mismatch("DEVICE_INFO: region %d is %#llx-%#llx, not %#llx-%#llx", i,
				 got[i].start, got[i].last, dresv[i].start, dresv[i].last);
	if (cmd->reserved == (uintptr_t)got && got[n].start != 0xa5a5a5a5a5a5a5a5ULL)
		mismatch("DEVICE_INFO wrote past its %d regions", n);
}

/* Ioctl numbers the context does not have, or with another encoding. */
static void op_bad_ioctl(void)
{
	unsigned long req;
	struct call call;

	switch (pick(4)) {
	case 0:
		/* The numbers below the test command, which no command has. */
		req = _IO(IOASID_TYPE, IOASID_CMD_TEST - 1 - pick(3));
		break;
	case 1:
		req = _IO(IOASID_TYPE, IOASID_CMD_BASE - 1 - pick(0x30));
		break;
	case 2:
		req = _IOW(IOASID_TYPE, IOASID_CMD_BASE + pick(8), struct ioasid_map);
		break;
	default:
		req = _IOWR(IOASID_TYPE, IOASID_CMD_ALLOC, struct ioasid_alloc);
		break;
	}
	call_begin(&call, "ioctl", 16);
	must_fail(&call.w, ENOTTY);
	call_desc(&call, "ioctl %#lx", req);
	call_issue(&call, req);
}

/* ---------------------------------------------------------------------
 * Devices: binding, attachment and DMA.
 */
static int region_info(int fd, unsigned int index, struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, info);
}

/* On a bound device: bus mastering on, and where BAR0 is. */
static bool dev_enable(struct device *d)
{
	struct vfio_region_info cfg, bar;
	uint16_t cmd;

	if (region_info(d->fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) ||
	    region_info(d->fd, VFIO_PCI_BAR0_REGION_INDEX, &bar) ||
	    pread(d->fd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		return false;
	cmd |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
	if (pwrite(d->fd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		return false;
	d->bar0 = bar.offset;
	return true;
}

static bool bar_write(struct device *d, unsigned int reg, uint64_t val)
{
	return pwrite(d->fd, &val, sizeof(val), d->bar0 + reg) == sizeof(val);
}

/* One DMA of DMA_LEN bytes; false, with a mismatch, if it never ends. */
static bool edu_dma(struct device *d, uint64_t src, uint64_t dst, bool to_ram)
{
	uint32_t cmd = 0;
	int i;

	if (!bar_write(d, EDU_DMA_SRC, src) || !bar_write(d, EDU_DMA_DST, dst) ||
	    !bar_write(d, EDU_DMA_CNT, DMA_LEN) ||
	    !bar_write(d, EDU_DMA_CMD, EDU_START | (to_ram ? EDU_TO_RAM : 0))) {
		mismatch("edu: writing its registers failed: %s", strerror(errno));
		return false;
	}
	for (i = 0; i < 5000; i++) {
		if (pread(d->fd, &cmd, sizeof(cmd), d->bar0 + EDU_DMA_CMD) != sizeof(cmd))
			break;
		if (!(cmd & EDU_START))
			return true;
		usleep(2000);
	}
	mismatch("edu: the DMA from %#lx to %#lx never finished", src, dst);
	return false;
}

static int bind_dev(int fd, int ioasid_fd, uint32_t argsz, uint32_t flags,
		    uint32_t *devid)
{
	struct vfio_device_bind_ioasid_fd bind = {
		.argsz = argsz, .flags = flags, .ioasid_fd = ioasid_fd,
	};
	int rc;

	rc = xioctl(fd, VFIO_DEVICE_BIND_IOASID_FD, &bind);
	*devid = bind.out_devid;
	return rc;
}

/* Whether another device of @di's group is bound to another context. */
static bool group_taken(int di, int c)
{
	int i;

	for (i = 0; i < ndevs; i++)
		if (i != di && R->dev[i].fd >= 0 && dev_group[i] == dev_group[di] &&
		    R->dev[i].ctx != c)
			return true;
	return false;
}

static void op_bind(int di)
{
	struct device *d = &R->dev[di];
	int c = R->cur, fd, rc, err;
	uint32_t devid, id;
	struct want w;
	char desc[160];

	want_init(&w);
	if (d->fd >= 0) {
		/* Bound already: a second bind is refused. */
		must_fail(&w, EINVAL);
		snprintf(desc, sizeof(desc), "BIND device %d again", di);
		rc = bind_dev(d->fd, C(c)->fd, 16, 0, &devid);
		answer(desc, rc, errno, &w);
		return;
	}
	id = lowest_free(c);
	if (C(c)->fd < 0 || !id)
		return;
	fd = open(dev_path[di], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		mismatch("cannot open %s: %s", dev_path[di], strerror(errno));
		return;
	}
	if (odds(30)) {
		static const struct {
			uint32_t argsz, flags;
			int which, err;
		} bad[] = {
			{ 8, 0, 0, EINVAL }, { 16, 1, 0, EINVAL }, { 16, 0, 1, EBADF },
			{ 16, 0, 2, EBADFD }, { 16, 0, 3, EBADFD },
		};
		int b = pick(ARRAY_SIZE(bad));
		int bfd = bad[b].which == 0 ? C(c)->fd : bad[b].which == 1 ? -1 :
			  bad[b].which == 2 ? devnull : fd;

		only(&w, bad[b].err);
		snprintf(desc, sizeof(desc), "BIND device %d argsz %u flags %#x to fd %d",
			 di, bad[b].argsz, bad[b].flags, bfd);
		rc = bind_dev(fd, bfd, bad[b].argsz, bad[b].flags, &devid);
		answer(desc, rc, errno, &w);
		want_init(&w);
	}
	if (group_taken(di, c))
		must_fail(&w, EBUSY);
	snprintf(desc, sizeof(desc), "BIND device %d to context %d", di, c);
	rc = bind_dev(fd, C(c)->fd, 16, 0, &devid);
	err = errno;
	if (!answer(desc, rc, err, &w) || rc) {
		close(fd);
		return;
	}
	if (devid != id)
		mismatch("BIND gave device id %u, the lowest free id is %u", devid, id);
	*d = (struct device) { .fd = fd, .ctx = c, .id = id, .buf = -1 };
	C(c)->type[id] = OBJ_DEVICE;
	if (!dev_enable(d))
		mismatch("device %d: cannot enable bus mastering: %s", di, strerror(errno));
	touch_space(id);
}

static int dma_page(const struct space *sp, uint32_t prot, bool only_prot,
		    uint64_t *iova);

/* An IOASID with memory mapped writable in edu's reach, or 0. */
static uint32_t dma_friendly(int c)
{
	uint32_t ids[MAX_IDS], id;
	uint64_t iova;
	int n = 0;

	for (id = 1; id < MAX_IDS; id++)
		if (space_at(c, id) && !conflicts(space_at(c, id)) &&
		    dma_page(space_at(c, id), IOASID_MAP_WRITE, false, &iova) >= 0)
			ids[n++] = id;
	return n ? ids[pick(n)] : 0;
}

/* What an attach (or a replace) of device @di to @id must answer. */
static void want_attach(int di, uint32_t id, bool replace, bool conflict_maybe,
			struct want *w)
{
	struct device *d = &R->dev[di];
	struct space *sp = space_at(d->ctx, id);
	uint32_t gspace = 0;
	int i, others = 0;
	bool joins = false;

	for (i = 0; i < ndevs; i++)
		if (i != di && R->dev[i].fd >= 0 && R->dev[i].ctx == d->ctx &&
		    dev_group[i] == dev_group[di] && R->dev[i].space) {
			others++;
			gspace = R->dev[i].space;
		}
	if (!sp)
		must_fail(w, ENOENT);
	if (!replace) {
		if (d->space)
			must_fail(w, EBUSY);
		else if (others && gspace != id)
			must_fail(w, EBUSY);
		else if (!others)
			joins = true;
	} else {
		if (!d->space)
			must_fail(w, EINVAL);
		else if (d->space == id)
			return;
		else if (others)
			must_fail(w, EBUSY);
		else
			joins = true;
	}
	if (!sp || !joins)
		return;
	if ((sp->flags & IOASID_ALLOC_REQUIRE_COHERENCY) && !snoop)
		must_fail(w, EMEDIUMTYPE);
	/* Tracking on an IOMMU that cannot: there is no domain to join. */
	if (sp->dirty && !iommu_tracks)
		must_fail(w, EOPNOTSUPP);
	else if (sp->dirty && iommu_tracks < 0)
		may_fail(w, EOPNOTSUPP);
	if (conflict_maybe)
		may_fail(w, EADDRINUSE);
	else if (conflicts(sp))
		must_fail(w, EADDRINUSE);
}

static int attach_dev(struct device *d, uint32_t argsz, uint32_t flags, uint32_t id,
		      uint32_t reserved)
{
	struct vfio_device_attach_ioasid a = {
		.argsz = argsz, .flags = flags, .ioasid = id, .__reserved = reserved,
	};

	return xioctl(d->fd, VFIO_DEVICE_ATTACH_IOASID, &a);
}

static int detach_dev(struct device *d, uint32_t argsz, uint32_t flags)
{
	struct vfio_device_detach_ioasid a = { .argsz = argsz, .flags = flags };

	return xioctl(d->fd, VFIO_DEVICE_DETACH_IOASID, &a);
}

static void op_attach(int di, bool replace)
{
	struct device *d = &R->dev[di];
	uint32_t argsz = sizeof(struct vfio_device_attach_ioasid), rsv = 0, id;
	uint32_t flags = replace ? VFIO_DEVICE_ATTACH_IOASID_REPLACE : 0;
	unsigned int v = pick(100);
	uint32_t old = d->space;
	struct want w;
	char desc[160];
	int rc, err, c = d->ctx;

	R->cur = c;	/* its answers are the context's */
	id = odds(40) ? dma_friendly(c) : 0;
	if (replace && odds(15) && d->space)
		id = d->space;
	else if (!id)
		id = pick_id(c);
	want_init(&w);
	want_attach(di, id, replace, false, &w);
	if (v < 3) {
		flags |= 2;
		only(&w, EINVAL);
	} else if (v < 6) {
		rsv = 1;
		only(&w, EINVAL);
	} else if (v < 8) {
		argsz = 8;
		only(&w, EINVAL);
	}
	snprintf(desc, sizeof(desc), "%s device %d (on %u) to IOASID %u argsz %u flags %#x rsv %u",
		 replace ? "REPLACE" : "ATTACH", di, d->space, id, argsz, flags, rsv);
	rc = attach_dev(d, argsz, flags, id, rsv);
	err = errno;
	if (answer(desc, rc, err, &w) && !rc)
		d->space = id;
	if (want_has(&w, EOPNOTSUPP))
		learn_tracking(rc, err);
	touch_space(old);
	touch_space(id);
}

static void op_detach(int di)
{
	struct device *d = &R->dev[di];
	uint32_t argsz = 8, flags = 0;
	uint32_t old = d->space;
	struct want w;
	char desc[120];
	int rc;

	R->cur = d->ctx;
	want_init(&w);
	if (odds(5)) {
		flags = 1U << pick(32);
		must_fail(&w, EINVAL);
	} else if (odds(5)) {
		argsz = 4;
		must_fail(&w, EINVAL);
	}
	snprintf(desc, sizeof(desc), "DETACH device %d (attached to %u) argsz %u flags %#x",
		 di, d->space, argsz, flags);
	rc = detach_dev(d, argsz, flags);
	if (answer(desc, rc, errno, &w) && !rc)
		d->space = 0;
	touch_space(old);
}

/* Close a device file: unbound, and its context goes if nothing holds it. */
static void op_unbind(int di)
{
	struct device *d = &R->dev[di];
	int c = d->ctx;

	note("UNBIND device %d: close its file (attached to %u, context %d%s)", di,
	     d->space, c, C(c)->fd < 0 ? ", closed" : "");
	close(d->fd);
	d->fd = -1;
	C(c)->type[d->id] = OBJ_FREE;
	d->space = 0;
	if (C(c)->fd < 0 && !devices_bound(c)) {
		note("context %d had no other holder: all it held is gone", c);
		ctx_release(c);
	}
	touch_space(d->id);
	touch_pages(0, NPAGES);
}

/*
 * The IOASID device @di's DMA goes through: its own, or, while it is not
 * attached, that of the attached devices of its group.
 */
static uint32_t dma_space(int di)
{
	struct device *d = &R->dev[di];
	int i;

	if (d->space)
		return d->space;
	for (i = 0; i < ndevs; i++)
		if (i != di && R->dev[i].fd >= 0 && R->dev[i].ctx == d->ctx &&
		    dev_group[i] == dev_group[di] && R->dev[i].space)
			return R->dev[i].space;
	return 0;
}

/* A page of a mapping of @sp in reach of edu, with @prot, or -1. */
static int dma_page(const struct space *sp, uint32_t prot, bool only_prot,
		    uint64_t *iova)
{
	const struct mapping *m;
	int cand[MAX_MAPS], n = 0, i, k;

	for (i = 0; i < sp->n; i++) {
		m = &sp->m[i];
		if ((m->prot & prot) != prot || (only_prot && m->prot != prot) ||
		    m->iova >= DMA_LIMIT - PAGE)
			continue;
		cand[n++] = i;
	}
	if (!n)
		return -1;
	m = &sp->m[cand[pick(n)]];
	k = pick(m->len / PAGE);
	if (m->iova + (k + 1) * PAGE > DMA_LIMIT)
		k = 0;
	*iova = m->iova + k * PAGE;
	return R->pin[m->pin].first + m->off + k;
}

/* Fill edu's buffer from a readable mapping; the byte, or -1. */
static int dma_load(struct device *d, const struct space *sp, int avoid)
{
	uint64_t iova;
	int page, p;

	page = dma_page(sp, IOASID_MAP_READ, false, &iova);
	if (page < 0)
		return -1;
	if (R->ro[page]) {
		p = (unsigned char)page_va(page)[0];
		if (p == avoid)
			return -1;
	} else {
		do
			p = pick(256);
		while (p == avoid);
		memset(page_va(page), p, DMA_LEN);
	}
	if (!edu_dma(d, iova, EDU_BUF, false))
		return -1;
	d->buf = p;
	return p;
}

static bool all_bytes(const char *p, int val, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] != val)
			return false;
	return true;
}

/* Memory mapped writable at an IOVA must receive the device's DMA. */
static bool dma_reach(int di)
{
	struct device *d = &R->dev[di];
	uint32_t id = dma_space(di);
	struct space *sp = space_at(d->ctx, id);
	uint64_t iova;
	int page, p, q, off;
	char *dst;

	if (!sp)
		return false;
	page = dma_page(sp, IOASID_MAP_WRITE, false, &iova);
	if (page < 0)
		return false;
	p = dma_load(d, sp, -1);
	if (p < 0)
		p = d->buf;
	if (p < 0 || R->failed)
		return false;
	q = (p + 1 + pick(255)) % 256;
	off = pick(3) * 1024;
	dst = page_va(page);
	memset(dst + off, q, PAGE - off);
	if (!edu_dma(d, EDU_BUF, iova + off, true))
		return true;
	tot.dma_reach++;
	note("DMA device %d: edu (%#x) -> IOVA %#lx of IOASID %u (pool page %d)", di, p,
	     iova + off, id, page);
	if (!all_bytes(dst + off, p, DMA_LEN))
		mismatch("DMA to IOVA %#lx of IOASID %u missed pool page %d (%#x, not %#x)",
			 iova + off, id, page,
			 (unsigned char)dst[off], p);
	else if (off + DMA_LEN < PAGE && (unsigned char)dst[off + DMA_LEN] != q)
		mismatch("DMA to IOVA %#lx wrote past its %d bytes", iova + off, DMA_LEN);
	return true;
}

/*
 * DMA to an IOVA that is not mapped writable for the device must not
 * reach memory: an IOVA unmapped since, a read-only mapping, or any IOVA
 * while the device is not attached.
 */
static bool dma_blocked(int di)
{
	struct device *d = &R->dev[di];
	struct space *sp = space_at(d->ctx, dma_space(di)), *any;
	uint64_t iova = 0;
	int page = -1, mark, i;
	uint32_t id;
	const char *why;

	if (!sp) {
		why = "not attached";
		for (id = 1; id < MAX_IDS && page < 0; id++) {
			any = space_at(d->ctx, id);
			if (any && odds(70))
				page = dma_page(any, 0, false, &iova);
		}
	} else if (odds(50)) {
		why = "mapped read-only";
		page = dma_page(sp, IOASID_MAP_READ, true, &iova);
	} else {
		why = "unmapped";
		for (i = 0; i < R->ngone && page < 0; i++) {
			struct gone *g = &R->gone[(i + pick(R->ngone)) % R->ngone];

			if (g->ctx == d->ctx && g->iova < DMA_LIMIT &&
			    overlap(sp, g->iova, g->iova + PAGE - 1) < 0) {
				page = g->page;
				iova = g->iova;
			}
		}
	}
	if (page < 0)
		return false;
	if (R->ro[page]) {
		mark = (unsigned char)page_va(page)[0];
	} else {
		mark = d->buf >= 0 ? (d->buf + 1 + pick(255)) % 256 : pick(256);
		memset(page_va(page), mark, DMA_LEN);
	}
	if ((d->buf < 0 || d->buf == mark) && (!sp || dma_load(d, sp, mark) < 0))
		return false;
	/* Loading the device may have used the same page. */
	if (!R->ro[page])
		memset(page_va(page), mark, DMA_LEN);
	if (R->failed || !edu_dma(d, EDU_BUF, iova, true))
		return true;
	tot.dma_blocked++;
	note("DMA device %d: edu (%#x) -> IOVA %#lx, %s: blocked?", di, d->buf, iova, why);
	if (!all_bytes(page_va(page), mark, DMA_LEN))
		mismatch("DMA to IOVA %#lx (%s, IOASID %u) reached pool page %d", iova, why,
			 dma_space(di), page);
	return true;
}

/* One DMA check by a bound device; false if it found nothing to check. */
static bool op_dma(int di)
{
	bool done;

	if (dma_space(di) && odds(60))
		done = dma_reach(di) || dma_blocked(di);
	else
		done = dma_blocked(di) || dma_reach(di);
	R->dma_left -= done;
	return done;
}

static void op_device(void)
{
	int di = pick(ndevs), keep = R->cur;
	struct device *d = &R->dev[di];
	unsigned int v = pick(100);

	if (d->fd < 0) {
		op_bind(di);
		return;
	}
	if (v < 32)
		op_attach(di, false);
	else if (v < 54)
		op_attach(di, true);
	else if (v < 80)
		op_detach(di);
	else if (v < 88)
		op_unbind(di);
	else
		op_bind(di);
	if (R->cur != keep) {
		/* A device of another context: check that one here. */
		verify_touched();
		R->cur = keep;
	} else if (!R->failed) {
		check_coherency(keep);
	}
}

/* ---------------------------------------------------------------------
 * Audit: prove each mapping of the model present, whole and alone.
 */
static void audit_copy(uint32_t scratch, uint32_t src, uint64_t iova, uint64_t len,
		       bool exists, uint64_t *copied)
{
	struct ioasid_copy cmd = { .size = sizeof(cmd) };
	int rc;

	cmd.flags = IOASID_MAP_READ;
	cmd.dst_ioasid = scratch;
	cmd.src_ioasid = src;
	cmd.src_iova = iova;
	cmd.length = len;
	rc = xioctl(C(R->cur)->fd, IOASID_COPY, &cmd);
	if (exists && rc)
		mismatch("audit: IOASID %u has no mapping of %#lx-%#lx: COPY failed with %s",
			 src, iova, iova + len - 1, errname(errno));
	else if (!exists && (!rc || errno != ENOENT))
		mismatch("audit: COPY of %#lx-%#lx of IOASID %u (no one mapping): %s",
			 iova, iova + len - 1, src,
			 rc ? errname(errno) : "success");
	if (!rc)
		*copied += len;
}

static void op_audit(void)
{
	struct ioasid_unmap un = { .size = sizeof(un), .flags = IOASID_UNMAP_ALL };
	struct ioasid_destroy des = { .size = sizeof(des) };
	struct ioasid_alloc al = { .size = sizeof(al) };
	int c = R->cur, i, checked = 0;
	uint64_t copied = 0, iova;
	uint32_t scratch, id;
	struct space *sp;

	tot.audits++;
	verify_all();
	scratch = lowest_free(c);
	if (R->failed || !scratch || C(c)->fd < 0)
		return;
	if (xioctl(C(c)->fd, IOASID_ALLOC, &al) || al.out_ioasid != scratch) {
		mismatch("audit: ALLOC failed (%s) or gave id %u, not %u", errname(errno),
			 al.out_ioasid, scratch);
		return;
	}
	C(c)->type[scratch] = OBJ_SPACE;
	C(c)->sp[scratch] = calloc(1, sizeof(struct space));
	for (id = 1; id < MAX_IDS && !R->failed; id++) {
		sp = space_at(c, id);
		if (!sp || id == scratch)
			continue;
		for (i = 0; i < sp->n && checked < 64 && !R->failed; i++, checked++) {
			struct mapping *m = &sp->m[i];

			audit_copy(scratch, id, m->iova, m->len, true, &copied);
			if (m->iova + m->len + PAGE - 1 > m->iova)
				audit_copy(scratch, id, m->iova, m->len + PAGE, false, &copied);
			if (m->iova >= PAGE)
				audit_copy(scratch, id, m->iova - PAGE, m->len + PAGE, false,
					   &copied);
		}
		iova = WIN_BASE + pick(WIN_PAGES) * PAGE;
		if (overlap(sp, iova, iova + PAGE - 1) < 0)
			audit_copy(scratch, id, iova, PAGE, false, &copied);
	}
	un.ioasid = scratch;
	if (xioctl(C(c)->fd, IOASID_UNMAP, &un))
		mismatch("audit: UNMAP_ALL of the scratch IOASID failed: %s", errname(errno));
	else if (un.length != copied)
		mismatch("audit: UNMAP_ALL of the scratch IOASID removed %#llx bytes of %#lx",
			 un.length, copied);
	des.id = scratch;
	if (xioctl(C(c)->fd, IOASID_DESTROY, &des))
		mismatch("audit: DESTROY of the scratch IOASID failed: %s", errname(errno));
	space_free(c, scratch);
	verify_all();
}

/* ---------------------------------------------------------------------
 * fork, and closing the context.
 */
static int fork_child(void)
{
	struct ioasid_info info = { .size = sizeof(info) };
	struct ioasid_destroy des = { .size = sizeof(des) };
	int c = R->cur, i;
	uint32_t id;

	if (C(c)->fd >= 0) {
		for (id = 1; id < MAX_IDS + 2; id++)
			check_ranges(c, id);
		if (ioctl(C(c)->fd, IOASID_GET_INFO, &info) || info.caps != info_caps)
			mismatch("fork child: GET_INFO");
		des.id = lowest_free(c);
		if (des.id && (!ioctl(C(c)->fd, IOASID_DESTROY, &des) || errno != ENOENT))
			mismatch("fork child: DESTROY of free id %u", des.id);
		close(C(c)->fd);
	}
	for (i = 0; i < MAX_DEVS; i++)
		if (R->dev[i].fd >= 0)
			close(R->dev[i].fd);
	close(R->probe_fd);
	return R->failed ? 3 : 0;
}

static void op_fork(void)
{
	int status, i;
	pid_t pid;

	tot.forks++;
	note("FORK: the child checks the context, closes its files and exits");
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		mismatch("fork: %s", strerror(errno));
		return;
	}
	if (!pid)
		_exit(fork_child());
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		mismatch("the forked child failed (status %#x)", status);
		return;
	}
	verify_all();
	for (i = 0; i < ndevs && !R->failed; i++)
		if (R->dev[i].fd >= 0 && dma_space(i) && R->dma_left > 0)
			R->dma_left -= dma_reach(i);
}

static void op_reopen(void)
{
	int c = R->cur, n, slot;

	for (slot = 0; slot < MAX_CTX && C(slot)->used; slot++)
		;
	if (slot == MAX_CTX || C(c)->fd < 0)
		return;
	tot.reopens++;
	n = devices_bound(c);
	note("CLOSE context %d (%d IOASIDs, %d devices bound) and open another", c,
	     nspaces(c), n);
	close(C(c)->fd);
	C(c)->fd = -1;
	if (!n)
		ctx_release(c);
	C(slot)->used = true;
	C(slot)->fd = open("/dev/ioasid", O_RDWR | O_CLOEXEC);
	if (C(slot)->fd < 0) {
		mismatch("cannot open /dev/ioasid: %s", strerror(errno));
		return;
	}
	R->cur = slot;
	verify_all();
}

/* ---------------------------------------------------------------------
 * Two threads on the same IOASIDs.
 */
struct worker {
	pthread_t thread;
	struct rng rng;
	int fd;
	bool main;
	int nids;
	uint32_t ids[MAX_SPACES];
	uint32_t sflags[MAX_SPACES];
	bool conflict[MAX_SPACES];
	int64_t delta[MAX_SPACES];	/* bytes mapped minus unmapped */
	unsigned long todo, ops, ok, failed;
	unsigned long err[MAX_ERRNO];
	char why[400];
	char ring[8][200];
	unsigned int rpos;
	struct {
		int slot;
		uint64_t iova, len;
	} own[16];
	int nown;
};

static int phase_stop;

static uint32_t wpick(struct worker *t, uint32_t n)
{
	return below(&t->rng, n);
}

static __printf(2, 3) void wnote(struct worker *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->ring[t->rpos++ % 8], sizeof(t->ring[0]), fmt, ap);
	va_end(ap);
}

static __printf(2, 3) void wfail(struct worker *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->why[0]) {
		va_start(ap, fmt);
		vsnprintf(t->why, sizeof(t->why), fmt, ap);
		va_end(ap);
	}
	__atomic_store_n(&phase_stop, 1, __ATOMIC_RELAXED);
}

static bool wcheck(struct worker *t, const char *desc, int rc, int err,
		   const struct want *w)
{
	bool right = rc ? rc == -1 && want_has(w, err) : w->ok;
	char allowed[160];

	count_answer(&t->ok, &t->failed, t->err, rc, err);
	wnote(t, "%s -> %s", desc, rc ? errname(err) : "0");
	if (!right) {
		want_str(w, allowed, sizeof(allowed));
		wfail(t, "%s: the kernel answered %s, allowed under concurrency: %s", desc,
		      rc ? errname(err) : "success", allowed);
	}
	return right;
}

/* Fixed or kernel-chosen maps in the window, which both threads share. */
static void conc_map(struct worker *t, int slot, bool fixed)
{
	struct ioasid_map cmd = { .size = sizeof(cmd) };
	int n = 1 + wpick(t, 4), s = wpick(t, POOL_PAGES - n + 1), rc;
	struct want w;
	char d[160];

	want_init(&w);
	cmd.flags = wpick(t, 4) ? RW : IOASID_MAP_READ;
	if (fixed) {
		cmd.flags |= IOASID_MAP_FIXED_IOVA;
		cmd.iova = WIN_BASE + wpick(t, WIN_PAGES - n + 1) * PAGE;
		may_fail(&w, EEXIST);
	}
	cmd.ioasid = t->ids[slot];
	cmd.user_va = (uintptr_t)page_va(s);
	cmd.length = n * PAGE;
	if (R->limited)
		may_fail(&w, ENOMEM);
	if (user_fault(cmd.user_va, cmd.length, cmd.flags & IOASID_MAP_WRITE))
		must_fail(&w, EFAULT);
	snprintf(d, sizeof(d), "MAP IOASID %u pool page %d len %#llx flags %#x iova %#llx",
		 cmd.ioasid, s, cmd.length, cmd.flags, cmd.iova);
	rc = xioctl(t->fd, IOASID_MAP, &cmd);
	if (!wcheck(t, d, rc, errno, &w) || rc)
		return;
	if (!fixed && cmd.iova % chosen_align(cmd.user_va, cmd.length))
		wfail(t, "%s: kernel-chosen IOVA %#llx is not aligned", d, cmd.iova);
	t->delta[slot] += cmd.length;
	if (t->nown < (int)ARRAY_SIZE(t->own)) {
		t->own[t->nown].slot = slot;
		t->own[t->nown].iova = cmd.iova;
		t->own[t->nown++].len = cmd.length;
	}
}

static void conc_unmap(struct worker *t, int slot, int how)
{
	struct ioasid_unmap cmd = { .size = sizeof(cmd) };
	struct want w;
	uint64_t room;
	char d[160];
	int rc, k;

	want_init(&w);
	if (how == 0 && t->nown) {
		k = wpick(t, t->nown);
		slot = t->own[k].slot;
		cmd.iova = t->own[k].iova;
		cmd.length = t->own[k].len;
		t->own[k] = t->own[--t->nown];
	} else if (how == 2) {
		cmd.flags = IOASID_UNMAP_ALL;
	} else {
		cmd.iova = WIN_BASE + wpick(t, WIN_PAGES) * PAGE;
		cmd.length = (1 + wpick(t, 12)) * PAGE;
	}
	room = cmd.length;
	cmd.ioasid = t->ids[slot];
	if (!cmd.flags) {
		may_fail(&w, ENOENT);
		may_fail(&w, EINVAL);
	}
	snprintf(d, sizeof(d), "UNMAP IOASID %u flags %#x iova %#llx len %#llx",
		 cmd.ioasid, cmd.flags, cmd.iova, cmd.length);
	rc = xioctl(t->fd, IOASID_UNMAP, &cmd);
	if (!wcheck(t, d, rc, errno, &w) || rc)
		return;
	if (cmd.length % PAGE || (!cmd.flags && (!cmd.length || cmd.length > room)))
		wfail(t, "%s: removed %#llx bytes", d, cmd.length);
	t->delta[slot] -= cmd.length;
}

static void conc_copy(struct worker *t, int src, int dst)
{
	struct ioasid_copy cmd = { .size = sizeof(cmd) };
	struct want w;
	char d[160];
	int rc;

	want_init(&w);
	cmd.flags = wpick(t, 2) ? RW : IOASID_MAP_READ;
	if (wpick(t, 2)) {
		cmd.flags |= IOASID_MAP_FIXED_IOVA;
		cmd.dst_iova = WIN_BASE + wpick(t, WIN_PAGES - 1) * PAGE;
		may_fail(&w, EEXIST);
	}
	cmd.src_ioasid = t->ids[src];
	cmd.dst_ioasid = t->ids[dst];
	cmd.src_iova = WIN_BASE + wpick(t, WIN_PAGES - 1) * PAGE;
	cmd.length = (1 + wpick(t, 2)) * PAGE;
	may_fail(&w, ENOENT);
	if (cmd.flags & IOASID_MAP_WRITE)
		may_fail(&w, EPERM);
	snprintf(d, sizeof(d), "COPY IOASID %u %#llx len %#llx to IOASID %u flags %#x",
		 cmd.src_ioasid, cmd.src_iova, cmd.length, cmd.dst_ioasid, cmd.flags);
	rc = xioctl(t->fd, IOASID_COPY, &cmd);
	if (!wcheck(t, d, rc, errno, &w) || rc)
		return;
	if ((cmd.flags & IOASID_MAP_FIXED_IOVA) &&
	    (cmd.dst_iova < WIN_BASE || cmd.dst_iova >= WIN_BASE + WIN_PAGES * PAGE))
		wfail(t, "%s: answered IOVA %#llx", d, cmd.dst_iova);
	t->delta[dst] += cmd.length;
}

/* The ranges, unattached or attached: a device may be moving. */
static void conc_ranges(struct worker *t, int slot)
{
	struct ioasid_iova_range got[MAX_RANGES];
	struct ioasid_iova_ranges cmd = { .size = sizeof(cmd) };
	bool plain, dev;
	struct want w;
	char d[80];
	int rc, i;

	want_init(&w);
	cmd.ioasid = t->ids[slot];
	cmd.num_ranges = MAX_RANGES;
	cmd.ranges = (uintptr_t)got;
	snprintf(d, sizeof(d), "IOVA_RANGES IOASID %u", cmd.ioasid);
	rc = xioctl(t->fd, IOASID_IOVA_RANGES, &cmd);
	if (!wcheck(t, d, rc, errno, &w) || rc)
		return;
	plain = cmd.num_ranges == 1 && !got[0].start && got[0].last == UINT64_MAX;
	dev = ndevr && (int)cmd.num_ranges == ndevr;
	for (i = 0; dev && i < ndevr; i++)
		dev = got[i].start == devr[i].start && got[i].last == devr[i].last;
	if (!plain && !dev)
		wfail(t, "%s: %u ranges, neither those of an IOASID with a device nor without",
		      d, cmd.num_ranges);
}

static void conc_coherency(struct worker *t, int slot)
{
	struct ioasid_coherency cmd = { .size = sizeof(cmd) };
	uint32_t flags = t->sflags[slot] & IOASID_ALLOC_REQUIRE_COHERENCY ?
			 IOASID_COHERENCY_REQUIRED : 0;
	struct want w;
	char d[80];
	int rc;

	want_init(&w);
	cmd.ioasid = t->ids[slot];
	snprintf(d, sizeof(d), "COHERENCY IOASID %u", cmd.ioasid);
	rc = xioctl(t->fd, IOASID_COHERENCY, &cmd);
	if (wcheck(t, d, rc, errno, &w) && !rc &&
	    !coherency_right(&cmd, 0, ndevs, flags))
		wfail(t, "%s: flags %#x, %u domains, %u non-coherent", d, cmd.out_flags,
		      cmd.out_domains, cmd.out_noncoherent_domains);
}

/* An IOASID of the thread's own: allocated, used and destroyed. */
static void conc_private(struct worker *t)
{
	struct ioasid_alloc al = { .size = sizeof(al) };
	struct ioasid_map map = { .size = sizeof(map) };
	struct ioasid_unmap un = { .size = sizeof(un), .flags = IOASID_UNMAP_ALL };
	struct ioasid_destroy des = { .size = sizeof(des) };
	int n = 1 + wpick(t, 4), i, rc;
	uint64_t mapped = 0;
	struct want w;
	char d[120];

	want_init(&w);
	al.flags = wpick(t, 2) ? IOASID_ALLOC_ACCOUNT_MM : 0;
	rc = xioctl(t->fd, IOASID_ALLOC, &al);
	if (!wcheck(t, "ALLOC a private IOASID", rc, errno, &w) || rc)
		return;
	for (i = 0; i < t->nids; i++)
		if (t->ids[i] == al.out_ioasid || !al.out_ioasid)
			wfail(t, "ALLOC gave id %u, which is in use", al.out_ioasid);
	map.flags = RW | IOASID_MAP_FIXED_IOVA;
	map.ioasid = al.out_ioasid;
	map.user_va = (uintptr_t)page_va(wpick(t, POOL_PAGES - n + 1));
	map.length = n * PAGE;
	map.iova = WIN_BASE;
	if (R->limited)
		may_fail(&w, ENOMEM);
	if (user_fault(map.user_va, map.length, true))
		must_fail(&w, EFAULT);
	snprintf(d, sizeof(d), "MAP private IOASID %u len %#llx", map.ioasid, map.length);
	rc = xioctl(t->fd, IOASID_MAP, &map);
	if (wcheck(t, d, rc, errno, &w) && !rc)
		mapped = map.length;
	want_init(&w);
	un.ioasid = al.out_ioasid;
	rc = xioctl(t->fd, IOASID_UNMAP, &un);
	if (wcheck(t, "UNMAP_ALL private", rc, errno, &w) && !rc && un.length != mapped)
		wfail(t, "UNMAP_ALL of a private IOASID removed %#llx bytes of %#lx",
		      un.length, mapped);
	des.id = al.out_ioasid;
	rc = xioctl(t->fd, IOASID_DESTROY, &des);
	wcheck(t, "DESTROY private", rc, errno, &w);
}

/* The main thread moves devices meanwhile; their state is its own. */
static void conc_device(struct worker *t)
{
	int di = wpick(t, ndevs), slot = wpick(t, t->nids), rc;
	struct device *d = &R->dev[di];
	unsigned int v = wpick(t, 3);
	uint32_t id = t->ids[slot];
	struct want w;
	char desc[100];

	if (d->fd < 0 || d->ctx != R->cur)
		return;
	want_init(&w);
	if (v == 2) {
		rc = detach_dev(d, 8, 0);
		if (wcheck(t, "DETACH", rc, errno, &w) && !rc)
			d->space = 0;
		return;
	}
	want_attach(di, id, v, t->conflict[slot], &w);
	snprintf(desc, sizeof(desc), "%s device %d (on %u) to IOASID %u",
		 v ? "REPLACE" : "ATTACH", di, d->space, id);
	rc = attach_dev(d, sizeof(struct vfio_device_attach_ioasid),
			v ? VFIO_DEVICE_ATTACH_IOASID_REPLACE : 0, id, 0);
	if (wcheck(t, desc, rc, errno, &w) && !rc)
		d->space = id;
}

static void conc_op(struct worker *t)
{
	int slot = wpick(t, t->nids);
	unsigned int v = wpick(t, 100);

	if (v < 28)
		conc_map(t, slot, true);
	else if (v < 40)
		conc_map(t, slot, false);
	else if (v < 54)
		conc_unmap(t, slot, 0);
	else if (v < 68)
		conc_unmap(t, slot, 1);
	else if (v < 71)
		conc_unmap(t, slot, 2);
	else if (v < 83)
		conc_copy(t, slot, wpick(t, t->nids));
	else if (v < 88)
		conc_ranges(t, slot);
	else if (v < 91)
		conc_coherency(t, slot);
	else if (v < 96 || !t->main || !ndevs)
		conc_private(t);
	else
		conc_device(t);
}

static void *worker_run(void *arg)
{
	struct worker *t = arg;

	while (t->ops < t->todo && !__atomic_load_n(&phase_stop, __ATOMIC_RELAXED)) {
		conc_op(t);
		t->ops++;
	}
	return NULL;
}

static void merge_worker(struct worker *t)
{
	int i;

	tot.fuzzed += t->ok + t->failed;
	tot.ok += t->ok;
	tot.failed += t->failed;
	for (i = 0; i < MAX_ERRNO; i++)
		tot.err[i] += t->err[i];
	if (!t->why[0])
		return;
	mismatch("%s thread: %s", t->main ? "main" : "second", t->why);
	printf("# its last calls:\n");
	for (i = 0; i < 8; i++)
		if (t->ring[(t->rpos + i) % 8][0])
			printf("#   %s\n", t->ring[(t->rpos + i) % 8]);
}

static void op_phase(unsigned long todo)
{
	static struct worker wk[2];
	struct ioasid_unmap un = { .size = sizeof(un), .flags = IOASID_UNMAP_ALL };
	int c = R->cur, i, n = 0;
	uint64_t want;
	uint32_t id;

	while (nspaces(c) < 3 && lowest_free(c) && !R->failed)
		op_alloc();
	if (R->failed || C(c)->fd < 0)
		return;
	tot.phases++;
	memset(wk, 0, sizeof(wk));
	for (id = 1; id < MAX_IDS; id++) {
		if (!space_at(c, id))
			continue;
		for (i = 0; i < 2; i++) {
			wk[i].ids[n] = id;
			wk[i].sflags[n] = space_at(c, id)->flags;
			wk[i].conflict[n] = conflicts(space_at(c, id));
		}
		n++;
	}
	note("THREADS: two threads on %d IOASIDs, %lu calls each", n, todo);
	for (i = 0; i < 2; i++) {
		wk[i].nids = n;
		wk[i].fd = C(c)->fd;
		wk[i].main = !i;
		wk[i].todo = todo;
		wk[i].rng.s = rnd(&R->rng);
	}
	phase_stop = 0;
	if (pthread_create(&wk[1].thread, NULL, worker_run, &wk[1])) {
		mismatch("pthread_create failed");
		return;
	}
	worker_run(&wk[0]);
	pthread_join(wk[1].thread, NULL);
	tot.thread_ops += wk[1].ops;
	R->op += wk[0].ops;
	tot.ops += wk[0].ops;
	for (i = 0; i < 2; i++)
		merge_worker(&wk[i]);
	if (R->failed)
		return;
	/* What is left is what both threads mapped and unmapped. */
	for (i = 0; i < n && !R->failed; i++) {
		id = wk[0].ids[i];
		check_ranges(c, id);
		want = space_bytes(space_at(c, id)) + wk[0].delta[i] + wk[1].delta[i];
		un.ioasid = id;
		un.length = 0;
		if (xioctl(C(c)->fd, IOASID_UNMAP, &un))
			mismatch("after the threads: UNMAP_ALL of IOASID %u failed: %s", id,
				 errname(errno));
		else if (un.length != want)
			mismatch("after the threads: IOASID %u held %#llx bytes, not %#lx",
				 id, un.length, want);
		space_clear(c, id);
	}
	note("THREADS joined: %lu + %lu calls; every IOASID emptied as accounted",
	     wk[0].ops, wk[1].ops);
	verify_all();
}

/* ---------------------------------------------------------------------
 * Runs.
 */
static bool set_ipc_lock(bool on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	unsigned int i = CAP_TO_INDEX(CAP_IPC_LOCK), mask = CAP_TO_MASK(CAP_IPC_LOCK);

	if (syscall(SYS_capget, &hdr, data) || !(data[i].permitted & mask))
		return false;
	if (on)
		data[i].effective |= mask;
	else
		data[i].effective &= ~mask;
	return !syscall(SYS_capset, &hdr, data);
}

static bool has_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	unsigned int i = CAP_TO_INDEX(CAP_IPC_LOCK);

	return !syscall(SYS_capget, &hdr, data) &&
	       (data[i].effective & CAP_TO_MASK(CAP_IPC_LOCK));
}

/*
 * Whether the usable ranges of an IOASID with the device attached are its
 * aperture less its reserved regions, as IOASID_DEVICE_INFO has them.
 */
static bool ranges_agree(const struct ioasid_device_info *di,
			 const struct ioasid_iova_range *resv, int nresv,
			 const struct ioasid_iova_range *r, int nr)
{
	uint64_t cur = di->out_aperture_start, next;
	int i, j, n = 0;
	bool more = true;

	while (more) {
		/* The lowest reserved region reaching cur or above. */
		next = UINT64_MAX;
		j = -1;
		for (i = 0; i < nresv; i++)
			if (resv[i].last >= cur && (j < 0 || resv[i].start < next)) {
				next = resv[i].start;
				j = i;
			}
		if (j < 0 || next > di->out_aperture_last) {
			if (n >= nr || r[n].start != cur || r[n].last != di->out_aperture_last)
				return false;
			return n + 1 == nr;
		}
		if (next > cur) {
			if (n >= nr || r[n].start != cur || r[n].last != next - 1)
				return false;
			n++;
		}
		more = resv[j].last < di->out_aperture_last;
		cur = resv[j].last + 1;
	}
	return n == nr;
}

/* The ranges of an IOASID with edu attached, read once per run. */
static bool probe_device(void)
{
	struct ioasid_iova_ranges cmd = { .size = sizeof(cmd) };
	struct ioasid_alloc al = { .size = sizeof(al) };
	struct device d = { .fd = -1 };
	uint32_t id, devid;
	bool ok = false;
	int fd, i;

	fd = open("/dev/ioasid", O_RDWR | O_CLOEXEC);
	d.fd = open(dev_path[0], O_RDWR | O_CLOEXEC);
	if (fd < 0 || d.fd < 0 || xioctl(fd, IOASID_ALLOC, &al))
		goto out;
	id = al.out_ioasid;
	if (bind_dev(d.fd, fd, 16, 0, &devid))
		goto out;
	dinfo = (struct ioasid_device_info) {
		.size = sizeof(dinfo), .dev_id = devid, .num_reserved = MAX_RANGES,
		.reserved = (uintptr_t)dresv,
	};
	if (xioctl(fd, IOASID_DEVICE_INFO, &dinfo) || attach_dev(&d, 16, 0, id, 0))
		goto out;
	ndresv = dinfo.num_reserved;
	cmd.ioasid = id;
	cmd.num_ranges = MAX_RANGES;
	cmd.ranges = (uintptr_t)devr;
	if (xioctl(fd, IOASID_IOVA_RANGES, &cmd))
		goto out;
	ndevr = cmd.num_ranges;
	dev_align = cmd.out_iova_alignment;
	ok = ndevr >= 1 && devr[0].start == 0 && dev_align >= PAGE &&
	     ranges_agree(&dinfo, dresv, ndresv, devr, ndevr) &&
	     dev_align == (dinfo.out_pgsizes & -dinfo.out_pgsizes) &&
	     !(dinfo.out_flags & IOASID_DEVICE_INFO_COHERENT) == !snoop;
	/* The MSI window is reserved for every device of an x86 IOMMU. */
	for (i = 0; i < ndevr; i++) {
		if (devr[i].start <= MSI_LAST && devr[i].last >= MSI_START)
			ok = false;
		if (i && devr[i].start <= devr[i - 1].last)
			ok = false;
	}
	if (!ok) {
		printf("# probe: DEVICE_INFO flags %#x, pgsizes %#llx, aperture %#llx-%#llx\n",
		       dinfo.out_flags, dinfo.out_pgsizes, dinfo.out_aperture_start,
		       dinfo.out_aperture_last);
		for (i = 0; i < ndresv; i++)
			printf("# probe: reserved %#llx-%#llx\n", dresv[i].start, dresv[i].last);
		for (i = 0; i < ndevr; i++)
			printf("# probe: usable once attached %#llx-%#llx\n", devr[i].start,
			       devr[i].last);
		printf("# probe: IOVA alignment %#lx\n", dev_align);
	}
out:
	if (d.fd >= 0)
		close(d.fd);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The memfd of the file maps, its pages filled, with a shared view. */
static bool file_setup(void)
{
	char path[40];
	int i;

	R->memfd = memfd_create("ioasid_fuzz", MFD_CLOEXEC);
	if (R->memfd < 0 || ftruncate(R->memfd, FILE_PAGES * PAGE))
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", R->memfd);
	R->memfd_ro = open(path, O_RDONLY | O_CLOEXEC);
	if (R->memfd_ro < 0)
		return false;
	R->fview = mmap(NULL, FILE_PAGES * PAGE, PROT_READ | PROT_WRITE,
			MAP_SHARED, R->memfd, 0);
	if (R->fview == MAP_FAILED)
		return false;
	for (i = POOL_PAGES; i < NPAGES; i++)
		memset(page_va(i), 0x20 + i, PAGE);
	return true;
}

static bool run_setup(uint64_t seed, unsigned long nops)
{
	int i, p, n;

	R = calloc(1, sizeof(*R));
	R->seed = seed;
	R->nops = nops;
	R->rng.s = seed * 0x2545f4914f6cdd1dULL + 1;
	ring_pos = 0;
	R->probe_fd = -1;
	R->memfd = -1;
	R->memfd_ro = -1;
	R->fview = MAP_FAILED;
	for (i = 0; i < MAX_CTX; i++)
		R->ctx[i].fd = -1;
	for (i = 0; i < MAX_DEVS; i++)
		R->dev[i].fd = -1;
	R->region = mmap(NULL, (POOL_PAGES + 2 * GUARD_PAGES) * PAGE,
			 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (R->region == MAP_FAILED)
		return false;
	R->guard_lo = R->region;
	R->pool = R->region + GUARD_PAGES * PAGE;
	R->guard_hi = R->pool + POOL_PAGES * PAGE;
	if (mprotect(R->guard_lo, GUARD_PAGES * PAGE, PROT_NONE) ||
	    mprotect(R->guard_hi, GUARD_PAGES * PAGE, PROT_NONE))
		return false;
	/* Small pages, each present: a large folio counts its pins as one. */
	madvise(R->pool, POOL_PAGES * PAGE, MADV_NOHUGEPAGE);
	for (i = 0; i < POOL_PAGES; i++)
		memset(page_va(i), 0x20 + i, PAGE);
	for (n = 0; n < 2; n++) {
		p = pick(POOL_PAGES);
		R->hole[p] = true;
		if (munmap(page_va(p), PAGE))
			return false;
	}
	for (n = 0; n < 2; n++) {
		p = pick(POOL_PAGES - 1);
		for (i = p + 1 + pick(2); i-- > p;) {
			if (R->hole[i])
				continue;
			R->ro[i] = true;
			if (mprotect(page_va(i), PAGE, PROT_READ))
				return false;
		}
	}
	if (!file_setup())
		return false;
	R->probe_fd = open("/dev/ioasid", O_RDWR | O_CLOEXEC);
	if (R->probe_fd < 0)
		return false;
	if (have_test && !read_charges(&R->base_user, &R->base_mm))
		return false;
	R->base_vmpin = vm_pin_kb();
	getrlimit(RLIMIT_MEMLOCK, &R->old_limit);
	if (!has_ipc_lock()) {
		R->limited = R->old_limit.rlim_cur != RLIM_INFINITY;
		R->limit = R->old_limit.rlim_cur / PAGE;
	} else if (have_test && odds(50)) {
		struct rlimit rl = R->old_limit;

		R->limit = (R->base_user > R->base_mm ? R->base_user : R->base_mm) +
			   24 + pick(40);
		rl.rlim_cur = R->limit * PAGE;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		R->limit = rl.rlim_cur / PAGE;
		R->limited = !setrlimit(RLIMIT_MEMLOCK, &rl) && set_ipc_lock(false);
		R->cap_dropped = R->limited;
		if (!R->limited)
			printf("# seed %lu: cannot drop CAP_IPC_LOCK for RLIMIT_MEMLOCK: %s\n",
			       seed, strerror(errno));
	}
	C(0)->used = true;
	C(0)->fd = open("/dev/ioasid", O_RDWR | O_CLOEXEC);
	if (C(0)->fd < 0)
		return false;
	R->dma_budget = ndevs ? 6 + nops / 400 : 0;
	R->dma_left = R->dma_budget;
	R->next_audit = 300 + pick(200);
	for (i = 0; i < 4; i++) {
		R->fork_at[i] = i < 1 + (int)(nops / 1500) ? pick(nops) : ULONG_MAX;
		R->reopen_at[i] = i < 1 + (int)(nops / 1500) ? pick(nops) : ULONG_MAX;
	}
	R->phase_at = nops >= 200 ? nops / 4 + pick(nops / 2) : ULONG_MAX;
	return true;
}

/* Tear down through the interface, checking, then close everything. */
static void run_teardown(void)
{
	struct ioasid_unmap un = { .size = sizeof(un), .flags = IOASID_UNMAP_ALL };
	struct ioasid_destroy des = { .size = sizeof(des) };
	int c, i;
	uint32_t id;

	if (!R->failed)
		op_audit();
	for (i = 0; i < ndevs && !R->failed; i++)
		if (R->dev[i].fd >= 0)
			op_unbind(i);
	c = R->cur;
	for (id = 1; id < MAX_IDS && !R->failed && C(c)->fd >= 0; id++) {
		if (!space_at(c, id))
			continue;
		un.ioasid = id;
		un.length = 0;
		if (xioctl(C(c)->fd, IOASID_UNMAP, &un) ||
		    un.length != space_bytes(space_at(c, id)))
			mismatch("teardown: UNMAP_ALL of IOASID %u", id);
		space_clear(c, id);
		des.id = id;
		if (xioctl(C(c)->fd, IOASID_DESTROY, &des))
			mismatch("teardown: DESTROY of IOASID %u: %s", id, errname(errno));
		space_free(c, id);
	}
	if (!R->failed)
		verify_all();
	for (i = 0; i < MAX_DEVS; i++)
		if (R->dev[i].fd >= 0)
			close(R->dev[i].fd);
	for (i = 0; i < MAX_CTX; i++) {
		if (R->ctx[i].fd >= 0)
			close(R->ctx[i].fd);
		if (R->ctx[i].used)
			ctx_release(i);
	}
	/* Nothing may stay pinned or charged once every file is closed. */
	if (!R->failed && have_test) {
		check_charges();
		for (i = 0; i < NPAGES && !R->failed; i++)
			check_pins(i);
	}
	if (R->cap_dropped)
		set_ipc_lock(true);
	setrlimit(RLIMIT_MEMLOCK, &R->old_limit);
	if (R->probe_fd >= 0)
		close(R->probe_fd);
	munmap(R->region, (POOL_PAGES + 2 * GUARD_PAGES) * PAGE);
	if (R->fview != MAP_FAILED)
		munmap(R->fview, FILE_PAGES * PAGE);
	if (R->memfd_ro >= 0)
		close(R->memfd_ro);
	if (R->memfd >= 0)
		close(R->memfd);
}

static void one_op(void)
{
	unsigned int v;
	int i, di;

	/* The phase of two threads moves R->op on: >=, and once each. */
	for (i = 0; i < 4; i++) {
		if (R->op >= R->fork_at[i]) {
			R->fork_at[i] = ULONG_MAX;
			op_fork();
			return;
		}
		if (R->op >= R->reopen_at[i]) {
			R->reopen_at[i] = ULONG_MAX;
			op_reopen();
			return;
		}
	}
	if (R->op >= R->phase_at) {
		R->phase_at = ULONG_MAX;
		op_phase(R->nops / 10);
		return;
	}
	if (R->op >= R->next_audit) {
		R->next_audit = R->op + 400 + pick(200);
		op_audit();
		return;
	}
	if (ndevs && R->dma_left > 0 && pick(R->nops) < 2U * R->dma_budget) {
		/* An attached device first: it has more to check. */
		for (i = 0; i < 2 * ndevs; i++) {
			di = (R->op + i) % ndevs;
			if (R->dev[di].fd >= 0 && (i >= ndevs || dma_space(di)) && op_dma(di))
				return;
		}
	}
	v = pick(1000);
	if (ndevs && v < 130)
		op_device();
	else if (v < 190)
		op_alloc();
	else if (v < 240)
		op_destroy();
	else if (v < 480)
		op_map();
	else if (v < 580)
		op_copy();
	else if (v < 740)
		op_unmap(0);
	else if (info_caps & IOASID_CAP_VEC && v < 790)
		op_vec();
	else if (v < 830)
		op_ranges();
	else if (v < 860)
		op_coherency();
	else if (v < 875)
		op_info();
	else if (info_caps & IOASID_CAP_CHANGE_OWNER && v < 880)
		op_change_owner();
	else if (info_caps & IOASID_CAP_DIRTY_TRACKING && v < 888)
		op_dirty();
	else if (ndevs && info_caps & IOASID_CAP_MAP_DEVICE_MEMORY && v < 894)
		op_map_bar();
	else if (v < 899)
		op_bad_ioctl();
	else if (ndevs && v < 914)
		op_devinfo();
	else
		op_map();
}

static bool run(uint64_t seed, unsigned long nops)
{
	struct timespec t0, t1;
	char holes[64] = "", ro[64] = "";
	bool ok;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!run_setup(seed, nops)) {
		printf("# seed %lu: setup failed: %s\n", seed, strerror(errno));
		return false;
	}
	for (i = 0; i < POOL_PAGES; i++) {
		if (R->hole[i])
			snprintf(holes + strlen(holes), sizeof(holes) - strlen(holes), " %d", i);
		if (R->ro[i])
			snprintf(ro + strlen(ro), sizeof(ro) - strlen(ro), " %d", i);
	}
	printf("# seed %lu: %lu operations; pool holes%s, read-only%s; %s\n", seed, nops,
	       holes, ro, R->limited ? "RLIMIT_MEMLOCK applies" : "CAP_IPC_LOCK");
	if (R->limited)
		printf("# seed %lu: RLIMIT_MEMLOCK %lu pages; charged before: user %lu, mm %lu\n",
		       seed, R->limit, R->base_user, R->base_mm);
	if ((info_caps & (IOASID_CAP_COHERENCY | IOASID_CAP_DEVICE_INFO)) !=
	    (IOASID_CAP_COHERENCY | IOASID_CAP_DEVICE_INFO))
		mismatch("GET_INFO: caps %#lx lack COHERENCY or DEVICE_INFO", info_caps);
	if (ndevs && !probe_device())
		mismatch("edu: IOVA_RANGES once attached and DEVICE_INFO disagree");
	for (R->op = 0; R->op < nops && !R->failed; R->op++) {
		one_op();
		verify_touched();
		tot.ops++;
	}
	run_teardown();
	ok = !R->failed;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# seed %lu: %s after %lu operations, %.1f s\n", seed,
	       ok ? "passed" : "FAILED", R->op,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (!ok) {
		dump_ring();
		printf("# replay: ioasid_fuzz --seed %lu --ops %lu\n", seed, nops);
	}
	free(R);
	R = NULL;
	return ok;
}

/* The edu devices bound to vfio-pci, and their IOMMU groups. */
static void find_devices(void)
{
	char path[128], link[256], *slash;
	unsigned int vendor, device;
	ssize_t len;
	FILE *f;
	int i;

	for (i = 0; i < 8 && ndevs < MAX_DEVS; i++) {
		snprintf(path, sizeof(path), "/sys/class/vfio-dev/vfio%d/device/vendor", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		vendor = 0;
		if (fscanf(f, "%x", &vendor) != 1)
			vendor = 0;
		fclose(f);
		snprintf(path, sizeof(path), "/sys/class/vfio-dev/vfio%d/device/device", i);
		f = fopen(path, "r");
		device = 0;
		if (f) {
			if (fscanf(f, "%x", &device) != 1)
				device = 0;
			fclose(f);
		}
		if (vendor != 0x1234 || device != 0x11e8)
			continue;
		snprintf(path, sizeof(path), "/sys/class/vfio-dev/vfio%d/device/iommu_group", i);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		slash = strrchr(link, '/');
		dev_group[ndevs] = atoi(slash ? slash + 1 : link);
		snprintf(dev_path[ndevs], sizeof(dev_path[0]), "/dev/vfio/devices/vfio%d", i);
		ndevs++;
	}
}

static void bad_args(const char *prog)
{
	fprintf(stderr, "usage: %s [--seed S] [--ops N] [--runs R] [--verbose]\n"
		"  runs R seeds from S, N operations each; without arguments\n"
		"  seeds 1 to %d, %d operations each\n", prog, DEFAULT_RUNS, DEFAULT_OPS);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long ops = DEFAULT_OPS, runs = 0, r, failed = 0;
	uint64_t seed = 1;
	struct ioasid_test t = { .size = sizeof(t), .op = IOASID_TEST_OP_LOCKED_VM };
	struct ioasid_info info = { .size = sizeof(info) };
	struct timespec t0, t1;
	char errs[600] = "";
	int i, fd;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--verbose")) {
			verbose = true;
			continue;
		}
		if (i + 1 >= argc)
			bad_args(argv[0]);
		if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--ops"))
			ops = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--runs"))
			runs = strtoul(argv[++i], NULL, 0);
		else
			bad_args(argv[0]);
		if (!strcmp(argv[i - 1], "--seed") && !runs)
			runs = 1;
	}
	if (!runs)
		runs = DEFAULT_RUNS;

	ksft_print_header();
	fd = open("/dev/ioasid", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		ksft_exit_skip("no /dev/ioasid: %s\n", strerror(errno));
	have_test = !ioctl(fd, IOASID_TEST, &t);
	info_caps = ioctl(fd, IOASID_GET_INFO, &info) ? ~0UL : info.caps;
	close(fd);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	find_devices();
	snoop = iommu_kind().blocks_nosnoop == 1;
	ksft_set_plan(runs);
	printf("# ioasid_fuzz: %lu runs from seed %lu, %lu operations each; %d edu device(s)",
	       runs, seed, ops, ndevs);
	for (i = 0; i < ndevs; i++)
		printf(" %s (group %d)", dev_path[i], dev_group[i]);
	printf("; snoop control %s; %s\n", snoop ? "on" : "off",
	       have_test ? "IOASID_TEST: pins and charges checked" :
	       "no IOASID_TEST: pins and charges not checked");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (r = 0; r < runs; r++) {
		if (run(seed + r, ops)) {
			ksft_test_result_pass("seed %lu\n", seed + r);
		} else {
			failed++;
			ksft_test_result_fail("seed %lu\n", seed + r);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (i = 1; i < MAX_ERRNO; i++)
		if (tot.err[i])
			snprintf(errs + strlen(errs), sizeof(errs) - strlen(errs), " %s %lu",
				 errname(i), tot.err[i]);
	if (tot.err[0])
		snprintf(errs + strlen(errs), sizeof(errs) - strlen(errs), " other %lu",
			 tot.err[0]);
	printf("# figures: %lu runs (seeds %lu to %lu), %lu failed; %.1f s\n", runs, seed,
	       seed + runs - 1, failed,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("# figures: %lu operations (+%lu by the second thread), %lu ioctls in all\n",
	       tot.ops, tot.thread_ops, tot.calls);
	printf("# figures: %lu fuzzed calls: %lu succeeded, %lu failed:%s\n", tot.fuzzed,
	       tot.ok, tot.failed, errs);
	printf("# figures: %lu mismatches; DMA checks: %lu reached, %lu blocked\n",
	       tot.mismatches, tot.dma_reach, tot.dma_blocked);
	printf("# figures: %lu forks, %lu reopens, %lu audits, %lu two-thread phases\n",
	       tot.forks, tot.reopens, tot.audits, tot.phases);
	printf("# figures: %lu file maps, %lu vectored calls among the fuzzed calls\n",
	       tot.file_maps, tot.vecs);
	ksft_print_cnts();
	return failed ? KSFT_FAIL : KSFT_PASS;
}
