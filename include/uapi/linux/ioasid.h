/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/ioasid: I/O address spaces managed from user space.
 *
 * Each open file of /dev/ioasid is a context.  A context holds objects,
 * each named by a 32-bit id that is only meaningful within that context.
 * An IOASID is one such object: an I/O address space into which user
 * memory is mapped for device DMA.  An IOASID id is a handle of this
 * interface; it is not a PASID and has nothing to do with the kernel's
 * ioasid_t.
 *
 * Every ioctl takes a pointer to a struct whose first member is
 * "__u32 size", set by the caller to the size of the struct it knows.
 * The kernel accepts any size from the first version of the struct up:
 * fields the caller does not know are taken as zero, and a caller's tail
 * the kernel does not know must be zero (E2BIG otherwise).  Output fields
 * are written up to the smaller of the two sizes.
 *
 * Errors common to every ioctl:
 *
 * - ENOTTY: unknown ioctl number.
 * - EFAULT: the argument pointer is not readable or writable.
 * - EINVAL: size smaller than the first version of the struct, or a
 *   reserved field that is not zero.
 * - E2BIG: size larger than the kernel's struct, with a non-zero tail.
 * - EOPNOTSUPP: a flag this kernel does not know.
 * - ENOENT: an id that names no object, or an object of another type.
 *
 * A failed ioctl changes nothing.
 */
#ifndef _UAPI_LINUX_IOASID_H
#define _UAPI_LINUX_IOASID_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOASID_TYPE	(';')
#define IOASID_CMD_BASE	0x40

enum {
	IOASID_CMD_GET_INFO = IOASID_CMD_BASE,
	IOASID_CMD_DESTROY,
	IOASID_CMD_ALLOC,
	IOASID_CMD_MAP,
	IOASID_CMD_COPY,
	IOASID_CMD_UNMAP,
	IOASID_CMD_IOVA_RANGES,
	IOASID_CMD_COHERENCY,
	IOASID_CMD_DEVICE_INFO,
	IOASID_CMD_VEC,
	IOASID_CMD_CHANGE_OWNER,
	IOASID_CMD_DIRTY_TRACKING,
	IOASID_CMD_DIRTY_BITMAP,
	/* Test-only commands of CONFIG_IOASID_TEST kernels. */
	IOASID_CMD_TEST = IOASID_CMD_BASE + 0x1f,
};

/**
 * enum ioasid_caps - optional features, in &struct ioasid_info.caps
 * @IOASID_CAP_COHERENCY: IOASID_COHERENCY, IOASID_ALLOC_REQUIRE_COHERENCY,
 *                        and KVM following a context through kvm-vfio
 * @IOASID_CAP_VFIO_CONTAINER: The file can be given to
 *                             VFIO_GROUP_SET_CONTAINER and answers the VFIO
 *                             container ioctls as VFIO type1 does
 * @IOASID_CAP_DEVICE_INFO: IOASID_DEVICE_INFO
 * @IOASID_CAP_MAP_FILE: IOASID_MAP_FILE: IOASID_MAP and IOASID_VEC map
 *                       memfd, hugetlbfs and other shmem files by offset
 * @IOASID_CAP_VEC: IOASID_VEC: many maps, unmaps or copies in one call
 * @IOASID_CAP_MAP_DEVICE_MEMORY: IOASID_MAP with IOASID_MAP_FILE maps the
 *                                memory BAR of a VFIO PCI device, for
 *                                peer-to-peer DMA; so does
 *                                VFIO_IOMMU_MAP_DMA of a BAR's mmap
 * @IOASID_CAP_CHANGE_OWNER: IOASID_CHANGE_OWNER, and VFIO_UPDATE_VADDR for
 *                           a VFIO container: a new process takes over
 *                           the pinned memory (live update)
 * @IOASID_CAP_DIRTY_TRACKING: IOASID_DIRTY_TRACKING, IOASID_DIRTY_BITMAP
 *                             and IOASID_UNMAP_DIRTY_BITMAP; and
 *                             VFIO_IOMMU_DIRTY_PAGES for a VFIO container
 */
