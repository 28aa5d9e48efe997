// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mappings of an IOASID: its tree of IOVA ranges, each mapping some
 * pinned pages.
 *
 * A mapping is a unit: created by one IOASID_MAP or IOASID_COPY and only
 * ever removed whole.  Forbidding partial unmaps keeps every mapping a
 * single pinned range with a single reference, so unmap never has to
 * split pinned memory or re-account it.  The tree and the domains change
 * together, under space->lock: a mapping is in the tree exactly while it
 * is in every domain (a revoked mapping of device memory excepted).
 */
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "ioasid_private.h"

static struct ioasid_mapping *to_mapping(struct interval_tree_node *node)
{
	return node ? container_of(node, struct ioasid_mapping, node) : NULL;
}

/*
 * Mappings are counted per context as they enter and leave an IOASID's
 * tree: a copy pins nothing new and charges no RLIMIT_MEMLOCK, so the
 * count is what bounds them.
 */
static unsigned long max_mappings = 1UL << 22;
module_param(max_mappings, ulong, 0644);
MODULE_PARM_DESC(max_mappings,
		 "Most mappings one /dev/ioasid context may hold (default 4194304)");

static int ioasid_mapping_insert(struct ioasid_space *space,
				 struct ioasid_mapping *m)
{
	atomic_long_t *count = &space->ctx->nr_mappings;

	if (atomic_long_inc_return(count) > READ_ONCE(max_mappings)) {
		atomic_long_dec(count);
		return -ENOSPC;
	}
	interval_tree_insert(&m->node, &space->mappings);
	return 0;
}

static void ioasid_mapping_remove(struct ioasid_space *space,
				  struct ioasid_mapping *m)
{
	interval_tree_remove(&m->node, &space->mappings);
	atomic_long_dec(&space->ctx->nr_mappings);
	space->vaddr_invalid -= m->vaddr_invalid;
	if (m->dmem)
		ioasid_dmem_mapping_removed(m);
}

/**
 * ioasid_space_unmap_all - remove every mapping and give its pages back
 * @space: An IOASID no call uses any more, in no domain
 *
 * The export of device memory a mapping maps may still revoke or restore
 * it until it is off the export: the lock is taken all the same.
 */
void ioasid_space_unmap_all(struct ioasid_space *space)
{
	struct interval_tree_node *node;
	struct ioasid_mapping *m, *tmp;
	LIST_HEAD(freed);

	down_write(&space->lock);
	while ((node = interval_tree_iter_first(&space->mappings, 0,
						ULONG_MAX))) {
		m = to_mapping(node);
		ioasid_mapping_remove(space, m);
		list_add_tail(&m->free_link, &freed);
		cond_resched();
	}
	up_write(&space->lock);

	list_for_each_entry_safe(m, tmp, &freed, free_link) {
		ioasid_mapping_free(m);
		cond_resched();
	}
}

static void ioasid_mapping_init(struct ioasid_mapping *m,
				struct ioasid_pages *pages,
				unsigned long pg_index, unsigned long npages,
				int prot)
{
	m->pages = pages;
	m->pg_index = pg_index;
	/* A BAR is not cacheable memory. */
	if (pages->dmem)
		prot = (prot & ~IOMMU_CACHE) | IOMMU_MMIO;
	m->prot = prot;
	/* Only the length matters until ioasid_space_place() places it. */
	m->node.last = (npages << PAGE_SHIFT) - 1;
}

/**
 * ioasid_mapping_alloc - a mapping of pinned pages, not yet in any IOASID
 * @pages: The pages; the mapping takes over the caller's reference
 * @pg_index: Index in @pages of the first page mapped
 * @npages: Pages mapped
 * @prot: IOMMU_* protection
 *
 * Return: the mapping, or NULL (and @pages keeps the reference).
 */
