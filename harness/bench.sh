#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 'make bench': build tools/ioasid/ioasid-bench against the bench kernel's
# headers, run it in the VM (the suite harness/bench/bench.sh), and turn
# the lines it printed into OUT_DIR/bench/bench.csv, a table of medians
# with each peer's ratio to /dev/ioasid and the performance targets, and
# OUT_DIR/bench/bench.svg.  The bench kernel must be built already
# (harness/kernel.sh OUT_DIR bench, which 'make bench' runs first).
#
# usage: harness/bench.sh OUT_DIR
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "$1" && pwd)
dir=$out/bench
csv=$dir/bench.csv
svg=$dir/bench.svg
start=$(date +%s)

mkdir -p "$dir/progs"
rm -f "$dir"/progs/* "$csv" "$svg"
echo "bench: building ioasid-bench against the bench kernel's headers"
make -s -C "$out/linux/tools/ioasid" OUTPUT="$dir/progs/" \
	CFLAGS="-O2 -Wall -isystem $out/build-bench/usr/include" \
	LDFLAGS=-static "$dir/progs/ioasid-bench"

echo "bench: running in the VM; each case reports when it ends (2-3 min)"
status=0
"$repo/harness/vm.sh" "$out" bench bench || status=$?

# The result lines only: the console also carries notes and errors.
{
	echo "case,impl,median_us,iterations"
	grep -E '^[A-Za-z0-9_]+,(ioasid|iommufd|type1|floor),[0-9.]+,[0-9]+$' \
		"$out/logs/bench.ktap" || true
} > "$csv"
if [ "$(wc -l < "$csv")" -le 1 ]; then
	echo "bench: no result came back; see $out/logs/bench.ktap" >&2
	exit 1
fi

echo
awk -F, -f "$repo/harness/bench/table.awk" "$csv" "$out/logs/bench.ktap"
awk -F, -f "$repo/harness/bench/plot.awk" "$csv" > "$svg"
echo
echo "bench: CSV:  $csv"
echo "bench: plot: $svg"
elapsed=$(($(date +%s) - start))
echo "bench: VM run and report took $((elapsed / 60)) min $((elapsed % 60)) s"
if [ $status != 0 ]; then
	echo "bench: the run reported failures (above); rows may be missing" >&2
fi
exit $status
