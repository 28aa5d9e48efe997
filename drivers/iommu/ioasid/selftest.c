// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only support for tools/testing/selftests/ioasid, built with
 * CONFIG_IOASID_TEST:
 *
 * - IOASID_TEST, through which the tests measure kernel state (pin
 *   counts, RLIMIT_MEMLOCK charges, IOMMU page tables) instead of
 *   assuming it;
 * - a mock IOMMU driver: IOASID_MOCK_IOMMUS mock IOMMUs, each with its own
 *   bus, whose devices are created by the tests with the page sizes,
 *   aperture, reserved region and coherency they ask for, and whose
 *   domains keep a page table the tests can read back;
 * - a fault-injection point for the paths no generic one covers.
 */
#include <linux/bitfield.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/fault-inject.h>
#include <linux/ioasid.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/property.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include "../iommu-priv.h"

#include "ioasid_private.h"
#include "ioasid_test.h"

/*
 * /sys/kernel/debug/fail_ioasid; it also honours /proc/PID/fail-nth,
 * like every fault site.
 */
static DECLARE_FAULT_ATTR(fail_ioasid);
static struct dentry *fail_ioasid_dir;

bool ioasid_should_fail(void)
{
	return should_fail(&fail_ioasid, 1);
}

/* One bus per mock IOMMU, on which all its devices sit. */
static const struct bus_type mock_buses[IOASID_MOCK_IOMMUS] = {
	{ .name = "ioasid_mock0" },
	{ .name = "ioasid_mock1" },
};

/**
 * struct mock_iommu - one mock IOMMU instance
 * @iommu: The registered IOMMU
 * @bus: Its bus, one of mock_buses
 * @nb: The core's notifier on @bus
 */
struct mock_iommu {
	struct iommu_device iommu;
	const struct bus_type *bus;
	struct notifier_block nb;
};

static struct mock_iommu mock_iommus[IOASID_MOCK_IOMMUS];
static DEFINE_IDA(mock_dev_ida);
static atomic_t mock_domain_seq;

/**
 * struct mock_config - what a mock device asks of its IOMMU; a domain
 *                      serves only devices that ask the same
 * @iommu: The instance
 * @pgsize_bitmap: IOPTE sizes
 * @aperture_start: First translated IOVA
 * @aperture_end: Last translated IOVA
 * @coherent: Whether no-snoop DMA can be blocked
 * @enforce_fails: Whether enforce_cache_coherency() fails all the same,
 *                 as a driver may for its own reasons
 * @no_dirty: Whether its domains cannot track dirty IOPTEs
 */
struct mock_config {
	struct mock_iommu *iommu;
	unsigned long pgsize_bitmap;
	dma_addr_t aperture_start;
	dma_addr_t aperture_end;
	bool coherent;
	bool enforce_fails;
	bool no_dirty;
};

/**
 * struct mock_dev - a mock device
 * @dev: The device
 * @id: Its number, in mock_dev_ida
 * @config: Its IOMMU's properties
 * @resv_start: Start of its reserved region
 * @resv_length: Length of its reserved region, 0 for none
 */
struct mock_dev {
	struct device dev;
	int id;
	struct mock_config config;
	phys_addr_t resv_start;
	size_t resv_length;
};

/**
 * struct mock_domain - a paging domain of a mock IOMMU
 * @domain: The domain
 * @config: The properties of the devices it serves
 * @seq: A number naming it, for the tests
 * @tables: The IOPTEs of PAGE_SIZE, in &struct mock_table by IOVA / 2 MiB:
 *          like a real IOMMU's radix table, one lookup finds 512 of them,
 *          so that the mock costs a benchmark no more than a real IOMMU
 * @ptes: Larger IOPTEs by the page number of the first IOVA they translate
 * @nr_ptes: IOPTEs of either kind
 * @map_calls: map_pages calls
 * @iotlb_syncs: IOTLB flushes
 * @map_syncs: iotlb_sync_map calls, which make new IOPTEs visible
 * @enforce_cc: enforce_cache_coherency() succeeded: no device that
 *              cannot block no-snoop DMA may attach
 * @dirty_lock: Serialises the changes of IOPTE dirty bits, which the
 *              core makes under its IOASID's lock taken for reading
 * @dirty_tracking: Writes set the dirty bit of the IOPTE they go through
 */