struct ioasid_mapping *ioasid_mapping_alloc(struct ioasid_pages *pages,
					    unsigned long pg_index,
					    unsigned long npages, int prot)
{
	struct ioasid_mapping *m;

	m = kzalloc(sizeof(*m), IOASID_GFP);
	if (m)
		ioasid_mapping_init(m, pages, pg_index, npages, prot);
	return m;
}

/**
 * ioasid_mapping_first - the mapping of the map that pinned the pages
 * @pages: Pages just pinned, of which no mapping was made yet; the
 *         mapping takes over the caller's reference
 * @prot: IOMMU_* protection
 *
 * A small map is the pattern of an emulated IOMMU, and an allocation is
 * a good part of its cost: the first mapping of all the pages lives in
 * the pages' own storage, and its memory goes when they go.
 *
 * Return: the mapping, of every page.
 */
struct ioasid_mapping *ioasid_mapping_first(struct ioasid_pages *pages,
					    int prot)
{
	struct ioasid_mapping *m = &pages->first_mapping;

	ioasid_mapping_init(m, pages, 0, pages->npages, prot);
	return m;
}

/**
 * ioasid_mapping_free - give a mapping's pages back and free it
 * @m: A mapping in no IOASID and no domain
 */
void ioasid_mapping_free(struct ioasid_mapping *m)
{
	struct ioasid_pages *pages = m->pages;

	if (m->dmem)
		ioasid_dmem_mapping_free(m);
	if (m != &pages->first_mapping)
		kfree(m);
	ioasid_pages_put(pages);
}

/* Back to the unplaced form ioasid_mapping_alloc() gave. */
static void ioasid_space_unplace_range(struct ioasid_mapping *m)
{
	m->node.last -= m->node.start;
	m->node.start = 0;
}

/**
 * ioasid_space_place - put a mapping in an IOASID's tree, not its domains
 * @space: The IOASID, locked for writing
 * @m: From ioasid_mapping_alloc()
 * @fixed: Map at *@iova; otherwise choose an IOVA aligned like @hint
 * @hint: The user address, file offset or source IOVA of the memory
 * @iova: The IOVA, in for @fixed, out otherwise
 *
 * Return: 0, or -EEXIST, -EADDRNOTAVAIL or -ENOSPC (no room, or the
 * context holds max_mappings) with nothing changed.
 */
int ioasid_space_place(struct ioasid_space *space, struct ioasid_mapping *m,
		       bool fixed, unsigned long hint, u64 *iova)
{
	unsigned long length = m->node.last - m->node.start + 1;
	int rc;

	lockdep_assert_held_write(&space->lock);

	if (fixed)
		rc = ioasid_space_check_iova(space, *iova, *iova + length - 1);
	else
		rc = ioasid_space_alloc_iova(space, hint, length,
					     &m->node.start);
	if (rc)
		return rc;
	if (fixed)
		m->node.start = *iova;
	m->node.last = m->node.start + length - 1;
	rc = ioasid_mapping_insert(space, m);
	if (rc) {
		ioasid_space_unplace_range(m);
		return rc;
	}
	m->seq = ++space->mapping_seq;
	*iova = m->node.start;
	return 0;
}

/**
 * ioasid_space_unplace - undo ioasid_space_place()
 * @space: The IOASID, locked for writing
 * @m: A mapping placed, and in no domain
 */
void ioasid_space_unplace(struct ioasid_space *space, struct ioasid_mapping *m)
{
	lockdep_assert_held_write(&space->lock);

	ioasid_mapping_remove(space, m);
	ioasid_space_unplace_range(m);
}

/* Place a mapping and write it into the IOASID's domains. */
static int ioasid_space_insert(struct ioasid_space *space,
			       struct ioasid_mapping *m, bool fixed,
			       unsigned long hint, u64 *iova)
{
	int rc;

	rc = ioasid_space_place(space, m, fixed, hint, iova);
	if (rc)
		return rc;
	rc = ioasid_domains_map(space, m);
	if (rc)
		ioasid_space_unplace(space, m);
	return rc;
}

