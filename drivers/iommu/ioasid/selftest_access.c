// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only: a mock emulated device, whose driver reaches the memory of an
 * IOASID through an access as a mediated device's driver does, driven by
 * the IOASID_TEST_OP_ACCESS_* ops of tools/testing/selftests/ioasid.
 *
 * Like a real driver it remembers what it pinned, and its unmap callback
 * unpins whatever it holds in the range being unmapped, unless it was
 * created to keep its pins (IOASID_MOCK_ACCESS_KEEP_PINS).
 */
#include <linux/io.h>
#include <linux/ioasid.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ioasid_private.h"
#include "ioasid_test.h"

/**
 * struct mock_access - a mock emulated device
 * @obj: Registry entry (IOASID_OBJ_MOCK_ACCESS); user space destroys it
 * @access: Its access on the context
 * @flags: enum ioasid_mock_access_flags
 * @lock: Protects @pins and @pinned; taken before the access's lock, as a
 *        driver's own lock is
 * @pins: Its &struct mock_access_pin, one per pin call
 * @pinned: Pages in @pins
 * @unmaps: Calls of its unmap callback
 */
struct mock_access {
	struct ioasid_object obj;
	struct ioasid_access *access;
	u32 flags;
	struct mutex lock; /* @pins, @pinned */
	struct list_head pins;
	unsigned long pinned;
	atomic_t unmaps;
};

/**
 * struct mock_access_pin - a range a mock emulated device pinned
 * @link: In &struct mock_access.pins
 * @iova: Its first IOVA
 * @length: Its bytes
 */
struct mock_access_pin {
	struct list_head link;
	u64 iova;
	u64 length;
};

static void mock_access_unpin(struct mock_access *ma,
			      struct mock_access_pin *pin)
{
	lockdep_assert_held(&ma->lock);

	ioasid_access_unpin_pages(ma->access, pin->iova, pin->length);
	ma->pinned -= pin->length >> PAGE_SHIFT;
	list_del(&pin->link);
	kfree(pin);
}

/* The driver's callback: unpin what it holds in the range. */
static void mock_access_unmap(void *data, u64 iova, u64 length)
{
	struct mock_access *ma = data;
	struct mock_access_pin *pin, *tmp;
	u64 last = iova + length - 1;

	atomic_inc(&ma->unmaps);
	if (ma->flags & IOASID_MOCK_ACCESS_KEEP_PINS)
		return;
	guard(mutex)(&ma->lock);
	list_for_each_entry_safe(pin, tmp, &ma->pins, link)
		if (pin->iova <= last && pin->iova + pin->length - 1 >= iova)
			mock_access_unpin(ma, pin);
}

static_assert(IOASID_MOCK_ACCESS_WRITE == IOASID_ACCESS_WRITE);

static const struct ioasid_access_ops mock_access_ops = {
	.unmap = mock_access_unmap,
};

static int mock_access_create(struct ioasid_ucmd *ucmd)
{
	struct ioasid_test *cmd = ucmd->cmd;
	struct ioasid_object *obj;
	struct mock_access *ma;
	u32 access_id;
	int rc;

	if (cmd->access.flags & ~IOASID_MOCK_ACCESS_KEEP_PINS)
		return -EOPNOTSUPP;
	obj = ioasid_object_alloc(ucmd->ctx, sizeof(*ma),
				  IOASID_OBJ_MOCK_ACCESS);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	ma = container_of(obj, struct mock_access, obj);
	ma->flags = cmd->access.flags;
	mutex_init(&ma->lock);
	INIT_LIST_HEAD(&ma->pins);
	ma->access = ioasid_access_create(ucmd->ctx, &mock_access_ops, ma,
					  &access_id);
	if (IS_ERR(ma->access)) {
		rc = PTR_ERR(ma->access);
		goto err_abort;
	}
	cmd->access.id = obj->id;
	cmd->access.out_access_id = access_id;
	rc = ioasid_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_destroy;
	ioasid_object_publish(ucmd->ctx, obj);
	return 0;

err_destroy:
	ioasid_access_destroy(ma->access);
err_abort:
	mutex_destroy(&ma->lock);
	ioasid_object_abort(ucmd->ctx, obj);
	return rc;
}

/* As a driver's close: give back every pin, then end the access. */
void ioasid_test_access_destroy(struct ioasid_object *obj)
{
	struct mock_access *ma = container_of(obj, struct mock_access, obj);
	struct mock_access_pin *pin, *tmp;

	mutex_lock(&ma->lock);
	list_for_each_entry_safe(pin, tmp, &ma->pins, link)
		mock_access_unpin(ma, pin);
	mutex_unlock(&ma->lock);
	ioasid_access_destroy(ma->access);
	mutex_destroy(&ma->lock);
	kfree(ma);
}

