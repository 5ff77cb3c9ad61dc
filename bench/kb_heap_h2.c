/* SPDX-License-Identifier: MIT */
/* kheap benchmark: the core heap as hardening level 2 (KH_CONFIG_HARDEN=2: canaries, poisoned free
 * memory), beside the default build (bench/kb_heapvar.h). */
#define KH_CONFIG_CHECKS 1
#define KH_CONFIG_HARDEN 2
#define KBV_SYM(x)       kbh2_##x
#define KBV_NAME         "kheap-h2"
#define KBV_VAR          kb_kheap_h2
#include "kb_heapvar.h"
