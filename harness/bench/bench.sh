# 'make bench' (harness/bench.sh): /dev/ioasid, iommufd and VFIO type1 on
# one edu device behind the emulated VT-d, and the pin-only floor.  3 GiB
# holds the 1 GiB cases with their huge pages reserved one case at a time.
# An ivshmem-plain device, whose BAR2 is a 256 MiB memory backend, is the
# large BAR mapped for peer-to-peer DMA.
DEVICES="-device edu -object memory-backend-ram,id=hm,size=256M
	-device ivshmem-plain,memdev=hm"
VFIO_EDU=1
MEM=3G
RUN="ioasid-bench"
SHOW=all
TIMEOUT=780