enum ioasid_caps {
	IOASID_CAP_COHERENCY = 1 << 0,
	IOASID_CAP_VFIO_CONTAINER = 1 << 1,
	IOASID_CAP_DEVICE_INFO = 1 << 2,
	IOASID_CAP_MAP_FILE = 1 << 3,
	IOASID_CAP_VEC = 1 << 4,
	IOASID_CAP_MAP_DEVICE_MEMORY = 1 << 5,
	IOASID_CAP_CHANGE_OWNER = 1 << 6,
	IOASID_CAP_DIRTY_TRACKING = 1 << 7,
};

/**
 * struct ioasid_info - ioctl(IOASID_GET_INFO)
 * @size: sizeof(struct ioasid_info)
 * @flags: Must be 0
 * @caps: Output: the enum ioasid_caps features this kernel has
 *
 * Tells user space what this kernel offers, so that it can choose what
 * to use before it uses it.  There is deliberately no version number:
 * a feature is either reported here or detected by its own ioctl failing
 * with ENOTTY or EOPNOTSUPP.  Bits this kernel does not know are always
 * returned as 0.
 */
struct ioasid_info {
	__u32 size;
	__u32 flags;
	__aligned_u64 caps;
};

#define IOASID_GET_INFO		_IO(IOASID_TYPE, IOASID_CMD_GET_INFO)

/**
 * struct ioasid_destroy - ioctl(IOASID_DESTROY)
 * @size: sizeof(struct ioasid_destroy)
 * @flags: Must be 0
 * @id: The object to destroy, of any type
 * @__reserved: Must be 0
 *
 * Destroys one object of the context and frees its id, which a later
 * allocation may reuse.  Fails with EBUSY, changing nothing, while the
 * object is in use: for example an IOASID that a device is attached to.
 * Closing the file destroys every object it still holds.
 */
struct ioasid_destroy {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 __reserved;
};

#define IOASID_DESTROY		_IO(IOASID_TYPE, IOASID_CMD_DESTROY)

/**
 * struct ioasid_alloc - ioctl(IOASID_ALLOC)
 * @size: sizeof(struct ioasid_alloc)
 * @flags: Attributes of the new IOASID, fixed for its lifetime: a
 *         combination of enum ioasid_alloc_flags
 * @out_ioasid: Output: the id of the new IOASID
 * @__reserved: Must be 0
 *
 * Allocates an empty I/O address space.  Attributes are declared here,
 * at allocation, so that no later operation has to change the nature of
 * an address space that devices already use.
 */
struct ioasid_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioasid;
	__u32 __reserved;
};

#define IOASID_ALLOC		_IO(IOASID_TYPE, IOASID_CMD_ALLOC)

/**
 * enum ioasid_alloc_flags - attributes of an IOASID
 * @IOASID_ALLOC_ACCOUNT_MM: Charge the memory this IOASID pins to the
 *                           pinning process's mm (its VmPin in
 *                           /proc/PID/status) instead of to its user.
 *                           Either way the limit is RLIMIT_MEMLOCK, and
 *                           CAP_IPC_LOCK lifts it.
 * @IOASID_ALLOC_REQUIRE_COHERENCY: Every device attached must be behind an
 *                                  IOMMU that blocks its no-snoop DMA;
 *                                  attaching one that cannot fails with
 *                                  EMEDIUMTYPE.  Without this flag the
 *                                  kernel makes each domain block
 *                                  no-snoop where the IOMMU can, and lets
 *                                  the others through (see
 *                                  IOASID_COHERENCY).
 */
enum ioasid_alloc_flags {
	IOASID_ALLOC_ACCOUNT_MM = 1 << 0,
	IOASID_ALLOC_REQUIRE_COHERENCY = 1 << 1,
};

