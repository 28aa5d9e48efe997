/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Multiboot entry of edu-l2.elf.  The loader leaves us in flat 32-bit
 * protected mode with paging and interrupts off, EAX = the multiboot
 * magic, EBX = the physical address of the multiboot information.
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000003	/* page-aligned modules, memory info */

	.section .multiboot, "a"
	.balign 4
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.text
	.globl	_start
_start:
	movl	$stack_top, %esp
	pushl	%ebx
	pushl	%eax
	call	l2_main
1:	cli
	hlt
	jmp	1b

/*
 * One 16-byte stub per vector of the IDT that l2_main() loads: push the
 * vector and report.  No event is expected (interrupts stay off), so any
 * that comes is a fault of the guest or of a virtualisation layer, shown
 * instead of lost: the loader's IDT is the real-mode one, whose entries
 * would send the CPU anywhere.
 */
	.balign	16
	.globl	trap_stubs
trap_stubs:
	vector = 0
	.rept	256
	.balign	16
	pushl	$vector
	jmp	trap_common
	vector = vector + 1
	.endr

trap_common:
	/* l2_trap(frame): the vector, then what the CPU pushed. */
	pushl	%esp
	call	l2_trap
	jmp	1b

	.bss
	.balign	16
	.skip	16384
stack_top:

	.section .note.GNU-stack, "", @progbits
