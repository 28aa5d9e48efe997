// SPDX-License-Identifier: GPL-2.0-only
/*
 * What KVM learns from kvm-vfio about devices on /dev/ioasid, in the
 * configurations VMMs use: the ioasid file, device cdevs bound to it, and
 * VFIO groups whose container is an ioasid file.  On a VT-d unit without
 * snoop control (the nosnoop suite) the device's domain lets no-snoop DMA
 * through, and KVM must count it exactly while a domain exists; with
 * snoop control the count stays 0.
 */
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "ioasid_kvm.h"
#include "ioasid_test.h"

#define PAGE		4096UL
#define CDEV		"/dev/vfio/devices/vfio0"
#define SYSDEV		"/sys/class/vfio-dev/vfio0/device"

/* Whether the VM of @vm_fd, made by this process, still exists. */
static bool vm_exists(int vm_fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d",
		 getpid(), vm_fd);
	return !access(path, F_OK);
}

/* The IOMMU group file and PCI name of vfio0. */
static bool group_of_vfio0(char *group, size_t glen, char *name, size_t nlen)
{
	char link[PATH_MAX];
	ssize_t n;

	n = readlink(SYSDEV "/iommu_group", link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = 0;
	snprintf(group, glen, "/dev/vfio/%s", basename(link));
	n = readlink(SYSDEV, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = 0;
	snprintf(name, nlen, "%s", basename(link));
	return true;
}

FIXTURE(kvm_vfio) {
	int ioasid_fd;
	int dev_fd;
	int sc;
	struct kvm_vm kvm;
};

FIXTURE_SETUP(kvm_vfio)
{
	self->dev_fd = -1;
	self->ioasid_fd = -1;
	self->kvm = (struct kvm_vm){ -1, -1, -1, -1 };
	if (access(CDEV, F_OK))
		SKIP(return, "no edu device bound to vfio-pci");
	if (access("/dev/kvm", F_OK))
		SKIP(return, "no /dev/kvm");
	self->sc = iommu_kind().blocks_nosnoop;
	ASSERT_LE(0, self->sc);
	self->ioasid_fd = ioasid_open();
	ASSERT_LE(0, self->ioasid_fd);
	ASSERT_EQ(0, kvm_vm_open(&self->kvm));
}

FIXTURE_TEARDOWN(kvm_vfio)
{
	if (self->dev_fd >= 0)
		close(self->dev_fd);
	kvm_vm_close(&self->kvm);
	if (self->ioasid_fd >= 0)
		close(self->ioasid_fd);
}

/* An ioasid file gives KVM assigned devices, as any VFIO file does. */
TEST_F(kvm_vfio, ioasid_file_is_an_assignment)
{
	ASSERT_EQ(0, kvm_assigned_devices(&self->kvm));
	ASSERT_EQ(0, kvm_vfio_file(&self->kvm, self->ioasid_fd, true));
	ASSERT_EQ(1, kvm_assigned_devices(&self->kvm));
	ASSERT_EQ(0, kvm_vfio_file(&self->kvm, self->ioasid_fd, false));
	ASSERT_EQ(0, kvm_assigned_devices(&self->kvm));
}

/*
 * A device cdev given to KVM before it binds to /dev/ioasid gets the VM
 * for its driver (device->kvm), which holds the VM until the device
 * closes: the VM outlives its own file while the device is open.
 */
TEST_F(kvm_vfio, bound_device_holds_the_vm)
{
	int vm_fd = self->kvm.vm;

	self->dev_fd = open(CDEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev_fd);
	ASSERT_EQ(0, kvm_vfio_file(&self->kvm, self->dev_fd, true));
	ASSERT_EQ(0, vfio_bind_ioasid(self->dev_fd, self->ioasid_fd, NULL));
	ASSERT_EQ(0, kvm_vfio_file(&self->kvm, self->dev_fd, false));
	ASSERT_TRUE(vm_exists(vm_fd));

	kvm_vm_close(&self->kvm);
	ASSERT_TRUE(vm_exists(vm_fd));
	close(self->dev_fd);
	self->dev_fd = -1;
	ASSERT_FALSE(vm_exists(vm_fd));
}

/*
 * The ioasid file and the device files of its context give KVM one
 * answer, from the domains: counted once while the domain exists, and
 * gone with it, not kept from the IOMMU's capability.
 */
TEST_F(kvm_vfio, ioasid_and_device_files_agree)
{
	struct kvm_vm *k = &self->kvm;
	int nc = !self->sc;
	unsigned int ioasid;

	TH_LOG("%s blocks no-snoop: %s", iommu_kind().name,
	       self->sc ? "yes" : "no");
	self->dev_fd = open(CDEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev_fd);
	/* Device files are given to KVM before they bind. */
	ASSERT_EQ(0, kvm_vfio_file(k, self->dev_fd, true));
	ASSERT_EQ(0, vfio_bind_ioasid(self->dev_fd, self->ioasid_fd, NULL));
	ASSERT_EQ(0, ioasid_alloc(self->ioasid_fd, &ioasid));
	ASSERT_EQ(0, vfio_attach_ioasid(self->dev_fd, ioasid));
	ASSERT_EQ(0, kvm_vfio_file(k, self->ioasid_fd, true));
	ASSERT_EQ(2, kvm_assigned_devices(k));
	ASSERT_EQ(nc, kvm_noncoherent_dma(k));

	ASSERT_EQ(0, vfio_detach_ioasid(self->dev_fd));
	ASSERT_EQ(0, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, vfio_attach_ioasid(self->dev_fd, ioasid));
	ASSERT_EQ(nc, kvm_noncoherent_dma(k));

	/* The device file alone still follows the context. */
	ASSERT_EQ(0, kvm_vfio_file(k, self->ioasid_fd, false));
	ASSERT_EQ(nc, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, vfio_detach_ioasid(self->dev_fd));
	ASSERT_EQ(0, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, kvm_vfio_file(k, self->dev_fd, false));
	ASSERT_EQ(0, kvm_assigned_devices(k));
}

/*
 * The order of a cdev VMM (QEMU's iommufd backend): only the device file
 * is given to KVM, and before its bind.  Nothing is counted before the
 * bind nor after a detach, and the domain from the attach on, with no
 * later FILE_ADD to prompt KVM; the ioasid file coming and going changes
 * nothing.
 */
TEST_F(kvm_vfio, device_file_before_bind)
{
	struct kvm_vm *k = &self->kvm;
	int nc = !self->sc;
	unsigned int ioasid;

	self->dev_fd = open(CDEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev_fd);
	ASSERT_EQ(0, kvm_vfio_file(k, self->dev_fd, true));
	ASSERT_EQ(1, kvm_assigned_devices(k));
	ASSERT_EQ(0, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, vfio_bind_ioasid(self->dev_fd, self->ioasid_fd, NULL));
	ASSERT_EQ(0, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, ioasid_alloc(self->ioasid_fd, &ioasid));
	ASSERT_EQ(0, vfio_attach_ioasid(self->dev_fd, ioasid));
	ASSERT_EQ(nc, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, vfio_detach_ioasid(self->dev_fd));
	ASSERT_EQ(0, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, vfio_attach_ioasid(self->dev_fd, ioasid));
	ASSERT_EQ(nc, kvm_noncoherent_dma(k));

	ASSERT_EQ(0, kvm_vfio_file(k, self->ioasid_fd, true));
	ASSERT_EQ(nc, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, kvm_vfio_file(k, self->ioasid_fd, false));
	ASSERT_EQ(nc, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, vfio_detach_ioasid(self->dev_fd));
	ASSERT_EQ(0, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, kvm_vfio_file(k, self->dev_fd, false));
	ASSERT_EQ(0, kvm_assigned_devices(k));
}

/*
 * The same order on iommufd, which KVM counts by the IOMMU's capability:
 * nothing before the bind, the capability's answer from the bind on.
 */
TEST_F(kvm_vfio, iommufd_device_file_before_bind)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct kvm_vm *k = &self->kvm;
	int iommufd;

	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0)
		SKIP(return, "no /dev/iommu");
	self->dev_fd = open(CDEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev_fd);
	ASSERT_EQ(0, kvm_vfio_file(k, self->dev_fd, true));
	ASSERT_EQ(0, kvm_noncoherent_dma(k));
	bind.iommufd = iommufd;
	ASSERT_EQ(0, ioctl(self->dev_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	ASSERT_EQ(!self->sc, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, kvm_vfio_file(k, self->dev_fd, false));
	ASSERT_EQ(0, kvm_noncoherent_dma(k));
	close(iommufd);
}

/*
 * The configuration of QEMU 7.2: a group whose container is an ioasid
 * file, the group file given to KVM.  The count follows the domain the
 * group's device is attached to while it is open.
 */
TEST_F(kvm_vfio, group_container_follows_domains)
{
	struct kvm_vm *k = &self->kvm;
	char group[64], name[64];
	int nc = !self->sc;
	int group_fd;

	ASSERT_TRUE(group_of_vfio0(group, sizeof(group), name, sizeof(name)));
	group_fd = open(group, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, group_fd);
	ASSERT_EQ(0, ioctl(group_fd, VFIO_GROUP_SET_CONTAINER,
			   &self->ioasid_fd));
	ASSERT_EQ(0, ioctl(self->ioasid_fd, VFIO_SET_IOMMU,
			   VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, kvm_vfio_file(k, group_fd, true));
	/* No device open: no domain, nothing to count. */
	ASSERT_EQ(0, kvm_noncoherent_dma(k));
	ASSERT_EQ(1, kvm_assigned_devices(k));

	self->dev_fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name);
	ASSERT_LE(0, self->dev_fd);
	ASSERT_EQ(nc, kvm_noncoherent_dma(k));
	ASSERT_EQ(self->sc, ioctl(self->ioasid_fd, VFIO_CHECK_EXTENSION,
				  VFIO_DMA_CC_IOMMU));
	close(self->dev_fd);
	self->dev_fd = -1;
	ASSERT_EQ(0, kvm_noncoherent_dma(k));

	ASSERT_EQ(0, kvm_vfio_file(k, group_fd, false));
	ASSERT_EQ(0, kvm_assigned_devices(k));
	close(group_fd);
}

/*
 * A group given to KVM that moves to another container is followed
 * through its new context from the next update of the KVM device on (any
 * file added or removed), and the old context is let go.  KVM used to
 * follow the first context for as long as it had the group.
 */
TEST_F(kvm_vfio, group_moves_to_another_container)
{
	struct kvm_vm *k = &self->kvm;
	char group[64], name[64];
	int nc = !self->sc;
	int group_fd, other, spare;

	ASSERT_TRUE(group_of_vfio0(group, sizeof(group), name, sizeof(name)));
	group_fd = open(group, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, group_fd);
	ASSERT_EQ(0, ioctl(group_fd, VFIO_GROUP_SET_CONTAINER,
			   &self->ioasid_fd));
	ASSERT_EQ(0, ioctl(self->ioasid_fd, VFIO_SET_IOMMU,
			   VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, kvm_vfio_file(k, group_fd, true));
	self->dev_fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name);
	ASSERT_LE(0, self->dev_fd);
	ASSERT_EQ(nc, kvm_noncoherent_dma(k));
	close(self->dev_fd);
	self->dev_fd = -1;
	ASSERT_EQ(0, kvm_noncoherent_dma(k));

	/* To another container, then any update of the KVM device. */
	ASSERT_EQ(0, ioctl(group_fd, VFIO_GROUP_UNSET_CONTAINER));
	other = ioasid_open();
	ASSERT_LE(0, other);
	ASSERT_EQ(0, ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &other));
	ASSERT_EQ(0, ioctl(other, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	spare = ioasid_open();
	ASSERT_LE(0, spare);
	ASSERT_EQ(0, kvm_vfio_file(k, spare, true));
	ASSERT_EQ(0, kvm_vfio_file(k, spare, false));
	close(spare);

	/* The first context is gone from KVM: its file closes for good. */
	close(self->ioasid_fd);
	self->ioasid_fd = -1;
	/* The device's domain is in the new context, and KVM counts it. */
	self->dev_fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name);
	ASSERT_LE(0, self->dev_fd);
	ASSERT_EQ(nc, kvm_noncoherent_dma(k));
	close(self->dev_fd);
	self->dev_fd = -1;
	ASSERT_EQ(0, kvm_noncoherent_dma(k));
	ASSERT_EQ(0, kvm_vfio_file(k, group_fd, false));
	close(group_fd);
	close(other);
}

/* Each backend's attach ioctls refuse a device bound to the other. */
TEST_F(kvm_vfio, iommufd_attach_refused)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	self->dev_fd = open(CDEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev_fd);
	ASSERT_EQ(0, vfio_bind_ioasid(self->dev_fd, self->ioasid_fd, NULL));
	ASSERT_ERRNO(EINVAL, ioctl(self->dev_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
				   &attach));
	ASSERT_ERRNO(EINVAL, ioctl(self->dev_fd, VFIO_DEVICE_DETACH_IOMMUFD_PT,
				   &detach));
}

/*
 * Fault injection over the paths a real device and KVM take: every
 * injected failure comes back as ENOMEM or EFAULT and leaves nothing
 * changed, and the call then succeeds.
 */
FIXTURE(fail_nth_dev) {
	int ioasid_fd;
	int dev_fd;
	unsigned int a, b;
};

FIXTURE_SETUP(fail_nth_dev)
{
	self->dev_fd = -1;
	self->ioasid_fd = -1;
	if (access(CDEV, F_OK))
		SKIP(return, "no edu device bound to vfio-pci");
	if (!fault_injection_setup())
		SKIP(return, "no fault injection in debugfs");
	self->ioasid_fd = ioasid_open();
	ASSERT_LE(0, self->ioasid_fd);
	ASSERT_EQ(0, ioasid_alloc(self->ioasid_fd, &self->a));
	ASSERT_EQ(0, ioasid_alloc(self->ioasid_fd, &self->b));
	self->dev_fd = open(CDEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev_fd);
}

FIXTURE_TEARDOWN(fail_nth_dev)
{
	if (self->dev_fd >= 0)
		close(self->dev_fd);
	if (self->ioasid_fd >= 0)
		close(self->ioasid_fd);
}

/* Domains of an IOASID, from IOASID_COHERENCY; -1 on error. */
static int domains_of(int fd, unsigned int ioasid)
{
	IOASID_CMD(ioasid_coherency, cmd);

	cmd.ioasid = ioasid;
	return ioctl(fd, IOASID_COHERENCY, &cmd) ? -1 : (int)cmd.out_domains;
}

TEST_F(fail_nth_dev, bind)
{
	unsigned int n;
	int rc;

	fail_nth_sweep(n, rc, vfio_bind_ioasid(self->dev_fd, self->ioasid_fd, NULL)) {
		if (rc == 0)
			break;
		ASSERT_TRUE(injected_errno(errno)) TH_LOG("n=%u errno=%d", n, errno);
	}
	if (rc)
		ASSERT_EQ(0, vfio_bind_ioasid(self->dev_fd, self->ioasid_fd, NULL));
	ASSERT_LT(1, n);
	ASSERT_EQ(0, vfio_attach_ioasid(self->dev_fd, self->a));
	ASSERT_EQ(1, domains_of(self->ioasid_fd, self->a));
}

TEST_F(fail_nth_dev, replace)
{
	struct vfio_device_attach_ioasid rep = {
		.argsz = sizeof(rep),
		.flags = VFIO_DEVICE_ATTACH_IOASID_REPLACE,
	};
	unsigned int n;
	int rc;

	ASSERT_EQ(0, vfio_bind_ioasid(self->dev_fd, self->ioasid_fd, NULL));
	ASSERT_EQ(0, vfio_attach_ioasid(self->dev_fd, self->a));
	rep.ioasid = self->b;
	fail_nth_sweep(n, rc, ioctl(self->dev_fd, VFIO_DEVICE_ATTACH_IOASID,
				    &rep)) {
		if (rc == 0)
			break;
		ASSERT_TRUE(injected_errno(errno)) TH_LOG("n=%u errno=%d", n, errno);
		/* Still where it was. */
		ASSERT_EQ(1, domains_of(self->ioasid_fd, self->a));
		ASSERT_EQ(0, domains_of(self->ioasid_fd, self->b));
	}
	ASSERT_EQ(0, rc);
	ASSERT_LT(1, n);
	ASSERT_EQ(0, domains_of(self->ioasid_fd, self->a));
	ASSERT_EQ(1, domains_of(self->ioasid_fd, self->b));
}

TEST_F(fail_nth_dev, iova_ranges_and_coherency)
{
	IOASID_CMD(ioasid_iova_ranges, cmd);
	IOASID_CMD(ioasid_coherency, coh);
	struct ioasid_iova_range ranges[4];
	unsigned int n;
	int rc;

	ASSERT_EQ(0, vfio_bind_ioasid(self->dev_fd, self->ioasid_fd, NULL));
	ASSERT_EQ(0, vfio_attach_ioasid(self->dev_fd, self->a));
	cmd.ioasid = self->a;
	cmd.ranges = (uintptr_t)ranges;
	fail_nth_sweep(n, rc, (cmd.num_ranges = 4,
			       ioctl(self->ioasid_fd, IOASID_IOVA_RANGES, &cmd))) {
		if (rc)
			ASSERT_TRUE(injected_errno(errno));
	}
	ASSERT_EQ(0, rc);
	ASSERT_LE(1, cmd.num_ranges);
	coh.ioasid = self->a;
	fail_nth_sweep(n, rc, ioctl(self->ioasid_fd, IOASID_COHERENCY, &coh)) {
		if (rc)
			ASSERT_TRUE(injected_errno(errno));
	}
	ASSERT_EQ(0, rc);
	ASSERT_EQ(1, coh.out_domains);
}

TEST_F(fail_nth_dev, kvm_file_add)
{
	struct kvm_vm k;
	unsigned int n;
	int rc;

	if (access("/dev/kvm", F_OK))
		SKIP(return, "no /dev/kvm");
	ASSERT_EQ(0, kvm_vm_open(&k));
	fail_nth_sweep(n, rc, kvm_vfio_file(&k, self->ioasid_fd, true)) {
		if (rc == 0)
			break;
		ASSERT_TRUE(injected_errno(errno)) TH_LOG("n=%u errno=%d", n, errno);
		ASSERT_EQ(0, kvm_assigned_devices(&k));
	}
	if (rc)
		ASSERT_EQ(0, kvm_vfio_file(&k, self->ioasid_fd, true));
	ASSERT_LT(1, n);
	ASSERT_EQ(1, kvm_assigned_devices(&k));
	ASSERT_EQ(0, kvm_vfio_file(&k, self->ioasid_fd, false));
	kvm_vm_close(&k);
}

TEST_HARNESS_MAIN
