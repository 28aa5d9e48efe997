#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Turn the repository into a git format-patch series against Debian's
# linux-source-6.12, as a reviewer applies it with 'git am'.
#
# harness/series/ says what each patch of the series holds: one file per
# patch, taken in name order.  A file holds the commit message (subject
# line, blank line, body), a line '---', then one placement per line:
#
#   file PATH     a file of the overlay (repository path), copied as is
#   patch NAME    a patch of patches/, applied with patch -p1 --fuzz=0
#
# An empty message (the file starts with '---') takes the subject and body
# of the entry's single patch.
#
# A file of the overlay that several patches grow (the ioctl table, the
# private header, a Makefile) is placed once, by the first patch that has
# it; what a later patch adds to it is that patch's companion diff,
# harness/series/NAME.diff (a diff -p1 of overlay files, as 'git diff'
# writes it).  The file as patch K has it is the overlay's file with the
# companion diffs of every later patch taken back out, last first.  A
# diff that no longer comes out cleanly (no fuzz) stops the series: edit
# its context to match the overlay.  Every overlay file and every patch named by
# patches/series must be placed exactly once.  harness/series/cover-letter
# holds the cover letter: subject line, blank line, body.
#
# The series is built as commits in a scratch git tree, OUT_DIR/base-git
# (the extracted tarball committed once as 'base'), formatted into
# OUT_DIR/*.patch, and checked with checkpatch --strict.
#
# With --check, the series is made (checkpatch findings do not stop it),
# then each patch is applied in turn with 'git am' to a fresh
# branch of the base, in a worktree of that tree, and the touched
# subsystems are built from CONFIG (a kernel .config, normally the test
# kernel's) after each one.
#
# With --test, the series is made, its patches are applied in turn, and
# at each patch from FIRST to LAST the kernel is built from CONFIG and
# booted in the VM to run the selftests that this point of the series
# has: those of the mock and uapi suites in one boot, those of the vfio
# suite in a second boot of that suite's shape (edu devices bound to
# vfio-pci).  FIRST and LAST default to the patch that adds the
# selftests and the last patch of kernel code.
#
# usage: harness/series.sh OUT_DIR
#        harness/series.sh --check OUT_DIR CONFIG
#        harness/series.sh --test OUT_DIR CONFIG [FIRST LAST]
set -euo pipefail

check=0
mode="make"
case ${1:-} in
--check) check=1; mode="check"; shift ;;
--test) check=1; mode="test"; shift ;;
esac
[ $# -ge 1 ] || { echo "usage: $0 [--check|--test] OUT_DIR [CONFIG [FIRST LAST]]" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
manifest=$repo/harness/series
base_tar=/usr/src/linux-source-6.12.tar.xz
bg=$out/base-git
overlay_dirs="Documentation drivers include samples tools virt arch"
who_name="ioasid developers"
who_email="iommu@lists.linux.dev"
signoff="Signed-off-by: $who_name <$who_email>"
# Fixed dates: the same repository gives the same series, hashes included.
base_epoch=1735732800	# 2025-01-01 12:00 UTC

die() { echo "series: error: $*" >&2; exit 1; }

command -v git > /dev/null || die "git is needed (apt-get install git)"

# The scratch trees sit inside this repository's checkout: never let git
# look above OUT_DIR for a repository, and ignore the user's git settings
# so that the patches do not depend on them.
export GIT_CEILING_DIRECTORIES=$out
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=$who_name GIT_AUTHOR_EMAIL=$who_email
export GIT_COMMITTER_NAME=$who_name GIT_COMMITTER_EMAIL=$who_email
export LC_ALL=C

g() { git --git-dir="$bg/.git" --work-tree="$bg" -C "$bg" "$@"; }

at() {
	export GIT_AUTHOR_DATE="@$((base_epoch + $1)) +0000"
	export GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
}

series_patches() { grep -v -e '^#' -e '^[[:space:]]*$' "$repo/patches/series"; }

list_overlay() {
	(cd "$repo" && for d in $overlay_dirs; do
		if [ -d "$d" ]; then find "$d" -type f; fi
	done) | sort
}

entries() {
	(cd "$manifest" && for f in [0-9]*; do
		case $f in *.*) continue ;; esac
		if [ -f "$f" ]; then echo "$f"; fi
	done) | sort
}

