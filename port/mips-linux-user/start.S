/* SPDX-License-Identifier: MIT */
/* Process entry for big-endian MIPS32 Linux (o32 ABI), static, no libc.
 * The kernel (here qemu-mips) has already mapped the program, zeroed .bss
 * (the ELF loader does that for a static binary) and set $sp to a stack
 * holding argc/argv/envp; nothing else is set up. Built with -fno-pic
 * -mno-abicalls, so code needs no $gp for calls; $gp is still loaded with
 * _gp (from ld.lld) in case the compiler puts data in small-data sections. */
    .text
    .set noreorder
    .global __start
    .type __start, @function
__start:
    lui $gp, %hi(_gp)
    addiu $gp, $gp, %lo(_gp)
    /* o32: 8-byte aligned stack, and the caller reserves 16 bytes where the
     * callee may spill its four argument registers. */
    li $t0, -8
    and $sp, $sp, $t0
    addiu $sp, $sp, -16
    jal kh_mips_boot
    nop /* branch delay slot */
1:  b 1b /* kh_mips_boot does not return */
    nop
    .size __start, . - __start
