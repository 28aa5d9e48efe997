// SPDX-License-Identifier: GPL-2.0-only
/*
 * The user-space ABI the test VM's kernel offers the programs users run in
 * it: timers, signals and events as file descriptors, epoll, file locks,
 * AIO and io_uring, System V and POSIX IPC, membarrier and rseq, AF_UNIX,
 * TCP over IPv4 and IPv6 loopback, TUN/TAP, the memory cgroup and
 * namespaces.  The kernel is built from a small configuration: each test
 * here fails if a configuration change takes its system call away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/rseq.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <linux/aio_abi.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/membarrier.h>

#include "kselftest_harness.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A temporary file in /tmp, already unlinked unless @path is given. */
static int tmp_file(char *path, size_t len)
{
	char name[] = "/tmp/ioasid_abi.XXXXXX";
	int fd = mkstemp(name);

	if (fd < 0)
		return -1;
	if (path)
		snprintf(path, len, "%s", name);
	else
		unlink(name);
	return fd;
}

/* Wait for @pid and return its exit status, or -1 if it did not exit. */
static int child_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(timerfd_expiry)
{
	struct itimerspec its = { .it_value.tv_nsec = 20 * 1000 * 1000 };
	uint64_t expired = 0;
	int64_t start;
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ASSERT_LE(0, fd);
	start = now_ns();
	ASSERT_EQ(0, timerfd_settime(fd, 0, &its, NULL));
	/* A blocking read returns once the timer has expired, not before. */
	ASSERT_EQ(sizeof(expired), read(fd, &expired, sizeof(expired)));
	ASSERT_EQ(1, expired);
	ASSERT_LE(20 * 1000 * 1000, now_ns() - start);
	/* One-shot: nothing more to read. */
	ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(-1, read(fd, &expired, sizeof(expired)));
	ASSERT_EQ(EAGAIN, errno);
	close(fd);
}

TEST(signalfd_receives)
{
	struct signalfd_siginfo info;
	sigset_t mask, old;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &mask, &old));
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, read(fd, &info, sizeof(info)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, kill(getpid(), SIGUSR1));
	ASSERT_EQ(sizeof(info), read(fd, &info, sizeof(info)));
	ASSERT_EQ(SIGUSR1, info.ssi_signo);
	ASSERT_EQ(getpid(), info.ssi_pid);
	ASSERT_EQ(getuid(), info.ssi_uid);
	close(fd);
	ASSERT_EQ(0, sigprocmask(SIG_SETMASK, &old, NULL));
}

TEST(eventfd_counts)
{
	uint64_t v;
	int fd;

	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, read(fd, &v, sizeof(v)));
	ASSERT_EQ(EAGAIN, errno);
	v = 3;
	ASSERT_EQ(sizeof(v), write(fd, &v, sizeof(v)));
	v = 4;
	ASSERT_EQ(sizeof(v), write(fd, &v, sizeof(v)));
	ASSERT_EQ(sizeof(v), read(fd, &v, sizeof(v)));
	ASSERT_EQ(7, v);
	close(fd);

	/* Semaphore mode hands the count out one at a time. */
	fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(v), read(fd, &v, sizeof(v)));
	ASSERT_EQ(1, v);
	ASSERT_EQ(sizeof(v), read(fd, &v, sizeof(v)));
	ASSERT_EQ(1, v);
	ASSERT_EQ(-1, read(fd, &v, sizeof(v)));
	ASSERT_EQ(EAGAIN, errno);
	close(fd);
}

TEST(epoll_wakes)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x10a51d };
	struct epoll_event got[2];
	uint64_t one = 1;
	int ep, efd;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev));
	ASSERT_EQ(0, epoll_wait(ep, got, 2, 0));
	ASSERT_EQ(sizeof(one), write(efd, &one, sizeof(one)));
	ASSERT_EQ(1, epoll_wait(ep, got, 2, 1000));
	ASSERT_EQ(0x10a51d, got[0].data.u64);
	ASSERT_TRUE(got[0].events & EPOLLIN);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL));
	ASSERT_EQ(0, epoll_wait(ep, got, 2, 0));
	close(efd);
	close(ep);
}