/**
 * ioasid_space_add_mapping - map pinned pages into an IOASID and its domains
 * @space: The IOASID
 * @m: From ioasid_mapping_alloc() or ioasid_mapping_first(); the IOASID
 *     takes it over on success, and it is freed (with its reference on
 *     its pages) on failure
 * @fixed: Map at *@iova; otherwise choose an IOVA aligned like @hint
 * @hint: The user address, file offset or source IOVA of the memory
 * @iova: The IOVA, in for @fixed, out otherwise
 * @seq: Output: the mapping's number, for ioasid_space_remove_mapping()
 *
 * Return: 0, or an error of ioasid_space_place(), of the domains or of the
 * device-memory export, with nothing changed.
 */
int ioasid_space_add_mapping(struct ioasid_space *space,
			     struct ioasid_mapping *m, bool fixed,
			     unsigned long hint, u64 *iova, u64 *seq)
{
	int rc;

	if (m->pages->dmem) {
		rc = ioasid_dmem_insert(space, m, fixed, hint, iova, seq);
	} else {
		down_write(&space->lock);
		rc = ioasid_space_insert(space, m, fixed, hint, iova);
		*seq = m->seq;
		up_write(&space->lock);
	}
	if (rc)
		ioasid_mapping_free(m);
	return rc;
}

/**
 * ioasid_space_remove_mapping - undo a map that user space was not told of
 * @space: The IOASID
 * @iova: The IOVA of the mapping
 * @seq: Its number, from the map
 *
 * The mapping may already be gone: another thread may have unmapped it,
 * and mapped something else at @iova, which stays.
 */
void ioasid_space_remove_mapping(struct ioasid_space *space, u64 iova,
				 u64 seq)
{
	struct ioasid_mapping *m;
	LIST_HEAD(freed);

	down_write(&space->lock);
	m = to_mapping(interval_tree_iter_first(&space->mappings, iova, iova));
	/*
	 * A driver that pinned the new mapping through an access keeps it:
	 * its pages may be in use, and the pins hold the mapping.
	 */
	if (m && m->seq == seq && !atomic_long_read(&m->access_pins)) {
		ioasid_mapping_remove(space, m);
		list_add(&m->free_link, &freed);
		ioasid_domains_unmap(space, &freed);
	} else {
		m = NULL;
	}
	up_write(&space->lock);
	if (m)
		ioasid_mapping_free(m);
}

/**
 * ioasid_space_find_pages - the pinned pages behind a range of an IOASID
 * @space: The IOASID, locked
 * @iova: Start of the range
 * @length: Its bytes; the range must lie within one mapping
 * @pg_index: Output: the index in the pages of the page at @iova
 *
 * Return: the pages with a new reference, or ERR_PTR(-ENOENT).
 */
struct ioasid_pages *ioasid_space_find_pages(struct ioasid_space *space,
					     u64 iova, u64 length,
					     unsigned long *pg_index)
{
	unsigned long last = iova + length - 1;
	struct ioasid_mapping *m;

	lockdep_assert_held(&space->lock);

	m = to_mapping(interval_tree_iter_first(&space->mappings, iova, last));
	if (!m || m->node.start > iova || m->node.last < last)
		return ERR_PTR(-ENOENT);
	kref_get(&m->pages->kref);
	*pg_index = m->pg_index + ((iova - m->node.start) >> PAGE_SHIFT);
	return m->pages;
}

/**
 * ioasid_space_find_mapping - the mapping holding an IOVA
 * @space: The IOASID, locked
 * @iova: The IOVA
 *
 * Return: the mapping, or NULL where nothing is mapped.
 */
struct ioasid_mapping *ioasid_space_find_mapping(struct ioasid_space *space,
						 unsigned long iova)
{
	lockdep_assert_held(&space->lock);

	return to_mapping(interval_tree_iter_first(&space->mappings, iova,
						   iova));
}

