/* SPDX-License-Identifier: MIT */
/* kheap link-time configuration check.
 *
 * A few build options change what a program compiles from kheap's headers,
 * not just the library's own code:
 *   KH_CONFIG_CHECKS          the inline list operations (kheap/list.h)
 *   KH_CONFIG_SPINLOCK_DEBUG  the layout of kh_spinlock_t, and so of every
 *                             struct holding one (kheap/spinlock.h)
 *   KH_ATOMIC64_MODE          how kh_atomic64_t is accessed: the native
 *                             instructions inline, or the library's lock
 *                             fallback (kheap/atomic.h)
 * A program and a library built with different values would disagree
 * silently. So each of those headers refers to a symbol whose name carries
 * the value the program is compiled with, kh_abi_<OPTION>_<value>, and the
 * library defines the symbols of its own build (src/sync/abi.c). A mismatch
 * fails to link and names the option:
 *   undefined reference to `kh_abi_KH_CONFIG_CHECKS_0'
 * means: this program was compiled with KH_CONFIG_CHECKS=0, the library was
 * not. Build both with the same options; an installed library (make install,
 * cmake --install) carries its options in its kheap/config.h.
 *
 * Not checked, because they cannot break a program: options that only change
 * the library's own code (KH_HEAP_*, KH_SLAB_*), and two atomic modes whose
 * inline code differs but stays atomic against the other form:
 * KH_ATOMIC_EMULATE_SUBWORD (a byte or halfword updated by a compare-and-swap
 * on its word, or natively: the CPU keeps both atomic) and KH_ATOMIC_UP_IRQ
 * (interrupts off instead of atomic instructions: only for one CPU, where
 * both exclude each other).
 *
 * Cost: one pointer of read-only data per option in the linked program (one
 * copy however many files include the headers), nothing at run time. The
 * reference survives --gc-sections through the section flag "R"
 * (SHF_GNU_RETAIN), which GCC 11+ with binutils 2.36+ and Clang 13+ have;
 * with older toolchains the check works when linking without --gc-sections.
 * ELF targets with GCC or Clang only. -DKH_CONFIG_ABI_CHECK=0 leaves the
 * references out (e.g. for an assembler without "R").
 */
#ifndef KHEAP_ABI_H
#define KHEAP_ABI_H

#ifndef KH_CONFIG_ABI_CHECK
#if defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define KH_CONFIG_ABI_CHECK 1
#else
#define KH_CONFIG_ABI_CHECK 0
#endif
#endif

#if KH_CONFIG_ABI_CHECK
#if (defined(__clang__) && __clang_major__ >= 13) || (!defined(__clang__) && __GNUC__ >= 11)
#define KH__ABI_RETAIN "R"
#else
#define KH__ABI_RETAIN ""
#endif
/* KH_ABI_REQUIRE(sym), at file scope with no semicolon after it: the
 * program needs sym to link. The address of sym in a retained COMDAT
 * section (one copy per program, never read): read-only data in code built
 * without -fPIC/-fPIE; in position-independent code (PIE executables, shared
 * objects) data the loader relocates once, then makes read-only (RELRO). */
#if defined(__PIC__) || defined(__pic__)
#define KH__ABI_KIND ".data.rel.ro.kh_abi.", "awG"
#else
#define KH__ABI_KIND ".rodata.kh_abi.", "aG"
#endif
#if __SIZEOF_POINTER__ == 8
#define KH__ABI_WORD ".balign 8\n\t.quad "
#else
#define KH__ABI_WORD ".balign 4\n\t.long "
#endif
#define KH__ABI_ASM(prefix, flags, s)                                                              \
    __asm__(".pushsection " prefix s ",\"" flags KH__ABI_RETAIN "\",%progbits," s                  \
            "_ref,comdat\n\t" KH__ABI_WORD s "\n\t.popsection");
#define KH__ABI_ASM2(args)  KH__ABI_ASM args
#define KH_ABI_REQUIRE(sym) KH__ABI_ASM2((KH__ABI_KIND, #sym))
#else
#define KH_ABI_REQUIRE(sym)
#endif

#endif /* KHEAP_ABI_H */
