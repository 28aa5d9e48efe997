// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOASID_TEST, the test-only ioctl of CONFIG_IOASID_TEST kernels, through
 * which tools/testing/selftests/ioasid measures kernel state (pin counts,
 * RLIMIT_MEMLOCK charges, the IOPTEs of the mock IOMMU driver's domains)
 * instead of assuming it, and creates the mock devices it attaches.
 */
#include <linux/ioasid.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include "ioasid_private.h"
#include "ioasid_test.h"
#include "selftest.h"

static_assert(MOCK_IOMMUS == IOASID_MOCK_IOMMUS);

/**
 * struct mock_object - a mock device owned by a context, for the tests
 * @obj: Registry entry
 * @dev: The device
 * @idev: Its binding to the context
 */
struct mock_object {
	struct ioasid_object obj;
	struct device *dev;
	struct ioasid_device *idev;
};

static int mock_check_config(struct ioasid_test *cmd)
{
	if (cmd->mock_device.iommu >= IOASID_MOCK_IOMMUS)
		return -EINVAL;
	if (cmd->mock_device.flags &
	    ~(IOASID_MOCK_COHERENT | IOASID_MOCK_ENFORCE_FAILS |
	      IOASID_MOCK_NO_DIRTY))
		return -EOPNOTSUPP;
	if (!(cmd->mock_device.pgsize_bitmap & PAGE_SIZE) ||
	    cmd->mock_device.aperture_start > cmd->mock_device.aperture_last)
		return -EINVAL;
	return 0;
}

static int ioasid_test_mock_device(struct ioasid_ucmd *ucmd)
{
	struct ioasid_test *cmd = ucmd->cmd;
	struct ioasid_object *obj;
	struct mock_object *mock;
	struct mock_config config;
	u32 dev_id;
	int rc;

	rc = mock_check_config(cmd);
	if (rc)
		return rc;
	config = (struct mock_config) {
		.iommu = cmd->mock_device.iommu,
		.pgsize_bitmap = cmd->mock_device.pgsize_bitmap,
		.aperture_start = cmd->mock_device.aperture_start,
		.aperture_end = cmd->mock_device.aperture_last,
		.coherent = cmd->mock_device.flags & IOASID_MOCK_COHERENT,
		.enforce_fails = cmd->mock_device.flags &
				 IOASID_MOCK_ENFORCE_FAILS,
		.no_dirty = cmd->mock_device.flags & IOASID_MOCK_NO_DIRTY,
	};
	obj = ioasid_object_alloc(ucmd->ctx, sizeof(*mock), IOASID_OBJ_MOCK);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	mock = container_of(obj, struct mock_object, obj);
	mock->dev = mock_dev_create(&config, cmd->mock_device.resv_start,
				    cmd->mock_device.resv_length);
	if (IS_ERR(mock->dev)) {
		rc = PTR_ERR(mock->dev);
		goto err_abort;
	}
	mock->idev = ioasid_device_bind(ucmd->ctx, mock->dev, &dev_id);
	if (IS_ERR(mock->idev)) {
		rc = PTR_ERR(mock->idev);
		goto err_unregister;
	}
	cmd->mock_device.out_mock_id = obj->id;
	cmd->mock_device.out_dev_id = dev_id;
	rc = ioasid_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_unbind;
	ioasid_object_publish(ucmd->ctx, obj);
	return 0;

err_unbind:
	ioasid_device_unbind(mock->idev);
err_unregister:
	device_unregister(mock->dev);
err_abort:
	ioasid_object_abort(ucmd->ctx, obj);
	return rc;
}

void ioasid_test_mock_destroy(struct ioasid_object *obj)
{
	struct mock_object *mock = container_of(obj, struct mock_object, obj);

	ioasid_device_unbind(mock->idev);
	device_unregister(mock->dev);
	kfree(mock);
}

static struct ioasid_device *ioasid_test_get_device(struct ioasid_ucmd *ucmd,
						    u32 id)
{
	struct ioasid_object *obj;

	obj = ioasid_object_get(ucmd->ctx, id, IOASID_OBJ_DEVICE);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct ioasid_device, obj);
}