TEST(flock_excludes)
{
	char path[64];
	int a, b;

	a = tmp_file(path, sizeof(path));
	ASSERT_LE(0, a);
	/* A second open file description of the same file. */
	b = open(path, O_RDWR);
	unlink(path);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, flock(a, LOCK_EX | LOCK_NB));
	ASSERT_EQ(-1, flock(b, LOCK_EX | LOCK_NB));
	ASSERT_EQ(EWOULDBLOCK, errno);
	ASSERT_EQ(-1, flock(b, LOCK_SH | LOCK_NB));
	ASSERT_EQ(0, flock(a, LOCK_UN));
	ASSERT_EQ(0, flock(b, LOCK_SH | LOCK_NB));
	ASSERT_EQ(0, flock(a, LOCK_SH | LOCK_NB));
	close(a);
	close(b);
}

TEST(posix_lock_seen_by_child)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 10 };
	pid_t parent = getpid(), pid;
	int fd;

	fd = tmp_file(NULL, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fcntl(fd, F_SETLK, &fl));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct flock probe = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				       .l_start = 5, .l_len = 1 };

		if (fcntl(fd, F_GETLK, &probe) || probe.l_type != F_WRLCK ||
		    probe.l_pid != parent)
			_exit(1);
		probe.l_type = F_WRLCK;
		if (fcntl(fd, F_SETLK, &probe) != -1 ||
		    (errno != EAGAIN && errno != EACCES))
			_exit(2);
		/* Past the parent's range: free. */
		probe.l_start = 10;
		_exit(fcntl(fd, F_SETLK, &probe) ? 3 : 0);
	}
	ASSERT_EQ(0, child_status(pid));
	close(fd);
}

TEST(aio_pread)
{
	struct iocb cb = { .aio_lio_opcode = IOCB_CMD_PREAD, .aio_data = 0x5eed };
	struct iocb *list[] = { &cb };
	aio_context_t ctx = 0;
	struct io_event ev;
	char buf[8] = "";
	int fd;

	fd = tmp_file(NULL, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(6, pwrite(fd, "ioasid", 6, 0));
	ASSERT_EQ(0, syscall(__NR_io_setup, 4, &ctx));
	cb.aio_fildes = fd;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = 6;
	ASSERT_EQ(1, syscall(__NR_io_submit, ctx, 1, list));
	ASSERT_EQ(1, syscall(__NR_io_getevents, ctx, 1, 1, &ev, NULL));
	ASSERT_EQ(0x5eed, ev.data);
	ASSERT_EQ(6, ev.res);
	ASSERT_EQ(0, memcmp(buf, "ioasid", 6));
	ASSERT_EQ(0, syscall(__NR_io_destroy, ctx));
	close(fd);
}

TEST(io_uring_nop)
{
	struct io_uring_params p = { 0 };
	unsigned int *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	unsigned int tail, head, idx;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqe;
	size_t sq_len, cq_len, len;
	char *ring;
	int fd;

	fd = syscall(__NR_io_uring_setup, 4, &p);
	ASSERT_LE(0, fd);
	ASSERT_LE(4, p.sq_entries);
	ASSERT_LE(p.sq_entries, p.cq_entries);
	ASSERT_TRUE(p.features & IORING_FEAT_SINGLE_MMAP);

	/* One mapping holds both rings; the SQEs are a second one. */
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	len = sq_len > cq_len ? sq_len : cq_len;
	ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    IORING_OFF_SQ_RING);
	ASSERT_NE(MAP_FAILED, ring);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, IORING_OFF_SQES);
	ASSERT_NE(MAP_FAILED, sqes);
	sq_tail = (unsigned int *)(ring + p.sq_off.tail);
	sq_mask = (unsigned int *)(ring + p.sq_off.ring_mask);
	sq_array = (unsigned int *)(ring + p.sq_off.array);
	cq_head = (unsigned int *)(ring + p.cq_off.head);
	cq_tail = (unsigned int *)(ring + p.cq_off.tail);
	cq_mask = (unsigned int *)(ring + p.cq_off.ring_mask);

	tail = *sq_tail;
	idx = tail & *sq_mask;
	memset(&sqes[idx], 0, sizeof(sqes[idx]));
	sqes[idx].opcode = IORING_OP_NOP;
	sqes[idx].user_data = 0x10a51d;
	sq_array[idx] = idx;
	__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
	ASSERT_EQ(1, syscall(__NR_io_uring_enter, fd, 1, 1,
			     IORING_ENTER_GETEVENTS, NULL, 0));

	head = *cq_head;
	ASSERT_EQ(head + 1, __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE));
	cqe = (struct io_uring_cqe *)(ring + p.cq_off.cqes) + (head & *cq_mask);
	ASSERT_EQ(0x10a51d, cqe->user_data);
	ASSERT_EQ(0, cqe->res);
	__atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);

	munmap(sqes, p.sq_entries * sizeof(*sqes));
	munmap(ring, len);
	close(fd);
}

