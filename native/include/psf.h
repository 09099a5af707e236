/*
 * psf.h: the whole ABI of libpsf_native, the C shim of ParameterServer.Fast.
 *
 * Conventions (the managed bindings in ParameterServer.Fast.Core/Interop rely on them):
 *   - every function is psf_<noun>_<verb>; it returns 0 (or a non-negative count) on success
 *     and a negative PSF_E_* status on failure;
 *   - outputs go through pointers; only blittable types cross the boundary;
 *   - on a failure the function may record a message for psf_last_error() (thread-local),
 *     only on cold paths; nothing unwinds across the boundary.
 */
#ifndef PSF_H
#define PSF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(PSF_BUILDING_LIBRARY)
#    define PSF_API __declspec(dllexport)
#  else
#    define PSF_API __declspec(dllimport)
#  endif
#else
#  define PSF_API __attribute__((visibility("default")))
#endif

/* Status codes. Expected data-path conditions are statuses, never aborts. */
#define PSF_OK              0
#define PSF_E_INVALID     (-1)  /* an argument was out of range or null */
#define PSF_E_NOMEM       (-2)  /* an allocation failed */
#define PSF_E_SYSTEM      (-3)  /* a system call failed; psf_last_error() names it and errno */
#define PSF_E_UNSUPPORTED (-4)  /* compiled without this feature, or the OS lacks it */
#define PSF_E_NODEVICE    (-5)  /* no device of the kind asked for exists */
#define PSF_E_AGAIN       (-6)  /* back-pressure: try again later */
#define PSF_E_CLOSED      (-7)  /* the peer closed or died */
#define PSF_E_TIMEOUT     (-8)  /* a bounded wait ran out */
#define PSF_E_PROTOCOL    (-9)  /* the peer sent bytes that break the protocol */

/* Library version as (major << 16) | (minor << 8) | patch. */
PSF_API uint32_t psf_version(void);

/* The message of the last failure on this thread; never null, "" when there was none.
 * The pointer stays valid until the next failing call on the same thread. */
PSF_API const char *psf_last_error(void);

/* Clears this thread's last error (tests use it to check that a call sets one). */
PSF_API void psf_last_error_clear(void);

/* ---- reference kernels: the yardsticks of `psf bench kernels`, built with -O3 -march=native ---- */

/* dst[i] += src[i] for i < count. */
PSF_API int32_t psf_ref_sum_into(float *dst, const float *src, uint64_t count);

/* memcpy of count bytes. */
PSF_API int32_t psf_ref_copy(void *dst, const void *src, uint64_t count);

/* ---- RDMA verbs ---- */

/* Number of RDMA devices (>= 0), or PSF_E_UNSUPPORTED when built without verbs, or
 * PSF_E_NODEVICE / PSF_E_SYSTEM with psf_last_error() saying why none can be listed. */
PSF_API int32_t psf_rdma_device_count(void);

#ifdef __cplusplus
}
#endif

#endif /* PSF_H */
