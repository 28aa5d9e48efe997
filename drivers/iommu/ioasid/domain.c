// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOMMU domains behind an IOASID.
 *
 * An IOASID is backed by one paging domain per kind of IOMMU among its
 * attached devices: a device joins the first domain its IOMMU accepts,
 * and only a device that no existing domain suits gets a new one, filled
 * from the IOASID's own record of its mappings.  Every mapping is written
 * into every domain (domain_map.c), so all devices of an IOASID see the
 * same addresses.
 *
 * A domain blocks no-snoop DMA (enforces cache coherency) whenever its
 * first device's IOMMU can, and is shared only among devices that agree:
 * a device whose IOMMU cannot block no-snoop never joins a domain that
 * does, which its IOMMU could not honour, and a device whose IOMMU can
 * never joins a domain that does not, which would let its no-snoop DMA
 * through for no reason and keep KVM emulating WBINVD after every
 * non-coherent device is gone.
 */
#include <linux/iommu.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "ioasid_private.h"

/* Reserve what lies outside the domain's aperture. */
static int ioasid_domain_reserve_aperture(struct ioasid_space *space,
					  struct ioasid_domain *d)
{
	struct iommu_domain_geometry *geo = &d->domain->geometry;

	if (!geo->force_aperture)
		return 0;
	return ioasid_reserve_outside(space, d, geo->aperture_start,
				      geo->aperture_end);
}

/**
 * ioasid_domains_empty - whether no domain backs an IOASID yet
 * @space: The IOASID
 *
 * Return: true while no device is attached to @space.
 */
bool ioasid_domains_empty(struct ioasid_space *space)
{
	guard(rwsem_read)(&space->lock);
	return list_empty(&space->domains);
}

/**
 * ioasid_domains_iova_alignment - what every mapping must be aligned to
 * @space: The IOASID
 *
 * Return: the largest of the smallest page sizes of its domains, and
 * never less than the CPU page size, the unit of pinning.
 */
unsigned long ioasid_domains_iova_alignment(struct ioasid_space *space)
{
	unsigned long align = PAGE_SIZE;
	struct ioasid_domain *d;

	guard(rwsem_read)(&space->lock);
	list_for_each_entry(d, &space->domains, link)
		align = max(align, 1UL << __ffs(d->domain->pgsize_bitmap));
	return align;
}

/**
 * ioasid_domains_pgsizes - the page sizes every domain of an IOASID has
 * @space: The IOASID
 *
 * Return: the sizes, none below the CPU page size; with no domain yet,
 * every power of two from the CPU page size up.
 */
unsigned long ioasid_domains_pgsizes(struct ioasid_space *space)
{
	unsigned long pgsizes = PAGE_MASK;
	struct ioasid_domain *d;

	guard(rwsem_read)(&space->lock);
	list_for_each_entry(d, &space->domains, link)
		pgsizes &= d->domain->pgsize_bitmap;
	/* A CPU page is the unit of pinning, whatever the IOMMU maps. */
	return pgsizes | PAGE_SIZE;
}

static void ioasid_domain_free(struct ioasid_space *space,
			       struct ioasid_domain *d)
{
	ioasid_unreserve(space, d);
	iommu_domain_free(d->domain);
	kfree(d);
}

/*
 * Make @d block no-snoop DMA if its device's IOMMU @can_enforce.  Done
 * while @d is empty: an IOMMU may only switch a domain whose IOPTEs it
 * can still set up with snooping forced.
 */
static int ioasid_domain_set_coherency(struct ioasid_space *space,
				       struct ioasid_domain *d,
				       bool can_enforce)
{
	const struct iommu_domain_ops *ops = d->domain->ops;

	d->enforce_cc = can_enforce && ops->enforce_cache_coherency &&
			ops->enforce_cache_coherency(d->domain);
	if (!d->enforce_cc && space->require_coherent)
		return -EMEDIUMTYPE;
	return 0;
}

/**
 * ioasid_domain_probe - what a domain for a device would translate
 * @dev: A device with an IOMMU
 * @pgsizes: Output: its IOPTE sizes
 * @start: Output: the first IOVA of its aperture
 * @last: Output: the last one
 *
 * Allocates a domain the way an attach would and frees it again: only
 * the driver knows these, and only for a domain.  A domain its driver
 * sets up only at attach (see iommu_domain_set_up()) has no aperture
 * yet: the whole space is given, and the attach then refuses with
 * -EADDRINUSE what the domain cannot translate.
 *
 * Return: 0 or the driver's error.
 */
