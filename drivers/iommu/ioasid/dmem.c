// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device memory in an IOASID: a range of another device's memory BAR,
 * mapped so that a device can DMA into it (peer-to-peer).
 *
 * Unlike memory, a BAR is not the IOASID's to keep: it is only valid
 * while its device decodes memory, and only this context's while the
 * device is open by it.  The driver that owns the device (vfio-pci)
 * exports its BARs through one &struct ioasid_dmem per open device, and
 * tells it when they stop being valid (memory decode turned off, a
 * reset) and when they are valid again.  Every mapping of the device's
 * memory is listed on it; a revoke takes the mappings' IOPTEs out of
 * every domain, IOTLBs flushed, and a restore puts them back.  The
 * mappings themselves stay, so their IOVAs stay taken: a DMA there
 * faults in the IOMMU meanwhile.  When the device is closed the export
 * ends for good: the mappings stay revoked until user space unmaps them.
 *
 * Nothing is pinned or charged for device memory.
 *
 * Lock order: the exporter's own lock (vfio-pci's memory_lock), then
 * ioasid_dmem::lock, then the IOASID's lock.  The map path takes no
 * exporter lock while it holds either of ours.
 */
#include <linux/file.h>
#include <linux/ioasid.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "ioasid_private.h"

/**
 * struct ioasid_dmem - the memory BARs of one open device, as exported
 * @kref: One reference for the exporter, until ioasid_dmem_gone(), and
 *        one for each &struct ioasid_pages of its memory
 * @lock: Protects what follows, and orders revokes and restores against
 *        new mappings
 * @revoked: The device cannot take DMA to its BARs now: no mapping of
 *           them is in any domain
 * @gone: The export ended: the device was closed
 * @mappings: &struct ioasid_dmem_mapping of each mapping of the memory
 */
struct ioasid_dmem {
	struct kref kref;
	struct mutex lock; /* @revoked, @gone, @mappings */
	bool revoked;
	bool gone;
	struct list_head mappings;
};

/**
 * struct ioasid_dmem_mapping - a mapping of device memory
 * @link: In &struct ioasid_dmem.mappings
 * @space: The IOASID of the mapping
 * @m: The mapping
 * @revoked: Its IOPTEs are in no domain.  Protected by @space->lock.
 * @removed: It has left @space, and is about to be freed.  Protected by
 *           @space->lock.
 */
struct ioasid_dmem_mapping {
	struct list_head link;
	struct ioasid_space *space;
	struct ioasid_mapping *m;
	bool revoked;
	bool removed;
};

/**
 * ioasid_dmem_alloc - start exporting the memory BARs of an open device
 * @revoked: Whether the device decodes no memory now
 *
 * Context: Process context; may sleep.
 * Return: the export, with the exporter's reference, or NULL.
 */
struct ioasid_dmem *ioasid_dmem_alloc(bool revoked)
{
	struct ioasid_dmem *dmem;

	dmem = kzalloc(sizeof(*dmem), GFP_KERNEL_ACCOUNT);
	if (!dmem)
		return NULL;
	kref_init(&dmem->kref);
	mutex_init(&dmem->lock);
	INIT_LIST_HEAD(&dmem->mappings);
	dmem->revoked = revoked;
	return dmem;
}
EXPORT_SYMBOL_NS_GPL(ioasid_dmem_alloc, IOASID);

/**
 * ioasid_dmem_get - a reference for a mapping being made of the memory
 * @dmem: The export
 *
 * For the exporter's answer to vfio_file_ioasid_dmem(), which hands the
 * reference to the caller.
 *
 * Context: Any context.
 */
void ioasid_dmem_get(struct ioasid_dmem *dmem)
{
	kref_get(&dmem->kref);
}
EXPORT_SYMBOL_NS_GPL(ioasid_dmem_get, IOASID);

static void ioasid_dmem_release(struct kref *kref)
{
	struct ioasid_dmem *dmem = container_of(kref, struct ioasid_dmem,
						kref);

	mutex_destroy(&dmem->lock);
	kfree(dmem);
}

void ioasid_dmem_put(struct ioasid_dmem *dmem)
{
	kref_put(&dmem->kref, ioasid_dmem_release);
}

/* Take the mapping's IOPTEs out of every domain of its IOASID. */
static void ioasid_dmem_unmap(struct ioasid_dmem_mapping *dm)
{
	LIST_HEAD(one);

	guard(rwsem_write)(&dm->space->lock);
	if (dm->revoked || dm->removed)
		return;
	list_add(&dm->m->free_link, &one);
	ioasid_domains_unmap(dm->space, &one);
	list_del(&dm->m->free_link);
	dm->revoked = true;
	atomic_long_inc(&dm->space->ctx->dmem_revoked);
}