/**
 * enum ioasid_map_flags - how memory is mapped
 * @IOASID_MAP_READ: Devices may read the memory
 * @IOASID_MAP_WRITE: Devices may write the memory; the user memory must
 *                    then be writable
 * @IOASID_MAP_FIXED_IOVA: Map at the given IOVA.  Without it the kernel
 *                         chooses the IOVA, aligned like the user address
 *                         (or file offset) up to the largest page size
 *                         that fits, so that huge pages can be mapped by
 *                         huge IOPTEs.
 * @IOASID_MAP_FILE: Map a range of a file instead of the caller's memory:
 *                   @fd and @file_offset of &struct ioasid_map name it.
 *                   The file must be a memfd or another shmem file, a
 *                   hugetlbfs file (also a MFD_HUGETLB memfd), or, for
 *                   IOASID_MAP only, the device file of a VFIO PCI device,
 *                   whose memory BAR is then mapped (see IOASID_MAP).
 */
enum ioasid_map_flags {
	IOASID_MAP_READ = 1 << 0,
	IOASID_MAP_WRITE = 1 << 1,
	IOASID_MAP_FIXED_IOVA = 1 << 2,
	IOASID_MAP_FILE = 1 << 3,
};

/**
 * struct ioasid_map - ioctl(IOASID_MAP)
 * @size: sizeof(struct ioasid_map)
 * @flags: A combination of enum ioasid_map_flags; at least one of READ
 *         and WRITE
 * @ioasid: The IOASID to map into
 * @fd: With IOASID_MAP_FILE the file to map; otherwise must be 0
 * @user_va: Start of the user memory, page aligned
 * @file_offset: With IOASID_MAP_FILE (in place of @user_va): where the
 *               range starts in the file, page aligned
 * @length: Bytes to map, a non-zero multiple of the page size
 * @iova: With IOASID_MAP_FIXED_IOVA the IOVA to map at, page aligned.
 *        Otherwise output: the IOVA the kernel chose.  (With
 *        IOASID_MAP_FIXED_IOVA the struct is not written back, which
 *        spares the calls of an emulated IOMMU a copy each.)
 *
 * Pins the memory, charges it to RLIMIT_MEMLOCK and maps it into every
 * IOMMU domain that backs the IOASID, now and later.  The mapping is one
 * unit: it is unmapped whole (see IOASID_UNMAP).
 *
 * A file mapping pins the file's pages themselves, allocating those not
 * yet in it: it does not depend on any mapping of the file in a process,
 * and stays what devices see until it is unmapped, even if the file is
 * truncated (the truncated pages then stay pinned and charged, but are no
 * longer the file's).  Adding F_SEAL_WRITE to a memfd fails with EBUSY
 * while the memfd has pages mapped here.  Part of a huge page can be
 * mapped; the whole huge page is then pinned, as for a user range.
 *
 * Device memory: with a VFIO PCI device file as @fd, @file_offset is the
 * offset VFIO_DEVICE_GET_REGION_INFO reports for one of its memory BARs,
 * plus an offset in the BAR.  The BAR must be one VFIO lets user space
 * mmap.  Nothing is pinned or charged.  The mapping is only in the
 * IOMMU while the device decodes memory and is open: turning memory
 * decode off or resetting the device takes its IOPTEs out of every
 * domain until decode is on again, when they come back by themselves;
 * closing the device (or its leaving vfio-pci) takes them out for good.
 * The IOVA range stays the mapping's until it is unmapped; DMA to it
 * faults meanwhile.
 *
 * Errors: EINVAL for a zero or unaligned range or no permission,
 * EOVERFLOW when the user, file or IOVA range wraps, EEXIST when the
 * IOVA range overlaps a mapping, EADDRNOTAVAIL when it is outside an
 * aperture or touches a reserved region, ENOSPC when no free IOVA range
 * is large enough, EFAULT when the user range is not mapped in the
 * process (or not writable for IOASID_MAP_WRITE), ENOMEM past
 * RLIMIT_MEMLOCK.  For a file: EBADF for no open file @fd, ENODEV for a
 * file of another kind, EACCES when @fd was not opened for reading (and
 * for writing, with IOASID_MAP_WRITE), EPERM for IOASID_MAP_WRITE on a
 * file sealed against writing, ENXIO for a range past the end of the
 * file.  For device memory: ENODEV for a file that is not a VFIO PCI
 * device open for use, EINVAL for a region that is not a memory BAR user
 * space may mmap (the config space, the ROM, an I/O BAR), ENXIO for a
 * range past the end of the BAR.
 */
