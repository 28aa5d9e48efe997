# The IOASID core against the mock IOMMU driver: domains, page tables,
# apertures and reserved regions; cache coherency and what KVM is told.
RUN="ioasid_mock ioasid_coherency"