/* Put them back; a mapping that cannot be is left revoked. */
static void ioasid_dmem_map(struct ioasid_dmem_mapping *dm)
{
	guard(rwsem_write)(&dm->space->lock);
	if (!dm->revoked || dm->removed)
		return;
	if (ioasid_domains_map(dm->space, dm->m))
		return;
	dm->revoked = false;
	atomic_long_dec(&dm->space->ctx->dmem_revoked);
}

/**
 * ioasid_dmem_revoke - the device can no longer take DMA to its BARs
 * @dmem: The export
 *
 * Takes every mapping of the device's memory out of every domain before
 * it returns, IOTLBs flushed: from then on a DMA to those IOVAs faults.
 *
 * Context: Process context, with the exporter's lock held so that the
 * device cannot change state meanwhile.  Waits only for calls that hold
 * an IOASID's lock, which never wait for user space.
 */
void ioasid_dmem_revoke(struct ioasid_dmem *dmem)
{
	struct ioasid_dmem_mapping *dm;

	guard(mutex)(&dmem->lock);
	dmem->revoked = true;
	list_for_each_entry(dm, &dmem->mappings, link)
		ioasid_dmem_unmap(dm);
}
EXPORT_SYMBOL_NS_GPL(ioasid_dmem_revoke, IOASID);

/**
 * ioasid_dmem_restore - the device takes DMA to its BARs again
 * @dmem: The export
 *
 * Puts every mapping of the device's memory back in every domain, as it
 * was before ioasid_dmem_revoke().  A mapping that cannot be restored
 * (no memory for the IOMMU's page tables) stays revoked, and is tried
 * again at the next restore; fdinfo counts such mappings.
 *
 * Context: As ioasid_dmem_revoke().
 */
void ioasid_dmem_restore(struct ioasid_dmem *dmem)
{
	struct ioasid_dmem_mapping *dm;

	guard(mutex)(&dmem->lock);
	if (dmem->gone)
		return;
	dmem->revoked = false;
	list_for_each_entry(dm, &dmem->mappings, link)
		ioasid_dmem_map(dm);
}
EXPORT_SYMBOL_NS_GPL(ioasid_dmem_restore, IOASID);

/**
 * ioasid_dmem_gone - end an export: the device was closed
 * @dmem: The export; the exporter's reference is dropped
 *
 * Revokes every mapping for good: they stay, revoked, until user space
 * unmaps them, and the device's memory can be given to anyone.
 *
 * Context: As ioasid_dmem_revoke().
 */
void ioasid_dmem_gone(struct ioasid_dmem *dmem)
{
	scoped_guard(mutex, &dmem->lock)
		dmem->gone = true;
	ioasid_dmem_revoke(dmem);
	ioasid_dmem_put(dmem);
}
EXPORT_SYMBOL_NS_GPL(ioasid_dmem_gone, IOASID);

/*
 * The VFIO half of the lookup, found at run time: VFIO depends on this
 * module, not the other way round.
 */
static int ioasid_dmem_lookup(struct file *file, u64 offset, u64 length,
			      struct ioasid_dmem_range *range)
{
	int (*fn)(struct file *file, u64 offset, u64 length,
		  struct ioasid_dmem_range *range);
	int rc;

	fn = symbol_get(vfio_file_ioasid_dmem);
	if (!fn)
		return -ENODEV;
	rc = fn(file, offset, length, range);
	symbol_put(vfio_file_ioasid_dmem);
	return rc;
}

/**
 * ioasid_pages_get_dmem - device memory, as the pages of a mapping
 * @file: A VFIO device file, open
 * @offset: The region offset VFIO reports for a BAR, plus an offset in it
 * @npages: Pages
 * @writable: Whether devices are to write it
 *
 * Return: the pages, with one reference, or an ERR_PTR: -ENODEV for a
 * file that exports no device memory, -EINVAL for a region that is not
 * a memory BAR user space may mmap, -ENXIO past the BAR's end, -EACCES
 * for @writable when the file is not open for writing.
 */
struct ioasid_pages *ioasid_pages_get_dmem(struct file *file, u64 offset,
					   unsigned long npages, bool writable)
{
	struct ioasid_dmem_range range;
	struct ioasid_pages *pages;
	int rc;

	rc = ioasid_dmem_lookup(file, offset, npages << PAGE_SHIFT, &range);
	if (rc)
		return ERR_PTR(rc);
	/* The rules of mmap(MAP_SHARED) of the BAR, as for a file. */
	if (writable && !(file->f_mode & FMODE_WRITE))
		pages = ERR_PTR(-EACCES);
	else
		pages = ioasid_pages_alloc_dmem(range.dmem, PHYS_PFN(range.phys),
						npages, writable);
	if (IS_ERR(pages))
		ioasid_dmem_put(range.dmem);
	return pages;
}