struct ioasid_map {
	__u32 size;
	__u32 flags;
	__u32 ioasid;
	__s32 fd;
	union {
		__aligned_u64 user_va;
		__aligned_u64 file_offset;
	};
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOASID_MAP		_IO(IOASID_TYPE, IOASID_CMD_MAP)

/**
 * struct ioasid_copy - ioctl(IOASID_COPY)
 * @size: sizeof(struct ioasid_copy)
 * @flags: A combination of enum ioasid_map_flags
 * @dst_ioasid: The IOASID to map into
 * @src_ioasid: The IOASID whose memory is mapped
 * @length: Bytes to map, a non-zero multiple of the page size
 * @src_iova: Start of the memory in @src_ioasid; the range must lie
 *            within one mapping (ENOENT otherwise)
 * @dst_iova: With IOASID_MAP_FIXED_IOVA the IOVA to map at in
 *            @dst_ioasid.  Output: the IOVA of the new mapping.
 *
 * Maps memory that @src_ioasid already has pinned into @dst_ioasid,
 * without pinning or charging it again: the RFC's "register memory
 * once, map it into several address spaces".  What one IOASID_MAP
 * pinned stays pinned, whole, while any mapping of any part of it
 * exists.  IOASID_MAP_WRITE needs a source mapping
 * that was pinned writable (EPERM otherwise).  Other errors as for
 * IOASID_MAP.
 */
struct ioasid_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioasid;
	__u32 src_ioasid;
	__aligned_u64 length;
	__aligned_u64 src_iova;
	__aligned_u64 dst_iova;
};

#define IOASID_COPY		_IO(IOASID_TYPE, IOASID_CMD_COPY)

/**
 * enum ioasid_unmap_flags - what to unmap
 * @IOASID_UNMAP_ALL: Unmap every mapping; @iova and @length must be 0
 * @IOASID_UNMAP_DIRTY_BITMAP: Also report, in the same call, which pages
 *                             of the range devices wrote since the last
 *                             read: the dirty bits are read and the range
 *                             unmapped under one lock, so that no write
 *                             falls between the two.  Needs dirty
 *                             tracking on; not with IOASID_UNMAP_ALL.
 */
enum ioasid_unmap_flags {
	IOASID_UNMAP_ALL = 1 << 0,
	IOASID_UNMAP_DIRTY_BITMAP = 1 << 1,
};

/* The largest bitmap IOASID_UNMAP_DIRTY_BITMAP fills, in bytes. */
#define IOASID_UNMAP_DIRTY_BITMAP_MAX	(1 << 20)

/**
 * struct ioasid_unmap - ioctl(IOASID_UNMAP)
 * @size: sizeof(struct ioasid_unmap)
 * @flags: A combination of enum ioasid_unmap_flags
 * @ioasid: The IOASID to unmap from
 * @__reserved: Must be 0
 * @iova: Start of the range, page aligned
 * @length: Length of the range, a non-zero multiple of the page size.
 *          Output: the bytes unmapped.
 * @page_size: With IOASID_UNMAP_DIRTY_BITMAP: what one bit of @data
 *             stands for, as for IOASID_DIRTY_BITMAP
 * @data: With IOASID_UNMAP_DIRTY_BITMAP: the bitmap of the range, as for
 *        IOASID_DIRTY_BITMAP, of at most IOASID_UNMAP_DIRTY_BITMAP_MAX
 *        bytes (else E2BIG).  The unmap fails with ENODATA, unmapping
 *        nothing, when tracking is off, and with EFAULT when the bitmap
 *        cannot be written.
 *
 * Removes every mapping inside the range.  Mappings are units: a range
 * that would cut one in two fails with EINVAL and unmaps nothing, and a
 * range with no mapping in it fails with ENOENT.  When this returns, no
 * device can reach the memory any more (the IOTLBs are flushed), and the
 * memory of an IOASID_MAP that no mapping uses any more is unpinned and
 * uncharged.
 */
