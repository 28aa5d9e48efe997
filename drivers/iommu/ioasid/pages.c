// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pinned memory: what an IOASID stores instead of reading PFNs back from
 * IOMMU page tables.
 *
 * One IOASID_MAP pins its user or file range once, in large batches
 * (pages of a user range, folios of a file), and keeps the
 * result as runs of physically contiguous PFNs.  A run is written into an
 * IOMMU domain with one call, so contiguous memory (THP, hugetlbfs, or
 * simply adjacent pages) maps with the largest page sizes the domain
 * allows, and a domain added later is filled from the runs without
 * touching the user's page tables again.
 */
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "ioasid_private.h"

/* Pages (or folios) pinned per call: one page of pointers. */
#define PIN_BATCH (PAGE_SIZE / sizeof(struct page *))
/*
 * Small maps, the pattern of an emulated IOMMU, pin through an array on
 * the stack: allocating a page for a handful of pointers would cost
 * about as much as the pinning.
 */
#define PIN_SMALL_BATCH 16

/*
 * The most runs a map sizes its array for ahead of need: 16 MiB of runs,
 * 2 GiB of 4 KiB pages.  Past that the array doubles as it fills, so that
 * a length user space chose never sizes an allocation by itself.
 */
#define PRESIZE_MAX_RUNS (SZ_16M / sizeof(struct ioasid_pfn_run))

/* Make room for @cap runs. */
static int ioasid_pages_grow(struct ioasid_pages *pages, unsigned long cap)
{
	gfp_t gfp = IOASID_GFP | __GFP_NOWARN;
	struct ioasid_pfn_run *grown;

	if (pages->runs == &pages->first_run) {
		grown = kvmalloc_array(cap, sizeof(*grown), gfp);
		if (grown)
			grown[0] = pages->first_run;
	} else {
		/* array_size() saturates, so an overflow fails to allocate. */
		grown = kvrealloc(pages->runs, array_size(cap, sizeof(*grown)),
				  gfp);
	}
	if (!grown)
		return -ENOMEM;
	pages->runs = grown;
	pages->runs_cap = cap;
	return 0;
}

/*
 * Size the runs for the whole range as its first @n pages, already
 * recorded, suggest, rather than doubling all the way: memory of 4 KiB
 * pages has about a run per page, and a large map would otherwise copy
 * its runs again and again.
 */
static int ioasid_pages_presize(struct ioasid_pages *pages, unsigned long n)
{
	unsigned long want;

	/*
	 * nruns <= PIN_BATCH (a run per page or folio of the first batch) and
	 * npages < 2^52, so the product cannot overflow.
	 */
	want = min(DIV_ROUND_UP(pages->nruns * pages->npages, n),
		   PRESIZE_MAX_RUNS);

	if (want <= pages->runs_cap)
		return 0;
	return ioasid_pages_grow(pages, want);
}

/*
 * Record @n pages from @pfn at @index: appended to the last run if they
 * continue it, else as a new run.
 */
static int ioasid_pages_add_pfns(struct ioasid_pages *pages,
				 unsigned long index, unsigned long pfn,
				 unsigned long n)
{
	struct ioasid_pfn_run *last;
	int rc;

	if (pages->nruns) {
		last = &pages->runs[pages->nruns - 1];
		if (last->pfn + last->npages == pfn) {
			last->npages += n;
			return 0;
		}
	}
	if (pages->nruns == pages->runs_cap) {
		/* Doubling cannot wrap: runs_cap is bounded by memory. */
		rc = ioasid_pages_grow(pages, pages->runs_cap * 2);
		if (rc)
			return rc;
	}
	pages->runs[pages->nruns++] = (struct ioasid_pfn_run) {
		.index = index, .pfn = pfn, .npages = n,
	};
	return 0;
}

/*
 * A file's pages are pinned once per folio (memfd_pin_folios()), not once
 * per page: give back one pin for each folio a run touches.
 */
