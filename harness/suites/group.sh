# Two edu devices behind a conventional PCI bridge: one IOMMU group, so
# one context and, once attached, one IOASID for both.
DEVICES="-device pci-bridge,id=b1,chassis_nr=1 -device edu,bus=b1,addr=1 -device edu,bus=b1,addr=2"
VFIO_EDU=1
RUN="ioasid_vfio ioasid_p2p ioasid_compat ioasid_kvm_vfio ioasid_hot_reset"
# Fault injection sweeps the first open of the edu device, and with it
# pci_enable_device(), whose ACPI _PRT evaluation does not survive a
# failed allocation (ACPICA refcount errors, then use-after-free): route
# INTx without ACPI, which nothing here uses anyway.
CMDLINE="acpi=noirq"