struct ioasid_unmap {
	__u32 size;
	__u32 flags;
	__u32 ioasid;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};

#define IOASID_UNMAP		_IO(IOASID_TYPE, IOASID_CMD_UNMAP)

/**
 * struct ioasid_iova_range - one usable IOVA range, inclusive
 * @start: First usable IOVA
 * @last: Last usable IOVA
 */
struct ioasid_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct ioasid_iova_ranges - ioctl(IOASID_IOVA_RANGES)
 * @size: sizeof(struct ioasid_iova_ranges)
 * @flags: Must be 0
 * @ioasid: The IOASID to describe
 * @num_ranges: Input: how many entries @ranges has room for.  Output:
 *              how many usable ranges there are.
 * @ranges: Pointer to an array of struct ioasid_iova_range
 * @out_iova_alignment: Output: the alignment every mapping's IOVA and
 *                      length must have: the largest of the smallest page
 *                      sizes of the domains backing the IOASID, and at
 *                      least the CPU page size
 *
 * Reports the IOVA ranges a mapping may use now: inside the aperture of
 * every IOMMU domain that backs the IOASID and outside every reserved
 * region (MSI windows, regions a device or platform reserves) of every
 * attached device.  Attaching a device may shrink them; attaching one
 * whose reserved regions or aperture conflict with existing mappings
 * fails.  If @num_ranges is too small, fails with EMSGSIZE and sets it
 * to the number needed.
 */
struct ioasid_iova_ranges {
	__u32 size;
	__u32 flags;
	__u32 ioasid;
	__u32 num_ranges;
	__aligned_u64 ranges;
	__aligned_u64 out_iova_alignment;
};

#define IOASID_IOVA_RANGES	_IO(IOASID_TYPE, IOASID_CMD_IOVA_RANGES)

/**
 * enum ioasid_coherency_flags - what IOASID_COHERENCY describes
 * @IOASID_COHERENCY_CONTEXT: The whole context rather than one IOASID;
 *                            @ioasid must then be 0
 */
enum ioasid_coherency_flags {
	IOASID_COHERENCY_CONTEXT = 1 << 0,
};

/**
 * enum ioasid_coherency_out_flags - coherency attributes
 * @IOASID_COHERENCY_REQUIRED: The IOASID was allocated with
 *                             IOASID_ALLOC_REQUIRE_COHERENCY
 */
enum ioasid_coherency_out_flags {
	IOASID_COHERENCY_REQUIRED = 1 << 0,
};

/**
 * struct ioasid_coherency - ioctl(IOASID_COHERENCY)
 * @size: sizeof(struct ioasid_coherency)
 * @flags: A combination of enum ioasid_coherency_flags
 * @ioasid: The IOASID to describe, or 0 with IOASID_COHERENCY_CONTEXT
 * @out_flags: Output: enum ioasid_coherency_out_flags
 * @out_domains: Output: IOMMU domains backing the IOASID (or every
 *               IOASID of the context) now, one or more per IOMMU kind
 *               among its attached devices
 * @out_noncoherent_domains: Output: how many of them let no-snoop DMA
 *                           through
 *
 * A device that issues no-snoop DMA bypasses the CPU caches, so a guest
 * driving it must be able to flush them (WBINVD), and KVM must then
 * emulate that instruction instead of ignoring it.  When
 * @out_noncoherent_domains is 0 for the context, no attached device can
 * do so, and a KVM instance following the context (KVM_DEV_VFIO_FILE_ADD
 * of the /dev/ioasid file on a kvm-vfio device) does not count it as
 * non-coherent DMA.  The answer changes with every attach, detach and
 * replace.  Errors: EINVAL for a non-zero @ioasid with
 * IOASID_COHERENCY_CONTEXT.
 */
struct ioasid_coherency {
	__u32 size;
	__u32 flags;
	__u32 ioasid;
	__u32 out_flags;
	__u32 out_domains;
	__u32 out_noncoherent_domains;
};

#define IOASID_COHERENCY	_IO(IOASID_TYPE, IOASID_CMD_COHERENCY)

