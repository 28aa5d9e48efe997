# The ioctl contract, the object registry, and map/unmap/copy with their
# pinning and accounting, with fault injection.
RUN="ioasid_uapi ioasid_fail_nth ioasid_map"
