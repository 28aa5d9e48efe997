# End to end again, on a VT-d unit that cannot block no-snoop DMA
# (snoop-control=off): domains are not coherent, KVM must count them,
# and DMA works all the same.
DEVICES="-device edu"
SNOOP=off
VFIO_EDU=1
RUN="ioasid_vfio ioasid_compat ioasid_kvm_vfio ioasid_fuzz"
# Fault injection sweeps the first open of the edu device, and with it
# pci_enable_device(), whose ACPI _PRT evaluation does not survive a
# failed allocation (ACPICA refcount errors, then use-after-free): route
# INTx without ACPI, which nothing here uses anyway.
CMDLINE="acpi=noirq"
