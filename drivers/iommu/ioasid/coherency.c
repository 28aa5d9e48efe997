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
 */
#include <linux/fs.h>
#include <linux/ioasid.h>
#include <linux/list.h>
#include <linux/mutex.h>

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
