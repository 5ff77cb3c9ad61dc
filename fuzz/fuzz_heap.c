/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the fuzz input drives the core heap's shadow model
 * (tests/heap_model.c), valid operations and misuse alike. Byte 0 picks
 * the region layout and the policy, byte 1 the index size (bit 0: an index
 * much smaller than the regions, so free space comes in max_block pieces).
 * Every 9 following bytes are one step: an op byte and two 32-bit random
 * words. An op byte of 0xe0 or more is a misuse (stale, interior,
 * misaligned, foreign or outside pointer, through free, realloc, resize or
 * usable_size: reported, nothing changed); anything else a valid operation.
 * Any model violation aborts, which libFuzzer reports as a crash with the
 * input that reproduces it. Built twice: fuzz_heap (the default, hardening
 * level 1) and fuzz_heap2 (level 2: canaries and poison). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_model.h"
#include "kheap/config.h"

static _Alignas(64) unsigned char arena[8u << 20];
static _Alignas(64) unsigned char other[64u << 10];
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
    if (size < 2) return 0;
    unsigned layout = data[0], opts = data[1];
    /* Small heaps make failures and max_block splitting common. */
    size_t bytes = (layout & 0x80) ? sizeof(arena) : (64u << 10) << (layout & 7);
    /* Level 2 poisons and checks every free byte: smaller heaps, more runs. */
    if (KH_CONFIG_HARDEN >= 2 && bytes > (1u << 20)) bytes = 1u << 20;
    size_t index = (opts & 1) ? (size_t)4096 << (opts >> 1 & 3) : 0;
    if (heap_model_init_ex(&model, arena, bytes, 1 + (layout >> 3 & 3), (layout >> 5) & 1, index) !=
        0)
        return 0;
    if (heap_model_set_foreign(&model, other, sizeof(other)) != 0) __builtin_trap();
    /* Bit 6: the relocating-shrink policy (a KH_HEAP_FULL=0 build has none). */
    if ((layout & 0x40) && KH_HEAP_FULL && !kheap_set_policy(model.h, KHEAP_SHRINK_MOVES))
        __builtin_trap();
    data += 2, size -= 2;
    for (size_t i = 0; i + 9 <= size; i += 9) {
        uint32_t a = rd32(data + i + 1), b = rd32(data + i + 5);
        if (data[i] >= 0xe0 && KH_CONFIG_HARDEN > 0)
            heap_model_misuse(&model, data[i] & 7, a, b);
        else
            heap_model_step(&model, data[i], a, b);
        if ((i / 9) % 64 == 0) heap_model_verify(&model);
        check();
    }
    heap_model_check_collisions(&model);
    heap_model_finish(&model);
    check();
    return 0;
}
