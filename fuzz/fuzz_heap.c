/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the fuzz input drives the core heap's shadow model
 * (tests/heap_model.c). The first byte picks the region layout and the
 * policy; every 9 following bytes are one operation (op, and two 32-bit
 * random words). Any model violation aborts, which libFuzzer reports as a
 * crash with the input that reproduces it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_model.h"
#include "kheap/config.h"

static _Alignas(64) unsigned char arena[8u << 20];
static struct heap_model model;

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check(void)
{
    if (model.error) {
        fprintf(stderr, "heap model violation: %s\n", model.error);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned layout = data[0];
    /* Small heaps make failures and max_block splitting common. */
    size_t bytes = (layout & 0x80) ? sizeof(arena) : (64u << 10) << (layout & 7);
    if (heap_model_init(&model, arena, bytes, 1 + (layout >> 3 & 3), (layout >> 5) & 1) != 0)
        return 0;
    /* Bit 6: the relocating-shrink policy (a KH_HEAP_FULL=0 build has none). */
    if ((layout & 0x40) && KH_HEAP_FULL && !kheap_set_policy(model.h, KHEAP_SHRINK_MOVES))
        __builtin_trap();
    data++, size--;
    for (size_t i = 0; i + 9 <= size; i += 9) {
        heap_model_step(&model, data[i], rd32(data + i + 1), rd32(data + i + 5));
        if ((i / 9) % 64 == 0) heap_model_verify(&model);
        check();
    }
    heap_model_finish(&model);
    check();
    return 0;
}
