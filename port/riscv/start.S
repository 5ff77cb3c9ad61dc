/* SPDX-License-Identifier: MIT */
/* RISC-V machine-mode entry for QEMU virt with -bios none: every hart starts
 * at _start with its id in mhartid. Each hart gets its own stack; hart 0
 * clears .bss, then releases the others and runs main(); the others run
 * kh_rv_secondary() (the SMP test) or park. */
#define KH_RV_MAX_HARTS  4
#define KH_RV_STACK_SIZE 0x10000

/* CSR instructions: GCC 12 wants Zicsr named, but naming it in -march would
 * lose the rv32imac/rv64imac libgcc multilib. */
    .option arch, +zicsr

#if __riscv_xlen == 64
#define REG_S sd
#define REG_SIZE 8
#else
#define REG_S sw
#define REG_SIZE 4
#endif

    .section .text.start, "ax", @progbits
    .global _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    csrw mie, zero
    la t0, kh_rv_trap_entry
    csrw mtvec, t0

    csrr a0, mhartid
    li t1, KH_RV_MAX_HARTS
    bgeu a0, t1, park
    la sp, kh_rv_stacks
    li t1, KH_RV_STACK_SIZE
    addi t2, a0, 1
    mul t1, t1, t2
    add sp, sp, t1
    bnez a0, secondary

    la t0, _sbss
    la t1, _ebss
1:  bgeu t0, t1, 2f
    REG_S zero, 0(t0)
    addi t0, t0, REG_SIZE
    j 1b
2:  fence rw, rw
    la t0, kh_rv_released
    li t1, 1
    sw t1, 0(t0)
    call kh_rv_boot
    j park

secondary:
    /* Wait until hart 0 has cleared .bss (kh_rv_released lives in .data). */
    la t0, kh_rv_released
3:  lw t1, 0(t0)
    beqz t1, 3b
    fence rw, rw
    call kh_rv_secondary
park:
    wfi
    j park

/* Any trap is a bug here (no interrupts are enabled): report and exit. */
    .text
    .balign 4
kh_rv_trap_entry:
    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    call kh_rv_trap
    j park

/* One stack per hart, outside .bss so clearing .bss leaves them alone. */
    .section .kh_stacks, "aw", @nobits
    .balign 16
kh_rv_stacks:
    .space KH_RV_MAX_HARTS * KH_RV_STACK_SIZE
