#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel in QEMU with an emulated VT-d and run one suite in it.
#
# usage: harness/vm.sh OUT_DIR FLAVOUR SUITE
#        harness/vm.sh OUT_DIR FLAVOUR shell
#        EXTRA=DIR CMD='prog args' harness/vm.sh OUT_DIR FLAVOUR custom
#        RUN='prog prog,arg...' harness/vm.sh OUT_DIR FLAVOUR custom
#
# shell and custom take DEVICES, IOMMU, SNOOP, MEM, CMDLINE and VFIO_EDU
# (see the VM shape below) from the environment when they are set.
#
# A suite is harness/suites/SUITE.sh: the VM shape (devices, IOMMU,
# snoop-control, memory, kernel command line) and the programs to run.  The bench kernel
# runs the suites of harness/bench/ instead, with the programs that
# harness/bench.sh built for it rather than the selftests.  The run fails on
# a failed test, a program that exits non-zero, any kernel splat on the
# console, a kmemleak report, a QEMU error, or the timeout.  Logs are kept
# in OUT_DIR/logs/SUITE.console.log and OUT_DIR/logs/SUITE.ktap.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "$1" && pwd)
flavour=$2
suite=$3
obj=$out/build-$flavour
kernel=$obj/arch/x86/boot/bzImage
logs=$out/logs
console=$logs/$suite.console.log
ktap=$logs/$suite.ktap
stage=$out/vm/$suite
suites=$repo/harness/suites
progs=$out/progs
if [ "$flavour" = bench ]; then
	suites=$repo/harness/bench
	progs=$out/bench/progs
fi

# What 'make vm' and 'make shell' were given (empty: the default below).
given_devices=${DEVICES:-} given_iommu=${IOMMU:-} given_snoop=${SNOOP:-}
given_mem=${MEM:-}
given_cmdline=${CMDLINE:-} given_vfio_edu=${VFIO_EDU:-}
given_qemu_l2=${QEMU_L2:-} given_run=${RUN:-}

# The VM shape; a suite file overrides what it needs.
DEVICES="-device edu"
# The IOMMU in front of DEVICES: vtd (Intel VT-d), amd (AMD-Vi), virtio
# (virtio-iommu) or none.  SNOOP is VT-d's snoop-control.
IOMMU=vtd
SNOOP=on
MEM=2G
SMP=2
CMDLINE=""
VFIO_EDU=0
RUN=""
TIMEOUT=900
# QEMU_L2=1: this machine's QEMU goes to /qemu in the VM (harness/qemu-stage.sh),
# for harness/l2/ioasid-qemu-l2.sh, with what its runs must see.
QEMU_L2=0
L2_NONCOHERENT=""
L2_VARIANTS=""
MODE=run
SHOW=results

case $suite in
shell) MODE=shell; VFIO_EDU=1 ;;
custom)
	# RUN is a list of programs, each counted as a suite counts it; a
	# command, arguments and all, goes in a script of its own.
	if [ -n "${CMD:-}" ]; then
		RUN=custom-cmd
	elif [ -n "$given_run" ]; then
		RUN=$given_run
	else
		echo "vm: custom needs CMD='...' or RUN='prog...'" >&2; exit 2
	fi
	VFIO_EDU=1 ;;
*)	# shellcheck source=/dev/null
	. "$suites/$suite.sh" ;;
esac
# A suite keeps its own shape; a shell or a custom run takes the caller's.
if [ "$suite" = shell ] || [ "$suite" = custom ]; then
	DEVICES=${given_devices:-$DEVICES} IOMMU=${given_iommu:-$IOMMU}
	SNOOP=${given_snoop:-$SNOOP}
	MEM=${given_mem:-$MEM} CMDLINE=${given_cmdline:-$CMDLINE}
	VFIO_EDU=${given_vfio_edu:-$VFIO_EDU}
	QEMU_L2=${given_qemu_l2:-$QEMU_L2}
fi
case $SNOOP in on|off) ;; *) echo "vm: SNOOP is on or off, not '$SNOOP'" >&2; exit 2 ;; esac
case $IOMMU in vtd|amd|virtio|none) ;; *)
	echo "vm: IOMMU is vtd, amd, virtio or none, not '$IOMMU'" >&2; exit 2 ;;
esac
case $VFIO_EDU in 0|1) ;; *) echo "vm: VFIO_EDU is 0 or 1, not '$VFIO_EDU'" >&2; exit 2 ;; esac

[ -f "$kernel" ] || { echo "vm: no kernel at $kernel (make kernel)" >&2; exit 2; }
mkdir -p "$logs"