# The companion diff of an entry, if it has one.
entry_diff() {
	if [ -f "$manifest/$1.diff" ]; then echo "$manifest/$1.diff"; fi
}

# The placement lines of an entry, as 'file PATH' or 'patch NAME'.
placements() {
	awk 'p && !/^#/ && NF { print $1, $2, NF }  /^---$/ { p = 1 }' "$manifest/$1" |
	while read -r kind what n; do
		case $kind in
		file|patch) [ "$n" = 2 ] || die "$1: '$kind $what ...': one name per line" ;;
		*) die "$1: unknown placement '$kind' (file PATH or patch NAME)" ;;
		esac
		echo "$kind $what"
	done
}

entry_files() { placements "$1" | awk '$1 == "file" { print $2 }'; }

# An entry's patches, in patches/series order: that is the order in which
# the assembled tree applies them.
entry_patches() {
	local mine
	mine=$(placements "$1" | awk '$1 == "patch" { print $2 }')
	[ -n "$mine" ] || return 0
	series_patches | grep -Fx -f <(echo "$mine") || true
}

# The commit message of an entry: what precedes '---', or the header of
# its single patch.  Ends with the sign-off.
message() {
	local e=$1 text p
	text=$(awk '/^---$/ { exit } { print }' "$manifest/$e")
	if [ -z "$(echo "$text" | tr -d '[:space:]')" ]; then
		p=$(entry_patches "$e")
		[ "$(echo "$p" | grep -c .)" = 1 ] ||
			die "$e: no message, and not exactly one patch to take it from"
		text=$(awk '/^---$/ { exit }
			/^Subject: / { sub(/^Subject: (\[[^]]*\] *)?/, ""); print; next }
			/^From: / { next }
			{ print }' "$repo/patches/$p")
	fi
	printf '%s\n' "$text" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' |
		grep -vx "$signoff" || true
	printf '\n%s\n' "$signoff"
}

