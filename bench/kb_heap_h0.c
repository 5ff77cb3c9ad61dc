/* SPDX-License-Identifier: MIT */
/* kheap benchmark: the core heap as the unchecked build (KH_CONFIG_CHECKS=0, hardening level 0),
 * beside the default build (bench/kb_heapvar.h). */
#define KH_CONFIG_CHECKS 0
#define KH_CONFIG_HARDEN 0
#define KBV_SYM(x)       kbh0_##x
#define KBV_NAME         "kheap-h0"
#define KBV_VAR          kb_kheap_h0
#include "kb_heapvar.h"
