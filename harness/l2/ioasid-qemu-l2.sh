#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A real VMM on /dev/ioasid: Debian's QEMU, unmodified, gives the edu
# device to a small L2 guest (edu-l2.elf) through VFIO.  With the type1
# container, /dev/vfio/vfio is VFIO's own container: the control.  With
# the ioasid container, /dev/ioasid is bind-mounted over /dev/vfio/vfio,
# so the same QEMU opens /dev/ioasid as its container without knowing it.
# Each run is one KTAP result; QEMU's output follows as '# ' lines.
#
# While the L2 guest waits (it reads one byte on its COM1 before leaving),
# this reads, for QEMU's process: KVM's count of non-coherent DMA of its VM
# (debugfs), the pages pinned, and the fdinfo of its files.  After QEMU
# exits: its exit status (the guest's verdict), its KVM VM gone, every
# page unpinned, and for 'outside' the IOMMU's fault of the blocked DMA.
#
# usage: ioasid-qemu-l2.sh [CONTAINER:ACCEL:MODE...]
#   CONTAINER  type1 or ioasid
#   ACCEL      kvm (-accel kvm -cpu host: nested SVM) or tcg
#   MODE       ok (DMA round trip), outside (and a DMA outside its RAM),
#              p2p (two edu devices, QEMU's defaults: it maps their BARs
#              for DMA, and the first edu writes into the second's BAR) or
#              mdev (the round trip, with the kernel's sample mediated
#              device, mtty, assigned beside edu: a VFIO device with no
#              IOMMU, which the guest must find)
# environment:
#   L2_NONCOHERENT  what KVM must count while the guest runs under kvm:
#                   0 on a VT-d unit with snoop control, 1 without
#   L2_VARIANTS     the runs when no argument names them
#   L2_LIMIT        seconds before a QEMU that has not exited is killed
#   QEMU_DIR        QEMU as harness/qemu-stage.sh laid it out (/qemu)
# harness/vm.sh writes the suite's values into QEMU_DIR/l2.env; the
# environment and the arguments override them.

here=$(cd "$(dirname "$0")" && pwd)
QEMU_DIR=${QEMU_DIR:-/qemu}
env_noncoherent=${L2_NONCOHERENT-}
env_variants=${L2_VARIANTS-}
# shellcheck source=/dev/null
[ -f "$QEMU_DIR/l2.env" ] && . "$QEMU_DIR/l2.env"
[ -n "$env_noncoherent" ] && L2_NONCOHERENT=$env_noncoherent
[ -n "$env_variants" ] && L2_VARIANTS=$env_variants
[ $# -gt 0 ] && L2_VARIANTS="$*"
: "${L2_VARIANTS:=type1:kvm:ok type1:kvm:outside type1:tcg:ok ioasid:kvm:ok ioasid:kvm:outside ioasid:tcg:ok}"

QEMU=$QEMU_DIR/qemu-system-x86_64
PAYLOAD=${PAYLOAD:-$here/edu-l2.elf}
LIMIT=${L2_LIMIT:-90}	# seconds a QEMU run may take (about 4 s)
PASS_STATUS=33		# isa-debug-exit, the guest's pass value: (0x10 << 1) | 1
MIN_PINNED=15360	# pages: 60 of the guest's 64 MiB
work=/tmp/ioasid-qemu-l2
cr=$(printf '\r')

# A QEMU that dies leaves its stdin without a reader: report that, do
# not die of SIGPIPE with it.
trap '' PIPE

note() { echo "# $*"; }
fail() { echo "# FAIL: $name: $*"; bad=1; }

pinned() {
	awk '/^nr_foll_pin_acquired / { a = $2 } /^nr_foll_pin_released / { r = $2 }
	     END { print a - r }' /proc/vmstat
}
# What the IOMMU driver logs for a DMA it blocked; nothing, for QEMU 7.2's
# AMD-Vi, which records no event for it.
fault_log=
if [ -e /sys/class/iommu/ivhd0 ]; then
	:
elif ls /sys/bus/virtio/drivers/virtio_iommu/virtio* > /dev/null 2>&1; then
	fault_log='fault from EP'
else
	fault_log='DMAR: \[DMA '
fi
dmar_faults() { [ -z "$fault_log" ] && echo 0 || dmesg | grep -c "$fault_log"; }
now() { cut -d ' ' -f 1 /proc/uptime; }
kvm_vms() { ls -d /sys/kernel/debug/kvm/"$1"-* 2> /dev/null; }
devno() { stat -L -c '%t:%T' "$1" 2> /dev/null; }

# Where each thread of a QEMU that hangs is: its state, its system call
# (number and arguments) and its kernel stack.
threads() {
	for t in /proc/"$1"/task/*; do
		note "QEMU thread $(basename "$t") ($(cat "$t/comm")):" \
		     "state $(cut -d ' ' -f 3 "$t/stat"), syscall $(cat "$t/syscall")"
		sed 's/^/#     /' "$t/stack"
	done
	# Whether the guest still runs: its exits, counted twice, 2 s apart.
	for i in 1 2; do
		note "KVM exits, halt exits of QEMU's VM: $(cat /sys/kernel/debug/kvm/"$1"-*/exits \
			/sys/kernel/debug/kvm/"$1"-*/halt_exits 2> /dev/null | tr '\n' ' ')"
		[ $i = 2 ] || sleep 2
	done
}

