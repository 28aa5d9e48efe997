// SPDX-License-Identifier: GPL-2.0-only
/*
 * Accesses: how the driver of a device that no IOMMU translates (a
 * mediated or emulated device) reaches the memory of an IOASID.
 *
 * Such a driver does its device's DMA with the CPU: it pins the pages
 * behind a range of IOVAs, or reads and writes through IOVAs, on behalf
 * of the device.  An access is its handle on a context: attached to one
 * IOASID, the driver sees the I/O address space the devices attached
 * there through an IOMMU see.
 *
 * A page pinned through an access is pinned once more for it
 * (folio_add_pin()), so it stays valid for the driver until the driver
 * unpins it, whatever becomes of the mapping.  The mapping counts those
 * pins and is not unmapped while it has any: an unmap first asks every
 * access of the IOASID to let go of the range (the unmap callback), and
 * fails with EBUSY if one does not.  Each access also counts its pins
 * page by page, so that an unpin gives back exactly what was taken, and
 * so that detach, replace and destroy know whether it still holds any.
 */
#include <linux/highmem.h>
#include <linux/ioasid.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "ioasid_private.h"

/* The page of @m that @iova (inside it) translates to. */
static struct page *ioasid_mapping_page(struct ioasid_mapping *m,
					unsigned long iova)
{
	unsigned long index = m->pg_index +
			      ((iova - m->node.start) >> PAGE_SHIFT);
	struct ioasid_pfn_run *run = ioasid_pages_find_run(m->pages, index);

	return pfn_to_page(run->pfn + index - run->index);
}

/*
 * The mapping holding @iova, if an access may reach it as @flags asks:
 * -ENOENT where nothing is mapped, -EPERM to write a read-only mapping,
 * -EOPNOTSUPP for device memory, which has no struct page to pin or map.
 */
static struct ioasid_mapping *ioasid_access_mapping(struct ioasid_space *space,
						    unsigned long iova,
						    unsigned int flags)
{
	struct ioasid_mapping *m = ioasid_space_find_mapping(space, iova);

	if (!m)
		return ERR_PTR(-ENOENT);
	if ((flags & IOASID_ACCESS_WRITE) && !(m->prot & IOMMU_WRITE))
		return ERR_PTR(-EPERM);
	if (m->pages->dmem)
		return ERR_PTR(-EOPNOTSUPP);
	return m;
}

/* One more pin of the page at IOVA page number @index, recorded. */
static int ioasid_access_record(struct ioasid_access *access,
				unsigned long index)
{
	void *entry = xa_load(&access->pins, index);
	unsigned long count = entry ? xa_to_value(entry) : 0;

	return xa_err(xa_store(&access->pins, index, xa_mk_value(count + 1),
			       IOASID_GFP));
}

/* One pin fewer; false if the access held none there. */
static bool ioasid_access_unrecord(struct ioasid_access *access,
				   unsigned long index)
{
	void *entry = xa_load(&access->pins, index);

	if (!entry)
		return false;
	if (xa_to_value(entry) == 1)
		xa_erase(&access->pins, index);
	else
		/* Replacing a present entry allocates nothing. */
		xa_store(&access->pins, index,
			 xa_mk_value(xa_to_value(entry) - 1), GFP_NOWAIT);
	return true;
}

/*
 * Give back @npages pins from @iova.  Every page the access holds is in
 * a mapping, which its pins keep in the IOASID.
 */
static void ioasid_access_unpin_locked(struct ioasid_access *access,
				       unsigned long iova,
				       unsigned long npages)
{
	struct ioasid_space *space = access->space;
	struct ioasid_mapping *m;

	lockdep_assert_held(&access->lock);
	lockdep_assert_held(&space->lock);

	for (; npages; npages--, iova += PAGE_SIZE) {
		/* A driver giving back what it never took is its bug. */
		if (WARN_ON_ONCE(!ioasid_access_unrecord(access,
							 iova >> PAGE_SHIFT)))
			continue;
		m = ioasid_space_find_mapping(space, iova);
		atomic_long_dec(&m->access_pins);
		unpin_user_page_range_dirty_lock(ioasid_mapping_page(m, iova),
						 1, m->prot & IOMMU_WRITE);
	}
}