# Every overlay file and every patch of patches/series placed exactly once.
validate() {
	local e bad=0 placed
	[ -d "$manifest" ] || die "$manifest missing"
	[ -n "$(entries)" ] || die "no entry in $manifest"
	for e in $(entries); do
		placements "$e" > /dev/null || exit 1
		grep -qx -- --- "$manifest/$e" || die "$e: no '---' line before the placements"
	done
	placed=$(for e in $(entries); do
		placements "$e" | sed "s|\$| $e|"
	done)
	while read -r kind what e; do
		[ -n "$kind" ] || continue
		if [ "$kind" = file ] && ! list_overlay | grep -qFx "$what"; then
			echo "series: $e places $what, which is no file of the overlay" >&2
			bad=1
		fi
		if [ "$kind" = patch ] && ! series_patches | grep -qFx "$what"; then
			echo "series: $e places $what, which patches/series does not list" >&2
			bad=1
		fi
	done <<< "$placed"
	while read -r kind what; do
		echo "series: $kind $what placed more than once:"\
			"$(echo "$placed" | awk -v k="$kind" -v w="$what" \
				'$1 == k && $2 == w { printf " %s", $3 }')" >&2
		bad=1
	done < <(echo "$placed" | awk 'NF { print $1, $2 }' | sort | uniq -d)
	for what in $(list_overlay); do
		# A here-string, not a pipe: grep -q leaves early, and echo's
		# later writes would die of SIGPIPE under pipefail.
		grep -qF "file $what " <<< "$placed" ||
			{ echo "series: file $what is not placed in harness/series/" >&2; bad=1; }
	done
	for what in $(series_patches); do
		grep -qF "patch $what " <<< "$placed" ||
			{ echo "series: patch $what is not placed in harness/series/" >&2; bad=1; }
	done
	for f in "$manifest"/*.*; do
		[ -e "$f" ] || continue
		e=$(basename "$f")
		[ "${e%.diff}" != "$e" ] && [ -f "$manifest/${e%.diff}" ] ||
			{ echo "series: $e is no companion diff of an entry" >&2; bad=1; continue; }
		while read -r what; do
			list_overlay | grep -qFx "$what" ||
				{ echo "series: $e changes $what, no file of the overlay" >&2; bad=1; }
		done < <(patch_paths "$f")
	done
	[ -f "$manifest/cover-letter" ] || { echo "series: harness/series/cover-letter missing" >&2; bad=1; }
	[ $bad = 0 ] || die "fix the placements in harness/series/"
}

# What the base commit was made from, and how (bump when make_base changes).
stamp_of() { echo "2 $(stat -c '%s %Y' "$base_tar")"; }

# The base commit: the tarball as Debian ships it, committed once.
make_base() {
	local ver kver
	[ -f "$base_tar" ] || die "$base_tar missing (apt-get install linux-source-6.12)"
	if [ -f "$bg/.git/ioasid-base" ] && [ "$(cat "$bg/.git/ioasid-base")" = "$(stamp_of)" ]; then
		g checkout -q -f -B series base
		g clean -q -fdx
		return 0
	fi
	echo "series: extracting $(basename "$base_tar") and committing it as the base (about a minute)"
	rm -rf "$bg"
	mkdir -p "$bg"
	tar -C "$bg" --strip-components=1 -xf "$base_tar"
	git init -q -b series "$bg"
	[ -d "$bg/.git" ] || die "git init failed in $bg"
	g config core.compression 1
	g config gc.auto 0
	g add -A -f .
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown)
	kver=$(awk '$2 == "=" && $1 ~ /^(VERSION|PATCHLEVEL|SUBLEVEL)$/ { v = v sep $3; sep = "." }
		$1 == "SUBLEVEL" { print v; exit }' "$bg/Makefile")
	at 0
	g commit -q -m "Linux $kver (Debian linux-source-6.12 $ver)" \
		-m "The kernel source as Debian ships it (linux-source-6.12.tar.xz)."
	g tag base
	stamp_of > "$bg/.git/ioasid-base"
}

# Paths a patch touches, from its diff headers.
patch_paths() {
	awk '/^(\+\+\+|---) / && $2 != "/dev/null" { sub(/^[ab]\//, "", $2); print $2 }' "$1" |
		sort -u
}

apply_patch() {
	local p=$repo/patches/$1
	[ -f "$p" ] || die "patches/series names missing $1"
	if ! patch -d "$bg" -p1 -N --fuzz=0 --dry-run -s < "$p" > "$out/patch.log" 2>&1; then
		cat "$out/patch.log" >&2
		die "$1 does not apply cleanly (no fuzz allowed) at this point of the series"
	fi
	patch -d "$bg" -p1 -N --fuzz=0 -s --no-backup-if-mismatch < "$p"
}

# The overlay as each entry leaves it, in OUT_DIR/stages/ENTRY: the
# overlay, then each companion diff taken back out, from the last entry
# to the first.
make_stages() {
	local st=$out/stages e d f i list=() rev=()
	rm -rf "$st"
	mkdir -p "$st/work"
	(cd "$repo" && list_overlay | cpio -pdm --quiet "$st/work")
	mapfile -t list < <(entries)
	for ((i = ${#list[@]} - 1; i >= 0; i--)); do
		rev+=("${list[$i]}")
	done
	for e in "${rev[@]}"; do
		cp -a "$st/work" "$st/$e"
		d=$(entry_diff "$e")
		[ -n "$d" ] || continue
		if ! patch -d "$st/work" -R -p1 --fuzz=0 -s --dry-run < "$d" > "$out/patch.log" 2>&1; then
			cat "$out/patch.log" >&2
			die "$(basename "$d") does not come out of the overlay as the later entries leave it"
		fi
		patch -d "$st/work" -R -p1 --fuzz=0 -s --no-backup-if-mismatch < "$d"
		for f in $(patch_paths "$d"); do
			placed_before "$f" "$e" ||
				die "$(basename "$d") changes $f, which no entry before $e places"
		done
	done
	rm -rf "$st/work"
}

# Whether FILE is placed by an entry that comes before ENTRY.
placed_before() {
	local e
	for e in $(entries); do
		[ "$e" = "$2" ] && return 1
		entry_files "$e" | grep -qFx "$1" && return 0
	done
	return 1
}

make_commits() {
	local e n=0 f p d paths
	for e in $(entries); do
		n=$((n + 1))
		paths=()
		for f in $(entry_files "$e"); do
			mkdir -p "$bg/$(dirname "$f")"
			cp "$out/stages/$e/$f" "$bg/$f"
			paths+=("$f")
		done
		d=$(entry_diff "$e")
		for f in $(if [ -n "$d" ]; then patch_paths "$d"; fi); do
			cp "$out/stages/$e/$f" "$bg/$f"
			paths+=("$f")
		done
		for p in $(entry_patches "$e"); do
			apply_patch "$p"
			mapfile -t -O "${#paths[@]}" paths < <(patch_paths "$repo/patches/$p")
		done
		g add -A -f -- "${paths[@]}"
		! g diff --cached --quiet || die "$e changes nothing"
		message "$e" > "$out/message"
		if [ "$(head -n 1 "$out/message" | wc -m)" -gt 73 ]; then
			echo "series: note: $e: subject over 72 characters: $(head -n 1 "$out/message")"
		fi
		at "$((n * 60))"
		g commit -q -F "$out/message"
	done
	echo "series: $n patches on the base"
}

# The tip must be the tree 'make tree' assembles: base, every patch in
# patches/series order, then the overlay.
verify_tip() {
	local tmp=$out/verify f p bad=0
	rm -rf "$tmp"
	mkdir -p "$tmp"
	for p in $(series_patches); do
		for f in $(patch_paths "$repo/patches/$p"); do
			[ -e "$tmp/$f" ] && continue
			mkdir -p "$tmp/$(dirname "$f")"
			g show "base:$f" > "$tmp/$f" 2> /dev/null || rm -f "$tmp/$f"
		done
	done
	for p in $(series_patches); do
		patch -d "$tmp" -p1 -N --fuzz=0 -s --no-backup-if-mismatch \
			< "$repo/patches/$p" > /dev/null ||
			die "patches/series does not apply in order to the base files"
	done
	for p in $(series_patches); do
		for f in $(patch_paths "$repo/patches/$p"); do
			if ! cmp -s "$tmp/$f" "$bg/$f"; then
				echo "series: $f differs from what patches/series gives" >&2
				bad=1
			fi
		done
	done
	for f in $(list_overlay); do
		if [ ! -e "$bg/$f" ]; then
			echo "series: $f is not in the series (new since it was checked?)" >&2
			bad=1
		elif ! cmp -s "$repo/$f" "$bg/$f"; then
			echo "series: $f differs from the overlay (changed while the series was built?)" >&2
			bad=1
		fi
	done
	rm -rf "$tmp"
	[ $bad = 0 ] || die "the series does not give the tree of 'make tree'"
}

format() {
	local subject
	rm -f "$out"/*.patch "$out/series.mbox"
	g format-patch -q --cover-letter --no-signature -o "$out" base..series
	# The patches alone, for git am, which stops at the cover letter.
	cat $(ls "$out"/[0-9][0-9][0-9][0-9]-*.patch | grep -v /0000-cover-letter.patch) \
		> "$out/series.mbox"
	subject=$(head -n 1 "$manifest/cover-letter")
	# The body: the file after its subject line and the blank one, with
	# @BASE@ standing for the Debian version of the base.
	tail -n +3 "$manifest/cover-letter" |
		sed "s|@BASE@|$(g log -1 --format=%s base | sed 's/[|&]/\\&/g')|" \
		> "$out/blurb"
	SUBJECT=$subject BLURB=$out/blurb perl -0pi -e '
		BEGIN { local $/; open(my $b, "<", $ENV{BLURB}) or die; $blurb = <$b>; chomp $blurb }
		s/\*\*\* SUBJECT HERE \*\*\*/$ENV{SUBJECT}/;
		s/\*\*\* BLURB HERE \*\*\*/$blurb/;' "$out"/0000-cover-letter.patch
	rm -f "$out/blurb" "$out/message" "$out/patch.log"
	rm -rf "$out/stages"
	! grep -q '\*\*\* .* HERE \*\*\*' "$out"/0000-cover-letter.patch ||
		die "the cover letter still has a placeholder"
}

