/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test-only ioctl of CONFIG_IOASID_TEST kernels, shared with
 * tools/testing/selftests/ioasid.  Not a stable ABI.
 */
#ifndef _IOASID_TEST_H
#define _IOASID_TEST_H

#include <linux/ioasid.h>
#include <linux/types.h>

/* The mock IOMMU instances: devices of two never share a domain. */
#define IOASID_MOCK_IOMMUS	2

/**
 * enum ioasid_test_op - what IOASID_TEST does
 * @IOASID_TEST_OP_PAGE_PINS: Report the DMA pin count and the physical
 *                            address of the page at @page_pins.user_va
 * @IOASID_TEST_OP_LOCKED_VM: Report the pages charged to the caller's
 *                            user (user_struct locked_vm) and mm
 *                            (pinned_vm)
 * @IOASID_TEST_OP_MOCK_DEVICE: Create a mock device behind a mock IOMMU
 *                              and bind it to the context.  Destroying
 *                              the mock object (IOASID_DESTROY of
 *                              @mock_device.out_mock_id) unbinds and
 *                              removes the device.
 * @IOASID_TEST_OP_ATTACH: Attach a bound device to an IOASID
 * @IOASID_TEST_OP_DETACH: Detach a bound device
 * @IOASID_TEST_OP_REPLACE: Move an attached device to another IOASID
 * @IOASID_TEST_OP_MOCK_PTE: Read the IOPTE that translates an IOVA in the
 *                           mock domain a device is attached through
 * @IOASID_TEST_OP_MOCK_DOMAIN: Report on that mock domain
 * @IOASID_TEST_OP_MOCK_WRITE: Do to the IOPTEs of that mock domain what a
 *                             device writing all over a range would: set
 *                             the dirty bit of each writable one while
 *                             the domain tracks
 * @IOASID_TEST_OP_ACCESS_CREATE: Create a mock emulated device: a driver
 *                                with an access on the context, which
 *                                lets go of its pins when asked unless
 *                                told not to.  Destroying the mock object
 *                                (IOASID_DESTROY of @access.id) unpins
 *                                what it holds and destroys the access.
 * @IOASID_TEST_OP_ACCESS_ATTACH: Attach its access to @access.ioasid
 * @IOASID_TEST_OP_ACCESS_REPLACE: Move its access to @access.ioasid
 * @IOASID_TEST_OP_ACCESS_DETACH: Detach its access
 * @IOASID_TEST_OP_ACCESS_PIN: Pin a range through its access, at most
 *                             IOASID_MOCK_ACCESS_MAX_PIN bytes, and keep
 *                             the pin until unpinned as a whole
 * @IOASID_TEST_OP_ACCESS_UNPIN: Unpin a range the device pinned in one go
 * @IOASID_TEST_OP_ACCESS_RW: Read or write through its access, at most
 *                            IOASID_MOCK_ACCESS_MAX_RW bytes
 */
enum ioasid_test_op {
	IOASID_TEST_OP_PAGE_PINS = 1,
	IOASID_TEST_OP_LOCKED_VM,
	IOASID_TEST_OP_MOCK_DEVICE,
	IOASID_TEST_OP_ATTACH,
	IOASID_TEST_OP_DETACH,
	IOASID_TEST_OP_MOCK_PTE,
	IOASID_TEST_OP_MOCK_DOMAIN,
	IOASID_TEST_OP_REPLACE,
	IOASID_TEST_OP_MOCK_WRITE,
	IOASID_TEST_OP_ACCESS_CREATE,
	IOASID_TEST_OP_ACCESS_ATTACH,
	IOASID_TEST_OP_ACCESS_REPLACE,
	IOASID_TEST_OP_ACCESS_DETACH,
	IOASID_TEST_OP_ACCESS_PIN,
	IOASID_TEST_OP_ACCESS_UNPIN,
	IOASID_TEST_OP_ACCESS_RW,
};

/**
 * enum ioasid_mock_access_flags - how a mock emulated device behaves
 * @IOASID_MOCK_ACCESS_KEEP_PINS: Its unmap callback unpins nothing, as a
 *                                buggy driver's would
 */
enum ioasid_mock_access_flags {
	IOASID_MOCK_ACCESS_KEEP_PINS = 1 << 0,
};

/* For _PIN and _RW: the kernel's IOASID_ACCESS_WRITE, which they pass on. */
#define IOASID_MOCK_ACCESS_WRITE	1

#define IOASID_MOCK_ACCESS_MAX_PIN	(2UL << 20)
#define IOASID_MOCK_ACCESS_MAX_RW	(64UL << 10)

/**
 * enum ioasid_mock_flags - mock device properties
 * @IOASID_MOCK_COHERENT: The device's IOMMU can block no-snoop DMA
 * @IOASID_MOCK_ENFORCE_FAILS: It says so, but its domains refuse to
 * @IOASID_MOCK_NO_DIRTY: Its domains cannot track dirty IOPTEs
 */
enum ioasid_mock_flags {
	IOASID_MOCK_COHERENT = 1 << 0,
	IOASID_MOCK_ENFORCE_FAILS = 1 << 1,
	IOASID_MOCK_NO_DIRTY = 1 << 2,
};

