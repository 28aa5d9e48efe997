#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every suite: the static checks on the host, then each VM suite of
# harness/suites/.  Ends with the line 'N passed, N failed', after one
# that counts the skipped tests, and exits non-zero if anything failed.
#
# usage: harness/check.sh OUT_DIR [SUITE...]
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "$1" && pwd)
shift
suites=${*:-lint $(cd "$repo/harness/suites" && ls *.sh | sed 's/\.sh$//')}
logs=$out/logs
status=0

mkdir -p "$logs"
rm -f "$logs/results"
for s in $suites; do
	before=$(cat "$logs/results" 2>/dev/null | wc -l)
	if [ "$s" = lint ]; then
		"$repo/harness/lint.sh" "$out"
	else
		"$repo/harness/vm.sh" "$out" test "$s"
	fi || status=1
	# A runner that died before reporting still counts as a failure.
	[ "$(cat "$logs/results" 2>/dev/null | wc -l)" -gt "$before" ] ||
		echo "RESULT $s 0 1 0" >> "$logs/results"
done

echo
echo "suite results (logs in $logs):"
awk '{ printf "  %-12s %4d passed, %d failed, %d skipped\n", $2, $3, $4, $5 }' "$logs/results"
awk '{ s += $5 } END { printf "%d skipped\n", s }' \
	"$logs/results"
awk '{ p += $3; f += $4 } END { printf "%d passed, %d failed\n", p, f }' \
	"$logs/results" | tee "$logs/summary"
exit $status
