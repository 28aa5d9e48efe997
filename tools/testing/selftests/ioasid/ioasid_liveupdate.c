// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live update: a new VMM process takes over a context and its device
 * from the old one (IOASID_CHANGE_OWNER), as a cloud operator replaces
 * QEMU under a running guest.
 *
 * The old VMM (a child of the test) maps its guest RAM, a memfd, once by
 * file and once by a MAP_SHARED view, and attaches the edu device.  The
 * test plays the guest: a thread has edu copy a fresh pattern between the
 * two mappings again and again, checked after every transfer, from before
 * the switch until after it.  The new VMM is a freshly exec'd program: it
 * gets the ioasid and device files over a unix socket (SCM_RIGHTS), takes
 * ownership, and the old VMM exits.  No transfer may fail, no page may be
 * pinned again or left pinned, and the charge must end with the new VMM.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "ioasid_test.h"
#include "../../../../drivers/iommu/ioasid/ioasid_test.h"

#define PAGE		4096UL
#define RAM_PAGES	4
#define IOVA_FILE	0x100000UL	/* the memfd, mapped by file */
#define IOVA_VIEW	0x200000UL	/* the same memfd, by a shared view */
#define CDEV		"/dev/vfio/devices/vfio0"
#define NEW_VMM_ARG	"--new-vmm"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Pages charged to the caller's user (its locked_vm), or -1. */
static long long user_locked(int fd)
{
	struct ioasid_test cmd = { .size = sizeof(cmd),
				   .op = IOASID_TEST_OP_LOCKED_VM };

	return ioctl(fd, IOASID_TEST, &cmd) ? -1 : (long long)cmd.locked_vm.out_user;
}

/* VmPin of a process, in kB, or -1. */
static long vm_pin_of(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	return kb_field(path, "VmPin");
}