# The section headers the series adds to MAINTAINERS.
new_sections() {
	g diff base..series -- MAINTAINERS |
		awk '/^\+[^+]/ && !/^\+[A-Z]:\t/ && !/^\+$/ { print substr($0, 2) }'
}

# checkpatch asks "does MAINTAINERS need updating?" of any patch that adds
# a file without touching MAINTAINERS.  That is answered when an earlier
# patch of the series added a MAINTAINERS section that covers every file
# this one adds: then the question is not asked again.
maintained() {
	local commit=$1 f secs added
	secs=$(new_sections)
	[ -n "$secs" ] || return 1
	# The first patch that touches MAINTAINERS comes before this one.
	g merge-base --is-ancestor "$(g log --format=%H base..series -- MAINTAINERS | tail -n 1)" \
		"$commit^" || return 1
	added=$(g diff --name-only --diff-filter=A "$commit^" "$commit")
	[ -n "$added" ] || return 1
	for f in $added; do
		g show "series:$f" > /dev/null 2>&1 || return 1
		(cd "$bg" && scripts/get_maintainer.pl --no-git --no-git-fallback \
			--subsystem --no-email --no-l --no-m --no-r --no-rolestats -f "$f") |
			grep -qFx -f <(echo "$secs") || return 1
	done
}