struct mock_domain {
	struct iommu_domain domain;
	struct mock_config config;
	u32 seq;
	bool enforce_cc;
	struct xarray tables;
	struct xarray ptes;
	atomic_long_t nr_ptes;
	atomic64_t map_calls;
	atomic64_t iotlb_syncs;
	atomic64_t map_syncs;
	struct mutex dirty_lock; /* IOPTE dirty bits, @dirty_tracking */
	bool dirty_tracking;
};

/*
 * An IOPTE is PFN, dirty bit, size order and prot in an unsigned long,
 * never 0; in @ptes as an xa_value.
 */
#define MOCK_PTE_PROT	GENMASK(1, 0)
#define MOCK_PTE_ORDER	GENMASK(7, 2)
#define MOCK_PTE_DIRTY	BIT(8)
#define MOCK_PTE_PFN_SHIFT 9

#define MOCK_TABLE_SHIFT 21
#define MOCK_TABLE_PTES	BIT(MOCK_TABLE_SHIFT - PAGE_SHIFT)

/**
 * struct mock_table - the PAGE_SIZE IOPTEs of 2 MiB of IOVA
 * @count: How many are set; the table goes with the last
 * @pte: The IOPTEs, 0 where none
 *
 * The core maps and unmaps a domain under its IOASID's lock, so a table
 * is never changed concurrently.
 */
struct mock_table {
	unsigned int count;
	unsigned long pte[MOCK_TABLE_PTES];
};

static struct mock_dev *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev);
}

static struct mock_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_domain, domain);
}

static unsigned long mock_pte(phys_addr_t paddr, size_t pgsize, int prot)
{
	return (PHYS_PFN(paddr) << MOCK_PTE_PFN_SHIFT) |
	       FIELD_PREP(MOCK_PTE_ORDER, __ffs(pgsize)) |
	       FIELD_PREP(MOCK_PTE_PROT, prot);
}

static size_t mock_pte_size(unsigned long pte)
{
	return 1UL << FIELD_GET(MOCK_PTE_ORDER, pte);
}

/* The table slot of a PAGE_SIZE IOPTE for @iova; NULL if no table. */
static unsigned long *mock_table_slot(struct mock_domain *md,
				      unsigned long iova,
				      struct mock_table **table)
{
	*table = xa_load(&md->tables, iova >> MOCK_TABLE_SHIFT);
	if (!*table)
		return NULL;
	return &(*table)->pte[(iova >> PAGE_SHIFT) & (MOCK_TABLE_PTES - 1)];
}

/* The IOPTE translating @iova, trying each page size the domain has. */
static unsigned long mock_lookup(struct mock_domain *md, unsigned long iova,
				 unsigned long *pte_iova)
{
	struct mock_table *table;
	unsigned long *slot;
	unsigned int bit;
	void *pte;

	slot = mock_table_slot(md, iova, &table);
	if (slot && *slot) {
		*pte_iova = ALIGN_DOWN(iova, PAGE_SIZE);
		return *slot;
	}
	for_each_set_bit(bit, &md->domain.pgsize_bitmap, BITS_PER_LONG) {
		if (bit == PAGE_SHIFT)
			continue;
		*pte_iova = ALIGN_DOWN(iova, 1UL << bit);
		pte = xa_load(&md->ptes, *pte_iova >> PAGE_SHIFT);
		if (pte && mock_pte_size(xa_to_value(pte)) == 1UL << bit)
			return xa_to_value(pte);
	}
	return 0;
}