static void ioasid_pages_unpin_folios(struct ioasid_pages *pages,
				      struct ioasid_pfn_run *run)
{
	unsigned long pfn = run->pfn, end = run->pfn + run->npages;
	struct folio *folio;

	while (pfn < end) {
		folio = pfn_folio(pfn);
		unpin_user_page_range_dirty_lock(pfn_to_page(pfn), 1,
						 pages->writable);
		pfn = folio_pfn(folio) + folio_nr_pages(folio);
	}
}

static void ioasid_pages_unpin(struct ioasid_pages *pages)
{
	struct ioasid_pfn_run *run;

	for (run = pages->runs; run < pages->runs + pages->nruns; run++) {
		if (pages->file)
			ioasid_pages_unpin_folios(pages, run);
		else
			unpin_user_page_range_dirty_lock(pfn_to_page(run->pfn),
							 run->npages,
							 pages->writable);
		/* Scattered 4 KiB pages make a run per page. */
		cond_resched();
	}
}

/*
 * Record @n pinned pages, from index @done on, a run of contiguous pages at
 * a time.  On failure the pages no run records are unpinned.
 */
static int ioasid_pages_add_pages(struct ioasid_pages *pages,
				  unsigned long done, struct page **batch,
				  long n)
{
	unsigned long pfn;
	long i, k;
	int rc;

	for (i = 0; i < n; i += k) {
		pfn = page_to_pfn(batch[i]);
		for (k = 1; i + k < n && page_to_pfn(batch[i + k]) == pfn + k; k++)
			;
		rc = ioasid_pages_add_pfns(pages, done + i, pfn, k);
		if (rc) {
			unpin_user_pages(batch + i, n - i);
			return rc;
		}
	}
	return 0;
}

/* A long-term pin, for writing if devices may write. */
static unsigned int ioasid_gup_flags(bool writable)
{
	return FOLL_LONGTERM | (writable ? FOLL_WRITE : 0);
}

/*
 * Pin the user pages from index @done on, up to @len of them into @batch,
 * and record them.  Return: the pages recorded, or an errno with none of
 * this batch left pinned.
 */
static long ioasid_pin_user_batch(struct ioasid_pages *pages,
				  unsigned long uaddr, unsigned long done,
				  struct page **batch, unsigned long len)
{
	long n;
	int rc;

	n = pin_user_pages_fast(uaddr + done * PAGE_SIZE,
				min(pages->npages - done, len),
				ioasid_gup_flags(pages->writable), batch);
	if (n <= 0)
		return n ? n : -EFAULT;
	rc = ioasid_pages_add_pages(pages, done, batch, n);
	return rc ? rc : n;
}

/**
 * ioasid_pin_ahead_init - prepare to pin ahead for consecutive maps
 * @ahead: The pin-ahead state of one call
 * @writable: Whether the maps pin for writing
 */
void ioasid_pin_ahead_init(struct ioasid_pin_ahead *ahead, bool writable)
{
	ahead->pages = ahead->small;
	ahead->writable = writable;
	ahead->next = 0;
	ahead->count = 0;
}

/* Unpin the pages of the batch that no map took. */
static void ioasid_pin_ahead_drop(struct ioasid_pin_ahead *ahead)
{
	unpin_user_pages(ahead->pages + ahead->next,
			 ahead->count - ahead->next);
	ahead->next = 0;
	ahead->count = 0;
}

/**
 * ioasid_pin_ahead_end - unpin the pages no map took, and free the batch
 * @ahead: State of ioasid_pin_ahead_init()
 */
void ioasid_pin_ahead_end(struct ioasid_pin_ahead *ahead)
{
	ioasid_pin_ahead_drop(ahead);
	if (ahead->pages != ahead->small)
		free_page((unsigned long)ahead->pages);
}

/*
 * Unpin what is left of the batch and pin the next one, from @uaddr; a
 * stretch longer than the small batch gets a page of room first.
 */
