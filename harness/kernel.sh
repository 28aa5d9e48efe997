#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configure and build one kernel flavour (test or bench) out of tree, from
# tinyconfig plus the committed fragments, and install its uAPI headers.
# Every option a fragment asks for is checked in the final .config, so a
# dependency that silently drops an option fails the build instead.
#
# usage: harness/kernel.sh OUT_DIR FLAVOUR
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "$1" && pwd)
flavour=$2
tree=$out/linux
obj=$out/build-$flavour
log=$out/logs/kernel-$flavour.log
frags="$repo/harness/configs/base.config $repo/harness/configs/$flavour.config"
jobs=$(($(nproc) + 1))
kmake=(make -C "$tree" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" -j"$jobs")

mkdir -p "$obj" "$out/logs"
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Hash paths relative to the output folder, so that another clone of the
# repository (CI's) reuses what this one compiled.
export CCACHE_BASEDIR=$out CCACHE_NOHASHDIR=1
export KBUILD_BUILD_TIMESTAMP=${KBUILD_BUILD_TIMESTAMP:-2024-01-01}
export KBUILD_BUILD_USER=ioasid KBUILD_BUILD_HOST=build

configure() {
	local want wanted got sym
	cat $frags > "$obj/fragments.config"
	if cmp -s "$obj/fragments.config" "$obj/.fragments.used" &&
	   [ -f "$obj/.config" ]; then
		return 0
	fi
	echo "kernel($flavour): configuring from tinyconfig + $(basename -a $frags | tr '\n' ' ')"
	"${kmake[@]}" -s tinyconfig > "$log.config" 2>&1
	(cd "$obj" && "$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" \
		"$obj/.config" $frags) >> "$log.config" 2>&1
	"${kmake[@]}" -s olddefconfig >> "$log.config" 2>&1
	got=0
	while read -r want; do
		sym=${want%%=*}
		case $want in
		"# CONFIG_"*" is not set")
			sym=${want#\# }; sym=${sym%% *}
			if grep -q "^$sym=" "$obj/.config"; then
				echo "kernel($flavour): $sym is set, the fragments want it off" >&2
				got=1
			fi ;;
		CONFIG_*)
			if ! grep -qx "$want" "$obj/.config"; then
				echo "kernel($flavour): $want did not stick: $(grep -E "^(# )?$sym[= ]" "$obj/.config" || echo "$sym absent")" >&2
				got=1
			fi ;;
		esac
	done < "$obj/fragments.config"
	[ $got -eq 0 ] || { echo "kernel($flavour): configuration failed, see the lines above" >&2; exit 1; }
	cp "$obj/fragments.config" "$obj/.fragments.used"
}

# kbuild prints one line per step: show a running count instead of the
# thousands of lines, and the tail of the log if it fails.
build() {
	echo "kernel($flavour): building bzImage (first build ~5 min, log: $log)"
	if ! "${kmake[@]}" bzImage 2>&1 | tee "$log" |
		awk '/^  [A-Z]/ { n++; if (n % 250 == 0) { printf "kernel: %d build steps\n", n; fflush() } }'; then
		tail -n 40 "$log" >&2
		echo "kernel($flavour): build failed, full log: $log" >&2
		exit 1
	fi
	"${kmake[@]}" -s headers >> "$log" 2>&1
	echo "kernel($flavour): ready: $obj/arch/x86/boot/bzImage"
}

configure
build