/**
 * ioasid_dmem_insert - place a mapping of device memory in an IOASID
 * @space: The IOASID, not locked
 * @m: The mapping, of pages from ioasid_pages_get_dmem()
 * @fixed: As for ioasid_space_place()
 * @hint: As for ioasid_space_place()
 * @iova: As for ioasid_space_place()
 * @seq: Output: the mapping's number
 *
 * Like a mapping of memory, but listed on its export, and left out of
 * the domains while the export is revoked.
 *
 * Return: 0, or an error of ioasid_space_place() or of the domains,
 * with nothing changed.
 */
int ioasid_dmem_insert(struct ioasid_space *space, struct ioasid_mapping *m,
		       bool fixed, unsigned long hint, u64 *iova, u64 *seq)
{
	struct ioasid_dmem *dmem = m->pages->dmem;
	struct ioasid_dmem_mapping *dm;
	int rc;

	dm = kzalloc(sizeof(*dm), IOASID_GFP);
	if (!dm)
		return -ENOMEM;
	dm->space = space;
	dm->m = m;
	m->dmem = dm;

	guard(mutex)(&dmem->lock);
	down_write(&space->lock);
	rc = ioasid_space_place(space, m, fixed, hint, iova);
	if (rc)
		goto out_unlock;
	dm->revoked = dmem->revoked || dmem->gone;
	if (dm->revoked)
		atomic_long_inc(&space->ctx->dmem_revoked);
	else
		rc = ioasid_domains_map(space, m);
	if (rc) {
		ioasid_space_unplace(space, m);
		goto out_unlock;
	}
	*seq = m->seq;
	list_add_tail(&dm->link, &dmem->mappings);
	atomic_long_inc(&space->ctx->dmem_mappings);
out_unlock:
	up_write(&space->lock);
	if (rc) {
		m->dmem = NULL;
		kfree(dm);
	}
	return rc;
}

/**
 * ioasid_dmem_mapping_removed - a mapping of device memory leaves its IOASID
 * @m: The mapping
 *
 * Context: The IOASID's lock held for writing.  From then on revokes and
 * restores leave the mapping alone; ioasid_dmem_mapping_free() follows.
 */
void ioasid_dmem_mapping_removed(struct ioasid_mapping *m)
{
	lockdep_assert_held_write(&m->dmem->space->lock);

	m->dmem->removed = true;
}

/**
 * ioasid_dmem_mapping_restored - a removed mapping is back in its IOASID
 * @m: The mapping, from ioasid_dmem_mapping_removed()
 *
 * Context: The IOASID's lock held for writing, since the removal.
 */
void ioasid_dmem_mapping_restored(struct ioasid_mapping *m)
{
	lockdep_assert_held_write(&m->dmem->space->lock);

	m->dmem->removed = false;
}

/**
 * ioasid_dmem_mapping_free - take a removed mapping off its export
 * @m: The mapping, out of its IOASID and its domains
 */
void ioasid_dmem_mapping_free(struct ioasid_mapping *m)
{
	struct ioasid_dmem_mapping *dm = m->dmem;
	struct ioasid_ctx *ctx = dm->space->ctx;

	scoped_guard(mutex, &m->pages->dmem->lock)
		list_del(&dm->link);
	if (dm->revoked)
		atomic_long_dec(&ctx->dmem_revoked);
	atomic_long_dec(&ctx->dmem_mappings);
	kfree(dm);
}

/**
 * ioasid_dmem_mapping_revoked - whether a mapping is out of the domains
 * @m: A mapping, of memory or of device memory
 *
 * Context: The IOASID's lock held.
 * Return: true for a mapping of device memory that is revoked.
 */
bool ioasid_dmem_mapping_revoked(struct ioasid_mapping *m)
{
	return m->dmem && m->dmem->revoked;
}

/**
 * ioasid_dmem_show_fdinfo - the context's mappings of device memory
 * @ctx: The context
 * @m: The fdinfo file
 */
void ioasid_dmem_show_fdinfo(struct ioasid_ctx *ctx, struct seq_file *m)
{
	seq_printf(m, "ioasid-dmem-mappings:\t%ld\n",
		   atomic_long_read(&ctx->dmem_mappings));
	seq_printf(m, "ioasid-dmem-revoked:\t%ld\n",
		   atomic_long_read(&ctx->dmem_revoked));
}
