# End to end: two edu devices bound to vfio-pci behind the emulated VT-d,
# doing real DMA through IOASID mappings.
DEVICES="-device edu -device edu"
VFIO_EDU=1
RUN="ioasid_vfio ioasid_mdev ioasid_p2p ioasid_compat ioasid_kvm_vfio ioasid_lifecycle ioasid_liveupdate ioasid_fuzz"
# Fault injection sweeps the first open of the edu device, and with it
# pci_enable_device(), whose ACPI _PRT evaluation does not survive a
# failed allocation (ACPICA refcount errors, then use-after-free): route
# INTx without ACPI, which nothing here uses anyway.
CMDLINE="acpi=noirq"
