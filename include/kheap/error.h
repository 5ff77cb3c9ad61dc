/* kheap error codes and the misuse-reporting hook.
 *
 * Results that are not pointers are int: 0 on success or a negative KH_E*
 * code. Pointer results are NULL on failure. Nothing in kheap aborts.
 *
 * The error hook is how checked builds (KH_CONFIG_CHECKS) report misuse that
 * has no return value to carry it: kheap_free of a pointer the heap never
 * handed out, a double free, a refcount that would overflow. The library
 * reports, refuses the operation and carries on; what happens next (log,
 * panic, ignore) is the hook's decision, never the library's.
 */
#ifndef KHEAP_ERROR_H
#define KHEAP_ERROR_H

#include <stddef.h>

enum kh_error {
    KH_OK = 0,
    KH_ENOMEM = -1,    /* out of memory */
    KH_EINVAL = -2,    /* bad argument: size, alignment, flags, NULL object */
    KH_EOVERFLOW = -3, /* a size computation would wrap */
    KH_EFAULT = -4,    /* pointer not owned by this allocator */
    KH_EDOUBLE = -5,   /* object freed twice */
    KH_ECORRUPT = -6,  /* internal invariant broken (heap metadata overwritten?) */
    KH_EBUSY = -7,     /* object still in use (e.g. destroying a cache with live objects) */
    KH_ERANGE = -8,    /* counter saturated */
    KH_ENOENT = -9,    /* not found */
};

/* Called with the error code, a short static description, and the offending
 * object or pointer (may be NULL). Must not allocate from the allocator that
 * reported the error. */
typedef void (*kh_error_hook_fn)(int code, const char *what, const void *ptr);

/* Install a hook (NULL restores the default, which ignores the report).
 * Returns the previous hook. Not thread-safe: set it once at boot. */
kh_error_hook_fn kh_set_error_hook(kh_error_hook_fn fn);

/* Report misuse through the current hook. Used by every kheap module. */
void kh_report(int code, const char *what, const void *ptr);

/* Short static name of an error code ("KH_ENOMEM"), "KH_E?" for unknown ones. */
const char *kh_strerror(int code);

#endif /* KHEAP_ERROR_H */
