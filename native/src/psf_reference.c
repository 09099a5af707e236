/* Plain C loops that the compiler vectorises for this machine (-O3 -march=native). They are
 * the same-run baselines that `psf bench kernels` divides the managed kernels' speed by. */
#include <string.h>

#include "psf_internal.h"

int32_t psf_ref_sum_into(float *restrict dst, const float *restrict src, uint64_t count)
{
    if (count != 0 && (dst == NULL || src == NULL))
        return psf_fail(PSF_E_INVALID, "psf_ref_sum_into: null buffer for %llu floats",
                        (unsigned long long)count);
    for (uint64_t i = 0; i < count; i++)
        dst[i] += src[i];
    return PSF_OK;
}

int32_t psf_ref_copy(void *dst, const void *src, uint64_t count)
{
    if (count != 0 && (dst == NULL || src == NULL))
        return psf_fail(PSF_E_INVALID, "psf_ref_copy: null buffer for %llu bytes",
                        (unsigned long long)count);
    memcpy(dst, src, (size_t)count);
    return PSF_OK;
}