static int ioasid_pin_ahead_fill(struct ioasid_pin_ahead *ahead,
				 unsigned long uaddr)
{
	unsigned long want = (ahead->end - uaddr) >> PAGE_SHIFT;
	unsigned long cap = ARRAY_SIZE(ahead->small);
	struct page **grown;
	long n;

	ioasid_pin_ahead_drop(ahead);
	if (ahead->pages != ahead->small) {
		cap = PIN_BATCH;
	} else if (want > cap) {
		grown = (struct page **)__get_free_page(GFP_KERNEL);
		if (!grown)
			return -ENOMEM;
		ahead->pages = grown;
		cap = PIN_BATCH;
	}
	n = pin_user_pages_fast(uaddr, min(want, cap),
				ioasid_gup_flags(ahead->writable), ahead->pages);
	if (n <= 0)
		return n ? n : -EFAULT;
	ahead->uaddr = uaddr;
	ahead->count = n;
	return 0;
}

/*
 * Take the pages from index @done on out of @ahead, pinning its next batch
 * if it does not start with them.  Return: as ioasid_pin_user_batch().
 */
static long ioasid_pin_ahead_take(struct ioasid_pages *pages,
				  struct ioasid_pin_ahead *ahead,
				  unsigned long uaddr, unsigned long done)
{
	long n;
	int rc;

	uaddr += done * PAGE_SIZE;
	if (ahead->next == ahead->count || ahead->uaddr != uaddr) {
		rc = ioasid_pin_ahead_fill(ahead, uaddr);
		if (rc)
			return rc;
	}
	n = min(ahead->count - ahead->next, pages->npages - done);
	/* Taken either way: recorded, or unpinned on failure. */
	rc = ioasid_pages_add_pages(pages, done, ahead->pages + ahead->next, n);
	ahead->next += n;
	ahead->uaddr += n * PAGE_SIZE;
	return rc ? rc : n;
}

/*
 * Pin the folios of @file holding its pages from index @done on, up to
 * @len folios into @batch, and record the pages of the range in them.
 * Return: as ioasid_pin_user_batch().
 */
static long ioasid_pin_file_batch(struct ioasid_pages *pages,
				  struct file *file, loff_t offset,
				  unsigned long done, struct folio **batch,
				  unsigned long len)
{
	unsigned long pfn, n, recorded = 0, want = pages->npages - done;
	pgoff_t first;
	long i, nr;
	int rc = 0;

	nr = memfd_pin_folios(file, offset + done * PAGE_SIZE,
			      offset + pages->npages * PAGE_SIZE - 1, batch,
			      len, &first);
	/*
	 * The range was checked against the size at the call: EINVAL means
	 * the file was truncated since, and shmem has no page past its end.
	 */
	if (nr == -EINVAL)
		return -ENXIO;
	if (nr <= 0)
		return nr ? nr : -EFAULT;
	/* The folios are contiguous in the file, from @first bytes in. */
	first >>= PAGE_SHIFT;
	for (i = 0; i < nr && recorded < want; i++, first = 0) {
		pfn = folio_pfn(batch[i]) + first;
		n = min(folio_nr_pages(batch[i]) - first, want - recorded);
		rc = ioasid_pages_add_pfns(pages, done + recorded, pfn, n);
		if (rc)
			break;
		recorded += n;
	}
	/* The pinned folios that no run records. */
	if (i < nr)
		unpin_folios(batch + i, nr - i);
	return rc ? rc : recorded;
}

/*
 * Pin the whole range, a user range from @start or @file's range from
 * byte @start, in batches, and record it as PFN runs.  On failure
 * whatever was pinned is unpinned again.
 */