/* Set a PAGE_SIZE IOPTE, making its table if need be. */
static int mock_set_small(struct mock_domain *md, unsigned long iova,
			  unsigned long pte, gfp_t gfp)
{
	struct mock_table *table;
	unsigned long *slot;
	int rc;

	slot = mock_table_slot(md, iova, &table);
	if (!slot) {
		table = kzalloc(sizeof(*table), gfp);
		if (!table)
			return -ENOMEM;
		rc = xa_insert(&md->tables, iova >> MOCK_TABLE_SHIFT, table,
			       gfp);
		if (rc) {
			kfree(table);
			return rc;
		}
		slot = mock_table_slot(md, iova, &table);
	}
	/* Mapping over a live IOPTE is a bug of the caller's. */
	if (WARN_ON(*slot))
		return -EEXIST;
	*slot = pte;
	table->count++;
	return 0;
}

/* Clear the PAGE_SIZE IOPTE at @iova; false if there is none. */
static bool mock_clear_small(struct mock_domain *md, unsigned long iova)
{
	struct mock_table *table;
	unsigned long *slot;

	slot = mock_table_slot(md, iova, &table);
	if (!slot || !*slot)
		return false;
	*slot = 0;
	if (!--table->count) {
		xa_erase(&md->tables, iova >> MOCK_TABLE_SHIFT);
		kfree(table);
	}
	return true;
}

static int mock_map_pages(struct iommu_domain *domain, unsigned long iova,
			  phys_addr_t paddr, size_t pgsize, size_t pgcount,
			  int prot, gfp_t gfp, size_t *mapped)
{
	struct mock_domain *md = to_mock_domain(domain);
	int rc;

	atomic64_inc(&md->map_calls);
	prot &= IOMMU_READ | IOMMU_WRITE;
	for (; pgcount; pgcount--) {
		if (pgsize == PAGE_SIZE) {
			rc = mock_set_small(md, iova,
					    mock_pte(paddr, pgsize, prot), gfp);
		} else {
			rc = xa_insert(&md->ptes, iova >> PAGE_SHIFT,
				       xa_mk_value(mock_pte(paddr, pgsize,
							    prot)), gfp);
			/* Mapping over a live IOPTE is a bug of the caller's. */
			if (WARN_ON(rc == -EBUSY))
				rc = -EEXIST;
		}
		if (rc)
			return rc;
		atomic_long_inc(&md->nr_ptes);
		*mapped += pgsize;
		iova += pgsize;
		paddr += pgsize;
	}
	return 0;
}

/* Like real page tables, an IOPTE larger than asked goes whole. */
static size_t mock_unmap_pages(struct iommu_domain *domain, unsigned long iova,
			       size_t pgsize, size_t pgcount,
			       struct iommu_iotlb_gather *gather)
{
	struct mock_domain *md = to_mock_domain(domain);
	size_t unmapped = 0, want = pgsize * pgcount;
	void *pte;

	while (unmapped < want) {
		if (mock_clear_small(md, iova + unmapped)) {
			unmapped += PAGE_SIZE;
		} else {
			pte = xa_erase(&md->ptes,
				       (iova + unmapped) >> PAGE_SHIFT);
			if (!pte)
				break;
			unmapped += mock_pte_size(xa_to_value(pte));
		}
		atomic_long_dec(&md->nr_ptes);
	}
	iommu_iotlb_gather_add_range(gather, iova, unmapped);
	return unmapped;
}

static void mock_iotlb_sync(struct iommu_domain *domain,
			    struct iommu_iotlb_gather *gather)
{
	atomic64_inc(&to_mock_domain(domain)->iotlb_syncs);
}

/* A sync of no bytes is a caller's bug: a real IOMMU syncs nothing. */
static int mock_iotlb_sync_map(struct iommu_domain *domain, unsigned long iova,
			       size_t size)
{
	if (!size)
		return -EINVAL;
	atomic64_inc(&to_mock_domain(domain)->map_syncs);
	return 0;
}

