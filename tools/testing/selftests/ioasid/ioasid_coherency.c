// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cache coherency: which domains block no-snoop DMA, what IOASID_COHERENCY
 * reports, and what a KVM VM following the context counts, through every
 * order of attach, replace, detach and close.  Mock devices whose IOMMU
 * can block no-snoop are "coherent", the others "non-coherent".
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "ioasid_kvm.h"
#include "ioasid_mock.h"

static const struct mock_cfg coherent_cfg = {
	.flags = IOASID_MOCK_COHERENT,
	.pgsize_bitmap = SZ_4K | SZ_2M,
	.aperture_last = UINT64_MAX,
};

static const struct mock_cfg noncoherent_cfg = {
	.pgsize_bitmap = SZ_4K | SZ_2M,
	.aperture_last = UINT64_MAX,
};

/* Says it can block no-snoop, then fails to. */
static const struct mock_cfg refusing_cfg = {
	.flags = IOASID_MOCK_COHERENT | IOASID_MOCK_ENFORCE_FAILS,
	.pgsize_bitmap = SZ_4K | SZ_2M,
	.aperture_last = UINT64_MAX,
};

struct coherency {
	uint32_t flags;
	uint32_t domains;
	uint32_t noncoherent;
};

/* IOASID_COHERENCY of one IOASID, or of the context for @ioasid 0. */
static struct coherency query(int fd, unsigned int ioasid)
{
	IOASID_CMD(ioasid_coherency, cmd);
	struct coherency c = { .flags = ~0U };

	cmd.ioasid = ioasid;
	cmd.flags = ioasid ? 0 : IOASID_COHERENCY_CONTEXT;
	if (ioctl(fd, IOASID_COHERENCY, &cmd))
		return c;
	c.flags = cmd.out_flags;
	c.domains = cmd.out_domains;
	c.noncoherent = cmd.out_noncoherent_domains;
	return c;
}

#define ASSERT_COHERENCY(fd, ioasid, ndomains, nnoncoherent)                   \
	do {                                                                   \
		struct coherency _c = query(fd, ioasid);                       \
		ASSERT_EQ(ndomains, _c.domains);                               \
		ASSERT_EQ(nnoncoherent, _c.noncoherent);                       \
	} while (0)

static int alloc_flags(int fd, uint32_t flags, unsigned int *id)
{
	IOASID_CMD(ioasid_alloc, cmd);
	int rc;

	cmd.flags = flags;
	rc = ioctl(fd, IOASID_ALLOC, &cmd);
	if (!rc)
		*id = cmd.out_ioasid;
	return rc;
}

FIXTURE(coherency) {
	int fd;
	unsigned int ioasid;
	struct kvm_vm kvm;
	struct mock_dev coh, nc;
};

FIXTURE_SETUP(coherency)
{
	self->fd = ioasid_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioasid_alloc(self->fd, &self->ioasid));
	ASSERT_EQ(0, mock_add(self->fd, &coherent_cfg, &self->coh));
	ASSERT_EQ(0, mock_add(self->fd, &noncoherent_cfg, &self->nc));
	if (kvm_vm_open(&self->kvm))
		SKIP(return, "no KVM: %s", strerror(errno));
	ASSERT_EQ(0, kvm_vfio_file(&self->kvm, self->fd, true));
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
}

FIXTURE_TEARDOWN(coherency)
{
	kvm_vm_close(&self->kvm);
	close(self->fd);
}

TEST_F(coherency, query_errors)
{
	IOASID_CMD(ioasid_coherency, cmd);

	cmd.ioasid = self->ioasid;
	cmd.flags = 1U << 31;
	ASSERT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOASID_COHERENCY, &cmd));
	cmd.flags = IOASID_COHERENCY_CONTEXT;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_COHERENCY, &cmd));
	cmd.flags = 0;
	cmd.ioasid = self->ioasid + 100;
	ASSERT_ERRNO(ENOENT, ioctl(self->fd, IOASID_COHERENCY, &cmd));
	/* A device id is no IOASID. */
	cmd.ioasid = self->nc.dev_id;
	ASSERT_ERRNO(ENOENT, ioctl(self->fd, IOASID_COHERENCY, &cmd));
	cmd.ioasid = self->ioasid;
	cmd.size = offsetof(struct ioasid_coherency, out_domains);
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, IOASID_COHERENCY, &cmd));
	/* An empty IOASID has no domain and no policy. */
	ASSERT_EQ(0, query(self->fd, self->ioasid).flags);
	ASSERT_COHERENCY(self->fd, self->ioasid, 0, 0);
	ASSERT_COHERENCY(self->fd, 0, 0, 0);
}

