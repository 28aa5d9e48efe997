// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only support for tools/testing/selftests/ioasid: IOASID_TEST lets
 * the tests measure kernel state (pin counts, RLIMIT_MEMLOCK charges)
 * instead of assuming it.  Built only with CONFIG_IOASID_TEST.
 */
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>

#include "ioasid_private.h"
#include "ioasid_test.h"

/*
 * Fault injection for the paths that no generic fault site covers (the
 * pinning of user memory), as /sys/kernel/debug/fail_ioasid.  It also
 * honours /proc/PID/fail-nth, like every fault site.
 */
static DECLARE_FAULT_ATTR(fail_ioasid);
static struct dentry *fail_ioasid_dir;

bool ioasid_should_fail(void)
{
	return should_fail(&fail_ioasid, 1);
}

void __init ioasid_test_init(void)
{
	fail_ioasid_dir = fault_create_debugfs_attr("fail_ioasid", NULL,
						    &fail_ioasid);
}

void ioasid_test_exit(void)
{
	debugfs_remove_recursive(fail_ioasid_dir);
}

static int ioasid_test_page_pins(struct ioasid_test *cmd)
{
	struct folio *folio;
	struct page *page;

	if (get_user_pages_fast(cmd->page_pins.user_va, 1, 0, &page) != 1)
		return -EFAULT;
	folio = page_folio(page);
	/*
	 * Large folios count pins exactly; small ones by a bias on the
	 * reference count, which our own reference does not reach.
	 */
	if (folio_test_large(folio))
		cmd->page_pins.out_pins = atomic_read(&folio->_pincount);
	else
		cmd->page_pins.out_pins = folio_ref_count(folio) /
					  GUP_PIN_COUNTING_BIAS;
	put_page(page);
	return 0;
}

int ioasid_test_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_test *cmd = ucmd->cmd;
	int rc;

	switch (cmd->op) {
	case IOASID_TEST_OP_PAGE_PINS:
		rc = ioasid_test_page_pins(cmd);
		break;
	case IOASID_TEST_OP_LOCKED_VM:
		cmd->locked_vm.out_user =
			atomic_long_read(&current_user()->locked_vm);
		cmd->locked_vm.out_mm = atomic64_read(&current->mm->pinned_vm);
		rc = 0;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;
	return ioasid_ucmd_respond(ucmd, sizeof(*cmd));
}