/**
 * struct ioasid_test - ioctl(IOASID_TEST)
 * @size: sizeof(struct ioasid_test)
 * @op: One of enum ioasid_test_op
 * @page_pins: For IOASID_TEST_OP_PAGE_PINS
 * @page_pins.user_va: In: a user address
 * @page_pins.out_pins: Out: how many times its page is pinned for DMA
 * @page_pins.out_phys: Out: the physical address of the page
 * @locked_vm: For IOASID_TEST_OP_LOCKED_VM
 * @locked_vm.out_user: Out: the user's locked_vm, in pages
 * @locked_vm.out_mm: Out: the mm's pinned_vm, in pages
 * @mock_device: For IOASID_TEST_OP_MOCK_DEVICE
 * @mock_device.iommu: In: which mock IOMMU, below IOASID_MOCK_IOMMUS
 * @mock_device.flags: In: enum ioasid_mock_flags
 * @mock_device.pgsize_bitmap: In: the IOPTE sizes of its domains
 * @mock_device.aperture_start: In: first IOVA its domains translate
 * @mock_device.aperture_last: In: last IOVA its domains translate
 * @mock_device.resv_start: In: start of a reserved region, if any
 * @mock_device.resv_length: In: its length, 0 for none
 * @mock_device.out_mock_id: Out: the mock object, owning the device
 * @mock_device.out_dev_id: Out: the bound device
 * @attach: For IOASID_TEST_OP_ATTACH, _DETACH and _REPLACE
 * @attach.dev_id: In: a bound device
 * @attach.ioasid: In: the IOASID to attach to (not for detach)
 * @mock_pte: For IOASID_TEST_OP_MOCK_PTE
 * @mock_pte.dev_id: In: an attached mock device
 * @mock_pte.__reserved: Must be 0
 * @mock_pte.iova: In: the IOVA
 * @mock_pte.out_phys: Out: the physical address it translates to
 * @mock_pte.out_pgsize: Out: the size of the IOPTE
 * @mock_pte.out_prot: Out: IOMMU_READ (1) and IOMMU_WRITE (2)
 * @mock_domain: For IOASID_TEST_OP_MOCK_DOMAIN
 * @mock_domain.dev_id: In: an attached mock device
 * @mock_domain.out_domain: Out: a number naming the domain
 * @mock_domain.out_ptes: Out: IOPTEs it holds
 * @mock_domain.out_map_calls: Out: map_pages calls it had
 * @mock_domain.out_iotlb_syncs: Out: IOTLB flushes it had
 * @mock_domain.out_enforce_cc: Out: 1 if it blocks no-snoop DMA
 * @mock_domain.__reserved: Out: 0, padding
 * @mock_domain.out_map_syncs: Out: syncs of new IOPTEs (iotlb_sync_map)
 * @mock_write: For IOASID_TEST_OP_MOCK_WRITE
 * @mock_write.dev_id: In: an attached mock device
 * @mock_write.__reserved: Must be 0
 * @mock_write.iova: In: first IOVA written
 * @mock_write.length: In: bytes written
 * @mock_write.out_ptes: Out: IOPTEs marked dirty
 * @access: For the IOASID_TEST_OP_ACCESS_* ops
 * @access.id: In: the mock emulated device; out for _CREATE
 * @access.flags: In: enum ioasid_mock_access_flags for _CREATE,
 *                IOASID_MOCK_ACCESS_WRITE for _PIN and _RW
 * @access.ioasid: In: the IOASID for _ATTACH and _REPLACE
 * @access.out_access_id: Out (_CREATE): the access's id in the context
 * @access.iova: In: the first IOVA, for _PIN, _UNPIN and _RW
 * @access.length: In: its bytes
 * @access.uptr: In: the user buffer of _RW
 * @access.out_phys: Out (_PIN): physical address of the first page pinned
 * @access.out_unmaps: Out: calls of the device's unmap callback so far
 * @access.out_pinned: Out: pages the device holds pinned
 */
struct ioasid_test {
	__u32 size;
	__u32 op;
	union {
		struct {
			__aligned_u64 user_va;
			__aligned_u64 out_pins;
			__aligned_u64 out_phys;
		} page_pins;
		struct {
			__aligned_u64 out_user;
			__aligned_u64 out_mm;
		} locked_vm;
		struct {
			__u32 iommu;
			__u32 flags;
			__aligned_u64 pgsize_bitmap;
			__aligned_u64 aperture_start;
			__aligned_u64 aperture_last;
			__aligned_u64 resv_start;
			__aligned_u64 resv_length;
			__u32 out_mock_id;
			__u32 out_dev_id;
		} mock_device;
		struct {
			__u32 dev_id;
			__u32 ioasid;
		} attach;
		struct {
			__u32 dev_id;
			__u32 __reserved;
			__aligned_u64 iova;
			__aligned_u64 out_phys;
			__aligned_u64 out_pgsize;
			__u32 out_prot;
		} mock_pte;
		struct {
			__u32 dev_id;
			__u32 out_domain;
			__aligned_u64 out_ptes;
			__aligned_u64 out_map_calls;
			__aligned_u64 out_iotlb_syncs;
			__u32 out_enforce_cc;
			__u32 __reserved;
			__aligned_u64 out_map_syncs;
		} mock_domain;
		struct {
			__u32 dev_id;
			__u32 __reserved;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 out_ptes;
		} mock_write;
		struct {
			__u32 id;
			__u32 flags;
			__u32 ioasid;
			__u32 out_access_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__aligned_u64 out_phys;
			__aligned_u64 out_unmaps;
			__aligned_u64 out_pinned;
		} access;
	};
};

#define IOASID_TEST		_IO(IOASID_TYPE, IOASID_CMD_TEST)

#endif /* _IOASID_TEST_H */