static void mock_flush_iotlb_all(struct iommu_domain *domain)
{
	atomic64_inc(&to_mock_domain(domain)->iotlb_syncs);
}

static phys_addr_t mock_iova_to_phys(struct iommu_domain *domain,
				     dma_addr_t iova)
{
	unsigned long pte_iova, pte;

	pte = mock_lookup(to_mock_domain(domain), iova, &pte_iova);
	if (!pte)
		return 0;
	return PFN_PHYS(pte >> MOCK_PTE_PFN_SHIFT) +
	       (iova - pte_iova);
}

static int mock_attach_dev(struct iommu_domain *domain, struct device *dev)
{
	struct mock_domain *md = to_mock_domain(domain);

	struct mock_config *c = &to_mock_dev(dev)->config;

	/* Another IOMMU, or other properties: "incompatible, try another". */
	if (c->iommu != md->config.iommu ||
	    c->pgsize_bitmap != md->config.pgsize_bitmap ||
	    c->aperture_start != md->config.aperture_start ||
	    c->aperture_end != md->config.aperture_end ||
	    c->no_dirty != md->config.no_dirty ||
	    (md->enforce_cc && !c->coherent))
		return -EINVAL;
	return 0;
}

/* Like VT-d's second-level tables: only an empty domain can switch. */
static bool mock_enforce_cache_coherency(struct iommu_domain *domain)
{
	struct mock_domain *md = to_mock_domain(domain);

	if (!md->enforce_cc)
		md->enforce_cc = md->config.coherent &&
				 !md->config.enforce_fails &&
				 !atomic_long_read(&md->nr_ptes);
	return md->enforce_cc;
}

/* Rewrite the IOPTE found at @pte_iova by mock_lookup(). */
static void mock_pte_store(struct mock_domain *md, unsigned long pte_iova,
			   unsigned long pte)
{
	struct mock_table *table;

	if (mock_pte_size(pte) == PAGE_SIZE)
		*mock_table_slot(md, pte_iova, &table) = pte;
	else
		xa_store(&md->ptes, pte_iova >> PAGE_SHIFT, xa_mk_value(pte),
			 GFP_KERNEL);
}

/*
 * Call @fn on each IOPTE translating part of [iova, last], with the
 * IOVA it starts at; an IOVA without one is skipped, 2 MiB at a time
 * where there is no table.  Stops at the first non-zero return.
 */
static int mock_walk_ptes(struct mock_domain *md, unsigned long iova,
			  unsigned long last,
			  int (*fn)(struct mock_domain *md,
				    unsigned long pte_iova,
				    unsigned long pte, void *arg),
			  void *arg)
{
	unsigned long pte_iova, pte, next;
	struct mock_table *table;
	int rc;

	while (iova <= last) {
		pte = mock_lookup(md, iova, &pte_iova);
		if (pte) {
			rc = fn(md, pte_iova, pte, arg);
			if (rc)
				return rc;
			next = pte_iova + mock_pte_size(pte);
		} else if (mock_table_slot(md, iova, &table)) {
			next = iova + PAGE_SIZE;
		} else {
			next = ALIGN_DOWN(iova, BIT(MOCK_TABLE_SHIFT)) +
			       BIT(MOCK_TABLE_SHIFT);
		}
		/* The end of the IOVA space. */
		if (next <= iova)
			break;
		iova = next;
		cond_resched();
	}
	return 0;
}

/**
 * struct mock_dirty_read - one read_and_clear_dirty() call
 * @iova: First IOVA asked for
 * @last: Last one
 * @flags: IOMMU_DIRTY_NO_CLEAR or 0
 * @dirty: Where to record
 */
struct mock_dirty_read {
	unsigned long iova;
	unsigned long last;
	unsigned long flags;
	struct iommu_dirty_bitmap *dirty;
};

/*
 * A dirty IOPTE reports all its pages, as hardware records a write per
 * IOPTE, but only those in the range asked for.
 */
