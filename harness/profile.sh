#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 'make profile CASE=NAME': where the kernel spends the time of one case of
# tools/ioasid/ioasid-bench.  Boots the bench kernel as 'make bench' does,
# runs the case under this machine's perf (Debian's linux-perf, copied
# into the VM with the libraries it needs), and prints the functions by
# their own share of the samples and by the share of what they call.
# The bench kernel has no kallsyms: it boots with nokaslr, and the
# addresses are named here from its System.map.  Under TCG the shares,
# not the times, are what mean something.
#
# usage: harness/profile.sh OUT_DIR CASE [ROW [ITERATIONS]]
# ROW, if given, keeps only the case's rows of that name, or of that
# implementation (ioasid, iommufd, type1, floor): ROW or ROW/IMPL.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "$1" && pwd)
case_name=$2
row=${3:-}
iterations=${4:-20}
select=
case $row in
*/*) select="-r ${row%/*} -i ${row#*/}" ;;
?*) select="-r $row" ;;
esac
dir=$out/profile
map=$out/build-bench/System.map

perf=$(command -v perf) || {
	echo "profile: no perf; installing linux-perf"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf > /dev/null
	perf=$(command -v perf)
}
perf=$(readlink -f "$perf")
[ -f "$map" ] || { echo "profile: no $map (make bench builds it)" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$dir/extra/lib" "$out/bench/progs"
make -s -C "$out/linux/tools/ioasid" OUTPUT="$out/bench/progs/" \
	CFLAGS="-O2 -Wall -isystem $out/build-bench/usr/include" \
	LDFLAGS=-static "$out/bench/progs/ioasid-bench"

# perf and every library it links, run through their own loader.
cp "$perf" "$dir/extra/perf.bin"
ldd "$perf" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' |
	while read -r lib; do
		[ -f "$lib" ] && cp -L "$lib" "$dir/extra/lib/"
	done
cat > "$dir/extra/perf" <<'SH'
#!/bin/sh
d=/extra
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/perf.bin" "$@"
SH
cat > "$dir/extra/run" <<SH
#!/bin/sh
/extra/perf record -q -e cpu-clock -F 4000 -g -o /tmp/perf.data -- \\
	/tests/ioasid-bench -c $case_name $select -n $iterations
for children in --no-children --children; do
	echo "### profile \$children"
	/extra/perf report -i /tmp/perf.data --stdio \$children --sort sym \\
		-g none --percent-limit 1 2> /dev/null | grep -v '^#' | grep .
done
SH
chmod +x "$dir/extra/perf" "$dir/extra/run"

echo "profile: $case_name${row:+ ($row)}, $iterations iterations of each row, in the VM"
EXTRA=$dir/extra CMD=/extra/run VFIO_EDU=1 MEM=3G CMDLINE=nokaslr \
	DEVICES="-device edu -object memory-backend-ram,id=hm,size=256M
	-device ivshmem-plain,memdev=hm" \
	"$repo/harness/vm.sh" "$out" bench custom > "$dir/vm.log" 2>&1 ||
	{ tail -n 5 "$dir/vm.log" >&2; exit 1; }

# Name each kernel address after the text symbol it falls in.  perf sorts
# by address, so a function shows once per address it was sampled at (or,
# with --children, called from): its rows are summed into one.
python3 - "$map" "$out/logs/custom.ktap" > "$dir/$case_name.txt" <<'PY'
import bisect, re, sys
syms = sorted((int(a, 16), n) for a, t, n in
              (l.split()[:3] for l in open(sys.argv[1])) if t in 'tTwW')
keys = [a for a, _ in syms]
def name(m):
    i = bisect.bisect_right(keys, int(m.group(0), 16)) - 1
    return syms[i][1] if i >= 0 else m.group(0)
row = re.compile(r'\s*([\d.]+)%\s+(?:([\d.]+)%\s+)?(\[.\]) (\S+)')
sums = None
def flush():
    for fn, pct in sorted(sums.items(), key=lambda kv: -kv[1][0]):
        self_pct = '' if pct[1] is None else '%8.2f%%' % pct[1]
        print('%8.2f%%%s  %s' % (pct[0], self_pct, fn))
for line in open(sys.argv[2]):
    if line.startswith('['):
        continue
    line = re.sub(r'0xffffffff[0-9a-f]{8}', name, line)
    m = row.match(line)
    if sums is not None and m:
        old = sums.get(m.group(4), [0.0, None])
        self_pct = m.group(2) and (old[1] or 0.0) + float(m.group(2))
        sums[m.group(4)] = [old[0] + float(m.group(1)), self_pct]
        continue
    if sums is not None:
        flush()
        sums = None
    if line.startswith('### profile'):
        sums = {}
    print(line, end='')
PY
sed -n '/^### profile/,/^### exit/p' "$dir/$case_name.txt"
echo "profile: $dir/$case_name.txt"