/* Pin @npages pages of @m from @iova into @pages, all or none. */
static int ioasid_access_pin_mapping(struct ioasid_access *access,
				     struct ioasid_mapping *m,
				     unsigned long iova, unsigned long npages,
				     struct page **pages)
{
	unsigned long i;
	int rc;

	for (i = 0; i < npages; i++, iova += PAGE_SIZE) {
		rc = ioasid_should_fail() ? -ENOMEM :
		     ioasid_access_record(access, iova >> PAGE_SHIFT);
		if (rc) {
			ioasid_access_unpin_locked(access, iova - i * PAGE_SIZE,
						   i);
			return rc;
		}
		pages[i] = ioasid_mapping_page(m, iova);
		folio_add_pin(page_folio(pages[i]));
		atomic_long_inc(&m->access_pins);
	}
	return 0;
}

/*
 * Check a range a driver names: page-aligned for pin and unpin, any bytes
 * for rw; not empty, not wrapping.
 */
static int ioasid_access_check(u64 iova, u64 length, unsigned int flags,
			       bool aligned, unsigned long *last)
{
	if (flags & ~IOASID_ACCESS_WRITE)
		return -EINVAL;
	if (aligned)
		return ioasid_check_range(iova, length, last);
	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, last))
		return -EOVERFLOW;
	return 0;
}

/**
 * ioasid_access_pin_pages - pin the pages behind a range of IOVAs
 * @access: The access, attached
 * @iova: Page-aligned start of the range
 * @length: Its bytes, page-aligned; the range may span several mappings
 * @pages: Output: one page per PAGE_SIZE of the range
 * @flags: IOASID_ACCESS_WRITE to write the pages
 *
 * Each page is pinned for the access until ioasid_access_unpin_pages() of
 * its IOVA, and its mapping stays until then: an unmap of it first calls
 * the access's unmap callback.  A page may be pinned more than once; each
 * pin is given back once.
 *
 * Context: Process context; may sleep.  Takes the access's lock and the
 * IOASID's.
 * Return: 0, or with nothing pinned: -EINVAL for bad flags or an empty or
 * unaligned range, -EOVERFLOW for one that wraps, -ENOENT when the access
 * is not attached or part of the range is not mapped, -EPERM to write a
 * read-only mapping, -EOPNOTSUPP for device memory (a BAR mapped for
 * peer-to-peer DMA), -ENOMEM.
 */
int ioasid_access_pin_pages(struct ioasid_access *access, u64 iova,
			    u64 length, struct page **pages,
			    unsigned int flags)
{
	unsigned long last, cur, npages;
	struct ioasid_space *space;
	struct ioasid_mapping *m;
	int rc;

	rc = ioasid_access_check(iova, length, flags, true, &last);
	if (rc)
		return rc;
	guard(mutex)(&access->lock);
	space = access->space;
	if (!space)
		return -ENOENT;
	guard(rwsem_read)(&space->lock);
	/* Up to @last, which may be the last IOVA: cur then wraps to 0. */
	for (cur = iova; cur - 1 != last; cur += npages << PAGE_SHIFT) {
		m = ioasid_access_mapping(space, cur, flags);
		rc = PTR_ERR_OR_ZERO(m);
		if (!rc) {
			npages = ((min(last, m->node.last) - cur) >> PAGE_SHIFT) + 1;
			rc = ioasid_access_pin_mapping(access, m, cur, npages,
						       pages);
		}
		if (rc) {
			ioasid_access_unpin_locked(access, iova,
						   (cur - iova) >> PAGE_SHIFT);
			return rc;
		}
		pages += npages;
	}
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ioasid_access_pin_pages, IOASID);

