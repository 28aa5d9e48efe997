# Two edu devices behind a conventional PCI bridge: one IOMMU group, so
# one context and, once attached, one IOASID for both.
DEVICES="-device pci-bridge,id=b1,chassis_nr=1 -device edu,bus=b1,addr=1 -device edu,bus=b1,addr=2"
VFIO_EDU=1
RUN="ioasid_vfio"
