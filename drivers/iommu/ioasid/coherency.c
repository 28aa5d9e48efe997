// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cache coherency of a context's DMA, and the hooks that tell KVM.
 *
 * A device's no-snoop DMA bypasses the CPU caches, so a guest that drives
 * such a device must flush them with WBINVD, which KVM otherwise ignores.
 * What lets no-snoop DMA through is the IOMMU domain a device is attached
 * to, not the device: a domain either enforces coherency (its IOMMU
 * blocks no-snoop) or not.  The context counts its domains that do not,
 * and a KVM instance following the context is told when that count
 * leaves and returns to zero, at whatever attach, replace, detach or
 * close makes it change.
 *
 * No-snoop DMA also bypasses the host's caches: a device reading a page
 * past them finds what memory holds, not what the CPU last wrote (the
 * page's previous owner's data, say), and a line the CPU still caches
 * hides what the device wrote since, or is written back over it.  So
 * the pages mapped into a domain that lets no-snoop DMA through are
 * written back and invalidated from the CPU caches before the device can
 * reach them, and again when they are unpinned, before anyone else can.
 * Coherent domains pay nothing.
 */
#include <linux/cacheflush.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/ioasid.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>

#include "ioasid_private.h"

void ioasid_coherency_init(struct ioasid_ctx *ctx)
{
	mutex_init(&ctx->coherency_lock);
	INIT_LIST_HEAD(&ctx->kvm_hooks);
}

void ioasid_coherency_destroy(struct ioasid_ctx *ctx)
{
	/* A hook holds our file, and a domain a device bound through it. */
	WARN_ON(!list_empty(&ctx->kvm_hooks) || ctx->domains);
	mutex_destroy(&ctx->coherency_lock);
}

static void ioasid_kvm_notify(struct ioasid_ctx *ctx, bool noncoherent)
{
	struct ioasid_kvm_hook *hook;

	lockdep_assert_held(&ctx->coherency_lock);

	list_for_each_entry(hook, &ctx->kvm_hooks, link)
		hook->set_noncoherent(hook, noncoherent);
}

/**
 * ioasid_ctx_add_domain - count a new domain of the context
 * @ctx: The context
 * @d: The domain, whose coherency is decided and which no device uses yet
 *
 * Called before any device can do DMA through @d, so that KVM learns of
 * non-coherent DMA before the first such DMA can happen.
 */
void ioasid_ctx_add_domain(struct ioasid_ctx *ctx, struct ioasid_domain *d)
{
	guard(mutex)(&ctx->coherency_lock);
	ctx->domains++;
	if (!d->enforce_cc && !ctx->noncoherent_domains++)
		ioasid_kvm_notify(ctx, true);
}

/**
 * ioasid_ctx_remove_domain - forget a domain of the context
 * @ctx: The context
 * @d: The domain, which no device uses any more
 */
void ioasid_ctx_remove_domain(struct ioasid_ctx *ctx,
			      struct ioasid_domain *d)
{
	guard(mutex)(&ctx->coherency_lock);
	ctx->domains--;
	if (!d->enforce_cc && !--ctx->noncoherent_domains)
		ioasid_kvm_notify(ctx, false);
}

/**
 * ioasid_kvm_register - let KVM follow the coherency of a context
 * @file: An open /dev/ioasid file, which the caller holds a reference on
 *        until ioasid_kvm_unregister().  Holding the file is the only
 *        proof asked: what the hook is told follows the domains of the
 *        context, which no caller can set by itself.
 * @hook: The caller's hook; if the context already has non-coherent
 *        domains, it is called with true before this returns
 *
 * The context keeps no reference on the caller, so that the caller's
 * file reference is the only link between the two and no cycle forms.
 *
 * Context: Process context; takes the context's coherency lock, under
 * which @hook may be called.  kvm-vfio calls it with its own lock held.
 * Return: 0, or -EBADFD if @file is not a /dev/ioasid file.
 */
int ioasid_kvm_register(struct file *file, struct ioasid_kvm_hook *hook)
{
	struct ioasid_ctx *ctx = ioasid_ctx_from_file(file);

	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	guard(mutex)(&ctx->coherency_lock);
	list_add_tail(&hook->link, &ctx->kvm_hooks);
	if (ctx->noncoherent_domains)
		hook->set_noncoherent(hook, true);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ioasid_kvm_register, IOASID);

/**
 * ioasid_kvm_unregister - stop following a context
 * @file: The file given to ioasid_kvm_register()
 * @hook: The hook; if it was last told true, it is told false before
 *        this returns, so that nothing the context counted stays with KVM
 *
 * Context: As ioasid_kvm_register().
 */