static int send_fds(int sock, const int *fds, int n)
{
	char byte = 0, ctl[CMSG_SPACE(4 * sizeof(int))] = {};
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fds(int sock, int *fds, int n)
{
	char byte, ctl[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *cm;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(n * sizeof(int)))
		return -1;
	memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
	return 0;
}

/* What the new VMM reports after its call. */
struct new_vmm_report {
	int rc;			/* 0, or the errno of IOASID_CHANGE_OWNER */
	unsigned long long pages;
	double call_start, call_end;
};

/*
 * The new VMM, exec'd: "--new-vmm SOCK MEMLOCK_KB".  It takes the files,
 * sets its RLIMIT_MEMLOCK (0: none) and drops CAP_IPC_LOCK so that the
 * limit holds, takes ownership, reports, and waits for a byte to exit.
 */
static int new_vmm(int sock, long memlock_kb)
{
	IOASID_CMD(ioasid_change_owner, cmd);
	struct new_vmm_report r = {};
	struct rlimit rl;
	int fds[2];
	char byte;

	if (recv_fds(sock, fds, 2))
		return 1;
	if (memlock_kb) {
		rl.rlim_cur = memlock_kb * 1024;
		rl.rlim_max = rl.rlim_cur;
		/* Becoming nobody drops CAP_IPC_LOCK; the files stay. */
		if (setrlimit(RLIMIT_MEMLOCK, &rl) || setuid(65534))
			return 2;
	}
	r.call_start = now();
	r.rc = ioctl(fds[0], IOASID_CHANGE_OWNER, &cmd) ? errno : 0;
	r.call_end = now();
	r.pages = cmd.out_pages;
	if (write(sock, &r, sizeof(r)) != sizeof(r))
		return 3;
	return read(sock, &byte, 1) == 1 ? 0 : 4;
}

/* The guest: edu copies the file mapping into the view, over and over. */
struct guest {
	struct edu dev;
	uint8_t *ram;		/* the test's own view of the memfd */
	atomic_bool stop;
	atomic_long transfers;
	long failures;
	double worst_gap;
};

static void *guest_dma(void *arg)
{
	struct guest *g = arg;
	double last = now(), t;
	uint8_t pattern = 1;

	while (!atomic_load(&g->stop)) {
		pattern = pattern % 250 + 1;
		memset(g->ram, pattern, DMA_LEN);
		memset(g->ram + PAGE, 0, DMA_LEN);
		/* From the file mapping's first page to the view's second. */
		if (!ram_to_dev(&g->dev, IOVA_FILE) ||
		    !dev_to_ram(&g->dev, IOVA_VIEW + PAGE) ||
		    !all_bytes(g->ram + PAGE, pattern)) {
			g->failures++;
			continue;
		}
		atomic_fetch_add(&g->transfers, 1);
		t = now();
		if (t - last > g->worst_gap)
			g->worst_gap = t - last;
		last = t;
	}
	return NULL;
}

/* The old VMM's mappings: one memfd by file and by a shared view. */
static int old_vmm_map(int fd, unsigned int ioasid, int mfd)
{
	IOASID_CMD(ioasid_map, by_file);
	IOASID_CMD(ioasid_map, by_view);
	void *view;

	view = mmap(NULL, RAM_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    mfd, 0);
	if (view == MAP_FAILED)
		return -1;
	by_file.flags = IOASID_MAP_READ | IOASID_MAP_WRITE |
			IOASID_MAP_FIXED_IOVA | IOASID_MAP_FILE;
	by_file.ioasid = ioasid;
	by_file.fd = mfd;
	by_file.length = RAM_PAGES * PAGE;
	by_file.iova = IOVA_FILE;
	by_view.flags = IOASID_MAP_READ | IOASID_MAP_WRITE |
			IOASID_MAP_FIXED_IOVA;
	by_view.ioasid = ioasid;
	by_view.user_va = (uintptr_t)view;
	by_view.length = RAM_PAGES * PAGE;
	by_view.iova = IOVA_VIEW;
	return ioctl(fd, IOASID_MAP, &by_file) ||
	       ioctl(fd, IOASID_MAP, &by_view);
}

FIXTURE(live) {
	int sock[2];		/* test <-> old VMM */
	int newsock[2];		/* test <-> new VMM */
	pid_t old, new;
	int fd, dev;		/* the files, as the old VMM sent them */
	int mfd;
	struct guest guest;
	pthread_t guest_thread;
	long long pins;
	long long user;		/* root's locked_vm before the old VMM */
};

FIXTURE_VARIANT(live) {
	bool account_mm;	/* IOASID_ALLOC_ACCOUNT_MM, else the user's */
};

FIXTURE_VARIANT_ADD(live, mm) {
	.account_mm = true,
};

FIXTURE_VARIANT_ADD(live, user) {
	.account_mm = false,
};

/*
 * The old VMM: its context, IOASID, mappings and device, sent to the test
 * and the new VMM; then it waits to be told to exit (or killed).
 */
static void old_vmm(int sock, int mfd, bool account_mm)
{
	IOASID_CMD(ioasid_alloc, alloc);
	struct edu dev = {};
	int fd, fds[2];
	char byte;

	/* It goes with the test, whatever ends it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		_exit(5);

	fd = ioasid_open();
	alloc.flags = account_mm ? IOASID_ALLOC_ACCOUNT_MM : 0;
	if (fd < 0 || ioctl(fd, IOASID_ALLOC, &alloc))
		_exit(1);
	dev.fd = open(CDEV, O_RDWR | O_CLOEXEC);
	if (dev.fd < 0 || vfio_bind_ioasid(dev.fd, fd, NULL) ||
	    edu_enable(&dev) || vfio_attach_ioasid(dev.fd, alloc.out_ioasid) ||
	    old_vmm_map(fd, alloc.out_ioasid, mfd))
		_exit(2);
	fds[0] = fd;
	fds[1] = dev.fd;
	if (send_fds(sock, fds, 2))
		_exit(3);
	_exit(read(sock, &byte, 1) == 1 ? 0 : 4);
}

FIXTURE_SETUP(live)
{
	int fds[2];

	self->old = -1;
	self->new = -1;
	if (access(CDEV, F_OK))
		SKIP(return, "no edu device bound to vfio-pci");
	self->pins = pinned_now();
	ASSERT_LE(0, self->pins);
	fds[0] = ioasid_open();
	ASSERT_LE(0, fds[0]);
	self->user = user_locked(fds[0]);
	ASSERT_LE(0, self->user);
	close(fds[0]);
	self->mfd = memfd_create("guest-ram", 0);
	ASSERT_LE(0, self->mfd);
	ASSERT_EQ(0, ftruncate(self->mfd, RAM_PAGES * PAGE));
	self->guest.ram = mmap(NULL, RAM_PAGES * PAGE, PROT_READ | PROT_WRITE,
			       MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, self->guest.ram);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sock));
	self->old = fork();
	ASSERT_LE(0, self->old);
	if (!self->old)
		old_vmm(self->sock[1], self->mfd, variant->account_mm);
	/* Its end only: if it dies, the receive ends. */
	close(self->sock[1]);
	ASSERT_EQ(0, recv_fds(self->sock[0], fds, 2));
	self->fd = fds[0];
	self->dev = fds[1];
	ASSERT_EQ(RAM_PAGES * 2, pinned_now() - self->pins);
	ASSERT_EQ(RAM_PAGES * PAGE / 1024 * (variant->account_mm ? 2 : 0),
		  vm_pin_of(self->old));
	ASSERT_EQ(self->user + (variant->account_mm ? 0 : RAM_PAGES * 2),
		  user_locked(self->fd));
	/* The guest starts its DMA. */
	self->guest.dev.fd = self->dev;
	ASSERT_EQ(0, edu_enable(&self->guest.dev));
	ASSERT_EQ(0, pthread_create(&self->guest_thread, NULL, guest_dma,
				    &self->guest));
}

FIXTURE_TEARDOWN(live)
{
	if (self->old > 0)
		kill(self->old, SIGKILL);
	if (self->new > 0)
		kill(self->new, SIGKILL);
}

/* Start the new VMM, exec'd afresh, with @memlock_kb as its limit. */
static pid_t start_new_vmm(struct __test_metadata *_metadata, int sock,
			   long memlock_kb)
{
	char sockarg[16], limit[32];
	pid_t pid;

	snprintf(sockarg, sizeof(sockarg), "%d", sock);
	snprintf(limit, sizeof(limit), "%ld", memlock_kb);
	pid = fork();
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/proc/self/exe", "ioasid_liveupdate", NEW_VMM_ARG,
		      sockarg, limit, NULL);
		_exit(127);
	}
	/* Its end only: if the test dies, the new VMM reads the end. */
	close(sock);
	return pid;
}