# A small initramfs: static busybox, the selftests, the sample programs,
# the caller's EXTRA folder and the suite's settings.
pack() {
	rm -rf "$stage"
	mkdir -p "$stage/root"/{bin,dev,proc,sys,tmp,tests,extra}
	cp /bin/busybox "$stage/root/bin/busybox"
	cp "$repo/harness/guest/init" "$stage/root/init"
	cp "$progs"/* "$stage/root/tests/"
	if [ -n "${EXTRA:-}" ]; then
		cp -r "$EXTRA"/. "$stage/root/extra/"
	fi
	if [ "$RUN" = custom-cmd ]; then
		printf '#!/bin/sh\n%s\n' "$CMD" > "$stage/root/tests/custom-cmd"
		chmod +x "$stage/root/tests/custom-cmd"
	fi
	{
		printf 'MODE=%q\nVFIO_EDU=%q\nIOMMU=%q\n' "$MODE" "$VFIO_EDU" "$IOMMU"
		printf 'RUN=%q\n' "$RUN"
	} > "$stage/root/suite.sh"
	if [ "$QEMU_L2" = 1 ]; then
		"$repo/harness/qemu-stage.sh" "$stage/root/qemu"
		printf 'L2_NONCOHERENT=%q\nL2_VARIANTS=%q\n' "$L2_NONCOHERENT" "$L2_VARIANTS" \
			> "$stage/root/qemu/l2.env"
	fi
	(cd "$stage/root" && find . | cpio -o -H newc --quiet | gzip -1) \
		> "$stage/initrd.gz"
}

splats='WARNING:|BUG:|KASAN|UBSAN|Oops|Kernel panic|general protection fault|'
splats+='possible recursive locking|circular locking dependency|'
splats+='inconsistent lock state|lock held when returning|suspicious RCU usage|'
splats+='DEBUG_LOCKS_WARN|list_add corruption|list_del corruption|'
splats+='kernel BUG|unreferenced object|blocked for more than|soft lockup|'
splats+='Call Trace:'

# The IOMMU device, which must come before the devices it translates, and
# what the kernel needs to be told of it.
iommu_args() {
	case $IOMMU in
	vtd)	iommu_dev=(-device "intel-iommu,intremap=on,snoop-control=$SNOOP")
		iommu_append="intel_iommu=on" ;;
	amd)	iommu_dev=(-device amd-iommu,intremap=on)
		iommu_append="" ;;
	virtio)	iommu_dev=(-device virtio-iommu-pci)
		iommu_append="" ;;
	none)	iommu_dev=()
		iommu_append="" ;;
	esac
}

qemu_cmd() {
	# oops=panic: a kernel that oopsed holds what it held for good, and
	# would only hang until the timeout; panic=-1 then ends the run.
	local append="console=ttyS0 iommu=nopt panic=-1 oops=panic"
	iommu_args
	append+=" $iommu_append"
	# no5lvl: -cpu max offers 5-level paging, and then KASAN decides
	# whether an address has shadow memory from the LA57 feature bit,
	# which identify_cpu() clears and sets again during boot.  An
	# interrupt in between gets a false "wild-memory-access" report
	# (seen once in about forty boots, before any module is loaded).
	append+=" no5lvl kmemleak=on $CMDLINE"
	# -nic none: no default NIC; a NIC is one of the DEVICES, if any.
	qemu=(qemu-system-x86_64 -M q35,kernel-irqchip=split -cpu max
	      -m "$MEM" -smp "$SMP" -no-reboot -nic none
	      -kernel "$kernel" -initrd "$stage/initrd.gz" -append "$append"
	      "${iommu_dev[@]}" $DEVICES)
}

# What to echo while the suite runs: the result lines, or all of it.
show() {
	if [ "$SHOW" = all ]; then
		sed -u -n '/^### \(kmemleak\|dmesg\)/q; /^### /!p'
		cat > /dev/null
	else
		grep --line-buffered -E '^(ok|not ok) |^# (FAIL|SKIP)|^### (exit|bind)' |
			sed -u "s/^/vm: $suite: /"
	fi
}

pack
qemu_cmd

if [ "$MODE" = shell ]; then
	exec "${qemu[@]}" -nographic
fi

echo "vm: $suite: booting ($flavour kernel, IOMMU $IOMMU, snoop-control=$SNOOP, $MEM)"
# Results stream on the second serial port and are shown as they come.
set +e
timeout -k 10 "$TIMEOUT" "${qemu[@]}" -display none -monitor none \
	-serial "file:$console" -serial stdio < /dev/null 2> "$logs/$suite.qemu.log" |
	tr -d '\r' | tee "$ktap" | show
rc=${PIPESTATUS[0]}
set -e

fail=0
report() { echo "vm: $suite: FAIL: $*"; fail=1; }

if [ "$rc" = 124 ]; then
	report "timeout after $TIMEOUT s"
elif [ "$rc" != 0 ]; then
	report "QEMU exited with $rc: $(tail -n 3 "$logs/$suite.qemu.log")"
fi
if grep -q . "$logs/$suite.qemu.log"; then
	grep -q -E 'hardware error|Aborted|core dumped' "$logs/$suite.qemu.log" &&
		report "QEMU: $(grep -m1 -E 'hardware error|Aborted|core dumped' "$logs/$suite.qemu.log")"
fi
grep -q '^### done' "$ktap" || report "the guest did not finish the suite"
# The console and the kernel log the guest dumps at the end: the console
# still has what a crash cut short, the log has every level.
if cat "$console" "$ktap" | grep -E "$splats" > "$logs/$suite.splats"; then
	report "kernel splat on the console: $(head -n 1 "$logs/$suite.splats")"
fi
if grep -q 'unreferenced object' "$ktap"; then
	report "kmemleak: $(grep -c 'unreferenced object' "$ktap") leaked object(s)"
fi
while read -r _ _ code prog; do
	[ "$code" = 0 ] || report "'$prog' exited with $code"
done < <(grep '^### exit ' "$ktap")

# A kselftest program counts its tests; any other program counts once, by
# its exit status.
read -r passed failed skipped < <(awk '
	/^### run / { n = 0 }
	/^ok / { if (/# SKIP/) s++; else p++; n++ }
	/^not ok / { f++; n++ }
	/^### exit / { if (!n) { if ($3 == 0) p++; else f++ } }
	END { print p + 0, f + 0, s + 0 }' "$ktap")
echo "vm: $suite: $passed passed, $failed failed, $skipped skipped; console: $console; ktap: $ktap"
# One line for make check to add up: a suite-level failure counts once.
[ "$failed" -gt 0 ] || [ $fail = 0 ] || failed=1
echo "RESULT $suite $passed $failed $skipped" >> "$logs/results"
[ $fail = 0 ] && [ "$failed" = 0 ]
