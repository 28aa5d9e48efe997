# The ioctl contract, the object registry, and map/unmap/copy with their
# pinning and accounting, with fault injection; and the ordinary system
# calls the VM offers programs (vm_abi, harness/guest/vm_abi.c).
RUN="ioasid_uapi ioasid_fail_nth ioasid_map vm_abi"