static int ioasid_pages_pin(struct ioasid_pages *pages, struct file *file,
			    u64 start, struct ioasid_pin_ahead *ahead)
{
	void *small_batch[PIN_SMALL_BATCH], **batch = small_batch;
	unsigned long len = PIN_SMALL_BATCH, done = 0;
	int rc = 0;
	long n;

	if (!ahead && pages->npages > PIN_SMALL_BATCH) {
		batch = (void **)__get_free_page(GFP_KERNEL);
		if (!batch)
			return -ENOMEM;
		len = PIN_BATCH;
	}
	while (done < pages->npages) {
		if (ioasid_should_fail()) {
			rc = -ENOMEM;
			break;
		}
		if (file)
			n = ioasid_pin_file_batch(pages, file, start, done,
						  (struct folio **)batch, len);
		else if (ahead)
			n = ioasid_pin_ahead_take(pages, ahead, start, done);
		else
			n = ioasid_pin_user_batch(pages, start, done,
						  (struct page **)batch, len);
		if (n < 0) {
			rc = n;
			break;
		}
		done += n;
		if (done == n && done < pages->npages) {
			rc = ioasid_pages_presize(pages, n);
			if (rc)
				break;
		}
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			break;
		}
	}
	if (batch != small_batch)
		free_page((unsigned long)batch);
	if (rc)
		ioasid_pages_unpin(pages);
	return rc;
}

static void ioasid_pages_free(struct ioasid_pages *pages)
{
	if (pages->runs != &pages->first_run)
		kvfree(pages->runs);
	if (pages->dmem)
		ioasid_dmem_put(pages->dmem);
	else
		ioasid_charge_release(&pages->charge);
	if (pages->file) {
		if (pages->writable)
			mapping_unmap_writable(pages->file->f_mapping);
		fput(pages->file);
	}
	kfree(pages);
}

/* A charged, empty struct ioasid_pages, or an ERR_PTR. */
static struct ioasid_pages *ioasid_pages_alloc(unsigned long npages,
					       bool writable,
					       enum ioasid_account account)
{
	struct ioasid_pages *pages;
	int rc;

	pages = kzalloc(sizeof(*pages), IOASID_GFP);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	kref_init(&pages->kref);
	pages->npages = npages;
	pages->writable = writable;
	pages->runs = &pages->first_run;
	pages->runs_cap = 1;
	ioasid_charge_init(&pages->charge, account);

	rc = ioasid_charge_add(&pages->charge, npages);
	if (rc) {
		ioasid_pages_free(pages);
		return ERR_PTR(rc);
	}
	return pages;
}

/* Undo ioasid_pages_alloc() when nothing could be pinned. */
static void ioasid_pages_abort(struct ioasid_pages *pages)
{
	pages->nruns = 0;
	ioasid_charge_sub(&pages->charge, pages->npages);
	ioasid_pages_free(pages);
}

/* ioasid_pages_get_user(), the pages taken from @ahead if not NULL. */
static struct ioasid_pages *ioasid_pages_pin_user(unsigned long uaddr,
						  unsigned long npages,
						  bool writable,
						  enum ioasid_account account,
						  struct ioasid_pin_ahead *ahead)
{
	struct ioasid_pages *pages;
	int rc;

	pages = ioasid_pages_alloc(npages, writable, account);
	if (IS_ERR(pages))
		return pages;
	rc = ioasid_pages_pin(pages, NULL, uaddr, ahead);
	if (rc) {
		ioasid_pages_abort(pages);
		return ERR_PTR(rc);
	}
	return pages;
}

/**
 * ioasid_pages_get_user - pin and charge a range of the caller's memory
 * @uaddr: Page-aligned start
 * @npages: Number of pages, not 0
 * @writable: Pin for writing; the memory must be writable
 * @account: Which RLIMIT_MEMLOCK count to charge
 *
 * Return: the pinned pages with one reference, or an ERR_PTR: -EFAULT
 * for memory that is not mapped (or not writable), -ENOMEM past
 * RLIMIT_MEMLOCK.
 */