TEST(sysv_shm)
{
	struct shmid_ds ds;
	char *a, *b;
	int id;

	id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	ASSERT_LE(0, id);
	a = shmat(id, NULL, 0);
	b = shmat(id, NULL, 0);
	/* Mark it for removal first, so that a failed assertion leaks nothing. */
	ASSERT_EQ(0, shmctl(id, IPC_RMID, NULL));
	ASSERT_NE((void *)-1, a);
	ASSERT_NE((void *)-1, b);
	ASSERT_NE(a, b);
	snprintf(a, 4096, "one segment, two mappings");
	ASSERT_STREQ("one segment, two mappings", b);
	ASSERT_EQ(0, shmctl(id, IPC_STAT, &ds));
	ASSERT_EQ(2, ds.shm_nattch);
	ASSERT_EQ(4096, ds.shm_segsz);
	ASSERT_EQ(0, shmdt(a));
	ASSERT_EQ(0, shmdt(b));
	/* The last detach removed it. */
	ASSERT_EQ(-1, shmctl(id, IPC_STAT, &ds));
}

TEST(sysv_msg_and_sem)
{
	struct { long type; char text[16]; } msg = { 2, "second" }, got;
	struct sembuf op = { .sem_num = 0, .sem_op = -1, .sem_flg = IPC_NOWAIT };
	int q, s;

	q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	ASSERT_LE(0, q);
	ASSERT_EQ(0, msgsnd(q, &msg, sizeof(msg.text), 0));
	msg.type = 1;
	snprintf(msg.text, sizeof(msg.text), "first");
	ASSERT_EQ(0, msgsnd(q, &msg, sizeof(msg.text), 0));
	/* Received by type, not in the order sent. */
	ASSERT_EQ(sizeof(got.text), msgrcv(q, &got, sizeof(got.text), 2, 0));
	ASSERT_STREQ("second", got.text);
	ASSERT_EQ(sizeof(got.text), msgrcv(q, &got, sizeof(got.text), 0, 0));
	ASSERT_STREQ("first", got.text);
	ASSERT_EQ(-1, msgrcv(q, &got, sizeof(got.text), 0, IPC_NOWAIT));
	ASSERT_EQ(ENOMSG, errno);
	ASSERT_EQ(0, msgctl(q, IPC_RMID, NULL));

	s = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	ASSERT_LE(0, s);
	ASSERT_EQ(-1, semop(s, &op, 1));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, semctl(s, 0, SETVAL, 1));
	ASSERT_EQ(0, semop(s, &op, 1));
	ASSERT_EQ(0, semctl(s, 0, GETVAL));
	ASSERT_EQ(0, semctl(s, 0, IPC_RMID));
}

