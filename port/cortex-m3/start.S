/* SPDX-License-Identifier: MIT */
/* Cortex-M vector table. The core loads the initial stack pointer from word
 * 0 and jumps to the reset handler in word 1; every fault goes to one handler
 * that reports and exits, so a crash ends the QEMU run instead of hanging.
 * Assembled as ARMv6-M so the same file starts a Cortex-M0 (the M3-only
 * fault vectors are reserved words there). */
    .syntax unified
    .cpu cortex-m0
    .thumb

    .section .vectors, "a", %progbits
    .global kh_cm3_vectors
    .type kh_cm3_vectors, %object
kh_cm3_vectors:
    .word _stack_top
    .word kh_cm3_reset
    .word kh_cm3_fault /* NMI */
    .word kh_cm3_fault /* HardFault */
    .word kh_cm3_fault /* MemManage */
    .word kh_cm3_fault /* BusFault */
    .word kh_cm3_fault /* UsageFault */
    .word 0, 0, 0, 0
    .word kh_cm3_fault /* SVCall */
    .word kh_cm3_fault /* DebugMonitor */
    .word 0
    .word kh_cm3_fault /* PendSV */
    .word kh_cm3_fault /* SysTick */
    .size kh_cm3_vectors, . - kh_cm3_vectors

/* int kh_cm3_semihost(int op, void *arg): an Arm semihosting call. The
 * debugger (here QEMU with -semihosting-config enable=on) services BKPT 0xAB
 * with the operation in r0 and its argument block in r1; the result is in r0. */
    .text
    .global kh_cm3_semihost
    .type kh_cm3_semihost, %function
    .thumb_func
kh_cm3_semihost:
    bkpt 0xab
    bx lr
    .size kh_cm3_semihost, . - kh_cm3_semihost

/* Every fault: hand the exception frame (on whichever stack was in use) to
 * kh_cm3_fault_report, which prints the faulting pc and exits. */
    .global kh_cm3_fault
    .type kh_cm3_fault, %function
    .thumb_func
kh_cm3_fault:
    movs r1, #4
    mov r2, lr
    mrs r0, msp
    tst r2, r1
    beq 1f
    mrs r0, psp
1:  b kh_cm3_fault_report
    .size kh_cm3_fault, . - kh_cm3_fault