/**
 * enum ioasid_device_info_flags - what a device's IOMMU offers
 * @IOASID_DEVICE_INFO_COHERENT: Its domains can block no-snoop DMA, so
 *                               the device may join an IOASID allocated
 *                               with IOASID_ALLOC_REQUIRE_COHERENCY
 */
enum ioasid_device_info_flags {
	IOASID_DEVICE_INFO_COHERENT = 1 << 0,
};

/**
 * struct ioasid_device_info - ioctl(IOASID_DEVICE_INFO)
 * @size: sizeof(struct ioasid_device_info)
 * @flags: Must be 0
 * @dev_id: A device bound to the context (the id VFIO's bind returned)
 * @out_flags: Output: enum ioasid_device_info_flags
 * @out_pgsizes: Output: the IOPTE sizes of the device's domains
 * @out_aperture_start: Output: the first IOVA its domains translate
 * @out_aperture_last: Output: the last IOVA its domains translate
 * @num_reserved: In: room in @reserved; out: how many regions there are
 * @__reserved: Must be 0
 * @reserved: Pointer to an array of &struct ioasid_iova_range, filled
 *            with the IOVA ranges the device may not use (MSI windows,
 *            regions reserved by the platform), whatever IOASID it
 *            joins
 *
 * What an IOASID will have to respect once the device is attached, asked
 * of a bound device before any attach: so that a VMM lays out its IOVAs
 * and chooses IOASID_ALLOC_REQUIRE_COHERENCY up front instead of by
 * trial.  Errors: ENOENT for no bound device of that id, EMSGSIZE when
 * @num_reserved is too small (the count is still written back).
 */
struct ioasid_device_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 out_flags;
	__aligned_u64 out_pgsizes;
	__aligned_u64 out_aperture_start;
	__aligned_u64 out_aperture_last;
	__u32 num_reserved;
	__u32 __reserved;
	__aligned_u64 reserved;
};

#define IOASID_DEVICE_INFO	_IO(IOASID_TYPE, IOASID_CMD_DEVICE_INFO)

/**
 * enum ioasid_vec_op - what IOASID_VEC does with each entry
 * @IOASID_VEC_MAP: IOASID_MAP of &struct ioasid_vec_entry.addr (a user
 *                  address, or a file offset with IOASID_MAP_FILE)
 * @IOASID_VEC_UNMAP: IOASID_UNMAP; &struct ioasid_vec_entry.addr must be 0
 * @IOASID_VEC_COPY: IOASID_COPY from the IOVA &struct ioasid_vec_entry.addr
 *                   of @src_ioasid
 */
enum ioasid_vec_op {
	IOASID_VEC_MAP,
	IOASID_VEC_UNMAP,
	IOASID_VEC_COPY,
};

/**
 * struct ioasid_vec_entry - one range of an IOASID_VEC call
 * @iova: The IOVA of the range, page aligned
 * @addr: Where the memory comes from, by &struct ioasid_vec.op
 * @length: Bytes, a non-zero multiple of the page size
 */
struct ioasid_vec_entry {
	__aligned_u64 iova;
	__aligned_u64 addr;
	__aligned_u64 length;
};

/* The most entries one IOASID_VEC call takes. */
#define IOASID_VEC_MAX	4096

