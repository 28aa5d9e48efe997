# A real VMM: Debian's QEMU, unmodified, run in the test VM, gives the
# edu device to a small L2 guest through VFIO, with VFIO's type1 container
# and with /dev/ioasid bind-mounted over /dev/vfio/vfio; under KVM (nested
# SVM) and TCG; DMA in the guest's RAM and blocked outside it.  A VT-d
# unit with snoop control: KVM counts no non-coherent DMA.  The p2p runs
# give the guest both edu devices with QEMU's defaults, so that QEMU maps
# their BARs for DMA, and the guest has one write into the other's BAR:
# edu reaches a 32-bit BAR address only with a 32-bit DMA mask.  The mdev
# runs give the guest a mediated device (the kernel's sample mtty, which
# has no IOMMU) beside an edu device.
DEVICES="-device edu,dma_mask=0xffffffff -device edu,dma_mask=0xffffffff"
SNOOP=on
VFIO_EDU=1
QEMU_L2=1
L2_NONCOHERENT=0
L2_VARIANTS="type1:kvm:ok type1:kvm:outside type1:tcg:ok ioasid:kvm:ok ioasid:kvm:outside ioasid:tcg:ok type1:kvm:p2p type1:tcg:p2p ioasid:kvm:p2p ioasid:tcg:p2p type1:tcg:mdev ioasid:tcg:mdev"
RUN="ioasid-qemu-l2.sh"
SHOW=all
TIMEOUT=420