static int mock_access_pin(struct mock_access *ma, struct ioasid_test *cmd)
{
	struct mock_access_pin *pin;
	struct page **pages;
	int rc;

	if (!cmd->access.length ||
	    cmd->access.length > IOASID_MOCK_ACCESS_MAX_PIN)
		return -EINVAL;
	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	pages = kvcalloc(cmd->access.length >> PAGE_SHIFT, sizeof(*pages),
			 GFP_KERNEL_ACCOUNT);
	rc = pin && pages ? 0 : -ENOMEM;
	guard(mutex)(&ma->lock);
	if (!rc)
		rc = ioasid_access_pin_pages(ma->access, cmd->access.iova,
					     cmd->access.length, pages,
					     cmd->access.flags);
	if (!rc) {
		cmd->access.out_phys = page_to_phys(pages[0]);
		pin->iova = cmd->access.iova;
		pin->length = cmd->access.length;
		list_add_tail(&pin->link, &ma->pins);
		ma->pinned += pin->length >> PAGE_SHIFT;
		pin = NULL;
	}
	kvfree(pages);
	kfree(pin);
	return rc;
}

static int mock_access_unpin_range(struct mock_access *ma,
				   struct ioasid_test *cmd)
{
	struct mock_access_pin *pin;

	guard(mutex)(&ma->lock);
	list_for_each_entry(pin, &ma->pins, link) {
		if (pin->iova == cmd->access.iova &&
		    pin->length == cmd->access.length) {
			mock_access_unpin(ma, pin);
			return 0;
		}
	}
	return -ENOENT;
}

static int mock_access_rw(struct mock_access *ma, struct ioasid_test *cmd)
{
	void __user *uptr = u64_to_user_ptr(cmd->access.uptr);
	bool write = cmd->access.flags & IOASID_MOCK_ACCESS_WRITE;
	size_t length = cmd->access.length;
	void *buf;
	int rc;

	if (length > IOASID_MOCK_ACCESS_MAX_RW)
		return -EINVAL;
	buf = kvzalloc(length ?: 1, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	rc = write && copy_from_user(buf, uptr, length) ? -EFAULT : 0;
	if (!rc)
		rc = ioasid_access_rw(ma->access, cmd->access.iova, buf,
				      length, cmd->access.flags);
	if (!rc && !write && copy_to_user(uptr, buf, length))
		rc = -EFAULT;
	kvfree(buf);
	return rc;
}

static int mock_access_op(struct mock_access *ma, struct ioasid_test *cmd)
{
	switch (cmd->op) {
	case IOASID_TEST_OP_ACCESS_ATTACH:
		return ioasid_access_attach(ma->access, cmd->access.ioasid);
	case IOASID_TEST_OP_ACCESS_REPLACE:
		return ioasid_access_replace(ma->access, cmd->access.ioasid);
	case IOASID_TEST_OP_ACCESS_DETACH:
		return ioasid_access_detach(ma->access);
	case IOASID_TEST_OP_ACCESS_PIN:
		return mock_access_pin(ma, cmd);
	case IOASID_TEST_OP_ACCESS_UNPIN:
		return mock_access_unpin_range(ma, cmd);
	default:
		return mock_access_rw(ma, cmd);
	}
}

/**
 * ioasid_test_access - the IOASID_TEST_OP_ACCESS_* ops
 * @ucmd: The call
 *
 * Return: 0, or the error of the op or of the access API.  Every op but
 * _CREATE reports the device's callback count and pinned pages, also on
 * error.
 */
int ioasid_test_access(struct ioasid_ucmd *ucmd)
{
	struct ioasid_test *cmd = ucmd->cmd;
	struct ioasid_object *obj;
	struct mock_access *ma;
	int rc, rc2;

	if (cmd->op == IOASID_TEST_OP_ACCESS_CREATE)
		return mock_access_create(ucmd);
	obj = ioasid_object_get(ucmd->ctx, cmd->access.id,
				IOASID_OBJ_MOCK_ACCESS);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	ma = container_of(obj, struct mock_access, obj);
	rc = mock_access_op(ma, cmd);
	cmd->access.out_unmaps = atomic_read(&ma->unmaps);
	mutex_lock(&ma->lock);
	cmd->access.out_pinned = ma->pinned;
	mutex_unlock(&ma->lock);
	ioasid_object_put(obj);
	rc2 = ioasid_ucmd_respond(ucmd, sizeof(*cmd));
	return rc ?: rc2;
}