/**
 * ioasid_access_unpin_pages - give back pins of ioasid_access_pin_pages()
 * @access: The access
 * @iova: Page-aligned start of the range
 * @length: Its bytes, page-aligned
 *
 * Gives back one pin of each page of the range, which need not be a range
 * pinned by one call: only the pins, page by page, must match.
 *
 * Context: Process context; may sleep.  Takes the access's lock and the
 * IOASID's.  Called from the unmap callback too.
 */
void ioasid_access_unpin_pages(struct ioasid_access *access, u64 iova,
			       u64 length)
{
	unsigned long last;

	if (WARN_ON_ONCE(ioasid_access_check(iova, length, 0, true, &last)))
		return;
	guard(mutex)(&access->lock);
	/* Nothing is pinned while detached: detach waits for that. */
	if (WARN_ON_ONCE(!access->space))
		return;
	guard(rwsem_read)(&access->space->lock);
	ioasid_access_unpin_locked(access, iova, length >> PAGE_SHIFT);
}
EXPORT_SYMBOL_NS_GPL(ioasid_access_unpin_pages, IOASID);

/* Copy between @data and the pages of @m from @iova to @end. */
static void ioasid_access_copy(struct ioasid_mapping *m, unsigned long iova,
			       unsigned long end, void *data, bool write)
{
	size_t offset, n;
	void *va;

	while (iova <= end) {
		offset = offset_in_page(iova);
		n = min_t(size_t, PAGE_SIZE - offset, end - iova + 1);
		va = kmap_local_page(ioasid_mapping_page(m, iova));
		if (write)
			memcpy(va + offset, data, n);
		else
			memcpy(data, va + offset, n);
		kunmap_local(va);
		data += n;
		iova += n;
	}
}

/**
 * ioasid_access_rw - read or write memory through IOVAs
 * @access: The access, attached
 * @iova: The first IOVA
 * @data: The kernel buffer to read into or write from
 * @length: Bytes; the range may span several mappings
 * @flags: IOASID_ACCESS_WRITE to write the memory, else read it
 *
 * For small transfers that are not worth pinning for: the pages of the
 * IOASID are pinned already, so this maps them for the copy only.
 *
 * Context: Process context; may sleep.  Takes the access's lock and the
 * IOASID's.
 * Return: 0, or an error of ioasid_access_pin_pages(), with nothing
 * copied: the whole range is checked first.
 */
int ioasid_access_rw(struct ioasid_access *access, u64 iova, void *data,
		     size_t length, unsigned int flags)
{
	unsigned long last, cur, end;
	struct ioasid_space *space;
	struct ioasid_mapping *m;
	bool write = flags & IOASID_ACCESS_WRITE;
	int pass, rc;

	rc = ioasid_access_check(iova, length, flags, false, &last);
	if (rc)
		return rc;
	guard(mutex)(&access->lock);
	space = access->space;
	if (!space)
		return -ENOENT;
	guard(rwsem_read)(&space->lock);
	/* Pass 0 checks the whole range, pass 1 copies. */
	for (pass = 0; pass < 2; pass++) {
		for (cur = iova; cur - 1 != last; cur = end + 1) {
			m = ioasid_access_mapping(space, cur, flags);
			if (IS_ERR(m))
				return PTR_ERR(m);
			end = min(last, m->node.last);
			if (pass)
				ioasid_access_copy(m, cur, end,
						   data + (cur - iova), write);
		}
	}
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ioasid_access_rw, IOASID);

/**
 * ioasid_access_notify_unmap - ask the accesses of an IOASID to unpin a range
 * @space: The IOASID, not locked
 * @iova: Start of the range
 * @last: Its last byte
 *
 * Calls the unmap callback of every access attached to @space.  Each is
 * called with a short-term reference on the access, which keeps
 * ioasid_access_destroy() waiting, and with no lock held.
 */
