// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writing an IOASID's mappings into the IOMMU domains behind it, and
 * taking them out again.  Each mapping is written run by run, each
 * physically contiguous run with the largest IOPTEs the domain has, and
 * each domain is synced or flushed once per call, not once per mapping.
 */
#include <linux/iommu.h>
#include <linux/sched.h>

#include "ioasid_private.h"

/*
 * Write @m into one domain, run by run, so that each physically
 * contiguous run maps with the largest page sizes the domain has.  The
 * runs are not synced to the IOMMU one by one: the caller syncs once for
 * all it mapped.  On failure nothing of @m is left in the domain.
 */
static int ioasid_domain_map(struct ioasid_space *space,
			     struct ioasid_domain *d, struct ioasid_mapping *m)
{
	unsigned long npages = (m->node.last - m->node.start + 1) >> PAGE_SHIFT;
	unsigned long end = m->pg_index + npages, index = m->pg_index;
	struct ioasid_pfn_run *run;
	unsigned long iova, n;
	int rc;

	/* Before the device can reach them: see coherency.c.  Not a BAR. */
	if (!d->enforce_cc && !m->pages->dmem)
		ioasid_nosnoop_map(space->ctx, m->pages, m->pg_index, npages);
	for (run = ioasid_pages_find_run(m->pages, index); index < end; run++) {
		n = min(run->index + run->npages, end) - index;
		iova = m->node.start + ((index - m->pg_index) << PAGE_SHIFT);
		rc = iommu_map_nosync(d->domain, iova,
				      PFN_PHYS(run->pfn + index - run->index),
				      n << PAGE_SHIFT, m->prot, IOASID_GFP);
		if (rc)
			goto err_unmap;
		index += n;
		/* Scattered 4 KiB pages make a run per page. */
		cond_resched();
	}
	return 0;

err_unmap:
	if (index > m->pg_index)
		iommu_unmap(d->domain, m->node.start,
			    (index - m->pg_index) << PAGE_SHIFT);
	return rc;
}

static size_t ioasid_mapping_length(struct ioasid_mapping *m)
{
	return m->node.last - m->node.start + 1;
}

/*
 * Take the mappings of @list (on free_link) before @stop, all of them for
 * NULL, out of one domain, with one IOTLB flush for all.
 */
static void ioasid_domain_unmap_list(struct ioasid_domain *d,
				     struct list_head *list,
				     struct ioasid_mapping *stop)
{
	struct iommu_iotlb_gather gather;
	struct ioasid_mapping *m;
	bool unmapped = false;

	iommu_iotlb_gather_init(&gather);
	list_for_each_entry(m, list, free_link) {
		if (m == stop)
			break;
		/* A revoked mapping of device memory is in no domain. */
		if (ioasid_dmem_mapping_revoked(m))
			continue;
		iommu_unmap_fast(d->domain, m->node.start,
				 ioasid_mapping_length(m), &gather);
		unmapped = true;
		cond_resched();
	}
	/* An empty gather is no range: drivers may flush all for it. */
	if (unmapped)
		iommu_iotlb_sync(d->domain, &gather);
}

/*
 * Sync [start, last] to the IOMMU.  A span of the whole 64-bit space has
 * no size_t length: it is synced as two halves.
 */
static int ioasid_domain_sync(struct ioasid_domain *d, unsigned long start,
			      unsigned long last)
{
	unsigned long half = 1UL << (BITS_PER_LONG - 1);
	int rc;

	if (last - start != ULONG_MAX)
		return iommu_sync_map(d->domain, start, last - start + 1);
	rc = iommu_sync_map(d->domain, 0, half);
	return rc ?: iommu_sync_map(d->domain, half, half);
}

/*
 * Write the mappings of @list into one domain and sync them to the IOMMU
 * with one call, over the IOVA span they cover.  On failure none of them
 * is left in the domain.
 */
