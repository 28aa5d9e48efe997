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

	.bss
	.balign	16
	.skip	16384
stack_top:

	.section .note.GNU-stack, "", @progbits
