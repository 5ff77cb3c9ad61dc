/* SPDX-License-Identifier: MIT */
/* kheap error codes and the misuse-reporting hook.
 *
 * Results that are not pointers are int: 0 on success or a negative KH_E*
 * code. Pointer results are NULL on failure. Nothing in kheap aborts.
 *
 * The codes (enum kh_error), the hook (kh_set_error_hook, kh_report) and
 * their contract are declared in kheap/heap.h, the header every layer builds
 * on; this header adds their names.
 */
#ifndef KHEAP_ERROR_H
#define KHEAP_ERROR_H

#include "kheap/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Short static name of an error code ("KH_ENOMEM"); every code of enum
 * kh_error has one, anything else is "KH_E?". */
const char *kh_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* KHEAP_ERROR_H */
