# SPDX-License-Identifier: GPL-2.0
#
# /dev/ioasid: build the kernel with the subsystem and run it in QEMU.
# 'make help' lists the targets.  Everything built lives under $(OUT).

OUT ?= out
H := harness
SHELL := /bin/bash

# What each step depends on, so that an unchanged repository rebuilds nothing.
TREE_INPUTS := $(shell find drivers include Documentation tools patches -type f 2>/dev/null) \
	$(H)/tree.sh
KERNEL_INPUTS := $(shell find drivers include patches -type f 2>/dev/null) \
	$(wildcard $(H)/configs/*.config) $(H)/kernel.sh
PROG_INPUTS := $(shell find tools include/uapi $(H)/l2 -type f 2>/dev/null) $(H)/progs.sh \
	$(H)/guest/vm_abi.c

TREE_STAMP := $(OUT)/tree-state/assembled
KERNEL := $(OUT)/build-test/arch/x86/boot/bzImage
BENCH_KERNEL := $(OUT)/build-bench/arch/x86/boot/bzImage
PROGS_STAMP := $(OUT)/progs/.built

.PHONY: help deps tree kernel progs check run run-qemu shell vm fuzz lint bench profile series series-check series-test \
	clean distclean

help:
	@echo "make run        build, boot the VM and walk through what a VMM does"
	@echo "make run-qemu   QEMU in the VM assigns edu to a guest, through VFIO type1 and /dev/ioasid"
	@echo "make check      run every test suite; ends with 'N passed, N failed'"
	@echo "make check SUITES='uapi'   run only the named suites (harness/suites/)"
	@echo "make shell      an interactive shell in the test VM"
	@echo "make vm EXTRA=dir CMD='prog args'   run your own static programs in the VM"
	@echo "                vm and shell take DEVICES='qemu args' IOMMU=vtd|amd|virtio|none"
	@echo "                SNOOP=on|off MEM=2G CMDLINE='kernel args' VFIO_EDU=0|1 (README.md)"
	@echo "make fuzz SEED=1 OPS=2500   one ioasid_fuzz run in the VM (RUNS=n: seeds SEED..)"
	@echo "make tree       the patched kernel tree, in $(OUT)/linux"
	@echo "make kernel     build the test kernel"
	@echo "make lint       checkpatch --strict and kernel-doc on the new files"
	@echo "make bench      time /dev/ioasid against iommufd and VFIO type1 (bench kernel);"
	@echo "                prints a table and the paths of bench.csv and bench.svg"
	@echo "make profile CASE=small_10000x4k   one bench case under perf, by function;"
	@echo "                ROW=NAME or ROW=NAME/IMPL keeps one of its rows"
	@echo "make series    the patch series for review, in $(OUT)/series, checkpatch-clean"
	@echo "make series-check   git am each patch of the series in turn and build it"
	@echo "make series-test    boot each point of the series that has selftests and run them"
	@echo "make clean / distclean"

deps:
	@$(H)/deps.sh

$(TREE_STAMP): $(TREE_INPUTS) | deps
	@$(H)/tree.sh $(OUT)
	@touch $@

tree: deps $(TREE_STAMP)

$(KERNEL): $(TREE_STAMP) $(KERNEL_INPUTS)
	@$(H)/kernel.sh $(OUT) test
	@touch $@

kernel: tree $(KERNEL)

$(PROGS_STAMP): $(KERNEL) $(PROG_INPUTS)
	@$(H)/progs.sh $(OUT) test
	@touch $@

progs: kernel $(PROGS_STAMP)

check: progs
	@$(H)/check.sh $(OUT) $(SUITES)

lint: tree
	@mkdir -p $(OUT)/logs && rm -f $(OUT)/logs/results
	@$(H)/lint.sh $(OUT)

run: progs
	@$(H)/vm.sh $(OUT) test walkthrough

run-qemu: progs
	@$(H)/vm.sh $(OUT) test qemu

# The VM shape of 'make vm' and 'make shell', from the command line; an
# empty one is vm.sh's default.
VM_SHAPE = DEVICES="$(DEVICES)" IOMMU="$(IOMMU)" SNOOP="$(SNOOP)" MEM="$(MEM)" \
	CMDLINE="$(CMDLINE)" VFIO_EDU="$(VFIO_EDU)"

shell: progs
	@EXTRA="$(EXTRA)" $(VM_SHAPE) $(H)/vm.sh $(OUT) test shell

vm: progs
	@EXTRA="$(EXTRA)" CMD="$(CMD)" $(VM_SHAPE) $(H)/vm.sh $(OUT) test custom

# The fuzzer of the selftests, seeded, in the VM of 'make vm' with two edu
# devices (DEVICES and the other VM_SHAPE variables change that).
SEED ?= 1
OPS ?= 2500
RUNS ?= 1
fuzz: DEVICES ?= -device edu -device edu
fuzz: progs
	@CMD="ioasid_fuzz --seed $(SEED) --ops $(OPS) --runs $(RUNS)" $(VM_SHAPE) \
		$(H)/vm.sh $(OUT) test custom

$(BENCH_KERNEL): $(TREE_STAMP) $(KERNEL_INPUTS)
	@$(H)/kernel.sh $(OUT) bench
	@touch $@

bench: tree $(BENCH_KERNEL)
	@$(H)/bench.sh $(OUT)

# One case of the benchmark under perf, in the bench VM: CASE=small_10000x4k.
CASE ?= small_10000x4k
profile: tree $(BENCH_KERNEL)
	@$(H)/profile.sh $(OUT) $(CASE) $(ROW)

series: deps
	@$(H)/series.sh $(OUT)/series

# Builds each prefix of the series with the test kernel's configuration.
series-check: deps
	@$(H)/series.sh --check $(OUT)/series $(OUT)/build-test/.config

# Boots each point of the series that has selftests and runs them in the VM
# (FIRST=n LAST=m: those patches only).
series-test: deps
	@$(H)/series.sh --test $(OUT)/series $(OUT)/build-test/.config $(FIRST) $(LAST)

clean:
	rm -rf $(OUT)/build-* $(OUT)/progs $(OUT)/selftests $(OUT)/tools $(OUT)/vm $(OUT)/logs \
		$(OUT)/bench

distclean:
	rm -rf $(OUT)
