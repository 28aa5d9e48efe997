# SPDX-License-Identifier: GPL-2.0
#
# bench.csv as an SVG grouped bar chart: one group per case, one bar per
# implementation, on a logarithmic axis since the cases span from
# microseconds to seconds.
#
# usage: awk -F, -f plot.awk bench.csv > bench.svg

function lg(v) { return log(v) / log(10) }

function x(v) { return left + width * (lg(v) - lo) / (hi - lo) }

function human(us) {
	if (us >= 1e6)
		return sprintf("%.3g s", us / 1e6)
	if (us >= 1e3)
		return sprintf("%.3g ms", us / 1e3)
	return sprintf("%.3g us", us)
}

BEGIN {
	nimpls = split("ioasid iommufd type1 floor", impl, " ")
	split("#1f77b4 #ff7f0e #2ca02c #8c8c8c", colour, " ")
	left = 190; width = 620; bar = 9; gap = 10; top = 70
}

NR > 1 {
	if (!(($1) in seen)) {
		seen[$1] = 1
		order[++ncases] = $1
	}
	med[$1, $2] = $3
	if ($3 > 0 && (min == "" || $3 < min))
		min = $3
	if ($3 > max)
		max = $3
}

END {
	lo = int(lg(min)); if (lo > lg(min)) lo--
	hi = int(lg(max)); if (hi < lg(max)) hi++
	if (hi == lo) hi++
	# Each group is as tall as the bars it has.
	y = top
	for (k = 1; k <= ncases; k++) {
		c = order[k]
		ystart[k] = y
		for (i = 1; i <= nimpls; i++)
			if ((c SUBSEP impl[i]) in med)
				y += bar
		y += gap
	}
	height = y + 40

	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" ", left + width + 90, height
	printf "font-family=\"sans-serif\" font-size=\"11\">\n"
	printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
	printf "<text x=\"%d\" y=\"20\" font-size=\"14\">/dev/ioasid, iommufd, VFIO type1 and the pin-only floor: median time per case (log scale)</text>\n", 10
	for (i = 1; i <= nimpls; i++) {
		printf "<rect x=\"%d\" y=\"32\" width=\"12\" height=\"12\" fill=\"%s\"/>", left + (i - 1) * 110, colour[i]
		printf "<text x=\"%d\" y=\"42\">%s</text>\n", left + (i - 1) * 110 + 16, impl[i]
	}
	for (d = lo; d <= hi; d++) {
		printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>", x(10 ^ d), top - 6, x(10 ^ d), y
		printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n", x(10 ^ d), y + 14, human(10 ^ d)
	}
	for (k = 1; k <= ncases; k++) {
		c = order[k]
		yy = ystart[k]
		n = 0
		for (i = 1; i <= nimpls; i++)
			if ((c SUBSEP impl[i]) in med)
				n++
		printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 6, yy + n * bar / 2 + 4, c
		for (i = 1; i <= nimpls; i++) {
			if (!((c SUBSEP impl[i]) in med))
				continue
			v = med[c, impl[i]]
			w = v > 0 ? x(v) - left : 0
			printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s %s: %s</title></rect>", left, yy, w, bar - 1, colour[i], c, impl[i], human(v)
			printf "<text x=\"%.1f\" y=\"%d\" font-size=\"8\" fill=\"#333\">%s</text>\n", left + w + 3, yy + bar - 2, human(v)
			yy += bar
		}
	}
	printf "<text x=\"%d\" y=\"%d\" fill=\"#555\">median wall-clock time in the TCG guest; only ratios within one run mean anything</text>\n", left, y + 32
	print "</svg>"
}
