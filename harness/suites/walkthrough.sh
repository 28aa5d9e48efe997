# The sample VMM flow of tools/ioasid/ioasid-walkthrough.c ('make run'),
# with an edu device bound to vfio-pci for its DMA part.
DEVICES="-device edu"
VFIO_EDU=1
RUN="ioasid-walkthrough"
SHOW=all