struct ioasid_pages *ioasid_pages_get_user(unsigned long uaddr,
					   unsigned long npages, bool writable,
					   enum ioasid_account account)
{
	return ioasid_pages_pin_user(uaddr, npages, writable, account, NULL);
}

/**
 * ioasid_pages_get_user_ahead - ioasid_pages_get_user() for one of many
 * consecutive maps
 * @ahead: The call's pin-ahead state; its @writable is the map's
 * @uaddr: Page-aligned start
 * @npages: Number of pages, not 0
 * @end: The end of the memory the call's maps cover without a gap from
 *       @uaddr on: at least @uaddr + @npages pages, and no page past it
 *       is pinned
 * @account: Which RLIMIT_MEMLOCK count to charge
 *
 * Return: as ioasid_pages_get_user().
 */
struct ioasid_pages *ioasid_pages_get_user_ahead(struct ioasid_pin_ahead *ahead,
						 unsigned long uaddr,
						 unsigned long npages,
						 unsigned long end,
						 enum ioasid_account account)
{
	ahead->end = end;
	return ioasid_pages_pin_user(uaddr, npages, ahead->writable, account,
				     ahead);
}

/* The seals of a file ioasid_file_check() took as shmem or hugetlbfs. */
static unsigned int ioasid_file_seals(struct file *file)
{
#ifdef CONFIG_HUGETLBFS
	if (is_file_hugepages(file))
		return HUGETLBFS_I(file_inode(file))->seals;
#endif
	return SHMEM_I(file_inode(file))->seals;
}

/**
 * ioasid_file_is_memory - whether a file's pages can be pinned
 * @file: A file user space named
 *
 * Return: true for shmem and hugetlbfs files, whose pages
 * memfd_pin_folios() pins; other files are looked up as device memory.
 */
bool ioasid_file_is_memory(struct file *file)
{
	return shmem_file(file) || is_file_hugepages(file);
}

/**
 * ioasid_file_check - may this file's pages be pinned for devices?
 * @file: The file user space named
 * @writable: Whether devices are to write it
 *
 * The rules of mmap(MAP_SHARED), since pinning for a device is sharing
 * the pages with it: read access always, write access and no write seal
 * for a writable mapping.
 *
 * Return: 0, -ENODEV for a file that is neither shmem nor hugetlbfs,
 * -EACCES for a missing access mode, -EPERM for a write seal.
 */