/**
 * struct ioasid_vec - ioctl(IOASID_VEC)
 * @size: sizeof(struct ioasid_vec)
 * @flags: For IOASID_VEC_MAP and IOASID_VEC_COPY, the enum ioasid_map_flags
 *         of every entry, which must include IOASID_MAP_FIXED_IOVA; for
 *         IOASID_VEC_UNMAP, 0
 * @op: An enum ioasid_vec_op
 * @ioasid: The IOASID to map into or unmap from
 * @src_ioasid: For IOASID_VEC_COPY, the IOASID the memory is mapped in;
 *              otherwise must be 0
 * @fd: For IOASID_VEC_MAP with IOASID_MAP_FILE, the file; otherwise must
 *      be 0
 * @count: How many entries, 1 to IOASID_VEC_MAX
 * @out_failed: Output, written only when the call fails: the index of the
 *              entry that made it fail, or @count when no entry is to
 *              blame (a bad IOASID, file or flag)
 * @entries: User pointer to @count &struct ioasid_vec_entry
 *
 * Applies one operation to many ranges of one IOASID, for the callers
 * that come in bursts, such as an emulated IOMMU replaying its guest's
 * invalidations.  Each entry has the meaning, checks and errors of the
 * single call (IOASID_MAP, IOASID_UNMAP, IOASID_COPY), applied in order:
 * a later entry may not overlap an earlier mapping, and an unmap entry
 * finds nothing to unmap where an earlier one removed it (ENOENT).
 *
 * The call is all or nothing: when it fails, whichever entry failed,
 * nothing changed, and @out_failed names the entry.  The IOASID is locked
 * once for the whole call, and each IOMMU domain is synced once for all
 * the entries: its new IOPTEs for a map or copy, its IOTLB for an unmap.
 * The kernel-chosen IOVAs of IOASID_MAP are not offered: an emulated
 * IOMMU's guest has chosen every IOVA.
 *
 * IOASID_VEC_MAX bounds the kernel's copy of the entries (96 KiB) and the
 * time the IOASID stays locked for one call; a caller with more ranges
 * makes more calls.
 */
struct ioasid_vec {
	__u32 size;
	__u32 flags;
	__u32 op;
	__u32 ioasid;
	__u32 src_ioasid;
	__s32 fd;
	__u32 count;
	__u32 out_failed;
	__aligned_u64 entries;
};

#define IOASID_VEC		_IO(IOASID_TYPE, IOASID_CMD_VEC)

/**
 * struct ioasid_change_owner - ioctl(IOASID_CHANGE_OWNER)
 * @size: sizeof(struct ioasid_change_owner)
 * @flags: Must be 0
 * @out_pages: Output: how many pages' charge moved to the caller
 * @__reserved: Must be 0
 *
 * Live update: the caller takes over the RLIMIT_MEMLOCK charge of every
 * pinned range of the context, in all its IOASIDs, from whoever holds it,
 * in the count each IOASID chose (the caller's user, or its mm with
 * IOASID_ALLOC_ACCOUNT_MM; its mm's locked_vm for a VFIO container's
 * IOASID).  Nothing is pinned again and no IOPTE changes: devices keep
 * doing DMA throughout.  A VMM hands its successor the /dev/ioasid file
 * and its VFIO device files (over a unix socket, SCM_RIGHTS), and the
 * successor calls this before the old process exits.
 *
 * All or nothing: if the caller's RLIMIT_MEMLOCK cannot take the whole
 * charge, ENOMEM and nothing moves.  What the caller holds already stays;
 * called again, it moves nothing.  Device memory has no charge.
 *
 * What the devices see are the pinned pages, whatever became of the old
 * process's memory: memory shared with the successor (a memfd, mapped by
 * file or MAP_SHARED) keeps its meaning for both, while private memory of
 * the old process stays pinned for the devices but is no longer in any
 * process's view; the successor remaps the IOVAs it needs anew.
 *
 * Errors: EOPNOTSUPP for unknown flags, EINVAL for a reserved field,
 * ENOMEM past the caller's RLIMIT_MEMLOCK or for want of memory.
 */
struct ioasid_change_owner {
	__u32 size;
	__u32 flags;
	__aligned_u64 out_pages;
	__aligned_u64 __reserved;
};

#define IOASID_CHANGE_OWNER	_IO(IOASID_TYPE, IOASID_CMD_CHANGE_OWNER)

/**
 * enum ioasid_dirty_tracking_flags - IOASID_DIRTY_TRACKING
 * @IOASID_DIRTY_TRACKING_ENABLE: Start tracking; without it, stop
 */
enum ioasid_dirty_tracking_flags {
	IOASID_DIRTY_TRACKING_ENABLE = 1 << 0,
};