TEST_F(coherency, alloc_policy)
{
	unsigned int required;

	ASSERT_ERRNO(EOPNOTSUPP, alloc_flags(self->fd, 1U << 31, &required));
	ASSERT_EQ(0, alloc_flags(self->fd, IOASID_ALLOC_REQUIRE_COHERENCY,
				 &required));
	ASSERT_EQ(IOASID_COHERENCY_REQUIRED, query(self->fd, required).flags);
	ASSERT_EQ(0, query(self->fd, self->ioasid).flags);
}

TEST_F(coherency, coherent_device)
{
	ASSERT_EQ(0, attach(self->fd, &self->coh, self->ioasid));
	ASSERT_EQ(1, domain_info(self->fd, &self->coh).mock_domain.out_enforce_cc);
	ASSERT_COHERENCY(self->fd, self->ioasid, 1, 0);
	ASSERT_COHERENCY(self->fd, 0, 1, 0);
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, detach(self->fd, &self->coh));
	ASSERT_COHERENCY(self->fd, 0, 0, 0);
}

TEST_F(coherency, noncoherent_device)
{
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	ASSERT_EQ(0, domain_info(self->fd, &self->nc).mock_domain.out_enforce_cc);
	ASSERT_COHERENCY(self->fd, self->ioasid, 1, 1);
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, detach(self->fd, &self->nc));
	ASSERT_COHERENCY(self->fd, 0, 0, 0);
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
	/* Again: nothing was left over from the first time. */
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, detach(self->fd, &self->nc));
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
}

/*
 * Both kinds in one IOASID, in both orders: each gets its own domain, so
 * the coherent device keeps blocking no-snoop and the VM stops counting
 * as soon as the non-coherent one leaves.
 */
TEST_F(coherency, mixed_in_one_ioasid)
{
	uint32_t coh_domain;

	ASSERT_EQ(0, attach(self->fd, &self->coh, self->ioasid));
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	coh_domain = domain_info(self->fd, &self->coh).mock_domain.out_domain;
	ASSERT_NE(coh_domain,
		  domain_info(self->fd, &self->nc).mock_domain.out_domain);
	ASSERT_COHERENCY(self->fd, self->ioasid, 2, 1);
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, detach(self->fd, &self->nc));
	ASSERT_COHERENCY(self->fd, self->ioasid, 1, 0);
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, detach(self->fd, &self->coh));

	/* The other order. */
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	ASSERT_EQ(0, attach(self->fd, &self->coh, self->ioasid));
	ASSERT_EQ(1, domain_info(self->fd, &self->coh).mock_domain.out_enforce_cc);
	ASSERT_COHERENCY(self->fd, self->ioasid, 2, 1);
	ASSERT_EQ(0, detach(self->fd, &self->coh));
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, detach(self->fd, &self->nc));
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
}

/* However many non-coherent domains, KVM counts the context once. */
TEST_F(coherency, counted_once)
{
	struct mock_dev nc2, nc3;
	unsigned int other;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	ASSERT_EQ(0, mock_add(self->fd, &noncoherent_cfg, &nc2));
	ASSERT_EQ(0, mock_add(self->fd, &noncoherent_cfg, &nc3));
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	/* A second device of the same kind shares the domain. */
	ASSERT_EQ(0, attach(self->fd, &nc2, self->ioasid));
	ASSERT_EQ(domain_info(self->fd, &self->nc).mock_domain.out_domain,
		  domain_info(self->fd, &nc2).mock_domain.out_domain);
	ASSERT_EQ(0, attach(self->fd, &nc3, other));
	ASSERT_COHERENCY(self->fd, self->ioasid, 1, 1);
	ASSERT_COHERENCY(self->fd, other, 1, 1);
	ASSERT_COHERENCY(self->fd, 0, 2, 2);
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, detach(self->fd, &self->nc));
	ASSERT_EQ(0, detach(self->fd, &nc3));
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, detach(self->fd, &nc2));
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
	ASSERT_COHERENCY(self->fd, 0, 0, 0);
}