TEST(posix_mqueue)
{
	struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 32 };
	char name[32], buf[32];
	unsigned int prio;
	mqd_t q;

	snprintf(name, sizeof(name), "/ioasid_abi.%d", getpid());
	q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK, 0600, &attr);
	ASSERT_NE((mqd_t)-1, q);
	ASSERT_EQ(0, mq_unlink(name));
	ASSERT_EQ(0, mq_send(q, "low", 4, 1));
	ASSERT_EQ(0, mq_send(q, "high", 5, 7));
	ASSERT_EQ(0, mq_getattr(q, &attr));
	ASSERT_EQ(2, attr.mq_curmsgs);
	/* The highest priority first. */
	ASSERT_EQ(5, mq_receive(q, buf, sizeof(buf), &prio));
	ASSERT_STREQ("high", buf);
	ASSERT_EQ(7, prio);
	ASSERT_EQ(4, mq_receive(q, buf, sizeof(buf), &prio));
	ASSERT_STREQ("low", buf);
	ASSERT_EQ(1, prio);
	ASSERT_EQ(-1, mq_receive(q, buf, sizeof(buf), &prio));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, mq_close(q));
}

TEST(membarrier_query)
{
	int cmds;

	cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	ASSERT_LE(0, cmds);
	ASSERT_TRUE(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED);
	ASSERT_TRUE(cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
	/* Expedited barriers need registering first. */
	ASSERT_EQ(-1, syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(0, syscall(__NR_membarrier,
			     MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0));
	ASSERT_EQ(0, syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0));
}

TEST(rseq_cpu_id)
{
	cpu_set_t allowed, one;
	struct rseq *rs;
	int cpu, seen = 0;

	/* The C library registers every thread; without the call it cannot. */
	ASSERT_LT(0, __rseq_size);
	rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	ASSERT_LE(0, (int)rs->cpu_id);
	/* The kernel keeps cpu_id up to date as the thread moves. */
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(allowed), &allowed));
	for (cpu = 0; cpu < CPU_SETSIZE && seen < 2; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
		ASSERT_EQ(cpu, (int)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED));
		ASSERT_EQ(cpu, (int)rs->cpu_id_start);
		seen++;
	}
	ASSERT_LT(0, seen);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(allowed), &allowed));
}

TEST(unix_socketpair)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "fd", .iov_len = 2 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	uint64_t v = 5;
	char buf[8];
	int sv[2], efd, got;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(4, write(sv[0], "ping", 4));
	ASSERT_EQ(4, read(sv[1], buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "ping", 4));
	ASSERT_EQ(4, write(sv[1], "pong", 4));
	ASSERT_EQ(4, read(sv[0], buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "pong", 4));

	/* Pass a file descriptor, as a VMM hands out its device fds. */
	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &efd, sizeof(int));
	ASSERT_EQ(2, sendmsg(sv[0], &mh, 0));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	mh.msg_controllen = sizeof(cbuf);
	ASSERT_EQ(2, recvmsg(sv[1], &mh, 0));
	cm = CMSG_FIRSTHDR(&mh);
	ASSERT_NE(NULL, cm);
	ASSERT_EQ(SCM_RIGHTS, cm->cmsg_type);
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	ASSERT_NE(efd, got);
	/* The received fd is the same eventfd. */
	ASSERT_EQ(sizeof(v), write(got, &v, sizeof(v)));
	v = 0;
	ASSERT_EQ(sizeof(v), read(efd, &v, sizeof(v)));
	ASSERT_EQ(5, v);
	close(got);
	close(efd);
	close(sv[0]);
	close(sv[1]);
}

/* Listen on an ephemeral loopback port, connect, and talk both ways. */
static void tcp_loopback(struct __test_metadata *_metadata, int family)
{
	struct sockaddr_storage ss = { .ss_family = family };
	socklen_t len = sizeof(ss);
	int lfd, cfd, afd, one = 1;
	char buf[8];

	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(lfd, 1));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&ss, &len));

	cfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	ASSERT_EQ(0, connect(cfd, (struct sockaddr *)&ss, len));
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	ASSERT_EQ(5, send(cfd, "hello", 5, 0));
	ASSERT_EQ(5, recv(afd, buf, 5, MSG_WAITALL));
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(3, send(afd, "bye", 3, 0));
	ASSERT_EQ(0, shutdown(afd, SHUT_WR));
	ASSERT_EQ(3, recv(cfd, buf, 3, MSG_WAITALL));
	ASSERT_EQ(0, memcmp(buf, "bye", 3));
	/* Then the end of the stream. */
	ASSERT_EQ(0, recv(cfd, buf, sizeof(buf), 0));
	close(afd);
	close(cfd);
	close(lfd);
}

