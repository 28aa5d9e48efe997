/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal interfaces of /dev/ioasid, shared by the files of
 * drivers/iommu/ioasid/.
 *
 * LOCKING
 *
 * Locks are listed outermost first; a lock may be taken while holding
 * those above it, never the other way round.
 *
 *  1. vfio_device_set::lock (VFIO) and vfio_group::group_lock (VFIO,
 *     taken before the device set lock): held by VFIO around bind, attach,
 *     detach and unbind, so that a device's binding changes one call at a
 *     time.  The group lock is also held across the container calls of
 *     compat.c.
 *     vfio_pci_core_device::memory_lock (vfio-pci, below the device set
 *     lock) is held around the revoke and restore of a device's memory
 *     (dmem.c); nothing of ours takes it.
 *  2. ioasid_dmem::lock: the mappings of a device's memory and whether
 *     they are revoked (dmem.c).  Taken before the IOASID's lock, by a
 *     map of device memory and by revoke and restore.
 *     ioasid_vfio::lock: the VFIO container state of a context
 *     (compat.c).  Never held across an attach: it only hands out a
 *     reference on the container's IOASID.
 *     ioasid_ctx::owner_lock: changes of owner of the context's pinned
 *     ranges (owner.c); the mmap lock of an owner's mm is taken under it,
 *     to charge its locked_vm.
 *  3. ioasid_ctx::groups_lock: the context's table of IOMMU groups and
 *     their bound counts (group.c).  Leaf: nothing is taken under it but
 *     memory allocation.
 *  4. ioasid_group::lock: a group's attach state (device.c), held around
 *     the IOMMU core's group attach and replace.
 *     ioasid_access::lock: an access's IOASID and pins (access.c), held
 *     by attach, replace, detach, pin, unpin and rw.  Drivers call those
 *     with their own locks held, and take the same locks in their unmap
 *     callback: so the callback is called with no lock of ours held,
 *     only a short-term reference on the access.
 *  5. ioasid_space::lock (rwsem): an IOASID's mappings, reserved ranges
 *     and domains (mapping.c, domain.c).  Pinning user memory happens
 *     before it is taken, so that maps into one IOASID pin in parallel.
 *     An mm's mmap lock ranks above it: a fault on a VFIO BAR takes the
 *     mmap lock, then memory_lock, then ioasid_dmem::lock, then this one.
 *     So nothing takes an mmap lock under it: pinning, and charging an
 *     mm's locked_vm (account_locked_vm()), happen outside it.
 *     The internal functions that take it themselves, so that their
 *     callers must not hold it: ioasid_space_add_mapping(),
 *     ioasid_space_remove_mapping(), ioasid_space_unmap(),
 *     ioasid_space_unmap_all(), ioasid_space_ranges(),
 *     ioasid_space_coherency(), ioasid_space_invalidate_vaddr(),
 *     ioasid_space_update_vaddr(), ioasid_space_vaddr_invalid(),
 *     ioasid_domains_attach_group(), ioasid_domains_release_group(),
 *     ioasid_domains_iova_alignment(), ioasid_domains_pgsizes(),
 *     ioasid_domains_empty(), ioasid_space_cuts_mapping(),
 *     ioasid_dmem_insert(), ioasid_space_set_dirty(), ioasid_space_dirty(),
 *     ioasid_space_read_dirty() and ioasid_space_unmap_dirty().  The
 *     last two write a user bitmap: they pin it before taking the lock.
 *     The others that touch an IOASID's mappings or domains assert it
 *     held (lockdep).
 *  6. ioasid_ctx::coherency_lock: the context's domain counts and KVM
 *     hooks (coherency.c).  KVM registers and unregisters its hooks with
 *     its own kvm_vfio::lock held, so that lock sits above all of these;
 *     the hooks are called under this one and take only KVM's MMU locks.
 *  7. The xa_lock of ioasid_ctx::objects: spinlock, innermost; protects
 *     the users counts of the objects as described at struct
 *     ioasid_object.
 *
 * Reference counts: the context lives as long as its file.  VFIO holds
 * the file (and so the context) for each bound device file and for each
 * group using the context as its container; KVM holds it for each
 * followed context.  Objects are counted as described at struct
 * ioasid_object.
 */
#ifndef __IOASID_PRIVATE_H
#define __IOASID_PRIVATE_H

#include <linux/gfp.h>
#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/xarray.h>

/*
 * Memory user space makes the kernel hold for it (objects, mappings, PFN
 * runs, IOMMU page tables) is charged to the caller's memory cgroup.  At
 * the cgroup's limit the ioctl fails with ENOMEM rather than invoking the
 * cgroup's OOM killer: the caller can unmap or close and try again, and a
 * VMM near its limit is not killed for asking.
 */
