# End to end again, on a VT-d unit that cannot block no-snoop DMA
# (snoop-control=off): domains are not coherent, KVM must count them,
# and DMA works all the same.
DEVICES="-device edu"
SNOOP=off
VFIO_EDU=1
RUN="ioasid_vfio"