/*
 * Whether a mapping from @first on, up to @last, has pages pinned through
 * an access: only looked for while an access is attached, since detach
 * waits for an access's pins to go.
 */
static bool ioasid_space_range_pinned(struct ioasid_space *space,
				      struct ioasid_mapping *first,
				      unsigned long iova, unsigned long last)
{
	struct interval_tree_node *node;

	if (xa_empty(&space->accesses))
		return false;
	for (node = &first->node; node;
	     node = interval_tree_iter_next(node, iova, last))
		if (atomic_long_read(&to_mapping(node)->access_pins))
			return true;
	return false;
}

/**
 * ioasid_space_first_whole - the first mapping of a range, if all are whole
 * @space: The IOASID, locked
 * @iova: Start of the range
 * @last: Its last byte
 *
 * Return: the first mapping in the range, ERR_PTR(-ENOENT) for none, or
 * ERR_PTR(-EINVAL) if a mapping crosses either end of the range.
 */
struct ioasid_mapping *ioasid_space_first_whole(struct ioasid_space *space,
						unsigned long iova,
						unsigned long last)
{
	struct ioasid_mapping *first, *m;

	lockdep_assert_held(&space->lock);

	first = to_mapping(interval_tree_iter_first(&space->mappings, iova,
						    last));
	if (!first)
		return ERR_PTR(-ENOENT);
	/* Mappings do not overlap: only the first and last can cross. */
	if (first->node.start < iova)
		return ERR_PTR(-EINVAL);
	/* One mapping reaching @last: no second walk (unmap of one map). */
	if (first->node.last >= last)
		return first->node.last > last ? ERR_PTR(-EINVAL) : first;
	m = to_mapping(interval_tree_iter_first(&space->mappings, last, last));
	if (m && m->node.last > last)
		return ERR_PTR(-EINVAL);
	return first;
}

/**
 * ioasid_space_cuts_mapping - whether a range cuts a mapping in two
 * @space: The IOASID
 * @iova: Start of the range
 * @last: Its last byte
 *
 * Return: true if a mapping crosses either end of the range.
 */
bool ioasid_space_cuts_mapping(struct ioasid_space *space, unsigned long iova,
			       unsigned long last)
{
	guard(rwsem_read)(&space->lock);
	return PTR_ERR_OR_ZERO(ioasid_space_first_whole(space, iova, last)) ==
	       -EINVAL;
}

/**
 * ioasid_space_take_range - take the mappings of a range off an IOASID
 * @space: The IOASID, locked for writing
 * @iova: Start of the range
 * @last: Its last byte
 * @freed: The mappings removed are added here, still in their domains
 *         (ioasid_domains_unmap() takes them out)
 * @unmapped: Their bytes are added here
 *
 * Return: 0, -ENOENT for no mapping in the range, -EINVAL with nothing
 * removed if a mapping crosses either end of it, -EBUSY with nothing
 * removed if a driver has pages of the range pinned through an access
 * (the caller asks it to let go with ioasid_access_notify_unmap(), with
 * the lock dropped, and tries again).
 */
int ioasid_space_take_range(struct ioasid_space *space, unsigned long iova,
			    unsigned long last, struct list_head *freed,
			    u64 *unmapped)
{
	struct interval_tree_node *node, *next;
	struct ioasid_mapping *m;

	lockdep_assert_held_write(&space->lock);

	m = ioasid_space_first_whole(space, iova, last);
	if (IS_ERR(m))
		return PTR_ERR(m);
	if (ioasid_space_range_pinned(space, m, iova, last))
		return -EBUSY;
	for (node = &m->node; node; node = next) {
		/* Mappings do not overlap: none follows one reaching @last. */
		next = node->last < last ?
		       interval_tree_iter_next(node, iova, last) : NULL;
		m = to_mapping(node);
		ioasid_mapping_remove(space, m);
		list_add_tail(&m->free_link, freed);
		*unmapped += m->node.last - m->node.start + 1;
		cond_resched();
	}
	return 0;
}