#define IOASID_GFP (GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL)

struct device;
struct file;
struct ioasid_dmem;
struct ioasid_dmem_mapping;
struct ioasid_pages;
struct iommu_group;
struct mm_struct;
struct seq_file;
struct user_struct;

/**
 * struct ioasid_vfio - a context used as a VFIO container
 * @lock: Protects what follows
 * @groups: The &struct ioasid_vfio_group of each VFIO group whose
 *          container the context is
 * @type: VFIO_TYPE1_IOMMU or VFIO_TYPE1v2_IOMMU once VFIO_SET_IOMMU is
 *        done, 0 before
 * @space: The container's IOASID, from VFIO_SET_IOMMU until the last
 *         group leaves, with a long-term user reference
 */
struct ioasid_vfio {
	struct mutex lock; /* @groups, @type, @space */
	struct list_head groups;
	unsigned int type;
	struct ioasid_space *space;
};

/**
 * struct ioasid_ctx - the state behind one open /dev/ioasid file
 * @objects: Every object of the context by id.  Ids are reserved with
 *           XA_ZERO_ENTRY while an object is being built, so that lookups
 *           never see a half-built object.  The xa_lock also serialises
 *           lookups against destruction (see struct ioasid_object).
 * @groups_lock: Protects @groups and the @bound counts in them
 * @groups: The &struct ioasid_group of every IOMMU group with a device
 *          bound to the context, by iommu_group_id()
 * @coherency_lock: Protects what follows, and orders the calls of the
 *                  KVM hooks so that they see every change in turn
 * @domains: Domains backing the IOASIDs of the context
 * @noncoherent_domains: How many of @domains let no-snoop DMA through
 * @kvm_hooks: The &struct ioasid_kvm_hook of every KVM instance that
 *             follows the context; each holds a reference on our file
 * @vfio: Its state as a VFIO container (compat.c)
 * @nr_mappings: Mappings in its IOASIDs, bounded by the max_mappings
 *               parameter
 * @nosnoop_map_bytes: Bytes flushed from the CPU caches as they were
 *                     mapped into a domain that lets no-snoop DMA through
 * @nosnoop_unpin_bytes: Bytes of such mappings flushed as they were
 *                       unpinned
 * @dmem_mappings: Mappings of device memory in its IOASIDs
 * @dmem_revoked: How many of them are revoked now
 * @owner_lock: Serialises the changes of owner of its pinned pages
 *              (owner.c, and VFIO_UPDATE_VADDR in compat.c), the only
 *              writers of &struct ioasid_pages.charge
 *
 * The context lives exactly as long as the file: it is allocated at open
 * and freed at release, after every object it holds is destroyed.
 */
struct ioasid_ctx {
	struct xarray objects;
	struct mutex groups_lock; /* @groups, and bound counts in it */
	struct xarray groups;
	struct mutex coherency_lock; /* domain counts, @kvm_hooks */
	unsigned int domains;
	unsigned int noncoherent_domains;
	struct list_head kvm_hooks;
	struct ioasid_vfio vfio;
	atomic_long_t nr_mappings;
	atomic64_t nosnoop_map_bytes;
	atomic64_t nosnoop_unpin_bytes;
	atomic_long_t dmem_mappings;
	atomic_long_t dmem_revoked;
	struct mutex owner_lock; /* changes of &struct ioasid_pages.charge */
};

enum ioasid_object_type {
	IOASID_OBJ_SPACE,
	IOASID_OBJ_DEVICE,
	IOASID_OBJ_ACCESS,
	IOASID_OBJ_MOCK,
	IOASID_OBJ_MOCK_ACCESS,
	IOASID_OBJ_MAX,
};

/**
 * struct ioasid_object - what every object of a context starts with
 * @users: Long-term users.  One is held by @objects of the owning context
 *         while the object is published; every user that keeps the
 *         object beyond a call holds one more (a device attached to an
 *         IOASID, a VFIO container's IOASID, the binder of a device).
 *         IOASID_DESTROY takes the count from 1 to 0 and fails with EBUSY
 *         while it is higher; a new long-term user can only be added to
 *         a non-zero count (refcount_inc_not_zero()), so none appears on
 *         an object on its way out.
 * @shortterm: Calls using the object right now, each from a lookup with
 *             ioasid_object_get() to its ioasid_object_put(), plus one
 *             for the publication itself, which whoever unpublishes the
 *             object drops.  Lookups take it under the xa_lock, so none
 *             starts once the object is unpublished, and the count
 *             reaches zero once only: that put destroys the object.
 *             Destroying an object that calls still use neither fails
 *             nor waits: the last of them destroys it, so that an
 *             IOASID_DESTROY racing with another call on the same object
 *             is not refused for it, nor held up by it.
 * @type: What the object is; fixed at allocation.
 * @id: Its id within the context; fixed at allocation.
 */
