/* Helpers shared by the shared-memory tests: unique segment names and patterned payloads. */
#ifndef PSF_TEST_SHM_H
#define PSF_TEST_SHM_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* pid + counter: tests running in parallel under ctest -j never collide. */
static inline void psf_test_shm_name(char *out, size_t cap, const char *tag)
{
    static int counter;
    snprintf(out, cap, "psf-test-%d-%s-%d", (int)getpid(), tag, counter++);
}

/* A byte pattern that differs per message and per offset, so a misplaced chunk shows. */
static inline uint8_t psf_test_byte(uint64_t message, uint64_t offset)
{
    uint64_t x = (message + 1) * 0x9E3779B97F4A7C15ull + offset * 0xBF58476D1CE4E5B9ull;
    return (uint8_t)(x >> 56);
}

static inline void psf_test_fill(uint8_t *buf, uint64_t length, uint64_t message)
{
    for (uint64_t i = 0; i < length; i++)
        buf[i] = psf_test_byte(message, i);
}

static inline int psf_test_matches(const uint8_t *buf, uint64_t length, uint64_t message)
{
    for (uint64_t i = 0; i < length; i++)
        if (buf[i] != psf_test_byte(message, i))
            return 0;
    return 1;
}

static inline double psf_test_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

#define PSF_MS ((int64_t)1000000)

#endif
