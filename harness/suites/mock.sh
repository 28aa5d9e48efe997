# The IOASID core against the mock IOMMU driver: domains, page tables,
# apertures and reserved regions.
RUN="ioasid_mock"
