# SPDX-License-Identifier: GPL-2.0
#
# The report of 'make bench': a table of the medians of bench.csv with
# the ratio of each peer to /dev/ioasid, then the performance targets,
# each met or missed.  The second input, the bench console, gives the
# IOPTE sizes ioasid-bench saw for huge pages.
#
# usage: awk -F, -f table.awk bench.csv bench.ktap

function has(c, i) { return (c SUBSEP i) in med }

function cell(c, i) { return has(c, i) ? sprintf("%11.1f", med[c, i]) : sprintf("%11s", "-") }

function ratio(c, i) {
	if (!has(c, i) || !has(c, "ioasid") || med[c, "ioasid"] <= 0)
		return sprintf("%9s", "-")
	return sprintf("%9.2f", med[c, i] / med[c, "ioasid"])
}

# The faster of the two peers, or 0 if neither ran.
function fastest(c) {
	if (has(c, "iommufd") && has(c, "type1"))
		return med[c, "iommufd"] < med[c, "type1"] ? med[c, "iommufd"] : med[c, "type1"]
	if (has(c, "iommufd"))
		return med[c, "iommufd"]
	return has(c, "type1") ? med[c, "type1"] : 0
}

# One target: ioasid's median over another's must be at most max.
function target(what, c, num, den, max) {
	ntargets++
	if (num <= 0 || den <= 0) {
		printf "  %-44s %8s  <= %-5s MISSED (no figure)\n", what, "-", max
		missed++
		return
	}
	printf "  %-44s %8.2f  <= %-5s %s\n", what, num / den, max, num / den <= max ? "met" : "MISSED"
	if (num / den > max)
		missed++
}

# The size at the end of a case's name, in KiB.
function size_kb(c,    s, n) {
	s = c
	sub(/.*_/, "", s)
	n = s + 0
	if (s ~ /G$/)
		return n * 1048576
	if (s ~ /M$/)
		return n * 1024
	return n
}

FNR == NR {
	if (FNR == 1)
		next
	if (!(($1) in seen)) {
		seen[$1] = 1
		order[++ncases] = $1
	}
	med[$1, $2] = $3
	next
}

/^# iopte / {
	split($0, w, " ")
	c = w[3]
	sub(/:$/, "", c)
	iopte_n[c] = w[4]
	iopte_kb[c] = w[9]
}

END {
	printf "%-28s %11s %11s %11s %11s %9s %9s %9s\n", "case", "ioasid", "iommufd",
	       "type1", "floor", "iommufd/", "type1/", "floor/"
	printf "%-28s %11s %11s %11s %11s %9s %9s %9s\n", "(median of wall-clock us)", "", "",
	       "", "", "ioasid", "ioasid", "ioasid"
	for (k = 1; k <= ncases; k++) {
		c = order[k]
		printf "%-28s %s %s %s %s %s %s %s\n", c, cell(c, "ioasid"), cell(c, "iommufd"),
		       cell(c, "type1"), cell(c, "floor"), ratio(c, "iommufd"), ratio(c, "type1"),
		       ratio(c, "floor")
	}

	print ""
	print "targets (ratios of medians from this run):"
	c = "map_unmap_4k_256M"
	target(c " ioasid/iommufd", c, med[c, "ioasid"], med[c, "iommufd"], 0.67)
	target(c " ioasid/type1", c, med[c, "ioasid"], med[c, "type1"], 0.3)
	target(c " ioasid/floor", c, med[c, "ioasid"], med[c, "floor"], 1.5)
	c = "small_10000x4k"
	target(c " ioasid/faster peer", c, med[c, "ioasid"], fastest(c), 0.67)
	c = "map_unmap_thp_256M"
	target(c " ioasid/iommufd", c, med[c, "ioasid"], med[c, "iommufd"], 0.5)
	c = "map_unmap_hugetlb_256M"
	target(c " ioasid/iommufd", c, med[c, "ioasid"], med[c, "iommufd"], 0.5)
	target("two_domains_mock_64M/one_domain_mock_64M", "",
	       med["two_domains_mock_64M", "ioasid"], med["one_domain_mock_64M", "ioasid"], 1.3)
	# A BAR maps as device memory, type1 walks its VMA page by page.
	c = "map_unmap_bar_256M"
	target(c " ioasid/type1", c, med[c, "ioasid"], med[c, "type1"], 0.02)
	# Many ranges per call: against type1's one call per range, and
	# against pinning the same pages one by one; unattached, with no
	# IOMMU work, against the same floor.
	target("vec256_10000x4k ioasid/small_10000x4k type1", "",
	       med["vec256_10000x4k", "ioasid"], med["small_10000x4k", "type1"], 0.3)
	target("vec256_10000x4k ioasid/floor", "",
	       med["vec256_10000x4k", "ioasid"], med["vec256_10000x4k", "floor"], 1.5)
	target("vec256_unattached_10000x4k ioasid/vec256_10000x4k floor", "",
	       med["vec256_unattached_10000x4k", "ioasid"],
	       med["vec256_10000x4k", "floor"], 1.5)
	# A file mapped by file: no slower than ioasid's own mapping of a
	# view of it, and twice as fast as iommufd's.
	split("shmem_256M hugetlb_1G", files, " ")
	for (k = 1; k <= 2; k++) {
		f = "map_file_" files[k]
		v = "map_view_" files[k]
		target(f " ioasid/" v " ioasid", "", med[f, "ioasid"], med[v, "ioasid"], 1.0)
		target(f " ioasid/" v " iommufd", "", med[f, "ioasid"], med[v, "iommufd"], 0.5)
	}
	for (k = 1; k <= ncases; k++) {
		c = order[k]
		if (c == "map_unmap_4k_256M" || c == "small_10000x4k" ||
		    c == "map_unmap_thp_256M" || c == "map_unmap_hugetlb_256M" ||
		    c == "map_unmap_bar_256M" ||
		    !has(c, "iommufd") && !has(c, "type1"))
			continue
		target(c " ioasid/faster peer", c, med[c, "ioasid"], fastest(c), 1.0)
	}
	# Huge pages must reach the IOMMU as 2 MiB IOPTEs, each of them.
	for (k = 1; k <= ncases; k++) {
		c = order[k]
		if (c !~ /_(thp|hugetlb)_/)
			continue
		ntargets++
		if (!(c in iopte_kb)) {
			printf "  %-44s %8s  MISSED (no IOPTE report)\n", c " IOPTEs", "-"
			missed++
		} else if (iopte_kb[c] < 2048 || iopte_n[c] > size_kb(c) / 2048) {
			printf "  %-44s %d IOPTEs, the first of %d KiB: MISSED\n", c " IOPTEs",
			       iopte_n[c], iopte_kb[c]
			missed++
		} else {
			printf "  %-44s %d IOPTEs of %d KiB (mock domain): met\n", c " IOPTEs",
			       iopte_n[c], iopte_kb[c]
		}
	}
	printf "%d of %d targets missed\n", missed, ntargets
}
