/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A KVM VM with a kvm-vfio device, for the selftests that check what KVM
 * is told about the no-snoop DMA of a /dev/ioasid context.
 */
#ifndef __SELFTEST_IOASID_KVM_H
#define __SELFTEST_IOASID_KVM_H

#include <stdint.h>
#include <stdlib.h>
#include <linux/kvm.h>

#include "ioasid_test.h"

struct kvm_vm {
	int kvm;
	int vm;
	int vfio_dev;
	int stats;
};

static inline void kvm_vm_close(struct kvm_vm *k)
{
	close(k->stats);
	close(k->vfio_dev);
	close(k->vm);
	close(k->kvm);
	*k = (struct kvm_vm){ -1, -1, -1, -1 };
}

/* A VM and its kvm-vfio device; -1 with errno on failure. */
static inline int kvm_vm_open(struct kvm_vm *k)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_VFIO };

	*k = (struct kvm_vm){ -1, -1, -1, -1 };
	k->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->kvm < 0)
		return -1;
	k->vm = ioctl(k->kvm, KVM_CREATE_VM, 0);
	if (k->vm < 0 || ioctl(k->vm, KVM_CREATE_DEVICE, &dev))
		goto err;
	k->vfio_dev = dev.fd;
	k->stats = ioctl(k->vm, KVM_GET_STATS_FD, 0);
	if (k->stats < 0)
		goto err;
	return 0;
err:
	kvm_vm_close(k);
	return -1;
}

/* KVM_DEV_VFIO_FILE_ADD or _DEL of @fd. */
static inline int kvm_vfio_file(struct kvm_vm *k, int fd, bool add)
{
	int32_t file = fd;
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_FILE,
		.attr = add ? KVM_DEV_VFIO_FILE_ADD : KVM_DEV_VFIO_FILE_DEL,
		.addr = (uintptr_t)&file,
	};

	return ioctl(k->vfio_dev, KVM_SET_DEVICE_ATTR, &attr);
}

/* The VM binary stat @name, or -1 if there is no such stat. */
static inline int64_t kvm_vm_stat(struct kvm_vm *k, const char *name)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	int64_t val = -1;
	size_t dsize;
	uint32_t i;
	char *descs;

	if (pread(k->stats, &h, sizeof(h), 0) != sizeof(h))
		return -1;
	dsize = sizeof(*d) + h.name_size;
	descs = calloc(h.num_desc, dsize);
	if (!descs)
		return -1;
	if (pread(k->stats, descs, h.num_desc * dsize, h.desc_offset) !=
	    (ssize_t)(h.num_desc * dsize))
		goto out;
	for (i = 0; i < h.num_desc; i++) {
		d = (struct kvm_stats_desc *)(descs + i * dsize);
		if (strcmp(d->name, name))
			continue;
		if (pread(k->stats, &val, sizeof(val),
			  h.data_offset + d->offset) != sizeof(val))
			val = -1;
		break;
	}
out:
	free(descs);
	return val;
}

/*
 * How many users of non-coherent DMA make the VM emulate WBINVD, -1 if
 * the kernel does not say.
 */
static inline int64_t kvm_noncoherent_dma(struct kvm_vm *k)
{
	return kvm_vm_stat(k, "noncoherent_dma_count");
}

/* How many files kvm-vfio counts as assigned devices (posted MSIs). */
static inline int64_t kvm_assigned_devices(struct kvm_vm *k)
{
	return kvm_vm_stat(k, "assigned_device_count");
}

#endif /* __SELFTEST_IOASID_KVM_H */