static int mock_read_pte_dirty(struct mock_domain *md, unsigned long pte_iova,
			       unsigned long pte, void *arg)
{
	struct mock_dirty_read *r = arg;
	unsigned long start, end;

	if (!(pte & MOCK_PTE_DIRTY))
		return 0;
	start = max(pte_iova, r->iova);
	end = min(pte_iova + mock_pte_size(pte) - 1, r->last);
	iommu_dirty_bitmap_record(r->dirty, start, end - start + 1);
	if (!(r->flags & IOMMU_DIRTY_NO_CLEAR))
		mock_pte_store(md, pte_iova, pte & ~MOCK_PTE_DIRTY);
	return 0;
}

static int mock_read_and_clear_dirty(struct iommu_domain *domain,
				     unsigned long iova, size_t size,
				     unsigned long flags,
				     struct iommu_dirty_bitmap *dirty)
{
	struct mock_domain *md = to_mock_domain(domain);
	struct mock_dirty_read r = {
		.iova = iova,
		.last = iova + size - 1,
		.flags = flags,
		.dirty = dirty,
	};

	guard(mutex)(&md->dirty_lock);
	/* As VT-d: only a clear may run while tracking is off. */
	if (!md->dirty_tracking && dirty->bitmap)
		return -EINVAL;
	return mock_walk_ptes(md, r.iova, r.last, mock_read_pte_dirty, &r);
}

/* Can fail, as a driver's may, so that the core's undo is tested. */
static int mock_set_dirty_tracking(struct iommu_domain *domain, bool enable)
{
	struct mock_domain *md = to_mock_domain(domain);

	if (ioasid_should_fail())
		return -ENOMEM;
	guard(mutex)(&md->dirty_lock);
	md->dirty_tracking = enable;
	return 0;
}

static const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_set_dirty_tracking,
	.read_and_clear_dirty = mock_read_and_clear_dirty,
};

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_domain *md = to_mock_domain(domain);
	struct mock_table *table;
	unsigned long index;

	xa_for_each(&md->tables, index, table)
		kfree(table);
	xa_destroy(&md->tables);
	xa_destroy(&md->ptes);
	mutex_destroy(&md->dirty_lock);
	kfree(md);
}

static const struct iommu_domain_ops mock_domain_ops = {
	.attach_dev = mock_attach_dev,
	.enforce_cache_coherency = mock_enforce_cache_coherency,
	.map_pages = mock_map_pages,
	.unmap_pages = mock_unmap_pages,
	.iotlb_sync = mock_iotlb_sync,
	.iotlb_sync_map = mock_iotlb_sync_map,
	.flush_iotlb_all = mock_flush_iotlb_all,
	.iova_to_phys = mock_iova_to_phys,
	.free = mock_domain_free,
};

static int mock_blocked_attach_dev(struct iommu_domain *domain,
				   struct device *dev)
{
	return 0;
}

static struct iommu_domain mock_blocked_domain = {
	.type = IOMMU_DOMAIN_BLOCKED,
	.ops = &(const struct iommu_domain_ops) {
		.attach_dev = mock_blocked_attach_dev,
	},
};

static struct iommu_domain *mock_domain_alloc_paging(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct mock_domain *md;

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md)
		return ERR_PTR(-ENOMEM);
	md->config = mdev->config;
	md->seq = atomic_inc_return(&mock_domain_seq);
	xa_init(&md->tables);
	xa_init(&md->ptes);
	mutex_init(&md->dirty_lock);
	md->domain.ops = &mock_domain_ops;
	if (!mdev->config.no_dirty)
		md->domain.dirty_ops = &mock_dirty_ops;
	md->domain.pgsize_bitmap = mdev->config.pgsize_bitmap;
	md->domain.geometry.aperture_start = mdev->config.aperture_start;
	md->domain.geometry.aperture_end = mdev->config.aperture_end;
	md->domain.geometry.force_aperture = true;
	return &md->domain;
}

