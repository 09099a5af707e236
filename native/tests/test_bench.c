/* The same-run baselines answer with plausible numbers, quickly; prints them for the log. */
#include "psf.h"
#include "psf_test.h"

static void memcpy_baseline_reports_a_rate(void)
{
    double gbps = 0;
    CHECK(psf_bench_memcpy(1 << 20, 2000, &gbps) == PSF_OK);
    CHECK(gbps > 0.1);
    printf("     memcpy 1 MiB: %.2f GB/s\n", gbps);
    CHECK(psf_bench_memcpy(0, 1, &gbps) == PSF_E_INVALID);
}

static void tcp_baselines_report_a_rate_and_latencies(void)
{
    double gbps = 0, p50 = 0, p99 = 0;
    CHECK(psf_bench_tcp_stream(1 << 20, (uint64_t)1 << 30, &gbps) == PSF_OK);
    CHECK(gbps > 0.01);
    printf("     tcp stream 1 MiB writes: %.2f GB/s\n", gbps);
    CHECK(psf_bench_tcp_pingpong(20000, &p50, &p99) == PSF_OK);
    CHECK(p50 > 0 && p99 >= p50);
    printf("     tcp ping-pong 64 B: p50 %.2f us, p99 %.2f us\n", p50, p99);
}

static void tcp_stream_through_io_uring_reports_a_rate(void)
{
    double gbps = 0;
    int32_t status = psf_bench_tcp_stream_uring(1 << 20, (uint64_t)1 << 30, 8, &gbps);
    CHECK(status == PSF_OK || status == PSF_E_UNSUPPORTED);
    if (status == PSF_OK) {
        CHECK(gbps > 0.01);
        printf("     tcp stream 1 MiB writes, io_uring 8 in flight: %.2f GB/s\n", gbps);
    } else {
        printf("     io_uring unavailable here: %s\n", psf_last_error());
    }
    /* An odd total (not whole messages) still ends, counting short sends by bytes. */
    CHECK(psf_bench_tcp_stream_uring(1000, 1000 * 1000 + 7, 3, &gbps) == status);
    CHECK(psf_bench_tcp_stream_uring(1 << 20, 1 << 20, 0, &gbps) == PSF_E_INVALID);
    CHECK(psf_bench_tcp_stream_uring(1 << 20, 1 << 10, 8, &gbps) == PSF_E_INVALID);
}

static void shm_baselines_report_a_rate_and_latencies(void)
{
    double gbps = 0, p50 = 0, p99 = 0;
    CHECK(psf_bench_shm_stream(1 << 20, (uint64_t)2 << 30, &gbps) == PSF_OK);
    CHECK(gbps > 0.1);
    printf("     shm stream 1 MiB messages: %.2f GB/s\n", gbps);
    CHECK(psf_bench_shm_pingpong(100000, 1, &p50, &p99) == PSF_OK);
    CHECK(p50 > 0 && p99 >= p50);
    printf("     shm ping-pong 64 B spinning: p50 %.2f us, p99 %.2f us\n", p50, p99);
    CHECK(psf_bench_shm_pingpong(20000, 0, &p50, &p99) == PSF_OK);
    CHECK(p50 > 0 && p99 >= p50);
    printf("     shm ping-pong 64 B parking: p50 %.2f us, p99 %.2f us\n", p50, p99);
}

PSF_TEST_MAIN(PSF_TEST(memcpy_baseline_reports_a_rate),
              PSF_TEST(tcp_baselines_report_a_rate_and_latencies),
              PSF_TEST(tcp_stream_through_io_uring_reports_a_rate),
              PSF_TEST(shm_baselines_report_a_rate_and_latencies))
