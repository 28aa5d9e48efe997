# No IOMMU at all: VFIO's unsafe noiommu mode gives the edu device a group
# that nothing translates, and /dev/ioasid must refuse it.
IOMMU=none
DEVICES="-device edu"
VFIO_EDU=1
CMDLINE="vfio.enable_unsafe_noiommu_mode=1"
RUN="ioasid_noiommu"