static bool mock_capable(struct device *dev, enum iommu_cap cap)
{
	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
		return true;
	case IOMMU_CAP_ENFORCE_CACHE_COHERENCY:
		return to_mock_dev(dev)->config.coherent;
	default:
		return false;
	}
}

static void mock_get_resv_regions(struct device *dev, struct list_head *head)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct iommu_resv_region *resv;

	if (!mdev->resv_length)
		return;
	resv = iommu_alloc_resv_region(mdev->resv_start, mdev->resv_length, 0,
				       IOMMU_RESV_RESERVED, GFP_KERNEL);
	if (resv)
		list_add_tail(&resv->list, head);
}

static void mock_dev_release(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	/*
	 * Only a completed probe hands dev->iommu back to the core on
	 * removal; after a failed one it is still here.
	 */
	iommu_fwspec_free(dev);
	kfree(dev->iommu);

	ida_free(&mock_dev_ida, mdev->id);
	kfree(mdev);
}

/* Mock devices raise no interrupts: their MSIs need no isolation. */
bool ioasid_test_is_mock_dev(struct device *dev)
{
	return dev->release == mock_dev_release;
}

static struct iommu_device *mock_probe_device(struct device *dev)
{
	if (dev->release != mock_dev_release)
		return ERR_PTR(-ENODEV);
	return &to_mock_dev(dev)->config.iommu->iommu;
}

static const struct iommu_ops mock_ops = {
	.owner = THIS_MODULE,
	.blocked_domain = &mock_blocked_domain,
	.default_domain = &mock_blocked_domain,
	.domain_alloc_paging = mock_domain_alloc_paging,
	.capable = mock_capable,
	.get_resv_regions = mock_get_resv_regions,
	.probe_device = mock_probe_device,
	.device_group = generic_device_group,
	.default_domain_ops = &mock_domain_ops,
};

/**
 * struct mock_object - a mock device owned by a context, for the tests
 * @obj: Registry entry
 * @mdev: The device
 * @idev: Its binding to the context
 */
struct mock_object {
	struct ioasid_object obj;
	struct mock_dev *mdev;
	struct ioasid_device *idev;
};

static struct mock_dev *mock_dev_create(struct ioasid_test *cmd)
{
	struct mock_dev *mdev;
	int rc;

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev)
		return ERR_PTR(-ENOMEM);
	mdev->id = ida_alloc(&mock_dev_ida, GFP_KERNEL);
	if (mdev->id < 0) {
		rc = mdev->id;
		kfree(mdev);
		return ERR_PTR(rc);
	}
	mdev->config = (struct mock_config) {
		.iommu = &mock_iommus[cmd->mock_device.iommu],
		.pgsize_bitmap = cmd->mock_device.pgsize_bitmap,
		.aperture_start = cmd->mock_device.aperture_start,
		.aperture_end = cmd->mock_device.aperture_last,
		.coherent = cmd->mock_device.flags & IOASID_MOCK_COHERENT,
		.enforce_fails = cmd->mock_device.flags &
				 IOASID_MOCK_ENFORCE_FAILS,
		.no_dirty = cmd->mock_device.flags & IOASID_MOCK_NO_DIRTY,
	};
	mdev->resv_start = cmd->mock_device.resv_start;
	mdev->resv_length = cmd->mock_device.resv_length;

	device_initialize(&mdev->dev);
	mdev->dev.release = mock_dev_release;
	mdev->dev.bus = mdev->config.iommu->bus;
	rc = dev_set_name(&mdev->dev, "ioasid_mock%d", mdev->id);
	if (rc)
		goto err_put;
	/* Without a fwspec, probing would pick the platform's IOMMU. */
	mutex_lock(&iommu_probe_device_lock);
	rc = iommu_fwspec_init(&mdev->dev, mdev->config.iommu->iommu.fwnode);
	mutex_unlock(&iommu_probe_device_lock);
	if (rc)
		goto err_put;
	rc = device_add(&mdev->dev);
	if (rc)
		goto err_put;
	return mdev;

