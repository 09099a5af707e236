/* Shared pieces of the same-run benchmarks. */
#ifndef PSF_BENCH_INTERNAL_H
#define PSF_BENCH_INTERNAL_H

#include "psf_internal.h"

/* Every benchmark gives up after 10 s: `psf bench transport` must finish on a slow CI box. */
#define PSF_BENCH_BUDGET_NS 10000000000ll
#define PSF_BENCH_PING_BYTES 64

/* Sorts samples (nanoseconds) and writes the 50th and 99th percentiles in microseconds. */
void psf_bench_percentiles(int64_t *samples, uint32_t count, double *p50_us, double *p99_us);

/* Nanoseconds left until deadline_ns, at least 1 so a wait never becomes "try once". */
static inline int64_t psf_bench_left(int64_t deadline_ns)
{
    int64_t left = deadline_ns - psf_now_ns();
    return left > 0 ? left : 1;
}

/* A peer thread's job: accept one connection on `listener`, then take `total_bytes` (a stream)
 * or echo `iterations` messages (a ping-pong) before `deadline_ns`; `status` is its outcome. */
typedef struct {
    psf_tcp_listener *listener;
    uint64_t total_bytes;
    uint32_t iterations;
    int64_t deadline_ns;
    int32_t status;
} psf_bench_peer;

/* A stream's receiving end (a pthread start routine taking a psf_bench_peer). */
void *psf_bench_swallow(void *arg);

#endif