TEST(tcp_ipv4_loopback)
{
	tcp_loopback(_metadata, AF_INET);
}

TEST(tcp_ipv6_loopback)
{
	tcp_loopback(_metadata, AF_INET6);
}

TEST(tun_device)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	char path[64];
	int fd, sk, i;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	snprintf(ifr.ifr_name, IFNAMSIZ, "abitap%%d");
	ASSERT_EQ(0, ioctl(fd, TUNSETIFF, &ifr));
	ASSERT_EQ(0, strncmp(ifr.ifr_name, "abitap", 6));
	snprintf(path, sizeof(path), "/sys/class/net/%s", ifr.ifr_name);
	ASSERT_EQ(0, access(path, F_OK));

	/* A network interface like any other: it has an index, goes up. */
	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, sk);
	ASSERT_LT(0, if_nametoindex(ifr.ifr_name));
	ASSERT_EQ(0, ioctl(sk, SIOCGIFFLAGS, &ifr));
	ASSERT_FALSE(ifr.ifr_flags & IFF_UP);
	ifr.ifr_flags |= IFF_UP;
	ASSERT_EQ(0, ioctl(sk, SIOCSIFFLAGS, &ifr));
	ASSERT_EQ(0, ioctl(sk, SIOCGIFFLAGS, &ifr));
	ASSERT_TRUE(ifr.ifr_flags & IFF_UP);
	close(sk);

	/* Not persistent: closing the fd removes the interface. */
	close(fd);
	for (i = 0; i < 100 && access(path, F_OK) == 0; i++)
		usleep(10 * 1000);
	ASSERT_EQ(-1, access(path, F_OK));
}

/* The path of this process's cgroup v2, from /proc/self/cgroup. */
static int own_cgroup(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/self/cgroup", "r");
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(buf, len, "%s", line + 3);
		ret = 0;
	}
	fclose(f);
	return ret;
}

/* Where cgroup2 is mounted, or "" if it is not. */
static void cgroup2_mount(char *buf, size_t len)
{
	char dev[64], dir[192], type[32];
	FILE *f = fopen("/proc/self/mounts", "r");

	buf[0] = 0;
	if (!f)
		return;
	while (fscanf(f, "%63s %191s %31s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			break;
		}
	}
	fclose(f);
}

static int write_file(const char *dir, const char *name, const char *s)
{
	char path[512];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return ret;
}

static int read_file(const char *dir, const char *name, char *buf, size_t len)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

FIXTURE(memcg) {
	char root[192];		/* the cgroup2 mount */
	char home[256];		/* where this process was, below root */
	char child[256];	/* the cgroup the test makes */
	bool made_root, mounted;
};

FIXTURE_SETUP(memcg)
{
	cgroup2_mount(self->root, sizeof(self->root));
	if (!self->root[0]) {
		snprintf(self->root, sizeof(self->root), "/tmp/ioasid_abi_cg.XXXXXX");
		ASSERT_NE(NULL, mkdtemp(self->root));
		self->made_root = true;
		ASSERT_EQ(0, mount("cgroup2", self->root, "cgroup2", 0, NULL));
		self->mounted = true;
	}
	ASSERT_EQ(0, own_cgroup(self->home, sizeof(self->home)));
	snprintf(self->child, sizeof(self->child), "%s/ioasid_abi.%d",
		 self->root, getpid());
}

FIXTURE_TEARDOWN(memcg)
{
	char home[512], pid[16];

	/* Back home, should the test have stopped half-way. */
	snprintf(home, sizeof(home), "%s%s", self->root, self->home);
	snprintf(pid, sizeof(pid), "%d", getpid());
	write_file(home, "cgroup.procs", pid);
	rmdir(self->child);
	if (self->mounted)
		umount(self->root);
	if (self->made_root)
		rmdir(self->root);
}

