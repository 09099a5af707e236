/* A minimal test harness: CHECK records a failure and goes on; PSF_TEST_MAIN runs the listed
 * tests and exits non-zero when any check failed, which is what ctest reads. */
#ifndef PSF_TEST_H
#define PSF_TEST_H

#include <stdio.h>
#include <stdlib.h>

static int s_failures;

#define CHECK(condition)                                                                 \
    do {                                                                                 \
        if (!(condition)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
            s_failures++;                                                                \
        }                                                                                \
    } while (0)

typedef void (*psf_test_fn)(void);
typedef struct { const char *name; psf_test_fn fn; } psf_test_case;

static int psf_run_tests(const psf_test_case *tests, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int before = s_failures;
        tests[i].fn();
        printf("%s %s\n", s_failures == before ? "ok  " : "FAIL", tests[i].name);
    }
    return s_failures == 0 ? 0 : 1;
}

#define PSF_TEST(name) { #name, name }
#define PSF_TEST_MAIN(...)                                                           \
    int main(void)                                                                   \
    {                                                                                \
        static const psf_test_case tests[] = { __VA_ARGS__ };                        \
        return psf_run_tests(tests, sizeof tests / sizeof tests[0]);                 \
    }

#endif
