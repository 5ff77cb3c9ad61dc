/* SPDX-License-Identifier: MIT */
/* kheap memory sources: struct kh_source and struct kh_source_ops, the
 * interface through which a heap, a bump allocator or a slab cache gets more
 * memory when it runs out. Declared in kheap/heap.h (the core heap grows
 * through them and stands alone); ready-made sources are in kheap/sources.h.
 */
#ifndef KHEAP_SOURCE_H
#define KHEAP_SOURCE_H

#include "kheap/heap.h"

#endif /* KHEAP_SOURCE_H */
