/* SPDX-License-Identifier: MIT */
/* Error names (kheap/error.h). The codes and the hook are in kheap/heap.h;
 * the hook itself lives in heap.c, so the core heap stands alone. */
#include "kheap/error.h"

const char *kh_strerror(int code)
{
    switch (code) {
    case KH_OK:
        return "KH_OK";
    case KH_ENOMEM:
        return "KH_ENOMEM";
    case KH_EINVAL:
        return "KH_EINVAL";
    case KH_EOVERFLOW:
        return "KH_EOVERFLOW";
    case KH_EFAULT:
        return "KH_EFAULT";
    case KH_EDOUBLE:
        return "KH_EDOUBLE";
    case KH_ECORRUPT:
        return "KH_ECORRUPT";
    case KH_EBUSY:
        return "KH_EBUSY";
    case KH_ERANGE:
        return "KH_ERANGE";
    case KH_ENOENT:
        return "KH_ENOENT";
    case KH_EHEAP_BLOCK:
        return "KH_EHEAP_BLOCK";
    case KH_EHEAP_FLAGS:
        return "KH_EHEAP_FLAGS";
    case KH_EHEAP_ADJ:
        return "KH_EHEAP_ADJ";
    case KH_EHEAP_LIST:
        return "KH_EHEAP_LIST";
    case KH_EHEAP_BITMAP:
        return "KH_EHEAP_BITMAP";
    case KH_EHEAP_STATS:
        return "KH_EHEAP_STATS";
    case KH_EHEAP_CANARY:
        return "KH_EHEAP_CANARY";
    case KH_EHEAP_POISON:
        return "KH_EHEAP_POISON";
    default:
        return "KH_E?";
    }
}
