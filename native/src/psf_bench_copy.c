/* memcpy bandwidth: the ceiling any byte-moving transport on this machine is compared to. */
#include <stdlib.h>
#include <string.h>

#include "psf_bench_internal.h"

static int compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void psf_bench_percentiles(int64_t *samples, uint32_t count, double *p50_us, double *p99_us)
{
    qsort(samples, count, sizeof *samples, compare);
    *p50_us = (double)samples[(uint64_t)count * 50 / 100] / 1e3;
    *p99_us = (double)samples[(uint64_t)count * 99 / 100] / 1e3;
}

int32_t psf_bench_memcpy(uint64_t bytes, uint32_t iterations, double *gbps)
{
    if (gbps == NULL || bytes == 0 || bytes > ((uint64_t)1 << 30) || iterations == 0)
        return psf_fail(PSF_E_INVALID, "psf_bench_memcpy: bytes must be 1..1 GiB, iterations >= 1");
    uint8_t *src = aligned_alloc(64, (bytes + 63) & ~(uint64_t)63);
    uint8_t *dst = aligned_alloc(64, (bytes + 63) & ~(uint64_t)63);
    if (src == NULL || dst == NULL) {
        free(src);
        free(dst);
        return psf_fail(PSF_E_NOMEM, "psf_bench_memcpy: cannot allocate 2 x %llu bytes",
                        (unsigned long long)bytes);
    }
    /* Touch both first so page faults are not timed. */
    memset(src, 1, bytes);
    memset(dst, 2, bytes);
    int64_t start = psf_now_ns(), deadline = start + PSF_BENCH_BUDGET_NS;
    uint32_t done = 0;
    while (done < iterations && psf_now_ns() < deadline) {
        memcpy(dst, src, bytes);
        src[done % bytes] = (uint8_t)done; /* keep the copies observable */
        done++;
    }
    int64_t elapsed = psf_now_ns() - start;
    volatile uint8_t sink = dst[bytes - 1];
    (void)sink;
    free(src);
    free(dst);
    *gbps = (double)bytes * done / (double)(elapsed > 0 ? elapsed : 1);
    return PSF_OK;
}
