// SPDX-License-Identifier: GPL-2.0-only
/*
 * RLIMIT_MEMLOCK charges of pinned memory: who is charged, in which
 * count, and how a charge moves to another owner.
 *
 * Each pinned range is charged once, to the process that pinned it: its
 * user's locked_vm (the default, shared by the user's processes, as
 * io_uring and iommufd charge), its mm's pinned_vm (IOASID_ALLOC_ACCOUNT_MM)
 * or its mm's locked_vm (VFIO containers, as type1 charges).  The charge
 * holds a reference on whom it charges, so that it can be given back
 * whatever became of the process.
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>

#include "ioasid_private.h"

/**
 * ioasid_charge_init - the caller as the owner of a charge
 * @c: The charge, empty
 * @account: Which count it is to charge
 *
 * Takes a reference on the caller's user or mm; nothing is charged yet.
 */
void ioasid_charge_init(struct ioasid_charge *c, enum ioasid_account account)
{
	c->account = account;
	if (account == IOASID_ACCOUNT_USER) {
		c->user = get_uid(current_user());
	} else {
		c->mm = current->mm;
		mmgrab(c->mm);
	}
}

/**
 * ioasid_charge_release - drop the reference of ioasid_charge_init()
 * @c: The charge, with nothing charged any more
 */
void ioasid_charge_release(struct ioasid_charge *c)
{
	if (c->account == IOASID_ACCOUNT_USER)
		free_uid(c->user);
	else
		mmdrop(c->mm);
}

/**
 * ioasid_charge_is_current - whether the caller would charge the same
 * @c: A charge
 *
 * Return: true if a charge made now by the caller, in @c's count, would
 * charge whom @c charges.
 */
bool ioasid_charge_is_current(const struct ioasid_charge *c)
{
	if (c->account == IOASID_ACCOUNT_USER)
		return c->user == current_user();
	return c->mm == current->mm;
}

/*
 * The atomic counts only ever hold charges that fit, so that two maps
 * racing near the limit cannot both fail for want of room one of them
 * had.  CAP_IPC_LOCK lifts the limit (and is only asked about past it);
 * the pages are still counted, so that the count stays right if the
 * capability is dropped later.
 */
static int ioasid_charge_atomic64(atomic64_t *count, unsigned long n,
				  unsigned long limit)
{
	s64 old = atomic64_read(count);

	do {
		if (old + n > limit && !capable(CAP_IPC_LOCK))
			return -ENOMEM;
	} while (!atomic64_try_cmpxchg(count, &old, old + n));
	return 0;
}

static int ioasid_charge_atomic_long(atomic_long_t *count, unsigned long n,
				     unsigned long limit)
{
	long old = atomic_long_read(count);

	do {
		if (old + n > limit && !capable(CAP_IPC_LOCK))
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(count, &old, old + n));
	return 0;
}

/**
 * ioasid_charge_add - charge pages, within the caller's RLIMIT_MEMLOCK
 * @c: The charge, whose owner is the caller
 * @n: Pages
 *
 * Return: 0, or -ENOMEM past the limit, with nothing charged.
 */
int ioasid_charge_add(struct ioasid_charge *c, unsigned long n)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;

	switch (c->account) {
	case IOASID_ACCOUNT_MM_PINNED:
		return ioasid_charge_atomic64(&c->mm->pinned_vm, n, limit);
	case IOASID_ACCOUNT_MM_LOCKED:
		/* mlock's count, under the mmap lock, as VFIO type1 keeps it. */
		return account_locked_vm(c->mm, n, true);
	default:
		return ioasid_charge_atomic_long(&c->user->locked_vm, n, limit);
	}
}

/**
 * ioasid_charge_sub - give back pages charged with ioasid_charge_add()
 * @c: The charge
 * @n: Pages
 */
void ioasid_charge_sub(struct ioasid_charge *c, unsigned long n)
{
	switch (c->account) {
	case IOASID_ACCOUNT_MM_PINNED:
		atomic64_sub(n, &c->mm->pinned_vm);
		break;
	case IOASID_ACCOUNT_MM_LOCKED:
		/* An mm that has exited has no count left to correct. */
		if (mmget_not_zero(c->mm)) {
			account_locked_vm(c->mm, n, false);
			mmput(c->mm);
		}
		break;
	default:
		atomic_long_sub(n, &c->user->locked_vm);
	}
}

/**
 * ioasid_charge_move - move @n pages of a charge to another owner
 * @from: The charge now; released, and replaced by @to
 * @to: The new owner's charge, with @n pages charged already; its
 *      reference is taken over
 * @n: Pages
 */
void ioasid_charge_move(struct ioasid_charge *from, struct ioasid_charge *to,
			unsigned long n)
{
	ioasid_charge_sub(from, n);
	ioasid_charge_release(from);
	*from = *to;
}
