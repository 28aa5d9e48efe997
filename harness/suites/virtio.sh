# End to end behind virtio-iommu, as VFIO is used inside a guest.  x86 has
# no interrupt remapping behind it, so MSIs are not isolated: binding needs
# the administrator's opt-in, ioasid.allow_unsafe_interrupts=1 (and
# vfio_iommu_type1's and iommufd's own, for the peers the tests compare).  Its domains cannot
# block no-snoop DMA, so KVM counts them; blocked DMA is logged as
# "fault from EP".
IOMMU=virtio
DEVICES="-device edu -device edu"
VFIO_EDU=1
CMDLINE="acpi=noirq ioasid.allow_unsafe_interrupts=1 vfio_iommu_type1.allow_unsafe_interrupts=1 iommufd.allow_unsafe_interrupts=1"
RUN="ioasid_vfio ioasid_p2p ioasid_compat ioasid_kvm_vfio ioasid_fuzz,--seed,2,--ops,800"
# Debian's QEMU giving edu to an L2 guest, behind virtio-iommu too: its
# domain lets no-snoop DMA through, so KVM counts one user of it.
QEMU_L2=1
L2_NONCOHERENT=1
L2_VARIANTS="type1:kvm:ok ioasid:kvm:ok ioasid:kvm:outside ioasid:tcg:ok"
RUN="$RUN ioasid-qemu-l2.sh"
TIMEOUT=1200