/* What a VFIO driver would do for attach, detach and replace. */
static int ioasid_test_attach(struct ioasid_ucmd *ucmd)
{
	struct ioasid_test *cmd = ucmd->cmd;
	struct ioasid_device *idev;
	int rc = 0;

	idev = ioasid_test_get_device(ucmd, cmd->attach.dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	if (cmd->op == IOASID_TEST_OP_ATTACH)
		rc = ioasid_device_attach(idev, cmd->attach.ioasid);
	else if (cmd->op == IOASID_TEST_OP_REPLACE)
		rc = ioasid_device_replace(idev, cmd->attach.ioasid);
	else
		ioasid_device_detach(idev);
	ioasid_object_put(&idev->obj);
	return rc;
}

/*
 * Run @fn on the mock domain the device @dev_id is attached through,
 * with the attachment held stable and its IOASID locked for reading, as
 * the core reads a domain, so that no map or unmap changes it meanwhile.
 */
static int ioasid_test_on_domain(struct ioasid_ucmd *ucmd, u32 dev_id,
				 int (*fn)(struct ioasid_test *cmd,
					   struct mock_domain *md))
{
	struct ioasid_device *idev;
	struct mock_domain *md;
	int rc = -ENODEV;

	idev = ioasid_test_get_device(ucmd, dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	mutex_lock(&idev->igroup->lock);
	md = idev->space ? mock_domain_of(idev->igroup->domain->domain) : NULL;
	if (md) {
		down_read(&idev->space->lock);
		rc = fn(ucmd->cmd, md);
		up_read(&idev->space->lock);
	}
	mutex_unlock(&idev->igroup->lock);
	ioasid_object_put(&idev->obj);
	if (rc)
		return rc;
	return ioasid_ucmd_respond(ucmd, sizeof(struct ioasid_test));
}

static int mock_read_pte(struct ioasid_test *cmd, struct mock_domain *md)
{
	unsigned long pte_iova, pte;

	pte = mock_lookup(md, cmd->mock_pte.iova, &pte_iova);
	if (!pte)
		return -ENOENT;
	cmd->mock_pte.out_phys = PFN_PHYS(pte >> MOCK_PTE_PFN_SHIFT);
	cmd->mock_pte.out_pgsize = mock_pte_size(pte);
	cmd->mock_pte.out_prot = FIELD_GET(MOCK_PTE_PROT, pte);
	return 0;
}

static int mock_read_domain(struct ioasid_test *cmd, struct mock_domain *md)
{
	cmd->mock_domain.out_domain = md->seq;
	cmd->mock_domain.out_ptes = atomic_long_read(&md->nr_ptes);
	cmd->mock_domain.out_map_calls = atomic64_read(&md->map_calls);
	cmd->mock_domain.out_iotlb_syncs = atomic64_read(&md->iotlb_syncs);
	cmd->mock_domain.out_map_syncs = atomic64_read(&md->map_syncs);
	cmd->mock_domain.out_enforce_cc = md->enforce_cc;
	cmd->mock_domain.__reserved = 0;
	return 0;
}

/* A device's write sets the dirty bit of a writable IOPTE. */
static int mock_write_pte(struct mock_domain *md, unsigned long pte_iova,
			  unsigned long pte, void *arg)
{
	u64 *marked = arg;

	if (!(FIELD_GET(MOCK_PTE_PROT, pte) & IOMMU_WRITE))
		return 0;
	mock_pte_store(md, pte_iova, pte | MOCK_PTE_DIRTY);
	(*marked)++;
	return 0;
}

/* What a device writing all over a range leaves in the IOPTEs. */
static int mock_write_domain(struct ioasid_test *cmd, struct mock_domain *md)
{
	unsigned long last;

	if (cmd->mock_write.__reserved || !cmd->mock_write.length ||
	    check_add_overflow(cmd->mock_write.iova,
			       cmd->mock_write.length - 1, &last))
		return -EINVAL;
	cmd->mock_write.out_ptes = 0;
	guard(mutex)(&md->dirty_lock);
	if (md->dirty_tracking)
		mock_walk_ptes(md, cmd->mock_write.iova, last, mock_write_pte,
			       &cmd->mock_write.out_ptes);
	return 0;
}

static int ioasid_test_page_pins(struct ioasid_ucmd *ucmd)
{
	struct ioasid_test *cmd = ucmd->cmd;
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
	cmd->page_pins.out_phys = page_to_phys(page);
	put_page(page);
	return ioasid_ucmd_respond(ucmd, sizeof(*cmd));
}

static int ioasid_test_locked_vm(struct ioasid_ucmd *ucmd)
{
	struct ioasid_test *cmd = ucmd->cmd;

	cmd->locked_vm.out_user = atomic_long_read(&current_user()->locked_vm);
	cmd->locked_vm.out_mm = atomic64_read(&current->mm->pinned_vm);
	return ioasid_ucmd_respond(ucmd, sizeof(*cmd));
}

int ioasid_test_ioctl(struct ioasid_ucmd *ucmd)
{
	struct ioasid_test *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOASID_TEST_OP_PAGE_PINS:
		return ioasid_test_page_pins(ucmd);
	case IOASID_TEST_OP_LOCKED_VM:
		return ioasid_test_locked_vm(ucmd);
	case IOASID_TEST_OP_MOCK_DEVICE:
		return ioasid_test_mock_device(ucmd);
	case IOASID_TEST_OP_ATTACH:
	case IOASID_TEST_OP_DETACH:
	case IOASID_TEST_OP_REPLACE:
		return ioasid_test_attach(ucmd);
	case IOASID_TEST_OP_MOCK_PTE:
		return ioasid_test_on_domain(ucmd, cmd->mock_pte.dev_id,
					     mock_read_pte);
	case IOASID_TEST_OP_MOCK_DOMAIN:
		return ioasid_test_on_domain(ucmd, cmd->mock_domain.dev_id,
					     mock_read_domain);
	case IOASID_TEST_OP_MOCK_WRITE:
		return ioasid_test_on_domain(ucmd, cmd->mock_write.dev_id,
					     mock_write_domain);
	case IOASID_TEST_OP_ACCESS_CREATE ... IOASID_TEST_OP_ACCESS_RW:
		return ioasid_test_access(ucmd);
	default:
		return -EOPNOTSUPP;
	}
}