/**
 * struct ioasid_dirty_tracking - ioctl(IOASID_DIRTY_TRACKING)
 * @size: sizeof(struct ioasid_dirty_tracking)
 * @flags: A combination of enum ioasid_dirty_tracking_flags
 * @ioasid: The IOASID
 * @__reserved: Must be 0
 *
 * Starts or stops recording which pages devices write through the
 * IOASID, for live migration.  The IOMMU records it, in the IOPTEs of
 * every domain behind the IOASID, at no cost to the DMA.  Starting fails
 * with EOPNOTSUPP, changing nothing, unless every domain behind the
 * IOASID can track; while tracking is on, attaching a device whose IOMMU
 * cannot track to the IOASID fails with EOPNOTSUPP, as does any attach
 * that would need a domain that cannot.  Starting or stopping twice is
 * not an error.  Stopping forgets what was not read.
 *
 * Errors: EOPNOTSUPP for unknown flags and as above, EINVAL for a
 * reserved field, ENOENT for a bad @ioasid.
 */
struct ioasid_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 ioasid;
	__u32 __reserved;
};

#define IOASID_DIRTY_TRACKING	_IO(IOASID_TYPE, IOASID_CMD_DIRTY_TRACKING)

/**
 * enum ioasid_dirty_bitmap_flags - IOASID_DIRTY_BITMAP
 * @IOASID_DIRTY_BITMAP_NO_CLEAR: Report without clearing, so that the
 *                                next read reports the same pages again
 */
enum ioasid_dirty_bitmap_flags {
	IOASID_DIRTY_BITMAP_NO_CLEAR = 1 << 0,
};

/* The largest bitmap IOASID_DIRTY_BITMAP fills, in bits. */
#define IOASID_DIRTY_BITMAP_MAX_BITS	(1ULL << 31)

/**
 * struct ioasid_dirty_bitmap - ioctl(IOASID_DIRTY_BITMAP)
 * @size: sizeof(struct ioasid_dirty_bitmap)
 * @flags: A combination of enum ioasid_dirty_bitmap_flags
 * @ioasid: The IOASID, with dirty tracking on
 * @__reserved: Must be 0
 * @iova: Start of the range, a multiple of @page_size
 * @length: Its length, a non-zero multiple of @page_size
 * @page_size: What one bit stands for: a power of two, at least the CPU
 *             page size
 * @data: User address of the bitmap, 8-byte aligned: bit N of it (in
 *        64-bit words of the CPU's byte order) stands for the page at
 *        @iova + N * @page_size.  At most IOASID_DIRTY_BITMAP_MAX_BITS.
 *
 * Sets the bit of every page of the range that a device wrote since
 * tracking started or since the page was last read without
 * IOASID_DIRTY_BITMAP_NO_CLEAR, and clears that record.  Bits are only
 * ever set: the caller zeroes the bitmap first.  The range may cut
 * mappings and hold unmapped IOVAs, which are never dirty.
 *
 * An IOMMU records writes per IOPTE, and maps with the largest IOPTEs it
 * can: a written IOPTE larger than @page_size reports all its pages in
 * the range, and a read that clears part of such an IOPTE clears all of
 * it.  A VMM that reads its memory in several ranges reads them with
 * IOASID_DIRTY_BITMAP_NO_CLEAR and clears them all at the end, or cuts
 * its ranges at 1 GiB boundaries.
 *
 * Errors: EOPNOTSUPP for unknown flags; EINVAL for a reserved field, a
 * bad @page_size, an unaligned or empty range or an unaligned @data;
 * EOVERFLOW for a range that wraps; E2BIG for a bitmap of more bits than
 * allowed; ENOENT for a bad @ioasid; ENODATA when tracking is off; EFAULT
 * when the bitmap cannot be written; EINTR for a fatal signal.  The bitmap
 * is read in pieces of 8 Mi bits, and an error after the first piece
 * leaves the pieces before it read (and, without
 * IOASID_DIRTY_BITMAP_NO_CLEAR, cleared).
 */
struct ioasid_dirty_bitmap {
	__u32 size;
	__u32 flags;
	__u32 ioasid;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};

#define IOASID_DIRTY_BITMAP	_IO(IOASID_TYPE, IOASID_CMD_DIRTY_BITMAP)

#endif /* _UAPI_LINUX_IOASID_H */