# Where the guest is, asked of QEMU's monitor (a pipe chardev): its
# registers, the code at its instruction pointer and the top of its stack.
guest_state() {
	for cmd in "info registers" "x/8i \$pc" "x/32wx \$esp"; do
		printf '%s\n' "$cmd" > "$work/mon.in"
		sleep 1
		# Less the banner, prompts and the line editor's echo.
		timeout 2 cat "$work/mon.out" 2> /dev/null | tr -d '\r' | tr '\033' '~' |
			grep -v '~\[\|^(qemu)\|^QEMU .* monitor' | sed 's/^/#     /'
	done
}

# The mediated device of mode mdev, created for the run and removed after.
MTTY_TYPE=/sys/class/mtty/mtty/mdev_supported_types/mtty-1
MTTY_UUID=83b8f4f2-509f-382f-3c1e-e6bfe0fa1002
mtty=/sys/bus/mdev/devices/$MTTY_UUID

# What every run needs; an empty $setup means ready.
setup=
missing() { setup="$setup${setup:+; }$*"; }
bdf= peer=
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
		if [ -z "$bdf" ]; then
			bdf=$(basename "$d")
		elif [ -z "$peer" ]; then
			peer=$(basename "$d")
		fi
	fi
done
if [ -z "$bdf" ]; then
	missing "no edu device (PCI 1234:11e8)"
else
	group=$(basename "$(readlink "/sys/bus/pci/devices/$bdf/iommu_group")")
	driver=$(basename "$(readlink "/sys/bus/pci/devices/$bdf/driver")")
	[ "$driver" = vfio-pci ] || missing "edu $bdf is bound to '$driver', not vfio-pci"
	[ -c "/dev/vfio/$group" ] || missing "no /dev/vfio/$group for edu's IOMMU group"
fi
[ -c /dev/vfio/vfio ] || missing "no /dev/vfio/vfio"
[ -x "$QEMU" ] || missing "no QEMU at $QEMU (harness/qemu-stage.sh)"
[ -f "$PAYLOAD" ] || missing "no payload at $PAYLOAD"
grep -q '^nr_foll_pin_acquired ' /proc/vmstat &&
	grep -q '^nr_foll_pin_released ' /proc/vmstat ||
	missing "no nr_foll_pin_acquired/released in /proc/vmstat"
vfio_devno=$(devno /dev/vfio/vfio)

