/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The mock IOMMU driver of CONFIG_IOASID_TEST (selftest_iommu.c), as the
 * test ioctl (selftest.c) sees it: the devices it makes and the domains
 * whose IOPTEs the tests read back.
 */
#ifndef __IOASID_SELFTEST_H
#define __IOASID_SELFTEST_H

#include <linux/bitfield.h>
#include <linux/iommu.h>
#include <linux/mutex.h>
#include <linux/xarray.h>

/* Mock IOMMUs, each on a bus of its own: IOASID_MOCK_IOMMUS to the tests. */
#define MOCK_IOMMUS	2

/**
 * struct mock_config - what a mock device asks of its IOMMU; a domain
 *                      serves only devices that ask the same
 * @iommu: Which mock IOMMU translates it, below MOCK_IOMMUS
 * @pgsize_bitmap: IOPTE sizes
 * @aperture_start: First translated IOVA
 * @aperture_end: Last translated IOVA
 * @coherent: Whether no-snoop DMA can be blocked
 * @enforce_fails: Whether enforce_cache_coherency() fails all the same,
 *                 as a driver may for its own reasons
 * @no_dirty: Whether its domains cannot track dirty IOPTEs
 */
struct mock_config {
	unsigned int iommu;
	unsigned long pgsize_bitmap;
	dma_addr_t aperture_start;
	dma_addr_t aperture_end;
	bool coherent;
	bool enforce_fails;
	bool no_dirty;
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

static inline size_t mock_pte_size(unsigned long pte)
{
	return 1UL << FIELD_GET(MOCK_PTE_ORDER, pte);
}

extern const struct iommu_dirty_ops mock_dirty_ops;

struct device *mock_dev_create(const struct mock_config *config,
			       phys_addr_t resv_start, size_t resv_length);
struct mock_domain *mock_domain_of(struct iommu_domain *domain);
unsigned long mock_lookup(struct mock_domain *md, unsigned long iova,
			  unsigned long *pte_iova);
void mock_pte_store(struct mock_domain *md, unsigned long pte_iova,
		    unsigned long pte);
int mock_walk_ptes(struct mock_domain *md, unsigned long iova,
		   unsigned long last,
		   int (*fn)(struct mock_domain *md, unsigned long pte_iova,
			     unsigned long pte, void *arg),
		   void *arg);

#endif /* __IOASID_SELFTEST_H */
