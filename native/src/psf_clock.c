/* Time for bounded waits and benchmarks. */
#include <time.h>

#include "psf_internal.h"

int64_t psf_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000ll + now.tv_nsec;
}

int64_t psf_deadline(int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return INT64_MAX;
    int64_t now = psf_now_ns();
    return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
}