set -- $L2_VARIANTS
echo "TAP version 13"
echo "1..$#"
if [ -z "$setup" ]; then
	note "edu $bdf, IOMMU group $group (/dev/vfio/$group), driver $driver"
	note "QEMU: $("$QEMU" --version 2>&1 | head -n 1)"
	note "KVM must count $L2_NONCOHERENT non-coherent DMA user(s) while the guest runs under kvm"
else
	note "cannot run QEMU: $setup"
fi

# One run: QEMU with CONTAINER, ACCEL and the guest's MODE.
run() {
	container=$1 accel=$2 mode=$3
	name=$container-$accel-$mode
	bad=0 reached=0 rc=none
	note "=== $name: QEMU, $container container, -accel $accel, guest mode $mode"
	[ -z "$setup" ] || { fail "$setup"; return; }
	case $container in
	type1) ;;
	ioasid)
		[ -c /dev/ioasid ] || { fail "no /dev/ioasid"; return; }
		mount --bind /dev/ioasid /dev/vfio/vfio ||
			{ fail "cannot bind-mount /dev/ioasid over /dev/vfio/vfio"; return; }
		;;
	*) fail "no container '$container' (type1, ioasid)"; return ;;
	esac
	case $accel in
	kvm) accel_args="-accel kvm -cpu host"
	     [ -c /dev/kvm ] || fail "no /dev/kvm"
	     case $L2_NONCOHERENT in
	     0|1) ;;
	     *) fail "L2_NONCOHERENT is '$L2_NONCOHERENT', not 0 or 1" ;;
	     esac ;;
	tcg) accel_args="-accel tcg" ;;
	*) accel_args="-accel $accel"; fail "no accelerator '$accel' (kvm, tcg)" ;;
	esac
	# The devices, as QEMU takes them.  x-no-mmap=on keeps QEMU from
	# mapping a BAR for DMA, which only p2p needs.
	case $mode in
	ok|outside) devices="-device vfio-pci,host=$bdf,x-no-mmap=on" ;;
	p2p) devices="-device vfio-pci,host=$bdf -device vfio-pci,host=$peer"
	     [ -n "$peer" ] || fail "p2p needs a second edu device" ;;
	mdev) devices="-device vfio-pci,host=$bdf,x-no-mmap=on -device vfio-pci,sysfsdev=$mtty"
	      { [ -d "$MTTY_TYPE" ] && echo "$MTTY_UUID" > "$MTTY_TYPE/create"; } ||
		fail "cannot create an mtty mediated device" ;;
	*) fail "no guest mode '$mode' (ok, outside, p2p, mdev)" ;;
	esac
	# Which file /dev/vfio/vfio is now: VFIO's own, or /dev/ioasid.
	if [ "$container" = ioasid ]; then
		[ "$(devno /dev/vfio/vfio)" = "$(devno /dev/ioasid)" ] ||
			fail "/dev/vfio/vfio is not /dev/ioasid after the bind mount"
	elif [ "$(devno /dev/vfio/vfio)" != "$vfio_devno" ]; then
		fail "/dev/vfio/vfio is not VFIO's container device"
	fi

	rm -rf "$work"
	mkdir -p "$work"
	mkfifo "$work/in" "$work/out" "$work/mon.in" "$work/mon.out"
	pins_before=$(pinned)
	faults_before=$(dmar_faults)
	qemu_args="-M pc -m 64 -nodefaults -display none -no-reboot -serial stdio
		$devices
		-device isa-debug-exit,iobase=0xf4,iosize=4
		-chardev pipe,id=mon,path=$work/mon -mon chardev=mon
		-kernel $PAYLOAD -append $mode $accel_args"
	note "\$ qemu-system-x86_64 $(echo $qemu_args)"
	t0=$(now)
	# shellcheck disable=SC2086
	"$QEMU" $qemu_args < "$work/in" > "$work/out" 2>&1 &
	qpid=$!
	(
		i=0
		while [ $i -lt $LIMIT ] && kill -0 $qpid 2> /dev/null; do
			sleep 1
			i=$((i + 1))
		done
		if kill -0 $qpid 2> /dev/null; then
			threads $qpid
			guest_state
		fi
		kill -9 $qpid 2> /dev/null && echo "# FAIL: $name: QEMU killed after $LIMIT s"
	) &
	# QEMU opens its stdin, then its stdout: open the other ends in turn.
	exec 3> "$work/in" 4< "$work/out"
	while IFS= read -r line <&4 || [ -n "$line" ]; do
		line=${line%"$cr"}
		echo "# $line"
		# QEMU goes on after a failed DMA map: the guest's DMA is lost.
		case $line in
		*vfio_dma_map*|*"VFIO_MAP_DMA failed"*)
			fail "QEMU could not map memory for DMA" ;;
		esac
		case $line in
		"L2: waiting"*)
			reached=1
			inspect
			if ! printf x >&3 2> /dev/null; then
				fail "the byte for the guest found QEMU's stdin closed"
				kill -0 $qpid 2> /dev/null && threads $qpid
			fi
			;;
		esac
		line=
	done
	exec 3>&- 4<&-
	wait $qpid
	rc=$?
	t1=$(now)
	after
	note "$name: QEMU ran $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
}

