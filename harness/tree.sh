#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Assemble the kernel tree: Debian's linux-source-6.12, then patches/ in
# series order, then the overlay (every file of this repository under the
# kernel's own top-level folders).  Re-running only redoes what changed:
# the base is extracted once, a changed series is reversed and re-applied,
# and only overlay files whose content changed are copied, so kbuild and
# ccache see untouched files as untouched.
#
# usage: harness/tree.sh OUT_DIR
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
tree=$out/linux
base_tar=/usr/src/linux-source-6.12.tar.xz
applied=$out/tree-state/patches
overlay_list=$out/tree-state/overlay.list
overlay_dirs="Documentation drivers include samples tools virt arch"

die() { echo "tree: error: $*" >&2; exit 1; }

extract_base() {
	[ -f "$tree/.base-extracted" ] && return 0
	[ -f "$base_tar" ] || die "$base_tar missing (apt-get install linux-source-6.12)"
	echo "tree: extracting $(basename "$base_tar") (about 10 s)"
	rm -rf "$tree" "$tree.tmp" "$out/tree-state"
	mkdir -p "$tree.tmp"
	tar -C "$tree.tmp" --strip-components=1 -xf "$base_tar"
	touch "$tree.tmp/.base-extracted"
	mv "$tree.tmp" "$tree"
}

series() { grep -v -e '^#' -e '^[[:space:]]*$' "$1/series"; }

# A patch must apply exactly: no fuzz, no reject, nothing already applied.
apply_one() {
	local p=$1 name
	name=$(basename "$p")
	if ! patch -d "$tree" -p1 -N --fuzz=0 --dry-run -s < "$p" > "$out/tree-state/patch.log" 2>&1; then
		cat "$out/tree-state/patch.log" >&2
		die "patch $name does not apply cleanly (no fuzz allowed)"
	fi
	patch -d "$tree" -p1 -N --fuzz=0 -s --no-backup-if-mismatch < "$p"
	echo "tree: applied $name"
}

sync_patches() {
	mkdir -p "$applied"
	if [ -f "$applied/series" ] && diff -rq "$repo/patches" "$applied" > /dev/null; then
		return 0
	fi
	if [ -f "$applied/series" ]; then
		for p in $(series "$applied" | tac); do
			patch -d "$tree" -p1 -R --fuzz=0 -s --no-backup-if-mismatch \
				< "$applied/$p" ||
				die "cannot reverse $p; run 'make distclean' and retry"
			echo "tree: reversed $p"
		done
		rm -rf "$applied"
		mkdir -p "$applied"
	fi
	for p in $(series "$repo/patches"); do
		[ -f "$repo/patches/$p" ] || die "patches/series names missing $p"
		apply_one "$repo/patches/$p"
	done
	cp -r "$repo/patches/." "$applied/"
}

list_overlay() {
	(cd "$repo" && for d in $overlay_dirs; do
		if [ -d "$d" ]; then find "$d" -type f; fi
	done) | sort
}

sync_overlay() {
	local new=$out/tree-state/overlay.list.new f n=0
	list_overlay > "$new"
	# Files dropped from the overlay since the last run leave the tree too.
	if [ -f "$overlay_list" ]; then
		comm -23 "$overlay_list" "$new" | while read -r f; do
			rm -f "$tree/$f"
			echo "tree: removed $f"
		done
	fi
	while read -r f; do
		if ! cmp -s "$repo/$f" "$tree/$f"; then
			mkdir -p "$tree/$(dirname "$f")"
			cp "$repo/$f" "$tree/$f"
			n=$((n + 1))
		fi
	done < "$new"
	mv "$new" "$overlay_list"
	[ "$n" -eq 0 ] || echo "tree: $n overlay file(s) updated"
}

extract_base
mkdir -p "$out/tree-state"
sync_patches
sync_overlay
