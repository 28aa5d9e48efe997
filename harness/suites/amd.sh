# End to end behind QEMU's AMD-Vi instead of VT-d: two edu devices, real
# DMA, peer to peer, the VFIO container with type1 as the reference, what
# KVM counts (AMD-Vi domains always block no-snoop DMA), and a short fuzz.
# Blocked DMA is logged as AMD-Vi's IO_PAGE_FAULT events.
IOMMU=amd
DEVICES="-device edu -device edu"
VFIO_EDU=1
RUN="ioasid_vfio ioasid_p2p ioasid_compat ioasid_kvm_vfio ioasid_fuzz,--seed,1,--ops,800"
CMDLINE="acpi=noirq"
# Debian's QEMU giving edu to an L2 guest, behind AMD-Vi too.
QEMU_L2=1
L2_NONCOHERENT=0
L2_VARIANTS="type1:kvm:ok ioasid:kvm:ok ioasid:kvm:outside ioasid:tcg:ok"
RUN="$RUN ioasid-qemu-l2.sh"
TIMEOUT=1200
