# The KVM runs of the qemu suite on a VT-d unit without snoop control
# (snoop-control=off): the guest's DMA is not coherent, and KVM must count
# it while the VM runs, for either container; DMA outside the guest's RAM
# is blocked all the same.
DEVICES="-device edu"
SNOOP=off
VFIO_EDU=1
QEMU_L2=1
L2_NONCOHERENT=1
# A KVM guest's control flow is lost about once in thirty runs, with
# either container: after its DMA passed, L1 KVM reported an emulation
# failure at an EIP inside the payload's strings (0x65207265, "er e"),
# seen with type1 behind AMD-Vi and virtio-iommu as with /dev/ioasid
# here.  harness/l2/ioasid-qemu-l2.sh tries a killed run once more.
L2_VARIANTS="type1:kvm:ok ioasid:kvm:ok type1:kvm:outside ioasid:kvm:outside"
RUN="ioasid-qemu-l2.sh"
TIMEOUT=300
