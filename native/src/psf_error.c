#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "psf_internal.h"

#if defined(_MSC_VER)
#  define PSF_THREAD_LOCAL __declspec(thread)
#else
#  define PSF_THREAD_LOCAL _Thread_local
#endif

/* 512 bytes: room for a path and an errno text; longer messages are cut, never overflowed. */
static PSF_THREAD_LOCAL char s_last_error[512];

const char *psf_last_error(void) { return s_last_error; }

void psf_last_error_clear(void) { s_last_error[0] = '\0'; }

int32_t psf_fail(int32_t status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(s_last_error, sizeof s_last_error, format, args);
    va_end(args);
    return status;
}

int32_t psf_fail_errno(const char *format, ...)
{
    int saved = errno;
    va_list args;
    va_start(args, format);
    int written = vsnprintf(s_last_error, sizeof s_last_error, format, args);
    va_end(args);
    if (written >= 0 && (size_t)written < sizeof s_last_error) {
        snprintf(s_last_error + written, sizeof s_last_error - (size_t)written, ": %s (errno %d)",
                 strerror(saved), saved);
    }
    errno = saved;
    return PSF_E_SYSTEM;
}