void ioasid_access_notify_unmap(struct ioasid_space *space,
				unsigned long iova, unsigned long last)
{
	/* The whole space has no length in 64 bits: the largest stands in. */
	u64 length = last - iova == U64_MAX ? U64_MAX : last - iova + 1;
	struct ioasid_access *access;
	unsigned long index = 0;

	for (;; index++) {
		xa_lock(&space->accesses);
		access = xa_find(&space->accesses, &index, ULONG_MAX,
				 XA_PRESENT);
		/* Attached, so published: the hold cannot revive it. */
		if (access)
			ioasid_object_hold(&access->obj);
		xa_unlock(&space->accesses);
		if (!access)
			return;
		access->ops->unmap(access->data, iova, length);
		ioasid_object_put(&access->obj);
	}
}

/*
 * Move the access from its IOASID (if any) to @space (if any).  Before
 * leaving an IOASID the driver is asked to unpin all it holds there; if
 * it keeps pins, the move fails.
 */
static int ioasid_access_move(struct ioasid_access *access,
			      struct ioasid_space *space)
{
	struct ioasid_space *old;
	int rc;

	/* Unlocked: a pin racing with the move fails it with EBUSY. */
	if (READ_ONCE(access->space) != space && !xa_empty(&access->pins))
		access->ops->unmap(access->data, 0, U64_MAX);

	guard(mutex)(&access->lock);
	old = access->space;
	if (old == space)
		return 0;
	if (!xa_empty(&access->pins))
		return -EBUSY;
	if (space) {
		if (!ioasid_object_use(&space->obj))
			return -ENOENT;
		rc = xa_insert(&space->accesses, access->obj.id, access,
			       IOASID_GFP);
		if (rc) {
			ioasid_object_unuse(&space->obj);
			return rc;
		}
	}
	if (old) {
		xa_erase(&old->accesses, access->obj.id);
		ioasid_object_unuse(&old->obj);
	}
	access->space = space;
	return 0;
}

/* Attach or replace: the IOASID looked up for the call. */
static int ioasid_access_move_to(struct ioasid_access *access, u32 ioasid,
				 bool replace)
{
	struct ioasid_space *space;
	int rc;

	space = ioasid_space_get(access->ctx, ioasid);
	if (IS_ERR(space))
		return PTR_ERR(space);
	/* Unlocked peek: the driver serialises its attach and detach calls. */
	if (!replace)
		rc = ioasid_access_attach_space(access, space);
	else if (!READ_ONCE(access->space))
		rc = -EINVAL;
	else
		rc = ioasid_access_move(access, space);
	ioasid_space_put(space);
	return rc;
}

/**
 * ioasid_access_attach_space - attach a detached access to an IOASID
 * @access: The access
 * @space: An IOASID of its context, with a reference for the call
 *
 * Return: as ioasid_access_attach().
 */
int ioasid_access_attach_space(struct ioasid_access *access,
			       struct ioasid_space *space)
{
	if (READ_ONCE(access->space))
		return -EBUSY;
	return ioasid_access_move(access, space);
}

/**
 * ioasid_access_attach - attach an access to an IOASID
 * @access: The access, detached
 * @ioasid: An IOASID of the access's context
 *
 * Context: Process context; may sleep.  The caller serialises attach,
 * replace, detach and destroy of one access.
 * Return: 0, -ENOENT for no such IOASID, -EBUSY if already attached,
 * -ENOMEM; nothing changes on error.
 */
int ioasid_access_attach(struct ioasid_access *access, u32 ioasid)
{
	return ioasid_access_move_to(access, ioasid, false);
}
EXPORT_SYMBOL_NS_GPL(ioasid_access_attach, IOASID);

