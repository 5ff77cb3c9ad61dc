/* Error hook and error names (see kheap/error.h). */
#include "kheap/error.h"

static kh_error_hook_fn error_hook;

kh_error_hook_fn kh_set_error_hook(kh_error_hook_fn fn)
{
    kh_error_hook_fn old = error_hook;
    error_hook = fn;
    return old;
}

void kh_report(int code, const char *what, const void *ptr)
{
    kh_error_hook_fn fn = error_hook;
    if (fn) fn(code, what, ptr);
}

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
    default:
        return "KH_E?";
    }
}