/**
 * ioasid_space_restore - put mappings taken off an IOASID back
 * @space: The IOASID, locked for writing
 * @freed: Mappings from ioasid_space_take_range(), still in the domains;
 *         the list is emptied
 */
void ioasid_space_restore(struct ioasid_space *space, struct list_head *freed)
{
	struct ioasid_mapping *m;

	lockdep_assert_held_write(&space->lock);

	/* They were counted before they were taken: no limit applies. */
	list_for_each_entry(m, freed, free_link) {
		interval_tree_insert(&m->node, &space->mappings);
		atomic_long_inc(&space->ctx->nr_mappings);
		space->vaddr_invalid += m->vaddr_invalid;
		if (m->dmem)
			ioasid_dmem_mapping_restored(m);
	}
	INIT_LIST_HEAD(freed);
}

/**
 * ioasid_space_v1_range - the range VFIO type1's v1 unmap takes
 * @space: The IOASID, locked
 * @iova: Start of the range asked for
 * @last: Its last byte, in; out: the last byte of the range to take
 *
 * Nothing if a mapping starts before @iova and reaches into the range,
 * else every mapping that starts in the range, whole, even past *@last.
 *
 * Return: false for nothing.
 */
bool ioasid_space_v1_range(struct ioasid_space *space, unsigned long iova,
			   unsigned long *last)
{
	struct ioasid_mapping *m;

	m = to_mapping(interval_tree_iter_first(&space->mappings, iova, *last));
	if (!m || m->node.start < iova)
		return false;
	m = to_mapping(interval_tree_iter_first(&space->mappings, *last,
						*last));
	if (m)
		*last = m->node.last;
	return true;
}

/* One try of ioasid_space_unmap(); *@last becomes the range's last byte. */
static int ioasid_space_unmap_once(struct ioasid_space *space,
				   unsigned long iova, unsigned long *last,
				   enum ioasid_unmap_rule rule, u64 *unmapped)
{
	struct ioasid_mapping *m, *tmp;
	LIST_HEAD(freed);
	int rc = -ENOENT;

	*unmapped = 0;
	down_write(&space->lock);
	if (rule == IOASID_UNMAP_EXACT ||
	    ioasid_space_v1_range(space, iova, last))
		rc = ioasid_space_take_range(space, iova, *last, &freed,
					     unmapped);
	if (!rc)
		ioasid_domains_unmap(space, &freed);
	up_write(&space->lock);

	list_for_each_entry_safe(m, tmp, &freed, free_link)
		ioasid_mapping_free(m);
	return rc;
}

/**
 * ioasid_space_unmap - remove the mappings of a range
 * @space: The IOASID, with a reference for the call
 * @iova: Start of the range
 * @last: Its last byte
 * @rule: IOASID_UNMAP_EXACT: every mapping must lie inside the range;
 *        IOASID_UNMAP_VFIO_V1: VFIO type1 v1's rule, see
 *        ioasid_space_v1_range()
 * @unmapped: Output: the bytes unmapped
 *
 * Return: 0, -ENOENT when no mapping lies in the range, -EINVAL when
 * one crosses an end of it (IOASID_UNMAP_EXACT), -EBUSY when a driver
 * keeps pages of it pinned through an access after its unmap callback;
 * nothing changes on error.  On success no device can reach the unmapped
 * pages any more.
 */
int ioasid_space_unmap(struct ioasid_space *space, unsigned long iova,
		       unsigned long last, enum ioasid_unmap_rule rule,
		       u64 *unmapped)
{
	int rc;

	rc = ioasid_space_unmap_once(space, iova, &last, rule, unmapped);
	/* Pinned by a driver: ask it to let go, then try once more. */
	if (rc == -EBUSY) {
		ioasid_access_notify_unmap(space, iova, last);
		rc = ioasid_space_unmap_once(space, iova, &last, rule,
					     unmapped);
	}
	return rc;
}