TEST_F(coherency, replace)
{
	unsigned int other, required;

	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	ASSERT_EQ(0, alloc_flags(self->fd, IOASID_ALLOC_REQUIRE_COHERENCY,
				 &required));
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	ASSERT_EQ(0, replace(self->fd, &self->nc, other));
	ASSERT_COHERENCY(self->fd, self->ioasid, 0, 0);
	ASSERT_COHERENCY(self->fd, other, 1, 1);
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	/* Refused by the policy: the device stays where it was. */
	ASSERT_ERRNO(EMEDIUMTYPE, replace(self->fd, &self->nc, required));
	ASSERT_COHERENCY(self->fd, other, 1, 1);
	ASSERT_COHERENCY(self->fd, required, 0, 0);
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));

	/* A coherent device moves into the required IOASID. */
	ASSERT_EQ(0, attach(self->fd, &self->coh, self->ioasid));
	ASSERT_EQ(0, replace(self->fd, &self->coh, required));
	ASSERT_COHERENCY(self->fd, required, 1, 0);
	ASSERT_COHERENCY(self->fd, 0, 2, 1);
	ASSERT_EQ(0, detach(self->fd, &self->nc));
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, detach(self->fd, &self->coh));
	ASSERT_COHERENCY(self->fd, 0, 0, 0);
}

TEST_F(coherency, required_policy)
{
	struct mock_dev refusing;
	unsigned int required;

	ASSERT_EQ(0, alloc_flags(self->fd, IOASID_ALLOC_REQUIRE_COHERENCY,
				 &required));
	ASSERT_EQ(0, mock_add(self->fd, &refusing_cfg, &refusing));
	ASSERT_ERRNO(EMEDIUMTYPE, attach(self->fd, &self->nc, required));
	ASSERT_ERRNO(EMEDIUMTYPE, attach(self->fd, &refusing, required));
	ASSERT_COHERENCY(self->fd, required, 0, 0);
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, attach(self->fd, &self->coh, required));
	ASSERT_COHERENCY(self->fd, required, 1, 0);
	/* The refused devices are free to go elsewhere. */
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
}

/* Best effort: an IOMMU that fails to block no-snoop is let through. */
TEST_F(coherency, best_effort)
{
	struct mock_dev refusing;

	ASSERT_EQ(0, mock_add(self->fd, &refusing_cfg, &refusing));
	ASSERT_EQ(0, attach(self->fd, &refusing, self->ioasid));
	ASSERT_EQ(0, domain_info(self->fd, &refusing).mock_domain.out_enforce_cc);
	ASSERT_COHERENCY(self->fd, self->ioasid, 1, 1);
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
}

/* KVM can start and stop following at any time; it always hears the truth. */
TEST_F(coherency, follow_late)
{
	ASSERT_EQ(0, kvm_vfio_file(&self->kvm, self->fd, false));
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, kvm_vfio_file(&self->kvm, self->fd, true));
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	ASSERT_ERRNO(EEXIST, kvm_vfio_file(&self->kvm, self->fd, true));
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, kvm_vfio_file(&self->kvm, self->fd, false));
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
	ASSERT_ERRNO(ENOENT, kvm_vfio_file(&self->kvm, self->fd, false));
	ASSERT_EQ(0, detach(self->fd, &self->nc));
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
}

TEST_F(coherency, not_an_ioasid_file)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, null);
	ASSERT_ERRNO(EINVAL, kvm_vfio_file(&self->kvm, null, true));
	close(null);
}

