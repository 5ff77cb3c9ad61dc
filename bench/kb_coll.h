/* SPDX-License-Identifier: MIT */
/* kheap benchmark: collections over the core heap vs glibc (kb_coll.c). */
#ifndef KB_COLL_H
#define KB_COLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Print the table and append CSV rows (allocator,op,n,seconds). */
void kb_collections(void *arena, size_t bytes, bool quick, FILE *csv);

#endif /* KB_COLL_H */