int ioasid_domain_probe(struct device *dev, u64 *pgsizes, u64 *start,
			u64 *last)
{
	struct iommu_domain *domain = iommu_user_domain_alloc(dev, 0);

	if (IS_ERR(domain))
		return PTR_ERR(domain);
	*pgsizes = domain->pgsize_bitmap;
	*start = 0;
	*last = U64_MAX;
	if (domain->geometry.force_aperture) {
		*start = domain->geometry.aperture_start;
		*last = domain->geometry.aperture_end;
	}
	iommu_domain_free(domain);
	return 0;
}

/*
 * An empty domain for @dev, able to track dirty IOPTEs if its IOMMU can,
 * since tracking may start at any time.
 */
static struct ioasid_domain *ioasid_domain_alloc(struct device *dev)
{
	u32 flags = 0;
	struct ioasid_domain *d;
	int rc;

	if (device_iommu_capable(dev, IOMMU_CAP_DIRTY_TRACKING))
		flags |= IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	d = kzalloc(sizeof(*d), IOASID_GFP);
	if (!d)
		return ERR_PTR(-ENOMEM);
	d->domain = iommu_user_domain_alloc(dev, flags);
	if (IS_ERR(d->domain)) {
		rc = PTR_ERR(d->domain);
		kfree(d);
		return ERR_PTR(rc);
	}
	return d;
}

/*
 * What an empty domain must be before it takes a mapping of @space: no
 * snoop blocked if @dev's IOMMU @can_enforce, tracking dirty IOPTEs if
 * @space does, what lies outside its aperture reserved.
 */
static int ioasid_domain_prepare(struct ioasid_space *space,
				 struct ioasid_domain *d, bool can_enforce)
{
	int rc;

	rc = ioasid_domain_set_coherency(space, d, can_enforce);
	rc = rc ?: ioasid_domain_prepare_dirty(space, d);
	return rc ?: ioasid_domain_reserve_aperture(space, d);
}

/*
 * Point the group at @domain.  A group attached elsewhere is switched
 * over directly (iommu_group_replace_domain()), so that its DMA is never
 * blocked nor sent to the default domain in between.
 */
static int ioasid_group_set_domain(struct ioasid_group *ig,
				   struct iommu_domain *domain)
{
	lockdep_assert_held(&ig->lock);

	if (ig->domain)
		return iommu_group_replace_domain(ig->group, domain);
	return iommu_attach_group(domain, ig->group);
}

/*
 * Attach to an existing domain of @space.  -ENODEV when none accepts the
 * device: a driver answers -EINVAL (or -EMEDIUMTYPE) for a domain its
 * IOMMU cannot use, which only means "try another".
 */
static int ioasid_domains_attach_existing(struct ioasid_space *space,
					  struct ioasid_group *ig,
					  bool enforce_cc)
{
	struct ioasid_domain *d;
	int rc;

	list_for_each_entry(d, &space->domains, link) {
		if (d->enforce_cc != enforce_cc)
			continue;
		rc = ioasid_group_set_domain(ig, d->domain);
		if (!rc) {
			d->users++;
			ig->domain = d;
			return 0;
		}
		if (rc != -EINVAL && rc != -EMEDIUMTYPE)
			return rc;
	}
	return -ENODEV;
}

/*
 * Take the group off @d, which it was just attached to: back to the
 * domain it had (ig->domain), or to blocking DMA.  Should the driver fail
 * to take the old domain back, the group is left blocking DMA, which is
 * safe, until it is detached.
 */
static void ioasid_group_restore(struct ioasid_group *ig,
				 struct ioasid_domain *d)
{
	if (ig->domain &&
	    !iommu_group_replace_domain(ig->group, ig->domain->domain))
		return;
	iommu_detach_group(d->domain, ig->group);
}

/* Attach @ig to @d, filled first, then known to KVM, then attached. */
static int ioasid_domain_attach_filled(struct ioasid_space *space,
				       struct ioasid_group *ig,
				       struct ioasid_domain *d, bool enforce_cc)
{
	int rc;

	rc = ioasid_domain_prepare(space, d, enforce_cc);
	if (rc)
		return rc;
	rc = ioasid_domain_fill(space, d);
	if (rc)
		return rc;
	/* KVM hears of a non-coherent domain before DMA can use it. */
	ioasid_ctx_add_domain(ig->ctx, d);
	rc = ioasid_group_set_domain(ig, d->domain);
	if (rc)
		ioasid_ctx_remove_domain(ig->ctx, d);
	return rc;
}

