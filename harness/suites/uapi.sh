# The ioctl contract and the object registry, with fault injection.
RUN="ioasid_uapi ioasid_fail_nth"