void ioasid_kvm_unregister(struct file *file, struct ioasid_kvm_hook *hook)
{
	struct ioasid_ctx *ctx = file->private_data;

	guard(mutex)(&ctx->coherency_lock);
	list_del(&hook->link);
	if (ctx->noncoherent_domains)
		hook->set_noncoherent(hook, false);
}
EXPORT_SYMBOL_NS_GPL(ioasid_kvm_unregister, IOASID);

/**
 * ioasid_ctx_coherency - the context's domains, for IOASID_COHERENCY
 * @ctx: The context
 * @domains: Output: how many domains back its IOASIDs
 * @noncoherent: Output: how many of them let no-snoop DMA through
 */
void ioasid_ctx_coherency(struct ioasid_ctx *ctx, u32 *domains,
			  u32 *noncoherent)
{
	guard(mutex)(&ctx->coherency_lock);
	*domains = ctx->domains;
	*noncoherent = ctx->noncoherent_domains;
}

/* Write back and invalidate the CPU cache lines of @n pages from @pfn. */
static void ioasid_flush_pfns(unsigned long pfn, unsigned long n)
{
#ifdef CONFIG_X86
	void *va;

	for (; n; n--, pfn++) {
		va = kmap_local_pfn(pfn);
		clflush_cache_range(va, PAGE_SIZE);
		kunmap_local(va);
		if (!(pfn % 512))
			cond_resched();
	}
#endif
}

/* Flush pages [@index, @index + @npages) of @pages from the CPU caches. */
static void ioasid_flush_pages(struct ioasid_pages *pages, unsigned long index,
			       unsigned long npages)
{
	unsigned long end = index + npages, n;
	struct ioasid_pfn_run *run;

	for (run = ioasid_pages_find_run(pages, index); index < end; run++) {
		n = min(run->index + run->npages, end) - index;
		ioasid_flush_pfns(run->pfn + index - run->index, n);
		index += n;
	}
}

/**
 * ioasid_nosnoop_map - prepare pages for a domain that lets no-snoop DMA
 *                      through
 * @ctx: The context of the domain, which counts the bytes flushed
 * @pages: The pages
 * @index: The first page going into the domain
 * @npages: How many
 *
 * Called before the pages' IOPTEs are written.  The pages are flushed
 * again when they are unpinned, see ioasid_nosnoop_unpin().
 */
void ioasid_nosnoop_map(struct ioasid_ctx *ctx, struct ioasid_pages *pages,
			unsigned long index, unsigned long npages)
{
	/* Every mapping of @pages is in one context: the same value. */
	WRITE_ONCE(pages->nosnoop_ctx, ctx);
	ioasid_flush_pages(pages, index, npages);
	atomic64_add(npages << PAGE_SHIFT, &ctx->nosnoop_map_bytes);
}

/**
 * ioasid_nosnoop_unpin - flush pages a device may have written past the
 *                        CPU caches, before they are unpinned
 * @pages: The pages, which no domain maps any more
 */
void ioasid_nosnoop_unpin(struct ioasid_pages *pages)
{
	struct ioasid_ctx *ctx = READ_ONCE(pages->nosnoop_ctx);

	if (!ctx)
		return;
	ioasid_flush_pages(pages, 0, pages->npages);
	atomic64_add(pages->npages << PAGE_SHIFT, &ctx->nosnoop_unpin_bytes);
}

/**
 * ioasid_coherency_show_fdinfo - the context's coherency, in fdinfo
 * @ctx: The context
 * @m: The fdinfo file
 *
 * The domains that let no-snoop DMA through, and the bytes the CPU
 * caches were flushed for because of them, at map and at unpin.
 */
void ioasid_coherency_show_fdinfo(struct ioasid_ctx *ctx, struct seq_file *m)
{
	u32 domains, noncoherent;

	ioasid_ctx_coherency(ctx, &domains, &noncoherent);
	seq_printf(m, "ioasid-domains:\t%u\n", domains);
	seq_printf(m, "ioasid-noncoherent-domains:\t%u\n", noncoherent);
	seq_printf(m, "ioasid-nosnoop-flushed-map:\t%lld\n",
		   atomic64_read(&ctx->nosnoop_map_bytes));
	seq_printf(m, "ioasid-nosnoop-flushed-unpin:\t%lld\n",
		   atomic64_read(&ctx->nosnoop_unpin_bytes));
}