static int ioasid_domain_map_list(struct ioasid_space *space,
				  struct ioasid_domain *d,
				  struct list_head *list)
{
	unsigned long start = ULONG_MAX, last = 0;
	struct ioasid_mapping *m;
	int rc;

	list_for_each_entry(m, list, free_link) {
		rc = ioasid_domain_map(space, d, m);
		if (rc)
			goto err_unmap;
		start = min(start, m->node.start);
		last = max(last, m->node.last);
		cond_resched();
	}
	rc = ioasid_domain_sync(d, start, last);
	if (!rc)
		return 0;
	m = NULL;

err_unmap:
	ioasid_domain_unmap_list(d, list, m);
	return rc;
}

/**
 * ioasid_domains_map_list - write new mappings into every domain
 * @space: The IOASID, locked for writing
 * @list: Mappings already in @space->mappings, on free_link, not empty
 *
 * Each domain is synced to its IOMMU once, for all of @list.
 *
 * Return: 0, or an error with no mapping of @list in any domain.
 */
int ioasid_domains_map_list(struct ioasid_space *space, struct list_head *list)
{
	struct ioasid_domain *d, *undo;
	int rc;

	lockdep_assert_held_write(&space->lock);

	list_for_each_entry(d, &space->domains, link) {
		rc = ioasid_domain_map_list(space, d, list);
		if (rc)
			goto err_undo;
	}
	return 0;

err_undo:
	list_for_each_entry(undo, &space->domains, link) {
		if (undo == d)
			break;
		ioasid_domain_unmap_list(undo, list, NULL);
	}
	return rc;
}

/**
 * ioasid_domains_map - write a new mapping into every domain
 * @space: The IOASID, locked for writing
 * @m: The mapping, already in @space->mappings; its free_link is used
 *
 * Return: 0, or an error with @m in no domain.
 */
int ioasid_domains_map(struct ioasid_space *space, struct ioasid_mapping *m)
{
	LIST_HEAD(one);
	int rc;

	list_add(&m->free_link, &one);
	rc = ioasid_domains_map_list(space, &one);
	list_del(&m->free_link);
	return rc;
}

/**
 * ioasid_domains_unmap - take mappings out of every domain
 * @space: The IOASID, locked for writing
 * @freed: Mappings already removed from @space->mappings, on free_link
 *
 * Each domain's IOTLB is flushed once, after all of its unmaps: when this
 * returns no device can reach the pages of @freed any more.
 */
void ioasid_domains_unmap(struct ioasid_space *space, struct list_head *freed)
{
	struct ioasid_domain *d;

	lockdep_assert_held_write(&space->lock);

	list_for_each_entry(d, &space->domains, link)
		ioasid_domain_unmap_list(d, freed, NULL);
}

/**
 * ioasid_domain_fill - write every mapping of an IOASID into a new domain
 * @space: The IOASID, locked for writing
 * @d: An empty domain, not in @space->domains yet
 *
 * The domain is synced once, for all.  On failure the mappings written
 * stay, for ioasid_domain_free() (or a detach) to drop.
 *
 * Return: 0 or the IOMMU driver's error.
 */
int ioasid_domain_fill(struct ioasid_space *space, struct ioasid_domain *d)
{
	unsigned long start = ULONG_MAX, last = 0;
	struct interval_tree_node *node;
	struct ioasid_mapping *m;
	int rc;

	for (node = interval_tree_iter_first(&space->mappings, 0, ULONG_MAX);
	     node; node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		m = container_of(node, struct ioasid_mapping, node);
		if (ioasid_dmem_mapping_revoked(m))
			continue;
		rc = ioasid_domain_map(space, d, m);
		if (rc)
			return rc;
		if (start == ULONG_MAX)
			start = node->start;
		last = node->last;
		cond_resched();
	}
	/* One sync for all: the mappings come in IOVA order. */
	if (start <= last)
		return ioasid_domain_sync(d, start, last);
	return 0;
}
