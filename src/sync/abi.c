/* SPDX-License-Identifier: MIT */
/* The link-time configuration check (kheap/abi.h): the library defines one
 * symbol per checked option, named after the value it was built with;
 * programs compiled with another value refer to a symbol that does not exist. */
#include "kheap/abi.h"
#include "kheap/config.h"
#include "kheap/spinlock.h"

#define KH__ABI_DEFINE(sym)                                                                        \
    extern const char sym;                                                                         \
    const char sym = 1;

#if KH_CONFIG_CHECKS
KH__ABI_DEFINE(kh_abi_KH_CONFIG_CHECKS_1)
#else
KH__ABI_DEFINE(kh_abi_KH_CONFIG_CHECKS_0)
#endif

#if KH_CONFIG_SPINLOCK_DEBUG
KH__ABI_DEFINE(kh_abi_KH_CONFIG_SPINLOCK_DEBUG_1)
#else
KH__ABI_DEFINE(kh_abi_KH_CONFIG_SPINLOCK_DEBUG_0)
#endif

#if KH_ATOMIC64_MODE == KH_ATOMIC64_NATIVE
KH__ABI_DEFINE(kh_abi_KH_ATOMIC64_MODE_1)
#elif KH_ATOMIC64_MODE == KH_ATOMIC64_LOCK
KH__ABI_DEFINE(kh_abi_KH_ATOMIC64_MODE_2)
#elif KH_ATOMIC64_MODE == KH_ATOMIC64_IRQ
KH__ABI_DEFINE(kh_abi_KH_ATOMIC64_MODE_3)
#else
KH__ABI_DEFINE(kh_abi_KH_ATOMIC64_MODE_0)
#endif