run_checkpatch() {
	local p commits i=0 ignore res e w c fail=0 total_e=0 total_w=0 total_c=0
	mapfile -t commits < <(g rev-list --reverse base..series)
	# In a git tree checkpatch checks SPDX lines with scripts/spdxcheck.py,
	# which needs python3-ply; without it every identifier passes.
	local ply=1
	if ! python3 -c 'import ply' 2> /dev/null; then
		ply=0
		echo "series: note: python3-ply is missing, so checkpatch does not check SPDX identifiers"
	fi
	for p in "$out"/[0-9][0-9][0-9][0-9]-*.patch; do
		case $p in */0000-cover-letter.patch) continue ;; esac
		ignore=()
		if maintained "${commits[$i]}"; then
			ignore=(--ignore FILE_PATH_CHANGES)
		fi
		i=$((i + 1))
		res=$(cd "$bg" && scripts/checkpatch.pl --strict --show-types "${ignore[@]}" "$p" \
			2> "$out/checkpatch.err") || true
		if [ $ply = 0 ]; then
			# spdxcheck.py's failure to start, once per SPDX line.
			grep -v -e '^Traceback ' -e 'spdxcheck.py", line' \
				-e '^ *from ply import' -e "No module named 'ply'" \
				"$out/checkpatch.err" >&2 || true
		else
			cat "$out/checkpatch.err" >&2
		fi
		read -r e w c < <(echo "$res" | sed -n \
			's/^total: \([0-9]*\) errors, \([0-9]*\) warnings, \([0-9]*\) checks.*/\1 \2 \3/p')
		[ -n "${e:-}" ] || { echo "$res" >&2; die "checkpatch gave no summary for $(basename "$p")"; }
		printf 'series: checkpatch %s: %s errors, %s warnings, %s checks%s\n' \
			"$(basename "$p")" "$e" "$w" "$c" \
			"${ignore:+ (FILE_PATH_CHANGES not asked: MAINTAINERS covers its new files)}"
		if [ "$e" != 0 ] || [ "$w" != 0 ] || [ "$c" != 0 ]; then
			echo "$res" | grep -v -e '^total:' -e '^NOTE:' -e '^$' \
				-e 'has style problems' -e 'If any of these errors' \
				-e 'them to the maintainer' | sed 's/^/series:   /'
		fi
		total_e=$((total_e + e)) total_w=$((total_w + w)) total_c=$((total_c + c))
		[ "$e" = 0 ] && [ "$w" = 0 ] || fail=1
	done
	echo "series: checkpatch --strict: $total_e errors, $total_w warnings, $total_c checks in $i patches"
	rm -f "$out/checkpatch.err"
	[ $fail = 0 ] && return 0
	[ $check = 1 ] || die "checkpatch found errors or warnings (above)"
	echo "series: checkpatch found errors or warnings (above); checking the builds all the same"
}

