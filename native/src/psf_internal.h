/* Helpers shared by the shim's source files; not part of the ABI. */
#ifndef PSF_INTERNAL_H
#define PSF_INTERNAL_H

#include "psf.h"

/* Records a printf-style message as this thread's last error and returns status, so a
 * failure path reads: return psf_fail(PSF_E_INVALID, "count %llu too large", n); */
int32_t psf_fail(int32_t status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The same with ": <strerror(errno)> (errno N)" appended; returns PSF_E_SYSTEM. */
int32_t psf_fail_errno(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t psf_now_ns(void);

/* The deadline of a wait of timeout_ns: a negative timeout waits for ever (INT64_MAX). */
int64_t psf_deadline(int64_t timeout_ns);

#endif
