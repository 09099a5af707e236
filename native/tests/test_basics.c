#include <string.h>

#include "psf.h"
#include "psf_test.h"

static void version_is_encoded(void)
{
    uint32_t version = psf_version();
    CHECK(version != 0);
    CHECK((version >> 24) == 0);
}

static void last_error_is_empty_then_set_by_a_failure(void)
{
    psf_last_error_clear();
    CHECK(strcmp(psf_last_error(), "") == 0);
    CHECK(psf_ref_sum_into(NULL, NULL, 4) == PSF_E_INVALID);
    CHECK(strstr(psf_last_error(), "psf_ref_sum_into") != NULL);
    psf_last_error_clear();
    CHECK(psf_last_error()[0] == '\0');
}

static void sum_into_adds_every_element(void)
{
    enum { N = 1031 };
    static float dst[N], src[N];
    for (int i = 0; i < N; i++) { dst[i] = (float)i; src[i] = 0.5f * (float)i; }
    CHECK(psf_ref_sum_into(dst, src, N) == PSF_OK);
    int wrong = 0;
    for (int i = 0; i < N; i++) wrong += dst[i] != 1.5f * (float)i;
    CHECK(wrong == 0);
    CHECK(psf_ref_sum_into(NULL, NULL, 0) == PSF_OK);
}

static void copy_copies_bytes(void)
{
    char src[100], dst[100];
    for (int i = 0; i < 100; i++) src[i] = (char)i;
    memset(dst, 0, sizeof dst);
    CHECK(psf_ref_copy(dst, src, sizeof src) == PSF_OK);
    CHECK(memcmp(dst, src, sizeof src) == 0);
    CHECK(psf_ref_copy(NULL, src, 1) == PSF_E_INVALID);
}

static void rdma_probe_answers_with_a_count_or_a_reason(void)
{
    psf_last_error_clear();
    int32_t count = psf_rdma_device_count();
    if (count < 0) {
        CHECK(count == PSF_E_UNSUPPORTED || count == PSF_E_NODEVICE || count == PSF_E_SYSTEM);
        CHECK(strlen(psf_last_error()) > 0);
    }
}

PSF_TEST_MAIN(PSF_TEST(version_is_encoded),
              PSF_TEST(last_error_is_empty_then_set_by_a_failure),
              PSF_TEST(sum_into_adds_every_element),
              PSF_TEST(copy_copies_bytes),
              PSF_TEST(rdma_probe_answers_with_a_count_or_a_reason))