err_put:
	put_device(&mdev->dev);
	return ERR_PTR(rc);
}

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
	u32 dev_id;
	int rc;

	rc = mock_check_config(cmd);
	if (rc)
		return rc;
	obj = ioasid_object_alloc(ucmd->ctx, sizeof(*mock), IOASID_OBJ_MOCK);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	mock = container_of(obj, struct mock_object, obj);
	mock->mdev = mock_dev_create(cmd);
	if (IS_ERR(mock->mdev)) {
		rc = PTR_ERR(mock->mdev);
		goto err_abort;
	}
	mock->idev = ioasid_device_bind(ucmd->ctx, &mock->mdev->dev, &dev_id);
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
	device_unregister(&mock->mdev->dev);
err_abort:
	ioasid_object_abort(ucmd->ctx, obj);
	return rc;
}

void ioasid_test_mock_destroy(struct ioasid_object *obj)
{
	struct mock_object *mock = container_of(obj, struct mock_object, obj);

	ioasid_device_unbind(mock->idev);
	device_unregister(&mock->mdev->dev);
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
	int rc = -ENODEV;

	idev = ioasid_test_get_device(ucmd, dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	mutex_lock(&idev->igroup->lock);
	if (idev->space &&
	    idev->igroup->domain->domain->ops == &mock_domain_ops) {
		down_read(&idev->space->lock);
		rc = fn(ucmd->cmd, to_mock_domain(idev->igroup->domain->domain));
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

static void mock_iommu_unregister(struct mock_iommu *mi)
{
	iommu_device_unregister_bus(&mi->iommu, mi->bus, &mi->nb);
	iommu_device_sysfs_remove(&mi->iommu);
	fwnode_remove_software_node(mi->iommu.fwnode);
	bus_unregister(mi->bus);
}

static int mock_iommu_register(struct mock_iommu *mi, const struct bus_type *bus)
{
	int rc;

	mi->bus = bus;
	rc = bus_register(bus);
	if (rc)
		return rc;
	/* A fwnode of its own, so that its devices find it and no other. */
	mi->iommu.fwnode = fwnode_create_software_node(NULL, NULL);
	if (IS_ERR(mi->iommu.fwnode)) {
		rc = PTR_ERR(mi->iommu.fwnode);
		goto err_bus;
	}
	/* The core links each probed device to the IOMMU's sysfs node. */
	rc = iommu_device_sysfs_add(&mi->iommu, NULL, NULL, "%s", bus->name);
	if (rc)
		goto err_fwnode;
	rc = iommu_device_register_bus(&mi->iommu, &mock_ops, bus, &mi->nb);
	if (rc)
		goto err_sysfs;
	return 0;

err_sysfs:
	iommu_device_sysfs_remove(&mi->iommu);
err_fwnode:
	fwnode_remove_software_node(mi->iommu.fwnode);
err_bus:
	bus_unregister(bus);
	return rc;
}

int __init ioasid_test_init(void)
{
	unsigned int i;
	int rc;

	fail_ioasid_dir = fault_create_debugfs_attr("fail_ioasid", NULL,
						    &fail_ioasid);
	for (i = 0; i < IOASID_MOCK_IOMMUS; i++) {
		rc = mock_iommu_register(&mock_iommus[i], &mock_buses[i]);
		if (rc)
			goto err_unregister;
	}
	return 0;

err_unregister:
	while (i--)
		mock_iommu_unregister(&mock_iommus[i]);
	debugfs_remove_recursive(fail_ioasid_dir);
	return rc;
}

void ioasid_test_exit(void)
{
	unsigned int i;

	for (i = 0; i < IOASID_MOCK_IOMMUS; i++)
		mock_iommu_unregister(&mock_iommus[i]);
	debugfs_remove_recursive(fail_ioasid_dir);
}
