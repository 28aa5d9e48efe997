# A real VMM: Debian's QEMU, unmodified, run in the test VM, gives the
# edu device to a small L2 guest through VFIO, with VFIO's type1 container
# and with /dev/ioasid bind-mounted over /dev/vfio/vfio; under KVM (nested
# SVM) and TCG; DMA in the guest's RAM and blocked outside it.  A VT-d
# unit with snoop control: KVM counts no non-coherent DMA.
DEVICES="-device edu"
SNOOP=on
VFIO_EDU=1
QEMU_L2=1
L2_NONCOHERENT=0
L2_VARIANTS="type1:kvm:ok type1:kvm:outside type1:tcg:ok ioasid:kvm:ok ioasid:kvm:outside ioasid:tcg:ok"
RUN="ioasid-qemu-l2.sh"
SHOW=all
TIMEOUT=300
