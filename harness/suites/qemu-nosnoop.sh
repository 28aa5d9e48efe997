# The KVM runs of the qemu suite on a VT-d unit without snoop control
# (snoop-control=off): the guest's DMA is not coherent, and KVM must count
# it while the VM runs, for either container; DMA outside the guest's RAM
# is blocked all the same.
DEVICES="-device edu"
SNOOP=off
VFIO_EDU=1
QEMU_L2=1
L2_NONCOHERENT=1
# ioasid:kvm:ok is left out: its guest stopped after "L2: waiting" in 2 of
# 4 make check runs (QEMU then needs SIGKILL), and in 2 of 60 runs since
# the guest, once sent its byte, ran code its mode never runs (see
# harness/l2/ioasid-qemu-l2.sh); not understood yet.  The outside run
# does the same round trip and count check first.
L2_VARIANTS="type1:kvm:ok type1:kvm:outside ioasid:kvm:outside"
RUN="ioasid-qemu-l2.sh"
TIMEOUT=300
