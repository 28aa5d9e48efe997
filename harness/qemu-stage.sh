#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Copy this machine's QEMU (Debian's qemu-system-x86_64, unmodified) into
# DIR so that it runs in the test VM, which has no libraries of its own:
#
#   DIR/bin/qemu-system-x86_64   the binary
#   DIR/lib/                     every library ldd lists, and the loader
#   DIR/firmware/                the ROMs a pc machine loads (-L)
#   DIR/modules/                 the TCG accelerator (QEMU_MODULE_DIR)
#   DIR/qemu-system-x86_64       a launcher: runs the binary through the
#                                loader with the above; arguments as QEMU's
#
# usage: harness/qemu-stage.sh DIR
set -euo pipefail

dir=$1
die() { echo "qemu-stage: $*" >&2; exit 1; }

qemu=$(command -v qemu-system-x86_64) || die "no qemu-system-x86_64 (apt-get install qemu-system-x86)"
qemu=$(readlink -f "$qemu")
rm -rf "$dir"
mkdir -p "$dir"/{bin,lib,firmware,modules}
cp -L "$qemu" "$dir/bin/qemu-system-x86_64"

# The TCG accelerator is a module of its own; the KVM one is built in.
tcg=$(dpkg -S accel-tcg-x86_64.so 2>/dev/null | sed -n 's/^[^:]*: \(.*\/accel-tcg-x86_64\.so\)$/\1/p' |
	head -n 1)
[ -n "$tcg" ] && [ -f "$tcg" ] || die "accel-tcg-x86_64.so is not installed (qemu-system-common)"
cp -L "$tcg" "$dir/modules/"

# Libraries of the binary and of the module: 'name => path (address)', and
# the loader as 'path (address)'.
loader=
while read -r name arrow path _; do
	if [ "$arrow" = "=>" ]; then
		[ -f "$path" ] || continue	# linux-vdso has no file
		cp -L "$path" "$dir/lib/$(basename "$path")"
	elif [ "${name#/}" != "$name" ] && [ -f "$name" ]; then
		loader=$(basename "$name")
		cp -L "$name" "$dir/lib/$loader"
	fi
done < <(ldd "$qemu" "$tcg" | grep -v ':$')
[ -n "$loader" ] || die "ldd names no dynamic loader for $qemu"

# The firmware, from the folders QEMU itself searches.  A pc machine loads
# SeaBIOS and the vapic ROM; -kernel adds the multiboot or the Linux
# loader ROM.
datadirs=$("$qemu" -L help)
for rom in bios-256k.bin kvmvapic.bin multiboot_dma.bin linuxboot_dma.bin; do
	found=
	for d in $datadirs; do
		if [ -f "$d/$rom" ]; then
			found=$d/$rom
			break
		fi
	done
	[ -n "$found" ] || die "$rom is in none of QEMU's data folders: $(echo $datadirs)"
	cp -L "$found" "$dir/firmware/"
done

cat > "$dir/qemu-system-x86_64" <<EOF
#!/bin/sh
# $(basename "$qemu") of this package, with the files it needs beside it.
d=\$(cd "\$(dirname "\$0")" && pwd)
export QEMU_MODULE_DIR=\$d/modules
exec "\$d/lib/$loader" --library-path "\$d/lib" \\
	"\$d/bin/qemu-system-x86_64" -L "\$d/firmware" "\$@"
EOF
chmod +x "$dir/qemu-system-x86_64"

echo "qemu-stage: $($qemu --version | head -n 1), $(ls "$dir/lib" | wc -l) libraries," \
	"$(du -sm "$dir" | cut -f1) MB"