TEST_F(memcg, limit_and_move)
{
	size_t len = 4 << 20;
	char buf[256], home[512];
	long current;
	char *mem;

	ASSERT_EQ(0, read_file(self->root, "cgroup.controllers", buf, sizeof(buf)));
	ASSERT_NE(NULL, strstr(buf, "memory"));
	/* The root cgroup may give controllers to its children at any time. */
	ASSERT_EQ(0, write_file(self->root, "cgroup.subtree_control", "+memory"));
	ASSERT_EQ(0, mkdir(self->child, 0755));
	ASSERT_EQ(0, read_file(self->child, "memory.max", buf, sizeof(buf)));
	ASSERT_STREQ("max", buf);
	ASSERT_EQ(0, write_file(self->child, "memory.max", "64M"));
	ASSERT_EQ(0, read_file(self->child, "memory.max", buf, sizeof(buf)));
	ASSERT_STREQ("67108864", buf);

	/* Move in: the memory touched from then on is charged to it. */
	snprintf(buf, sizeof(buf), "%d", getpid());
	ASSERT_EQ(0, write_file(self->child, "cgroup.procs", buf));
	ASSERT_EQ(0, own_cgroup(buf, sizeof(buf)));
	ASSERT_STREQ(self->child + strlen(self->root), buf);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 1, len);
	ASSERT_EQ(0, read_file(self->child, "memory.current", buf, sizeof(buf)));
	current = atol(buf);
	ASSERT_LE((long)len, current);
	ASSERT_GT(64L << 20, current);
	munmap(mem, len);

	/* And back where it came from; the empty cgroup can then go. */
	snprintf(home, sizeof(home), "%s%s", self->root, self->home);
	snprintf(buf, sizeof(buf), "%d", getpid());
	ASSERT_EQ(0, write_file(home, "cgroup.procs", buf));
	ASSERT_EQ(0, own_cgroup(buf, sizeof(buf)));
	ASSERT_STREQ(self->home, buf);
	ASSERT_EQ(0, rmdir(self->child));
}

/* A new namespace of @kind: its inode differs from the one in @before. */
static bool ns_changed(const char *kind, const struct stat *before)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", kind);
	return !stat(path, &st) && st.st_ino != before->st_ino;
}

/* In a child: new namespaces of each kind, then what each must show. */
static int in_new_namespaces(const struct stat *before, const char *const *kinds,
			     int n)
{
	struct utsname un;
	pid_t pid;
	int i;

	if (unshare(CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
		    CLONE_NEWPID))
		return 1;
	/* The PID namespace is the last kind: it applies to children only. */
	for (i = 0; i < n - 1; i++)
		if (!ns_changed(kinds[i], &before[i]))
			return 2;
	if (sethostname("abi-ns", 6) || uname(&un) || strcmp(un.nodename, "abi-ns"))
		return 3;
	/* A new network namespace has its own loopback. */
	if (if_nametoindex("lo") == 0)
		return 4;
	/* The first process of a new PID namespace is its PID 1. */
	pid = fork();
	if (pid < 0)
		return 5;
	if (pid == 0)
		_exit(getpid() == 1 && ns_changed(kinds[n - 1], &before[n - 1]) ? 0 : 1);
	return child_status(pid) == 0 ? 0 : 6;
}

TEST(namespaces)
{
	static const char *const kinds[] = { "user", "uts", "ipc", "net", "pid" };
	struct stat before[5];
	struct utsname un;
	char host[65];
	pid_t pid;
	int i;

	for (i = 0; i < 5; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[i]);
		ASSERT_EQ(0, stat(path, &before[i]));
	}
	ASSERT_EQ(0, uname(&un));
	snprintf(host, sizeof(host), "%s", un.nodename);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(in_new_namespaces(before, kinds, 5));
	ASSERT_EQ(0, child_status(pid));
	/* The child's host name stayed in its namespace. */
	ASSERT_EQ(0, uname(&un));
	ASSERT_STREQ(host, un.nodename);
}

TEST_HARNESS_MAIN
