# The IOASID core against the mock IOMMU driver: domains, page tables,
# apertures and reserved regions; cache coherency and what KVM is told;
# file mappings and vectored calls, IOPTE by IOPTE.
RUN="ioasid_mock ioasid_coherency ioasid_file ioasid_vec ioasid_races ioasid_dirty ioasid_access"