struct ioasid_object {
	refcount_t users;
	atomic_t shortterm;
	enum ioasid_object_type type;
	u32 id;
};

/**
 * struct ioasid_ucmd - one ioctl call, as its handler sees it
 * @ctx: The context of the file the ioctl was issued on
 * @ubuffer: The caller's struct
 * @user_size: The size the caller gave in the struct's size field
 * @cmd: The kernel's copy of the struct, zero-extended to its full size
 */
struct ioasid_ucmd {
	struct ioasid_ctx *ctx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

int ioasid_ucmd_respond(struct ioasid_ucmd *ucmd, size_t cmd_len);
struct ioasid_ctx *ioasid_ctx_alloc(void);
void ioasid_ctx_free(struct ioasid_ctx *ctx);
/* main.c's, by which ioasid_ctx_from_file() knows a context's file. */
extern const struct file_operations ioasid_fops;

struct ioasid_object *ioasid_object_alloc(struct ioasid_ctx *ctx, size_t size,
					  enum ioasid_object_type type);
void ioasid_object_publish(struct ioasid_ctx *ctx, struct ioasid_object *obj);
void ioasid_object_abort(struct ioasid_ctx *ctx, struct ioasid_object *obj);
struct ioasid_object *ioasid_object_get(struct ioasid_ctx *ctx, u32 id,
					enum ioasid_object_type type);
struct ioasid_object *ioasid_object_next(struct ioasid_ctx *ctx,
					 unsigned long *index,
					 enum ioasid_object_type type);
void ioasid_object_hold(struct ioasid_object *obj);
void ioasid_object_put(struct ioasid_object *obj);
bool ioasid_object_use(struct ioasid_object *obj);
void ioasid_object_unuse(struct ioasid_object *obj);
void ioasid_object_put_destroy(struct ioasid_ctx *ctx,
			       struct ioasid_object *obj);
void ioasid_object_remove(struct ioasid_ctx *ctx, struct ioasid_object *obj);
int ioasid_object_destroy_id(struct ioasid_ctx *ctx, u32 id);
void ioasid_ctx_destroy_all(struct ioasid_ctx *ctx);

int ioasid_destroy_ioctl(struct ioasid_ucmd *ucmd);

/**
 * struct ioasid_pfn_run - physically contiguous pinned pages
 * @index: Page index, within the pinned range, of the first page
 * @pfn: Its PFN
 * @npages: How many pages the run has
 */
struct ioasid_pfn_run {
	unsigned long index;
	unsigned long pfn;
	unsigned long npages;
};

/**
 * enum ioasid_account - which RLIMIT_MEMLOCK count pinned pages charge
 * @IOASID_ACCOUNT_USER: The user's locked_vm, shared by all its processes,
 *                       as io_uring and iommufd charge it (the default)
 * @IOASID_ACCOUNT_MM_PINNED: The mm's pinned_vm (IOASID_ALLOC_ACCOUNT_MM)
 * @IOASID_ACCOUNT_MM_LOCKED: The mm's locked_vm, mlock's count, as VFIO
 *                            type1 charges it (VFIO containers)
 * @IOASID_ACCOUNTS: How many counts there are
 */
enum ioasid_account {
	IOASID_ACCOUNT_USER,
	IOASID_ACCOUNT_MM_PINNED,
	IOASID_ACCOUNT_MM_LOCKED,
	IOASID_ACCOUNTS
};

/**
 * struct ioasid_charge - whom pinned pages are charged to (charge.c)
 * @account: The count charged
 * @user: The user charged, with a reference, for IOASID_ACCOUNT_USER
 * @mm: The mm charged, grabbed, for the other two
 */
struct ioasid_charge {
	enum ioasid_account account;
	union {
		struct user_struct *user;
		struct mm_struct *mm;
	};
};

void ioasid_charge_init(struct ioasid_charge *c, enum ioasid_account account);
void ioasid_charge_release(struct ioasid_charge *c);
bool ioasid_charge_is_current(const struct ioasid_charge *c);
int ioasid_charge_add(struct ioasid_charge *c, unsigned long n);
void ioasid_charge_sub(struct ioasid_charge *c, unsigned long n);
void ioasid_charge_move(struct ioasid_charge *from, struct ioasid_charge *to,
			unsigned long n);

/**
 * struct ioasid_mapping - one mapping of an IOASID
 * @node: Its IOVA range, in &struct ioasid_space.mappings
 * @pages: The pinned memory, with a reference
 * @pg_index: Index in @pages of the page mapped at the first IOVA
 * @prot: IOMMU_READ and/or IOMMU_WRITE
 * @seq: Its number in the IOASID, given when it is placed and never given
 *       again, so that undoing a map finds this mapping and not one that
 *       another thread put at the same IOVA since
 * @vaddr_invalid: VFIO_DMA_UNMAP_FLAG_VADDR took its user address away,
 *                 until VFIO_DMA_MAP_FLAG_VADDR gives a new one (owner.c).
 *                 Protected by the IOASID's lock.
 * @dmem: For device memory, its entry on the export (dmem.c); else NULL
 * @access_pins: Pins of its pages taken through accesses (access.c),
 *               changed with the IOASID's lock held for reading.  While
 *               there are any, the mapping stays in its IOASID.
 * @free_link: On the list of mappings an unmap releases
 */
struct ioasid_mapping {
	struct interval_tree_node node;
	struct ioasid_pages *pages;
	unsigned long pg_index;
	int prot;
	bool vaddr_invalid;
	u64 seq;
	struct ioasid_dmem_mapping *dmem;
	atomic_long_t access_pins;
	struct list_head free_link;
};

/**
 * struct ioasid_pages - memory pinned by one IOASID_MAP
 * @kref: One reference per mapping of the memory: the IOASID_MAP one and
 *        one per IOASID_COPY.  The last put unpins and uncharges.
 * @npages: Pages pinned, and charged to RLIMIT_MEMLOCK
 * @writable: Pinned with FOLL_WRITE, so devices may write
 * @charge: Whom @npages are charged to.  Changed only by a change of
 *          owner, which holds a reference meanwhile (owner.c).
 * @dmem: For device memory, its export, with a reference; such pages are
 *        neither pinned nor charged, and @charge, @file and @nosnoop_ctx
 *        are unused
 * @file: For a file's pages, the file, with a reference (and, when
 *        @writable, held as a writable mapping); its folios are pinned
 *        once each, not once per page
 * @nosnoop_ctx: The context that mapped the pages into a domain that lets
 *               no-snoop DMA through, which counts their flush at unpin;
 *               NULL while no such domain has
 * @nruns: Number of valid @runs
 * @runs_cap: Room in @runs
 * @runs: The pages as PFN runs, in page order
 * @first_run: Storage for @runs while there is a single run, so that a
 *             small mapping costs one allocation
 * @first_mapping: Storage for the mapping of the map that pinned the
 *                 pages, freed with them (ioasid_mapping_first())
 *
 * Immutable once pinned, so readers need no lock.
 */
struct ioasid_pages {
	struct kref kref;
	unsigned long npages;
	bool writable;
	struct ioasid_charge charge;
	struct ioasid_dmem *dmem;
	struct file *file;
	struct ioasid_ctx *nosnoop_ctx;
	unsigned long nruns;
	unsigned long runs_cap;
	struct ioasid_pfn_run *runs;
	struct ioasid_pfn_run first_run;
	struct ioasid_mapping first_mapping;
};

struct ioasid_pages *ioasid_pages_get_user(unsigned long uaddr,
					   unsigned long npages, bool writable,
					   enum ioasid_account account);

/* Pages a call pins ahead in its own frame, before it needs a batch page. */
#define IOASID_PIN_AHEAD_SMALL 16

/**
 * struct ioasid_pin_ahead - user pages pinned for the maps of a call to take
 * @pages: The batch: @small, or one page of page pointers once a stretch
 *         of memory is longer than @small
 * @writable: Whether the call's maps pin for writing
 * @uaddr: The user address of @pages[@next]
 * @end: Where the memory the maps to come cover without a gap ends
 * @next: The first page of the batch no map took yet
 * @count: The pages pinned in the batch
 * @small: The first batch's storage, so that a call of a few pages
 *         allocates none
 *
 * An emulated IOMMU's IOASID_VEC maps many small ranges, often the
 * consecutive pages of one buffer.  Pinned one range at a time, each
 * range would pay a walk of the page tables; pinned ahead, a batch of
 * them costs one, and each map records its pages from the batch.  Until
 * a map takes them the pages are pinned but charged to no one: at most
 * one batch, for the length of the call.
 */
struct ioasid_pin_ahead {
	struct page **pages;
	bool writable;
	unsigned long uaddr;
	unsigned long end;
	unsigned long next;
	unsigned long count;
	struct page *small[IOASID_PIN_AHEAD_SMALL];
};

void ioasid_pin_ahead_init(struct ioasid_pin_ahead *ahead, bool writable);
void ioasid_pin_ahead_end(struct ioasid_pin_ahead *ahead);
struct ioasid_pages *ioasid_pages_get_user_ahead(struct ioasid_pin_ahead *ahead,
						 unsigned long uaddr,
						 unsigned long npages,
						 unsigned long end,
						 enum ioasid_account account);
bool ioasid_file_is_memory(struct file *file);
int ioasid_file_check(struct file *file, bool writable);
int ioasid_file_check_range(struct file *file, u64 offset, u64 length);
struct ioasid_pages *ioasid_pages_get_file(struct file *file, loff_t offset,
					   unsigned long npages, bool writable,
					   enum ioasid_account account);
struct ioasid_pages *ioasid_pages_alloc_dmem(struct ioasid_dmem *dmem,
					     unsigned long pfn,
					     unsigned long npages,
					     bool writable);
void ioasid_pages_put(struct ioasid_pages *pages);
struct ioasid_pfn_run *ioasid_pages_find_run(struct ioasid_pages *pages,
					     unsigned long index);

/**
 * enum ioasid_dirty_mode - how an IOASID tracks the pages devices write
 * @IOASID_DIRTY_OFF: It does not
 * @IOASID_DIRTY_IOMMU: Every domain records writes in its IOPTEs
 * @IOASID_DIRTY_ALL: Every mapped page counts as written, as VFIO type1
 *                    counts them where the IOMMU cannot track
 */
enum ioasid_dirty_mode {
	IOASID_DIRTY_OFF,
	IOASID_DIRTY_IOMMU,
	IOASID_DIRTY_ALL,
};

/**
 * struct ioasid_space - an IOASID: one I/O address space of a context
 * @obj: Registry entry; @obj.id is the IOASID number user space sees
 * @ctx: The context; it outlives its IOASIDs
 * @account: The RLIMIT_MEMLOCK count its pinned pages charge
 * @require_coherent: IOASID_ALLOC_REQUIRE_COHERENCY: every domain must
 *                    block no-snoop DMA
 * @lock: Protects @mappings, @mapping_seq, @vaddr_invalid, @reserved,
 *        @domains and @dirty.  Taken for writing by map and unmap, which
 *        therefore change the IOASID one at a time; pinning happens
 *        before it is taken, so that map calls pin in parallel.
 * @mapping_seq: The @seq of the mapping placed last
 * @vaddr_invalid: How many mappings have no user address (VFIO containers)
 * @mappings: Every mapping, by IOVA
 * @reserved: IOVA ranges no mapping may use: reserved regions of the
 *            attached devices and what lies outside their apertures
 * @domains: The &struct ioasid_domain backing the IOASID
 * @dirty: Whether and how it tracks the pages devices write (dirty.c)
 * @accesses: The &struct ioasid_access of each access attached, by id.
 *            Changed by attach and detach with the access's lock held;
 *            the xarray's own lock lets an unmap find them without it.
 *
 * While a device or an access is attached, it holds a long-term
 * reference on @obj, so the IOASID cannot be destroyed under it.
 */
struct ioasid_space {
	struct ioasid_object obj;
	struct ioasid_ctx *ctx;
	enum ioasid_account account;
	bool require_coherent;
	struct rw_semaphore lock;
	u64 mapping_seq;
	unsigned long vaddr_invalid;
	struct rb_root_cached mappings;
	struct rb_root_cached reserved;
	struct list_head domains;
	enum ioasid_dirty_mode dirty;
	struct xarray accesses;
};

/**
 * struct ioasid_domain - one IOMMU domain backing an IOASID
 * @link: In &struct ioasid_space.domains
 * @domain: The paging domain, holding every mapping of the IOASID
 * @users: Devices attached through it; the last detach frees it.
 *         Protected by the IOASID's lock.
 * @enforce_cc: The IOMMU blocks no-snoop DMA through it, so it never
 *              makes KVM emulate WBINVD.  Decided before its first
 *              mapping and fixed from then on.
 */
struct ioasid_domain {
	struct list_head link;
	struct iommu_domain *domain;
	unsigned int users;
	bool enforce_cc;
};

/**
 * struct ioasid_group - an IOMMU group, as one context uses it
 * @ctx: The context
 * @group: The IOMMU group, with a reference
 * @bound: Devices of the group bound to @ctx; the last unbind frees this.
 *         Protected by the context's groups_lock.
 * @lock: Serialises attach, detach and replace of the group's devices,
 *        and protects what follows
 * @space: The IOASID the group is attached to, or NULL.  The IOMMU
 *         translates a whole group alike, so all its attached devices
 *         use this one IOASID.
 * @domain: The domain of @space the group is attached to
 * @attached: How many of its devices are attached; the group's DMA is
 *            blocked again when the last one detaches
 */
struct ioasid_group {
	struct ioasid_ctx *ctx;
	struct iommu_group *group;
	unsigned int bound;
	struct mutex lock; /* attach state: @space, @domain, @attached */
	struct ioasid_space *space;
	struct ioasid_domain *domain;
	unsigned int attached;
};

struct ioasid_group *ioasid_group_get(struct ioasid_ctx *ctx,
				      struct iommu_group *group);
void ioasid_group_put(struct ioasid_group *ig);

/**
 * struct ioasid_device - a device bound to a context
 * @obj: Registry entry.  Besides the registry's reference the binder
 *       holds one until ioasid_device_unbind(), so user space cannot
 *       destroy a bound device.
 * @ctx: The context; the binder keeps its file open while bound
 * @dev: The device, with a reference
 * @igroup: Its group in @ctx, DMA-owned by @ctx
 * @space: The IOASID the device is attached to, with a long-term
 *         reference on it, or NULL.  Protected by the group's lock.
 */
struct ioasid_device {
	struct ioasid_object obj;
	struct ioasid_ctx *ctx;
	struct device *dev;
	struct ioasid_group *igroup;
	struct ioasid_space *space;
};

/**
 * struct ioasid_access - a driver's use of an IOASID's memory by the CPU
 * @obj: Registry entry.  Besides the registry's reference its creator
 *       holds one until ioasid_access_destroy(), so user space cannot
 *       destroy it.
 * @ctx: The context; the creator keeps its file open
 * @ops: The driver's callbacks
 * @data: Their argument
 * @lock: Serialises attach, replace and detach with pin, unpin and rw,
 *        and protects @space and @pins
 * @space: The IOASID it is attached to, with a long-term reference on
 *         it, or NULL
 * @pins: How many times each page of @space is pinned through the
 *        access, as xarray values indexed by IOVA page number
 */
struct ioasid_access {
	struct ioasid_object obj;
	struct ioasid_ctx *ctx;
	const struct ioasid_access_ops *ops;
	void *data;
	struct mutex lock; /* @space, @pins */
	struct ioasid_space *space;
	struct xarray pins;
};

int ioasid_access_attach_space(struct ioasid_access *access,
			       struct ioasid_space *space);
void ioasid_access_notify_unmap(struct ioasid_space *space,
				unsigned long iova, unsigned long last);

bool ioasid_dev_has_iommu(struct device *dev);
int ioasid_device_attach_space(struct ioasid_device *idev,
			       struct ioasid_space *space);
int ioasid_device_info_ioctl(struct ioasid_ucmd *ucmd);
int ioasid_domain_probe(struct device *dev, u64 *pgsizes, u64 *start,
			u64 *last);

void ioasid_unreserve(struct ioasid_space *space, void *owner);
int ioasid_reserve_group(struct ioasid_space *space, void *owner,
			 struct iommu_group *group);
int ioasid_reserve_outside(struct ioasid_space *space, void *owner,
			   unsigned long start, unsigned long last);

int ioasid_domains_attach_group(struct ioasid_space *space,
				struct ioasid_group *ig, struct device *dev);
void ioasid_domains_detach_group(struct ioasid_space *space,
				 struct ioasid_group *ig);
void ioasid_domains_release_group(struct ioasid_space *space,
				  struct ioasid_group *ig,
				  struct ioasid_domain *d);
bool ioasid_domains_empty(struct ioasid_space *space);
unsigned long ioasid_domains_iova_alignment(struct ioasid_space *space);
unsigned long ioasid_domains_pgsizes(struct ioasid_space *space);
int ioasid_domains_map(struct ioasid_space *space, struct ioasid_mapping *m);
int ioasid_domain_fill(struct ioasid_space *space, struct ioasid_domain *d);
int ioasid_domains_map_list(struct ioasid_space *space, struct list_head *list);
void ioasid_domains_unmap(struct ioasid_space *space, struct list_head *freed);

void ioasid_coherency_init(struct ioasid_ctx *ctx);
void ioasid_coherency_destroy(struct ioasid_ctx *ctx);
void ioasid_ctx_add_domain(struct ioasid_ctx *ctx, struct ioasid_domain *d);
void ioasid_ctx_remove_domain(struct ioasid_ctx *ctx, struct ioasid_domain *d);
void ioasid_ctx_coherency(struct ioasid_ctx *ctx, u32 *domains,
			  u32 *noncoherent);
int ioasid_coherency_ioctl(struct ioasid_ucmd *ucmd);
void ioasid_nosnoop_map(struct ioasid_ctx *ctx, struct ioasid_pages *pages,
			unsigned long index, unsigned long npages);
void ioasid_nosnoop_unpin(struct ioasid_pages *pages);
void ioasid_coherency_show_fdinfo(struct ioasid_ctx *ctx, struct seq_file *m);

struct ioasid_coherency;
struct ioasid_iova_range;

/**
 * enum ioasid_unmap_rule - which mappings an unmap of a range removes
 * @IOASID_UNMAP_EXACT: Those inside the range; one crossing an end of it
 *                      fails the unmap (IOASID_UNMAP, VFIO type1 v2)
 * @IOASID_UNMAP_VFIO_V1: VFIO type1 v1's rule: nothing if a mapping that
 *                        starts before the range reaches into it, else
 *                        every mapping that starts in the range, whole
 */
enum ioasid_unmap_rule {
	IOASID_UNMAP_EXACT,
	IOASID_UNMAP_VFIO_V1,
};

struct ioasid_space *ioasid_space_create(struct ioasid_ctx *ctx,
					 enum ioasid_account account,
					 bool require_coherent);
struct ioasid_space *ioasid_space_get(struct ioasid_ctx *ctx, u32 id);
void ioasid_space_put(struct ioasid_space *space);
int ioasid_map_prot(u32 flags);
int ioasid_check_map_flags(u32 flags, bool file);
int ioasid_check_range(u64 start, u64 length, unsigned long *last);
int ioasid_space_alloc_iova(struct ioasid_space *space, unsigned long hint,
			    unsigned long length, unsigned long *iova);
struct ioasid_pages *ioasid_space_pin(struct ioasid_space *space,
				      struct file *file, u64 addr, u64 length,
				      u32 flags);
int ioasid_space_map(struct ioasid_space *space, struct file *file, u64 addr,
		     u64 length, u32 flags, u64 *iova, u64 *seq);
struct ioasid_mapping *ioasid_mapping_alloc(struct ioasid_pages *pages,
					    unsigned long pg_index,
					    unsigned long npages, int prot);
struct ioasid_mapping *ioasid_mapping_first(struct ioasid_pages *pages,
					    int prot);
void ioasid_mapping_free(struct ioasid_mapping *m);
int ioasid_space_place(struct ioasid_space *space, struct ioasid_mapping *m,
		       bool fixed, unsigned long hint, u64 *iova);
void ioasid_space_unplace(struct ioasid_space *space, struct ioasid_mapping *m);
int ioasid_space_check_iova(struct ioasid_space *space, unsigned long iova,
			    unsigned long last);
struct ioasid_pages *ioasid_space_find_pages(struct ioasid_space *space,
					     u64 iova, u64 length,
					     unsigned long *pg_index);
void ioasid_space_restore(struct ioasid_space *space, struct list_head *freed);
struct ioasid_mapping *ioasid_space_find_mapping(struct ioasid_space *space,
						 unsigned long iova);
struct ioasid_mapping *ioasid_space_first_whole(struct ioasid_space *space,
						unsigned long iova,
						unsigned long last);
bool ioasid_space_v1_range(struct ioasid_space *space, unsigned long iova,
			   unsigned long *last);
int ioasid_space_invalidate_vaddr(struct ioasid_space *space,
				  unsigned long iova, unsigned long last,
				  enum ioasid_unmap_rule rule, u64 *size);
int ioasid_space_update_vaddr(struct ioasid_space *space, unsigned long iova,
			      unsigned long last);
bool ioasid_space_vaddr_invalid(struct ioasid_space *space);
bool ioasid_space_cuts_mapping(struct ioasid_space *space, unsigned long iova,
			       unsigned long last);
int ioasid_space_take_range(struct ioasid_space *space, unsigned long iova,
			    unsigned long last, struct list_head *freed,
			    u64 *unmapped);
int ioasid_space_add_mapping(struct ioasid_space *space,
			     struct ioasid_mapping *m, bool fixed,
			     unsigned long hint, u64 *iova, u64 *seq);
void ioasid_space_unmap_all(struct ioasid_space *space);
void ioasid_space_remove_mapping(struct ioasid_space *space, u64 iova,
				 u64 seq);
int ioasid_space_unmap(struct ioasid_space *space, unsigned long iova,
		       unsigned long last, enum ioasid_unmap_rule rule,
		       u64 *unmapped);
struct ioasid_iova_range *ioasid_space_ranges(struct ioasid_space *space,
					      u32 *n);
void ioasid_space_coherency(struct ioasid_space *space,
			    struct ioasid_coherency *cmd);
int ioasid_space_alloc_ioctl(struct ioasid_ucmd *ucmd);
void ioasid_space_destroy(struct ioasid_object *obj);
int ioasid_map_ioctl(struct ioasid_ucmd *ucmd);
int ioasid_copy_ioctl(struct ioasid_ucmd *ucmd);
int ioasid_unmap_ioctl(struct ioasid_ucmd *ucmd);
int ioasid_iova_ranges_ioctl(struct ioasid_ucmd *ucmd);
int ioasid_vec_ioctl(struct ioasid_ucmd *ucmd);
int ioasid_change_owner_ioctl(struct ioasid_ucmd *ucmd);

int ioasid_domain_prepare_dirty(struct ioasid_space *space,
				struct ioasid_domain *d);
int ioasid_space_set_dirty(struct ioasid_space *space,
			   enum ioasid_dirty_mode mode);
enum ioasid_dirty_mode ioasid_space_dirty(struct ioasid_space *space);
int ioasid_dirty_check(u64 iova, u64 length, u64 page_size, u64 data,
		       u64 max_bits);
int ioasid_space_read_dirty(struct ioasid_space *space, u64 iova, u64 length,
			    u64 page_size, u64 data, bool no_clear);
int ioasid_space_unmap_dirty(struct ioasid_space *space, u64 iova,
			     u64 length, u64 page_size, u64 data,
			     u64 *unmapped);
int ioasid_dirty_tracking_ioctl(struct ioasid_ucmd *ucmd);
int ioasid_dirty_bitmap_ioctl(struct ioasid_ucmd *ucmd);

void ioasid_dmem_put(struct ioasid_dmem *dmem);
struct ioasid_pages *ioasid_pages_get_dmem(struct file *file, u64 offset,
					   unsigned long npages, bool writable);
int ioasid_dmem_insert(struct ioasid_space *space, struct ioasid_mapping *m,
		       bool fixed, unsigned long hint, u64 *iova, u64 *seq);
void ioasid_dmem_mapping_removed(struct ioasid_mapping *m);
void ioasid_dmem_mapping_restored(struct ioasid_mapping *m);
void ioasid_dmem_mapping_free(struct ioasid_mapping *m);
bool ioasid_dmem_mapping_revoked(struct ioasid_mapping *m);
void ioasid_dmem_show_fdinfo(struct ioasid_ctx *ctx, struct seq_file *m);

/**
 * struct ioasid_vfio_call - what a container ioctl works on
 * @space: The container's IOASID, with a reference for the call
 * @type: The IOMMU type
 * @pgsizes: The IOPTE sizes every domain of its groups has, or will have
 */
struct ioasid_vfio_call {
	struct ioasid_space *space;
	unsigned int type;
	u64 pgsizes;
};

/* The smallest IOPTE of the container, which type1's bitmaps count in. */
static inline u64 ioasid_vfio_dirty_pgsize(struct ioasid_vfio_call *call)
{
	return 1ULL << __ffs64(call->pgsizes);
}

int ioasid_vfio_map_dma(struct ioasid_vfio_call *call, void __user *uarg);
int ioasid_vfio_unmap_dma(struct ioasid_vfio_call *call, void __user *uarg);
int ioasid_vfio_dirty_pages(struct ioasid_vfio_call *call, void __user *uarg);
void ioasid_vfio_init(struct ioasid_ctx *ctx);
void ioasid_vfio_destroy(struct ioasid_ctx *ctx);
long ioasid_vfio_ioctl(struct ioasid_ctx *ctx, unsigned int cmd,
		       unsigned long arg);
void ioasid_vfio_show_fdinfo(struct ioasid_ctx *ctx, struct seq_file *m);

#ifdef CONFIG_IOASID_TEST
int ioasid_test_ioctl(struct ioasid_ucmd *ucmd);
void ioasid_test_mock_destroy(struct ioasid_object *obj);
int ioasid_test_access(struct ioasid_ucmd *ucmd);
void ioasid_test_access_destroy(struct ioasid_object *obj);
bool ioasid_should_fail(void);
int ioasid_test_init(void);
void ioasid_test_exit(void);
bool ioasid_test_is_mock_dev(struct device *dev);
#else
static inline bool ioasid_should_fail(void)
{
	return false;
}

static inline int ioasid_test_init(void)
{
	return 0;
}

static inline bool ioasid_test_is_mock_dev(struct device *dev)
{
	return false;
}

static inline void ioasid_test_exit(void)
{
}
#endif

#endif /* __IOASID_PRIVATE_H */
