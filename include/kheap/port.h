/* SPDX-License-Identifier: MIT */
/* kheap port hooks: the few things the library needs from a CPU or an OS.
 *
 * Every port defines these functions (the library only declares them):
 *   hosted        port/hosted/port_hosted.c (no interrupts; pause + yield)
 *   bare metal    port/<target>/ (Cortex-M: PRIMASK, RISC-V: mstatus.MIE)
 *
 * They are plain functions, not inlines, so a port can be written in C or
 * assembly and linked in. All of them must be callable from any context the
 * locks are used in (thread, interrupt handler) and must not allocate.
 */
#ifndef KHEAP_PORT_H
#define KHEAP_PORT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Disable interrupts on the calling CPU and return the previous state in an
 * opaque word (e.g. PRIMASK on Cortex-M, mstatus.MIE on RISC-V). Nests: a
 * save inside a save returns "disabled", and the matching restore keeps them
 * disabled. Hosted: no interrupts; a per-thread flag stands in for them so
 * tests can check the pairing. Used by kh_spin_lock_irqsave and by the
 * 64-bit atomic fallback (kheap/atomic.h). */
unsigned long kh_port_irq_save(void);

/* Restore the state kh_port_irq_save returned: re-enables interrupts only if
 * they were enabled at the matching save. */
void kh_port_irq_restore(unsigned long flags);

/* Called in every spin-wait loop iteration. A hint that this CPU is busy
 * waiting: `pause` on x86, `yield` on Arm, nothing (or `pause` with Zihintpause)
 * on RISC-V. The hosted port also yields the thread now and then, so a spinning
 * waiter does not burn a whole time slice while the holder is preempted. */
void kh_port_cpu_relax(void);

/* A nonzero id of the running execution context (thread, or CPU in a kernel).
 * Spin locks record it as the owner in debug builds (KH_CONFIG_SPINLOCK_DEBUG,
 * kheap/spinlock.h); kmalloc uses it to tell a failure inside its own OOM
 * handler (same id: no second call) from one elsewhere (waits for the
 * handler; kheap/kmalloc.h). An interrupt handler must get the id of the
 * context it interrupted, as a CPU id does. A single-core port without
 * threads returns a constant (1): then taking a lock from an interrupt
 * handler that interrupted its holder is reported as recursion, which is
 * exactly the deadlock it is. Hosted: the address of a thread-local. */
unsigned long kh_port_context_id(void);

/* What kh_port_entropy says about the bytes it wrote. */
#define KH_PORT_ENTROPY_WEAK   0 /* a best-effort mix (timers, addresses): guessable */
#define KH_PORT_ENTROPY_STRONG 1 /* from a source an attacker cannot predict */

/* Fill buf with n bytes for secrets: the hash map's per-map SipHash key, the
 * allocators' header and free-list secrets. Always fills all n bytes and
 * returns KH_PORT_ENTROPY_STRONG when they come from an unpredictable source
 * (hosted: the kernel's getrandom()), KH_PORT_ENTROPY_WEAK when they are the
 * port's best effort: a mix of a cycle or timer counter, addresses and a call
 * counter, which differs from call to call but which an attacker who knows
 * the firmware and can estimate its timing may guess. A port on a chip with
 * a hardware random number generator should read it and return STRONG.
 * Must not block, sleep or allocate; called rarely (once per map, once per
 * allocator instance), from thread context. */
int kh_port_entropy(void *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_PORT_H */