int ioasid_file_check(struct file *file, bool writable)
{
	if (!ioasid_file_is_memory(file))
		return -ENODEV;
	if (!(file->f_mode & FMODE_READ) ||
	    (writable && !(file->f_mode & FMODE_WRITE)))
		return -EACCES;
	if (writable &&
	    (ioasid_file_seals(file) & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return -EPERM;
	return 0;
}

/**
 * ioasid_file_check_range - is a range, checked as by ioasid_check_range(),
 * inside a file?
 * @file: A file ioasid_file_check() took
 * @offset: Page-aligned start
 * @length: Page-aligned bytes, not 0, not wrapping
 *
 * The size is checked once, here: a file that shrinks later loses the
 * pages, not the device (see IOASID_MAP).
 *
 * Return: 0, -EOVERFLOW for a range past the largest file offset, -ENXIO
 * for one past the end of the file.
 */
int ioasid_file_check_range(struct file *file, u64 offset, u64 length)
{
	if (offset + length - 1 > LLONG_MAX)
		return -EOVERFLOW;
	if (offset + length > i_size_read(file_inode(file)))
		return -ENXIO;
	return 0;
}

/**
 * ioasid_pages_get_file - pin and charge a range of a shmem or hugetlbfs file
 * @file: The file, of a kind memfd_pin_folios() takes, checked by the caller
 * @offset: Page-aligned start in the file
 * @npages: Number of pages, not 0, all before the end of the file
 * @writable: Whether devices may write the pages
 * @account: Which RLIMIT_MEMLOCK count to charge
 *
 * The pages keep a reference on @file, so that its folios stay what they
 * are for as long as they are pinned, and for @writable hold it writable
 * as a shared writable mmap would.
 *
 * Return: the pinned pages with one reference, or an ERR_PTR: -ENOMEM
 * past RLIMIT_MEMLOCK or when the file has no memory for a hole, -EPERM
 * for @writable when the file is sealed against writes.
 */
struct ioasid_pages *ioasid_pages_get_file(struct file *file, loff_t offset,
					   unsigned long npages, bool writable,
					   enum ioasid_account account)
{
	struct ioasid_pages *pages;
	int rc;

	pages = ioasid_pages_alloc(npages, writable, account);
	if (IS_ERR(pages))
		return pages;
	/*
	 * A device that may write the file holds it as a writable shared
	 * mmap does, so that F_SEAL_WRITE cannot be added from before the
	 * pin until the unmap: -EPERM if the seal is there already.
	 */
	if (writable) {
		rc = mapping_map_writable(file->f_mapping);
		if (rc) {
			ioasid_pages_abort(pages);
			return ERR_PTR(rc);
		}
	}
	/* Before pinning: a failed pin unpins what it did by folio too. */
	pages->file = get_file(file);
	rc = ioasid_pages_pin(pages, file, offset, NULL);
	if (rc) {
		ioasid_pages_abort(pages);
		return ERR_PTR(rc);
	}
	return pages;
}

/**
 * ioasid_pages_alloc_dmem - pages for a range of device memory
 * @dmem: Its export, whose reference the pages take over on success
 * @pfn: The first page frame of the range
 * @npages: Pages in the range
 * @writable: Whether devices may write it
 *
 * Device memory is one physically contiguous run, neither pinned nor
 * charged: the export says while it may be reached.
 *
 * Return: the pages with one reference, or ERR_PTR(-ENOMEM).
 */
struct ioasid_pages *ioasid_pages_alloc_dmem(struct ioasid_dmem *dmem,
					     unsigned long pfn,
					     unsigned long npages,
					     bool writable)
{
	struct ioasid_pages *pages;

	pages = kzalloc(sizeof(*pages), IOASID_GFP);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	kref_init(&pages->kref);
	pages->npages = npages;
	pages->writable = writable;
	pages->dmem = dmem;
	pages->first_run = (struct ioasid_pfn_run) {
		.index = 0, .pfn = pfn, .npages = npages,
	};
	pages->runs = &pages->first_run;
	pages->runs_cap = 1;
	pages->nruns = 1;
	return pages;
}

static void ioasid_pages_release(struct kref *kref)
{
	struct ioasid_pages *pages = container_of(kref, struct ioasid_pages,
						  kref);

	if (!pages->dmem) {
		ioasid_nosnoop_unpin(pages);
		ioasid_pages_unpin(pages);
		ioasid_charge_sub(&pages->charge, pages->npages);
	}
	ioasid_pages_free(pages);
}

/**
 * ioasid_pages_put - drop a reference; the last one unpins and uncharges
 * @pages: The pages
 *
 * The caller must have flushed every IOTLB that could still translate to
 * these pages: after this the memory may be reused by anyone.
 */
void ioasid_pages_put(struct ioasid_pages *pages)
{
	kref_put(&pages->kref, ioasid_pages_release);
}

/**
 * ioasid_pages_find_run - the run holding a page index
 * @pages: The pages
 * @index: A page index below @pages->npages
 *
 * Return: the run whose pages include @index.
 */
struct ioasid_pfn_run *ioasid_pages_find_run(struct ioasid_pages *pages,
					     unsigned long index)
{
	unsigned long lo = 0, hi = pages->nruns - 1, mid;

	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		if (pages->runs[mid].index <= index)
			lo = mid;
		else
			hi = mid - 1;
	}
	return &pages->runs[lo];
}
