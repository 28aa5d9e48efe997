#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks of the new kernel files, one test per file: checkpatch
# --strict, and kernel-doc for C sources and headers.  Runs in the
# assembled tree so that checkpatch has its spelling and API lists.
#
# usage: harness/lint.sh OUT_DIR
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "$1" && pwd)
tree=$out/linux
log=$out/logs/lint.log
pass=0 fail=0

files=$(cd "$repo" && find drivers include tools Documentation -type f \
	\( -name '*.[ch]' -o -name Kconfig -o -name Makefile -o -name '*.rst' \) | sort)

: > "$log"
for f in $files; do
	problems=$(cd "$tree" && scripts/checkpatch.pl --strict --terse --no-summary \
		--show-types -f "$f" 2>&1)
	case $f in
	*.[ch]) problems+=$(cd "$tree" && scripts/kernel-doc -none -Wall "$f" 2>&1) ;;
	esac
	if [ -z "$problems" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "lint: FAIL: $f"
		echo "$problems" | sed 's/^/lint:   /'
		echo "$problems" >> "$log"
	fi
done
echo "lint: $pass passed, $fail failed (checkpatch --strict, kernel-doc)"
echo "RESULT lint $pass $fail 0" >> "$out/logs/results"
[ $fail = 0 ]
