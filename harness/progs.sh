#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the selftests and tools/ioasid statically against the uAPI headers
# of the patched tree, into OUT_DIR/progs for the VM's initramfs.  The
# selftests are built through their own kselftest Makefile, as
# 'make -C tools/testing/selftests TARGETS=ioasid' would.
#
# usage: harness/progs.sh OUT_DIR FLAVOUR
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "$1" && pwd)
tree=$out/linux
hdrs=$out/build-$2/usr/include
progs=$out/progs

mkdir -p "$progs" "$out/selftests" "$out/tools"
make -s -C "$tree/tools/testing/selftests/ioasid" OUTPUT="$out/selftests" \
	KHDR_INCLUDES="-isystem $hdrs" LDFLAGS=-static
make -s -C "$tree/tools/ioasid" OUTPUT="$out/tools/" \
	CFLAGS="-O2 -Wall -isystem $hdrs" LDFLAGS=-static
# The guest and the script of the qemu suites, and the check of the VM's
# user-space ABI: test material of the harness, not kernel files.
make -s -C "$repo/harness/l2" OUTPUT="$out/tools/"
gcc -static -O2 -Wall -isystem "$hdrs" -I "$tree/tools/testing/selftests" \
	-o "$out/tools/vm_abi" "$repo/harness/guest/vm_abi.c" -lpthread
rm -f "$progs"/*
find "$out/selftests" "$out/tools" -maxdepth 1 -type f -perm -u+x \
	-exec cp {} "$progs/" \;
echo "progs: $(ls "$progs" | tr '\n' ' ')"