/*
 * Wait for the guest's transfers to pass @count (each takes edu's 100 ms
 * or so); false if they stopped.
 */
static bool guest_passes(struct guest *g, long count)
{
	double end = now() + 10;

	while (atomic_load(&g->transfers) <= count && now() < end)
		usleep(10000);
	return atomic_load(&g->transfers) > count;
}

/* Stop the guest after two more transfers: all must have succeeded. */
static void stop_guest(struct __test_metadata *_metadata, struct guest *g,
		       pthread_t thread)
{
	ASSERT_TRUE(guest_passes(g, atomic_load(&g->transfers) + 1));
	atomic_store(&g->stop, true);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	TH_LOG("%ld transfers, %ld failed, longest gap %.1f ms",
	       atomic_load(&g->transfers), g->failures, g->worst_gap * 1e3);
	ASSERT_EQ(0, g->failures);
}

static void wait_exit(struct __test_metadata *_metadata, pid_t pid, int want)
{
	int status;

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (want < 0) {
		ASSERT_TRUE(WIFSIGNALED(status));
		return;
	}
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(want, WEXITSTATUS(status));
}

/*
 * The switch: the new VMM takes ownership, the old one exits; the guest's
 * DMA never stops, and every page ends charged to the new VMM only.
 */
TEST_F(live, new_vmm_takes_over)
{
	long charge = RAM_PAGES * 2 * PAGE / 1024;
	struct new_vmm_report r;
	double t_exit;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->newsock));
	ASSERT_TRUE(guest_passes(&self->guest, 1));
	/* As nobody, so that a user's charge has somewhere to move too. */
	self->new = start_new_vmm(_metadata, self->newsock[1], 1024);
	ASSERT_LT(0, self->new);
	ASSERT_EQ(0, send_fds(self->newsock[0], (int[]){ self->fd, self->dev },
			      2));
	ASSERT_EQ(sizeof(r), read(self->newsock[0], &r, sizeof(r)));
	ASSERT_EQ(0, r.rc);
	ASSERT_EQ(RAM_PAGES * 2, r.pages);
	/* The old VMM goes. */
	ASSERT_EQ(1, write(self->sock[0], "x", 1));
	wait_exit(_metadata, self->old, 0);
	self->old = -1;
	t_exit = now();
	TH_LOG("take over: the call took %.2f ms, %.1f ms from it to the old VMM's exit",
	       (r.call_end - r.call_start) * 1e3, (t_exit - r.call_start) * 1e3);
	/* The guest's DMA went on through the switch, and goes on. */
	stop_guest(_metadata, &self->guest, self->guest_thread);
	/* Pinned once, still: nothing pinned again, nothing let go. */
	ASSERT_EQ(RAM_PAGES * 2, pinned_now() - self->pins);
	ASSERT_EQ(variant->account_mm ? charge : 0, vm_pin_of(self->new));
	/* root's user count is back where it was: nobody holds it now. */
	ASSERT_EQ(self->user, user_locked(self->fd));
	/* Called again, it has nothing left to move. */
	ASSERT_EQ(1, write(self->newsock[0], "x", 1));
	wait_exit(_metadata, self->new, 0);
	self->new = -1;
	close(self->dev);
	close(self->fd);
	ASSERT_EQ(0, pinned_now() - self->pins);
}