/* Two VMs following one context each count it. */
TEST_F(coherency, two_vms)
{
	struct kvm_vm other;

	ASSERT_EQ(0, kvm_vm_open(&other));
	ASSERT_EQ(0, kvm_vfio_file(&other, self->fd, true));
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(1, kvm_noncoherent_dma(&other));
	kvm_vm_close(&other);
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	ASSERT_EQ(0, detach(self->fd, &self->nc));
	ASSERT_EQ(0, kvm_noncoherent_dma(&self->kvm));
}

/*
 * The VM goes first, with a non-coherent device attached: the hook goes
 * with the VM, and detaching later calls nothing of it.
 */
TEST_F(coherency, close_vm_first)
{
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	kvm_vm_close(&self->kvm);
	ASSERT_EQ(0, detach(self->fd, &self->nc));
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	ASSERT_COHERENCY(self->fd, 0, 1, 1);
}

/*
 * The ioasid fd goes first: KVM's reference keeps the context, whose
 * device stays attached and counted, until the VM goes too.  Then the
 * context is freed: its memory is unpinned.
 */
TEST_F(coherency, close_ioasid_fd_first)
{
	uint64_t pins;
	char *buf;
	int probe;

	buf = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, buf, SZ_4K, 0x100000));
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	probe = ioasid_open();
	ASSERT_LE(0, probe);
	ASSERT_NE(0, page_phys(probe, buf, &pins));
	ASSERT_EQ(1, pins);

	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(1, kvm_noncoherent_dma(&self->kvm));
	ASSERT_NE(0, page_phys(probe, buf, &pins));
	ASSERT_EQ(1, pins);

	kvm_vm_close(&self->kvm);
	ASSERT_NE(0, page_phys(probe, buf, &pins));
	ASSERT_EQ(0, pins);
	close(probe);
	munmap(buf, SZ_4K);
}

/*
 * The pages a non-coherent domain can reach are flushed from the CPU
 * caches before its device can reach them, and again when they are
 * unpinned: fdinfo counts the bytes, exactly those, and a coherent
 * domain costs nothing.
 */
static long long flush_bytes(int fd, const char *when)
{
	char field[64];

	snprintf(field, sizeof(field), "ioasid-nosnoop-flushed-%s", when);
	return fdinfo_field(fd, field);
}

TEST_F(coherency, nosnoop_pages_are_flushed)
{
	const long long pg = SZ_4K;
	unsigned int other;
	uint8_t *buf;

	buf = mmap(NULL, 64 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, flush_bytes(self->fd, "map"));
	ASSERT_EQ(0, flush_bytes(self->fd, "unpin"));

	/* Mapped before the device: flushed as its domain is filled. */
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, buf, 16 * pg, 0x100000));
	ASSERT_EQ(0, flush_bytes(self->fd, "map"));
	ASSERT_EQ(0, attach(self->fd, &self->nc, self->ioasid));
	ASSERT_EQ(16 * pg, flush_bytes(self->fd, "map"));
	ASSERT_EQ(0, map_at(self->fd, self->ioasid, buf + 16 * pg, 8 * pg,
			    0x200000));
	ASSERT_EQ(24 * pg, flush_bytes(self->fd, "map"));

	/* A coherent domain pays nothing. */
	ASSERT_EQ(0, ioasid_alloc(self->fd, &other));
	ASSERT_EQ(0, attach(self->fd, &self->coh, other));
	ASSERT_EQ(0, map_at(self->fd, other, buf + 32 * pg, 32 * pg, 0x100000));
	ASSERT_EQ(24 * pg, flush_bytes(self->fd, "map"));
	ASSERT_EQ(0, unmap_all(self->fd, other));
	ASSERT_EQ(0, flush_bytes(self->fd, "unpin"));

	/* At unpin, whether or not the device is still there. */
	ASSERT_EQ(16 * pg, unmapped(self->fd, self->ioasid, 0x100000, 16 * pg));
	ASSERT_EQ(16 * pg, flush_bytes(self->fd, "unpin"));
	ASSERT_EQ(0, detach(self->fd, &self->nc));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioasid));
	ASSERT_EQ(24 * pg, flush_bytes(self->fd, "unpin"));
	ASSERT_EQ(24 * pg, flush_bytes(self->fd, "map"));
	munmap(buf, 64 * pg);
}

TEST_HARNESS_MAIN