/**
 * ioasid_access_replace - move an attached access to another IOASID
 * @access: The access, attached
 * @ioasid: An IOASID of the access's context
 *
 * The driver's unmap callback is first asked to unpin everything the
 * access holds, since none of it stays valid in the new address space.
 *
 * Context: As ioasid_access_attach().
 * Return: 0, -EINVAL if not attached, -ENOENT for no such IOASID,
 * -EBUSY if the driver kept pins, -ENOMEM; on error the access stays
 * where it was.
 */
int ioasid_access_replace(struct ioasid_access *access, u32 ioasid)
{
	return ioasid_access_move_to(access, ioasid, true);
}
EXPORT_SYMBOL_NS_GPL(ioasid_access_replace, IOASID);

/**
 * ioasid_access_detach - detach an access from its IOASID
 * @access: The access
 *
 * As for replace, the driver is first asked to unpin everything.  Does
 * nothing if the access is not attached.
 *
 * Context: As ioasid_access_attach().
 * Return: 0, or -EBUSY if the driver kept pins; it stays attached then.
 */
int ioasid_access_detach(struct ioasid_access *access)
{
	return ioasid_access_move(access, NULL);
}
EXPORT_SYMBOL_NS_GPL(ioasid_access_detach, IOASID);

/**
 * ioasid_access_create - a new access on a context, for a driver
 * @ctx: The context, whose file the driver keeps open until
 *       ioasid_access_destroy()
 * @ops: The driver's callbacks; they must outlive the access
 * @data: Their argument
 * @id: Output: the access's id in @ctx, which user space may be told (VFIO
 *      reports it as the device's id); user space cannot destroy it
 *
 * Context: Process context; may sleep.
 * Return: the access, detached, or an ERR_PTR: -ENOMEM, -ENOSPC when the
 * context has no id left.
 */
struct ioasid_access *ioasid_access_create(struct ioasid_ctx *ctx,
					   const struct ioasid_access_ops *ops,
					   void *data, u32 *id)
{
	struct ioasid_access *access;
	struct ioasid_object *obj;

	obj = ioasid_object_alloc(ctx, sizeof(*access), IOASID_OBJ_ACCESS);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	access = container_of(obj, struct ioasid_access, obj);
	access->ctx = ctx;
	access->ops = ops;
	access->data = data;
	mutex_init(&access->lock);
	xa_init(&access->pins);
	/* The creator's reference, dropped by destroy. */
	refcount_inc(&obj->users);
	ioasid_object_publish(ctx, obj);
	*id = obj->id;
	return access;
}
EXPORT_SYMBOL_NS_GPL(ioasid_access_create, IOASID);

/* Give back what a driver that ignored its unmap callback still holds. */
static void ioasid_access_drop_pins(struct ioasid_access *access)
{
	unsigned long index, count;
	void *entry;

	guard(mutex)(&access->lock);
	if (xa_empty(&access->pins))
		return;
	WARN_ONCE(1, "ioasid: a driver destroyed an access with pages pinned\n");
	guard(rwsem_read)(&access->space->lock);
	xa_for_each(&access->pins, index, entry)
		for (count = xa_to_value(entry); count; count--)
			ioasid_access_unpin_locked(access, index << PAGE_SHIFT,
						   1);
}

/**
 * ioasid_access_destroy - end an access
 * @access: The access; freed on return
 *
 * Detaches it, after asking the driver to unpin what it still holds, and
 * removes its id.  Waits for unmap callbacks of the access in progress in
 * other threads to return, which they do without waiting on the caller.
 *
 * Context: Process context; may sleep.  Must not be called from the
 * access's unmap callback.
 */
void ioasid_access_destroy(struct ioasid_access *access)
{
	if (ioasid_access_detach(access)) {
		ioasid_access_drop_pins(access);
		WARN_ON(ioasid_access_move(access, NULL));
	}
	ioasid_object_remove(access->ctx, &access->obj);
	xa_destroy(&access->pins);
	mutex_destroy(&access->lock);
	kfree(access);
}
EXPORT_SYMBOL_NS_GPL(ioasid_access_destroy, IOASID);
