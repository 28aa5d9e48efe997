/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test-only ioctl of CONFIG_IOASID_TEST kernels, shared with
 * tools/testing/selftests/ioasid.  Not a stable ABI.
 */
#ifndef _IOASID_TEST_H
#define _IOASID_TEST_H

#include <linux/ioasid.h>
#include <linux/types.h>

/**
 * enum ioasid_test_op - what IOASID_TEST does
 * @IOASID_TEST_OP_PAGE_PINS: Report the DMA pin count of the page mapped
 *                            at @page_pins.user_va in the caller
 * @IOASID_TEST_OP_LOCKED_VM: Report the pages charged to the caller's
 *                            user (user_struct locked_vm) and mm
 *                            (pinned_vm)
 */
enum ioasid_test_op {
	IOASID_TEST_OP_PAGE_PINS = 1,
	IOASID_TEST_OP_LOCKED_VM,
};

/**
 * struct ioasid_test - ioctl(IOASID_TEST)
 * @size: sizeof(struct ioasid_test)
 * @op: One of enum ioasid_test_op
 * @page_pins: For IOASID_TEST_OP_PAGE_PINS
 * @page_pins.user_va: In: a user address
 * @page_pins.out_pins: Out: how many times its page is pinned for DMA
 * @locked_vm: For IOASID_TEST_OP_LOCKED_VM
 * @locked_vm.out_user: Out: the user's locked_vm, in pages
 * @locked_vm.out_mm: Out: the mm's pinned_vm, in pages
 */
struct ioasid_test {
	__u32 size;
	__u32 op;
	union {
		struct {
			__aligned_u64 user_va;
			__aligned_u64 out_pins;
		} page_pins;
		struct {
			__aligned_u64 out_user;
			__aligned_u64 out_mm;
		} locked_vm;
	};
};

#define IOASID_TEST		_IO(IOASID_TYPE, IOASID_CMD_TEST)

#endif /* _IOASID_TEST_H */