build_series() {
	rm -f "$out"/*.patch "$out/series.mbox"
	validate
	make_base
	make_stages
	make_commits
	verify_tip
	format
	echo "series: $(ls "$out"/*.patch | wc -l) files in $out (cover letter included)"
	run_checkpatch
	echo "series: apply with 'git am $out/series.mbox' on a tree of the base;" \
		"send with 'git send-email --to=... $out/*.patch'"
}

# --check: every prefix of the series builds.
check_series() {
	local config=${1:-}
	local wt=$out/check/linux obj=$out/check/build logs=$out/check/logs
	local dirs=${SERIES_CHECK_DIRS:-drivers/iommu/ drivers/vfio/ arch/x86/kvm/}
	local jobs=$(($(nproc) + 1)) p n=0 total failed=0 touched
	[ -f "$config" ] || die "no kernel config '$config' (run 'make kernel' first)"
	mapfile -t patches < <(ls "$out"/[0-9][0-9][0-9][0-9]-*.patch | grep -v /0000-cover-letter.patch)
	total=${#patches[@]}
	[ "$total" -gt 0 ] || die "no patch in $out"
	mkdir -p "$obj" "$logs" "$out/check/selftests" "$out/check/tools"
	if [ ! -f "$wt/.git" ]; then
		rm -rf "$wt"
		g worktree prune
		g worktree add -q --detach "$wt" base
	fi
	[ -f "$wt/.git" ] || die "no worktree in $wt"
	git -C "$wt" checkout -q -f -B series-check base
	git -C "$wt" clean -q -fdx
	# As harness/kernel.sh: ccache, paths hashed relative to the folder
	# holding the tree and the build, reproducible build stamps.
	export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
	export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
	export CCACHE_BASEDIR=$out/check CCACHE_NOHASHDIR=1
	export KBUILD_BUILD_TIMESTAMP=${KBUILD_BUILD_TIMESTAMP:-2024-01-01}
	export KBUILD_BUILD_USER=ioasid KBUILD_BUILD_HOST=build
	local kmake=(make -C "$wt" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" -j"$jobs")
	for p in "${patches[@]}"; do
		n=$((n + 1))
		local name log
		name=$(basename "$p" .patch)
		log=$logs/$name.log
		at "$((100000 + n))"
		if ! git -C "$wt" am -q "$p" > "$log" 2>&1; then
			cat "$log" >&2
			git -C "$wt" am --abort || true
			die "[$n/$total] $name does not apply with git am"
		fi
		# The test kernel's options, as far as this point of the series
		# knows them.
		cp "$config" "$obj/.config"
		if ! { "${kmake[@]}" olddefconfig && "${kmake[@]}" $dirs; } >> "$log" 2>&1; then
			tail -n 30 "$log" >&2
			echo "series-check: [$n/$total] $name: build FAILED (log: $log)" >&2
			failed=$((failed + 1))
			continue
		fi
		if ! link_check "$obj" $dirs >> "$log" 2>&1; then
			tail -n 30 "$log" >&2
			echo "series-check: [$n/$total] $name: would not link (log: $log)" >&2
			failed=$((failed + 1))
			continue
		fi
		touched=$(git -C "$wt" diff --name-only HEAD^ HEAD)
		if echo "$touched" | grep -q -e '^tools/' -e '^include/uapi/'; then
			if ! build_tools "$wt" "$obj" >> "$log" 2>&1; then
				tail -n 30 "$log" >&2
				echo "series-check: [$n/$total] $name: user-space build FAILED (log: $log)" >&2
				failed=$((failed + 1))
				continue
			fi
		fi
		echo "series-check: [$n/$total] $name: applies and builds"
	done
	echo "series-check: $((total - failed)) of $total patches build ($dirs), logs in $logs"
	[ $failed = 0 ]
}

# Building directories compiles each file but links nothing, so a prefix
# that calls a function a later patch adds would pass.  Every ioasid_
# symbol the built objects of DIRS use must be defined among them.
link_check() {
	local obj=$1 d a=() missing
	shift
	for d in "$@"; do
		if [ -f "$obj/$d/built-in.a" ]; then a+=("$obj/$d/built-in.a"); fi
	done
	[ ${#a[@]} -gt 0 ] || return 0
	missing=$(comm -23 \
		<(nm -u --format=just-symbols "${a[@]}" 2> /dev/null | grep -E '^_*ioasid_' | sort -u) \
		<(nm --defined-only --format=just-symbols "${a[@]}" 2> /dev/null | sort -u))
	[ -z "$missing" ] && return 0
	echo "undefined:" $missing
	return 1
}

# The selftests and tools/ioasid, as harness/progs.sh builds them, against
# the uAPI headers of this point of the series.
build_tools() {
	local wt=$1 obj=$2 d
	make -C "$wt" O="$obj" -s headers
	d=$wt/tools/testing/selftests/ioasid
	if [ -d "$d" ]; then
		make -C "$d" OUTPUT="$out/check/selftests" KHDR_INCLUDES="-isystem $obj/usr/include"
	fi
	d=$wt/tools/ioasid
	if [ -d "$d" ]; then
		make -C "$d" OUTPUT="$out/check/tools/" CFLAGS="-O2 -Wall -isystem $obj/usr/include"
	fi
}

# The programs of SUITES (harness/suites/) that this point of the series
# has, as a RUN list for a custom VM run; empty if it has none.
point_programs() {
	local s prog run=""
	for s in "$@"; do
		for prog in $(RUN="" && . "$repo/harness/suites/$s.sh" && echo "$RUN"); do
			if [ -x "$out/test/selftests/${prog%%,*}" ]; then
				cp "$out/test/selftests/${prog%%,*}" "$out/test/progs/"
				run="$run $prog"
			fi
		done
	done
	echo "$run"
}

# Boot the point's kernel in the VM shape of SUITE and run the programs
# RUN there; the ktap and console are kept as NAME.SUITE.*.
run_point_vm() {
	local n=$1 name=$2 suite=$3 run=$4 s=0 shape devices vfio_edu cmdline
	shape=$(DEVICES="" VFIO_EDU=0 CMDLINE="" && . "$repo/harness/suites/$suite.sh" &&
		printf '%s\n%s\n%s\n' "$DEVICES" "$VFIO_EDU" "$CMDLINE")
	echo "series-test: [$n] $name: running$run"
	rm -f "$out/test/logs/results"
	{
		read -r devices; read -r vfio_edu; read -r cmdline
		RUN="$run" DEVICES="$devices" VFIO_EDU="$vfio_edu" \
			CMDLINE="$cmdline" "$repo/harness/vm.sh" "$out/test" test custom || s=$?
	} <<< "$shape"
	cp "$out/test/logs/custom.ktap" "$out/test/logs/$name.$suite.ktap"
	cp "$out/test/logs/custom.console.log" "$out/test/logs/$name.$suite.console.log"
	if [ $s != 0 ]; then
		echo "series-test: [$n] $name: $suite selftests FAILED (ktap: $out/test/logs/$name.$suite.ktap)" >&2
		return 1
	fi
	echo "series-test: [$n] $name: $suite: $(awk '{ print $3 " passed, " $5 " skipped" }' "$out/test/logs/results")"
}

# Run the selftests one point has: those of the mock and uapi suites,
# which need no device, then those of the vfio suite in its own shape.
test_point() {
	local n=$1 name=$2 run rc=0
	run=$(point_programs mock uapi)
	[ -n "$run" ] || die "[$n] $name: no selftest of the mock or uapi suites to run"
	run_point_vm "$n" "$name" mock "$run" || rc=1
	rm -f "$out"/test/progs/*
	run=$(point_programs vfio)
	if [ -n "$run" ]; then
		run_point_vm "$n" "$name" vfio "$run" || rc=1
	fi
	return $rc
}

# --test: each point of the series that has selftests passes them.  The
# tree and the build are named as harness/kernel.sh names its own (linux/,
# build-test/ under the ccache base), so that ccache serves every file a
# prefix has in common with the whole series.
test_series() {
	local config=$1 first=$2 last=$3
	# By default, from the patch that brings the selftests to the last
	# one of kernel code: later ones change only tools/.
	if [ -z "$first" ]; then
		first=$(grep -l '^+++ b/tools/testing/selftests/ioasid/Makefile' "$out"/[0-9]*.patch |
			head -n 1 | sed 's|.*/0*||; s|-.*||')
		last=$(grep -l '^+++ b/[^t]' "$out"/[0-9]*.patch |
			tail -n 1 | sed 's|.*/0*||; s|-.*||')
	fi
	local t=$out/test wt=$out/test/linux obj=$out/test/build-test
	local jobs=$(($(nproc) + 1)) p n=0 failed=0 name log
	[ -f "$config" ] || die "no kernel config '$config' (run 'make kernel' first)"
	mapfile -t patches < <(ls "$out"/[0-9][0-9][0-9][0-9]-*.patch | grep -v /0000-cover-letter.patch)
	[ "$last" -le ${#patches[@]} ] && [ "$first" -ge 1 ] && [ "$first" -le "$last" ] ||
		die "no patches $first-$last in a series of ${#patches[@]}"
	mkdir -p "$obj" "$t/logs"
	if [ ! -f "$wt/.git" ]; then
		rm -rf "$wt"
		g worktree prune
		g worktree add -q --detach "$wt" base
	fi
	git -C "$wt" checkout -q -f -B series-test base
	git -C "$wt" clean -q -fdx
	export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
	export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
	export CCACHE_BASEDIR=$t CCACHE_NOHASHDIR=1
	export KBUILD_BUILD_TIMESTAMP=${KBUILD_BUILD_TIMESTAMP:-2024-01-01}
	export KBUILD_BUILD_USER=ioasid KBUILD_BUILD_HOST=build
	local kmake=(make -C "$wt" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" -j"$jobs")
	for p in "${patches[@]:0:$last}"; do
		n=$((n + 1))
		name=$(basename "$p" .patch)
		log=$t/logs/$name.log
		at "$((100000 + n))"
		git -C "$wt" am -q "$p" > "$log" 2>&1 ||
			{ cat "$log" >&2; die "[$n] $name does not apply with git am"; }
		[ "$n" -ge "$first" ] || continue
		echo "series-test: [$n] $name: building the kernel (log: $log)"
		cp "$config" "$obj/.config"
		if ! { "${kmake[@]}" olddefconfig && "${kmake[@]}" bzImage &&
		       "${kmake[@]}" -s headers; } >> "$log" 2>&1; then
			tail -n 30 "$log" >&2
			echo "series-test: [$n] $name: kernel build FAILED" >&2
			failed=$((failed + 1))
			continue
		fi
		rm -rf "$t/selftests" "$t/progs"
		mkdir -p "$t/selftests" "$t/progs"
		if ! make -s -C "$wt/tools/testing/selftests/ioasid" OUTPUT="$t/selftests" \
			KHDR_INCLUDES="-isystem $obj/usr/include" LDFLAGS=-static >> "$log" 2>&1; then
			tail -n 30 "$log" >&2
			echo "series-test: [$n] $name: selftests build FAILED" >&2
			failed=$((failed + 1))
			continue
		fi
		if ! test_point "$n" "$name"; then
			failed=$((failed + 1))
			continue
		fi
	done
	echo "series-test: $((last - first + 1 - failed)) of $((last - first + 1)) points pass their selftests"
	[ $failed = 0 ]
}

if [ $check = 1 ] && [ ! -f "${2:-}" ]; then
	die "no kernel config '${2:-}' (run 'make kernel' first)"
fi
build_series
case $mode in
check) check_series "$2" ;;
test) test_series "$2" "${3:-}" "${4:-}" ;;
esac
