/* SPDX-License-Identifier: MIT */
/* The library's version (kheap/version.h). */
#include "kheap/version.h"

const char *kh_version(void)
{
    return KHEAP_VERSION_STRING;
}
