// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mock IOMMU driver of CONFIG_IOASID_TEST: MOCK_IOMMUS mock IOMMUs,
 * each with its own bus, whose devices the tests create (selftest.c) with
 * the page sizes, aperture, reserved region, coherency and dirty tracking
 * (selftest_dirty.c) they ask for, and whose domains keep a page table the
 * tests can read back.  It registers its IOMMUs and adds its devices through the IOMMU
 * core's calls only.  Also the fault-injection point of the paths no
 * generic one covers.
 */
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/fault-inject.h>
#include <linux/property.h>
#include <linux/slab.h>

#include "ioasid_private.h"
#include "selftest.h"

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
static const struct bus_type mock_buses[MOCK_IOMMUS] = {
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

static struct mock_iommu mock_iommus[MOCK_IOMMUS];
static DEFINE_IDA(mock_dev_ida);
static atomic_t mock_domain_seq;

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

/* The index of @iova's PAGE_SIZE IOPTE in its table. */
static unsigned long mock_pte_index(unsigned long iova)
{
	return (iova >> PAGE_SHIFT) & (MOCK_TABLE_PTES - 1);
}

/* The table slot of a PAGE_SIZE IOPTE for @iova; NULL if no table. */
static unsigned long *mock_table_slot(struct mock_domain *md,
				      unsigned long iova,
				      struct mock_table **table)
{
	*table = xa_load(&md->tables, iova >> MOCK_TABLE_SHIFT);
	if (!*table)
		return NULL;
	return &(*table)->pte[mock_pte_index(iova)];
}

/* The IOPTE translating @iova, trying each page size the domain has. */
unsigned long mock_lookup(struct mock_domain *md, unsigned long iova,
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

/* The table of the PAGE_SIZE IOPTEs around @iova, made if need be. */
static struct mock_table *mock_table_get(struct mock_domain *md,
					 unsigned long iova, gfp_t gfp)
{
	struct mock_table *table;
	int rc;

	table = xa_load(&md->tables, iova >> MOCK_TABLE_SHIFT);
	if (table)
		return table;
	table = kzalloc(sizeof(*table), gfp);
	if (!table)
		return ERR_PTR(-ENOMEM);
	rc = xa_insert(&md->tables, iova >> MOCK_TABLE_SHIFT, table, gfp);
	if (rc) {
		kfree(table);
		return ERR_PTR(rc);
	}
	return table;
}

/*
 * Set PAGE_SIZE IOPTEs from @iova on, up to @pgcount of them in its table,
 * as a page-table walker fills the entries of one table before it looks
 * for the next; *@set says how many it set, also on failure.
 */
static int mock_set_small(struct mock_domain *md, unsigned long iova,
			  phys_addr_t paddr, size_t pgcount, int prot,
			  gfp_t gfp, size_t *set)
{
	unsigned long first = mock_pte_index(iova);
	struct mock_table *table;
	size_t i, n;
	int rc = 0;

	*set = 0;
	table = mock_table_get(md, iova, gfp);
	if (IS_ERR(table))
		return PTR_ERR(table);
	n = min(pgcount, MOCK_TABLE_PTES - first);
	for (i = 0; i < n; i++) {
		/* Mapping over a live IOPTE is a bug of the caller's. */
		if (WARN_ON(table->pte[first + i])) {
			rc = -EEXIST;
			break;
		}
		table->pte[first + i] = mock_pte(paddr + i * PAGE_SIZE,
						 PAGE_SIZE, prot);
	}
	table->count += i;
	atomic_long_add(i, &md->nr_ptes);
	*set = i;
	return rc;
}

/*
 * Clear the PAGE_SIZE IOPTEs from @iova on, up to @n of them in its table,
 * until one that is not set.  Return: how many were cleared.
 */
static unsigned long mock_clear_small(struct mock_domain *md,
				      unsigned long iova, unsigned long n)
{
	unsigned long first = mock_pte_index(iova);
	struct mock_table *table;
	unsigned long i;

	table = xa_load(&md->tables, iova >> MOCK_TABLE_SHIFT);
	if (!table)
		return 0;
	n = min(n, MOCK_TABLE_PTES - first);
	for (i = 0; i < n && table->pte[first + i]; i++)
		table->pte[first + i] = 0;
	table->count -= i;
	atomic_long_sub(i, &md->nr_ptes);
	if (!table->count) {
		xa_erase(&md->tables, iova >> MOCK_TABLE_SHIFT);
		kfree(table);
	}
	return i;
}

static int mock_map_pages(struct iommu_domain *domain, unsigned long iova,
			  phys_addr_t paddr, size_t pgsize, size_t pgcount,
			  int prot, gfp_t gfp, size_t *mapped)
{
	struct mock_domain *md = to_mock_domain(domain);
	size_t n;
	int rc;

	atomic64_inc(&md->map_calls);
	prot &= IOMMU_READ | IOMMU_WRITE;
	while (pgcount) {
		if (pgsize == PAGE_SIZE) {
			rc = mock_set_small(md, iova, paddr, pgcount, prot, gfp,
					    &n);
		} else {
			rc = xa_insert(&md->ptes, iova >> PAGE_SHIFT,
				       xa_mk_value(mock_pte(paddr, pgsize,
							    prot)), gfp);
			/* Mapping over a live IOPTE is a bug of the caller's. */
			if (WARN_ON(rc == -EBUSY))
				rc = -EEXIST;
			n = !rc;
			atomic_long_add(n, &md->nr_ptes);
		}
		*mapped += n * pgsize;
		if (rc)
			return rc;
		pgcount -= n;
		iova += n * pgsize;
		paddr += n * pgsize;
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
	unsigned long n;
	void *pte;

	while (unmapped < want) {
		n = mock_clear_small(md, iova + unmapped,
				     (want - unmapped) >> PAGE_SHIFT);
		if (n) {
			unmapped += n * PAGE_SIZE;
			continue;
		}
		pte = xa_erase(&md->ptes, (iova + unmapped) >> PAGE_SHIFT);
		if (!pte)
			break;
		unmapped += mock_pte_size(xa_to_value(pte));
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
void mock_pte_store(struct mock_domain *md, unsigned long pte_iova,
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
int mock_walk_ptes(struct mock_domain *md, unsigned long iova,
		   unsigned long last,
		   int (*fn)(struct mock_domain *md, unsigned long pte_iova,
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
	return &mock_iommus[to_mock_dev(dev)->config.iommu].iommu;
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
 * mock_dev_create - add a mock device
 * @config: What it asks of its IOMMU
 * @resv_start: Start of its reserved region
 * @resv_length: Length of its reserved region, 0 for none
 *
 * Return: the device, probed by its mock IOMMU, or an ERR_PTR.  It goes
 * with device_unregister().
 */
struct device *mock_dev_create(const struct mock_config *config,
			       phys_addr_t resv_start, size_t resv_length)
{
	struct mock_iommu *mi = &mock_iommus[config->iommu];
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
	mdev->config = *config;
	mdev->resv_start = resv_start;
	mdev->resv_length = resv_length;

	device_initialize(&mdev->dev);
	mdev->dev.release = mock_dev_release;
	mdev->dev.bus = mi->bus;
	rc = dev_set_name(&mdev->dev, "ioasid_mock%d", mdev->id);
	if (rc)
		goto err_put;
	rc = iommu_test_device_add(&mdev->dev, &mi->iommu);
	if (rc)
		goto err_put;
	return &mdev->dev;

err_put:
	put_device(&mdev->dev);
	return ERR_PTR(rc);
}

/* The mock domain behind @domain, or NULL if another driver's. */
struct mock_domain *mock_domain_of(struct iommu_domain *domain)
{
	return domain->ops == &mock_domain_ops ? to_mock_domain(domain) : NULL;
}

static void mock_iommu_unregister(struct mock_iommu *mi)
{
	iommu_device_unregister_bus(&mi->iommu, mi->bus, &mi->nb);
	iommu_device_sysfs_remove(&mi->iommu);
	fwnode_remove_software_node(mi->iommu.fwnode);
	bus_unregister(mi->bus);
}

static int mock_iommu_register(struct mock_iommu *mi,
			       const struct bus_type *bus)
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
	for (i = 0; i < MOCK_IOMMUS; i++) {
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

	for (i = 0; i < MOCK_IOMMUS; i++)
		mock_iommu_unregister(&mock_iommus[i]);
	debugfs_remove_recursive(fail_ioasid_dir);
}