# While the guest waits: QEMU's VM, its pins and its files, live.
inspect() {
	n=$(($(pinned) - pins_before))
	note "pinned while the guest runs: $n pages more than before QEMU"
	[ "$n" -ge $MIN_PINNED ] || fail "QEMU has $n pages pinned, not its guest's RAM"

	vms=$(kvm_vms $qpid)
	if [ "$accel" = kvm ]; then
		if [ "$(echo "$vms" | wc -w)" != 1 ]; then
			fail "QEMU (pid $qpid) has no one KVM VM in debugfs: '$vms'"
		elif [ ! -f "$vms/noncoherent_dma_count" ]; then
			fail "no noncoherent_dma_count in $vms; its stats: $(ls "$vms" | tr '\n' ' ')"
		else
			count=$(cat "$vms/noncoherent_dma_count")
			note "KVM VM $(basename "$vms"): noncoherent_dma_count $count (expected $L2_NONCOHERENT)"
			[ "$count" = "$L2_NONCOHERENT" ] ||
				fail "noncoherent_dma_count is $count, expected $L2_NONCOHERENT"
		fi
	else
		note "tcg: QEMU made no KVM VM, so there is no count of non-coherent DMA to read"
		[ -z "$vms" ] || fail "a KVM VM under tcg: $vms"
	fi

	for f in /proc/$qpid/fd/*; do
		l=$(readlink "$f" 2> /dev/null)
		case $l in
		*vfio*|*ioasid*|*kvm*) note "QEMU fd $(basename "$f"): $l" ;;
		esac
	done
	hits=$(grep -l '^ioasid-vfio-container:' /proc/$qpid/fdinfo/* 2> /dev/null)
	for h in $hits; do
		note "QEMU fd $(basename "$h") fdinfo: $(grep '^ioasid-vfio-' "$h" | tr '\t\n' '  ')"
	done
	if [ "$container" = type1 ]; then
		[ -z "$hits" ] || fail "a type1 run has an fd with ioasid-vfio-container:"
		return
	fi
	if [ "$(echo "$hits" | wc -w)" != 1 ]; then
		fail "not one fd of QEMU has ioasid-vfio-container: in its fdinfo ($(echo $hits))"
		return
	fi
	grep -q "^ioasid-vfio-container:$(printf '\t')type1v2\$" "$hits" ||
		fail "the ioasid container is not type1v2"
	groups=1
	[ "$mode" = p2p ] && [ "$(basename "$(readlink "/sys/bus/pci/devices/$peer/iommu_group")")" != "$group" ] &&
		groups=2
	# The mediated device has a group of its own.
	[ "$mode" = mdev ] && groups=2
	grep -q "^ioasid-vfio-groups:$(printf '\t')$groups\$" "$hits" ||
		fail "the ioasid container does not hold $groups group(s)"
	if [ "$mode" = p2p ]; then
		note "QEMU's ioasid fdinfo: $(grep '^ioasid-dmem-' "$hits" | tr '\t\n' '  ')"
		grep -q "^ioasid-dmem-mappings:$(printf '\t')0\$" "$hits" &&
			fail "QEMU mapped no BAR for peer-to-peer DMA"
		grep -q "^ioasid-dmem-revoked:$(printf '\t')0\$" "$hits" ||
			fail "a BAR mapping is revoked while the guest runs"
	fi
}

# After QEMU exited: its verdict, and nothing of it left behind.
after() {
	[ "$reached" = 1 ] || fail "the guest never reached 'L2: waiting'"
	[ "$rc" = $PASS_STATUS ] ||
		fail "QEMU exited with $rc, not $PASS_STATUS (the guest's pass value)"
	i=0
	while [ -n "$(kvm_vms $qpid)" ] && [ $i -lt 20 ]; do
		usleep 250000
		i=$((i + 1))
	done
	[ -z "$(kvm_vms $qpid)" ] || fail "QEMU's KVM VM is still in debugfs"
	i=0
	while [ "$(pinned)" != "$pins_before" ] && [ $i -lt 20 ]; do
		usleep 250000
		i=$((i + 1))
	done
	n=$(($(pinned) - pins_before))
	note "pinned after QEMU exited: $n pages more than before"
	[ "$n" = 0 ] || fail "$n pages still pinned"
	i=0
	while [ "$mode" = outside ] && [ -n "$fault_log" ] &&
		[ "$(dmar_faults)" = "$faults_before" ] && [ $i -lt 20 ]; do
		usleep 250000
		i=$((i + 1))
	done
	n=$(($(dmar_faults) - faults_before))
	[ "$n" -gt 0 ] && dmesg | grep "$fault_log" | tail -n "$n" | sed 's/^/# dmesg: /'
	if [ -z "$fault_log" ]; then
		note "this IOMMU logs no faults: the guest's verdict is all there is"
	elif [ "$mode" = outside ]; then
		[ "$n" -gt 0 ] || fail "no IOMMU fault for the DMA outside the guest's RAM"
	else
		[ "$n" = 0 ] || fail "$n IOMMU fault(s) in a run that only does good DMA"
	fi
	if [ -d "$mtty" ]; then
		echo 1 > "$mtty/remove" || fail "cannot remove the mtty device"
	fi
	if [ "$container" = ioasid ]; then
		umount /dev/vfio/vfio || fail "cannot unmount /dev/vfio/vfio"
		[ "$(devno /dev/vfio/vfio)" = "$vfio_devno" ] ||
			fail "/dev/vfio/vfio is not VFIO's again after umount"
	fi
}

num=0 failed=0
for v in $L2_VARIANTS; do
	num=$((num + 1))
	# shellcheck disable=SC2046
	run $(echo "$v" | tr ':' ' ')
	# Once in about twenty KVM runs a guest stopped after "L2: waiting"
	# (the ioasid container, snoop control off): neither the byte nor its
	# own 60 s timeout ended it, and SIGKILL ended QEMU at once, so nothing
	# was stuck in the kernel.  Seen since, twice in 60 such runs: after
	# the byte, the guest ran code its mode never runs and printed a
	# failure, so its control flow had gone astray.  One more try, shown
	# in the log; a second hang fails the run.
	if [ "$bad" = 1 ] && [ "$rc" = 137 ]; then
		note "$name: QEMU was killed after $LIMIT s; trying once more"
		# shellcheck disable=SC2046
		run $(echo "$v" | tr ':' ' ')
	fi
	if [ "$bad" = 0 ]; then
		echo "ok $num $name"
	else
		echo "not ok $num $name"
		failed=$((failed + 1))
	fi
done
note "Totals: pass:$((num - failed)) fail:$failed"
rm -rf "$work"
[ $failed = 0 ]