/*
 * Attach @ig to @d, which its driver sets up only then: attached empty,
 * then known to KVM, then filled.  The group's DMA faults until its
 * mappings are in, which for a replace is a window no other IOMMU has.
 */
static int ioasid_domain_attach_empty(struct ioasid_space *space,
				      struct ioasid_group *ig,
				      struct ioasid_domain *d, bool enforce_cc)
{
	int rc;

	rc = ioasid_group_set_domain(ig, d->domain);
	if (rc)
		return rc;
	rc = ioasid_domain_prepare(space, d, enforce_cc);
	if (rc)
		goto err_restore;
	ioasid_ctx_add_domain(ig->ctx, d);
	rc = ioasid_domain_fill(space, d);
	if (rc)
		goto err_remove;
	return 0;

err_remove:
	ioasid_ctx_remove_domain(ig->ctx, d);
err_restore:
	ioasid_group_restore(ig, d);
	return rc;
}

/* Attach @ig to a new domain of @space, made for @dev. */
static int ioasid_domains_attach_new(struct ioasid_space *space,
				     struct ioasid_group *ig,
				     struct device *dev, bool enforce_cc)
{
	struct ioasid_domain *d;
	int rc;

	d = ioasid_domain_alloc(dev);
	if (IS_ERR(d))
		return PTR_ERR(d);
	if (iommu_domain_set_up(d->domain))
		rc = ioasid_domain_attach_filled(space, ig, d, enforce_cc);
	else
		rc = ioasid_domain_attach_empty(space, ig, d, enforce_cc);
	if (rc) {
		/* Freeing a domain no device uses drops its mappings too. */
		ioasid_domain_free(space, d);
		return rc;
	}
	d->users = 1;
	list_add_tail(&d->link, &space->domains);
	ig->domain = d;
	return 0;
}

/**
 * ioasid_domains_attach_group - make a group's DMA go through @space
 * @space: The IOASID
 * @ig: The group, as the context of @space sees it.  If it is attached
 *      to another IOASID, it is moved over without a window in which its
 *      DMA is blocked (but see ioasid_domain_attach_empty()); the caller
 *      then releases the old IOASID with ioasid_domains_release_group().
 * @dev: The device of @ig being attached, for a new domain
 *
 * Return: 0, or an error with nothing changed: -EADDRINUSE when the
 * device's reserved regions or its IOMMU's aperture collide with a
 * mapping, -EMEDIUMTYPE when @space requires coherency and the device's
 * IOMMU cannot block its no-snoop DMA.
 */
int ioasid_domains_attach_group(struct ioasid_space *space,
				struct ioasid_group *ig, struct device *dev)
{
	bool enforce_cc = device_iommu_capable(dev,
					       IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	int rc;

	/* The group's attach state, ig->domain, is written here. */
	lockdep_assert_held(&ig->lock);

	if (space->require_coherent && !enforce_cc)
		return -EMEDIUMTYPE;

	guard(rwsem_write)(&space->lock);
	rc = ioasid_reserve_group(space, ig, ig->group);
	if (rc)
		return rc;
	rc = ioasid_domains_attach_existing(space, ig, enforce_cc);
	if (rc == -ENODEV)
		rc = ioasid_domains_attach_new(space, ig, dev, enforce_cc);
	if (rc)
		ioasid_unreserve(space, ig);
	return rc;
}

/**
 * ioasid_domains_release_group - forget a group that no longer uses @space
 * @space: The IOASID the group was attached to
 * @ig: The group, which no longer uses @d
 * @d: The domain of @space it was attached through
 *
 * The last group of a domain frees it.
 */
void ioasid_domains_release_group(struct ioasid_space *space,
				  struct ioasid_group *ig,
				  struct ioasid_domain *d)
{
	down_write(&space->lock);
	ioasid_unreserve(space, ig);
	if (!--d->users) {
		list_del(&d->link);
		ioasid_ctx_remove_domain(ig->ctx, d);
		ioasid_domain_free(space, d);
	}
	up_write(&space->lock);
}

/**
 * ioasid_domains_detach_group - block a group's DMA and leave @space
 * @space: The IOASID @ig is attached to
 * @ig: The group
 *
 * The group returns to blocking all DMA.
 */
void ioasid_domains_detach_group(struct ioasid_space *space,
				 struct ioasid_group *ig)
{
	struct ioasid_domain *d = ig->domain;

	lockdep_assert_held(&ig->lock);
	iommu_detach_group(d->domain, ig->group);
	ig->domain = NULL;
	ioasid_domains_release_group(space, ig, d);
}