/* Past the new VMM's RLIMIT_MEMLOCK: ENOMEM, and nothing moved. */
TEST_F(live, over_the_limit_moves_nothing)
{
	long charge = RAM_PAGES * 2 * PAGE / 1024;
	struct new_vmm_report r;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->newsock));
	self->new = start_new_vmm(_metadata, self->newsock[1], 4);
	ASSERT_LT(0, self->new);
	ASSERT_EQ(0, send_fds(self->newsock[0], (int[]){ self->fd, self->dev },
			      2));
	ASSERT_EQ(sizeof(r), read(self->newsock[0], &r, sizeof(r)));
	ASSERT_EQ(ENOMEM, r.rc);
	ASSERT_EQ(0, vm_pin_of(self->new));
	ASSERT_EQ(variant->account_mm ? charge : 0, vm_pin_of(self->old));
	ASSERT_EQ(self->user + (variant->account_mm ? 0 : RAM_PAGES * 2),
		  user_locked(self->fd));
	stop_guest(_metadata, &self->guest, self->guest_thread);
	ASSERT_EQ(1, write(self->newsock[0], "x", 1));
	wait_exit(_metadata, self->new, 0);
	self->new = -1;
}

/*
 * The old VMM killed before the new one takes over: the device's DMA goes
 * on, the new VMM takes the charge of the dead one, and nothing leaks.
 */
TEST_F(live, old_vmm_killed_first)
{
	struct new_vmm_report r;

	ASSERT_EQ(0, kill(self->old, SIGKILL));
	wait_exit(_metadata, self->old, -1);
	self->old = -1;
	ASSERT_TRUE(guest_passes(&self->guest, atomic_load(&self->guest.transfers)));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->newsock));
	self->new = start_new_vmm(_metadata, self->newsock[1], 0);
	ASSERT_LT(0, self->new);
	ASSERT_EQ(0, send_fds(self->newsock[0], (int[]){ self->fd, self->dev },
			      2));
	ASSERT_EQ(sizeof(r), read(self->newsock[0], &r, sizeof(r)));
	ASSERT_EQ(0, r.rc);
	/* The user's charge was root's already: only the dead mm's moves. */
	ASSERT_EQ(variant->account_mm ? RAM_PAGES * 2 : 0, r.pages);
	stop_guest(_metadata, &self->guest, self->guest_thread);
	ASSERT_EQ(1, write(self->newsock[0], "x", 1));
	wait_exit(_metadata, self->new, 0);
	self->new = -1;
	close(self->dev);
	close(self->fd);
	ASSERT_EQ(0, pinned_now() - self->pins);
}

/* Malformed calls, each changing nothing. */
TEST_F(live, bad_calls)
{
	IOASID_CMD(ioasid_change_owner, cmd);
	IOASID_CMD(ioasid_info, info);

	ASSERT_EQ(0, ioctl(self->fd, IOASID_GET_INFO, &info));
	ASSERT_TRUE(info.caps & IOASID_CAP_CHANGE_OWNER);
	cmd.flags = 1;
	ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_CHANGE_OWNER, &cmd));
	cmd.flags = 0;
	cmd.__reserved = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_CHANGE_OWNER, &cmd));
	cmd.__reserved = 0;
	cmd.size = 4;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_CHANGE_OWNER, &cmd));
	stop_guest(_metadata, &self->guest, self->guest_thread);
}

/* Fault injection over the change of owner: all or nothing each time. */
TEST_F(live, fail_nth)
{
	IOASID_CMD(ioasid_change_owner, cmd);
	unsigned int n;
	int rc;

	if (!fault_injection_setup())
		SKIP(return, "no fault injection");
	stop_guest(_metadata, &self->guest, self->guest_thread);
	/* The test is the caller here: kill the old VMM, then take over. */
	ASSERT_EQ(0, kill(self->old, SIGKILL));
	wait_exit(_metadata, self->old, -1);
	self->old = -1;
	fail_nth_sweep(n, rc, ioctl(self->fd, IOASID_CHANGE_OWNER, &cmd)) {
		if (!rc)
			continue;
		ASSERT_TRUE(injected_errno(errno));
		ASSERT_EQ(0, vm_pin_kb());
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(variant->account_mm ? RAM_PAGES * 2 * PAGE / 1024 : 0,
		  vm_pin_kb());
	close(self->dev);
	close(self->fd);
	ASSERT_EQ(0, vm_pin_kb());
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], NEW_VMM_ARG))
		return new_vmm(atoi(argv[2]), atol(argv[3]));
	return test_harness_run(argc, argv);
}
