# End to end: two edu devices bound to vfio-pci behind the emulated VT-d,
# doing real DMA through IOASID mappings.
DEVICES="-device edu -device edu"
VFIO_EDU=1
RUN="ioasid_vfio"
