/* Loopback TCP baselines: bulk stream bandwidth and small-message round trips. */
#include <pthread.h>
#include <stdlib.h>

#include "psf_bench_internal.h"

typedef psf_bench_peer peer_job;

static int32_t open_pair(psf_tcp_listener **listener, psf_tcp_conn **client, peer_job *job,
                         pthread_t *thread, void *(*peer)(void *))
{
    uint16_t port = 0;
    int32_t status = psf_tcp_listen("127.0.0.1", 0, listener, &port);
    if (status < 0)
        return status;
    job->listener = *listener;
    if (pthread_create(thread, NULL, peer, job) != 0) {
        psf_tcp_listener_close(*listener);
        return psf_fail(PSF_E_SYSTEM, "bench: cannot start a thread");
    }
    return psf_tcp_connect("127.0.0.1", port, psf_bench_left(job->deadline_ns), client);
}

void *psf_bench_swallow(void *arg)
{
    peer_job *job = arg;
    psf_tcp_conn *conn = NULL;
    job->status = psf_tcp_accept(job->listener, psf_bench_left(job->deadline_ns), &conn);
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    uint64_t got = 0;
    while (job->status == PSF_OK && got < job->total_bytes) {
        uint64_t count = 0;
        job->status = psf_tcp_recv(conn, buf, CHUNK, 1, &count, psf_bench_left(job->deadline_ns));
        got += count;
    }
    free(buf);
    psf_tcp_close(conn);
    return NULL;
}

int32_t psf_bench_tcp_stream(uint64_t message_bytes, uint64_t total_bytes, double *gbps)
{
    if (gbps == NULL || message_bytes == 0 || message_bytes > ((uint64_t)64 << 20) ||
        total_bytes < message_bytes)
        return psf_fail(PSF_E_INVALID,
                        "psf_bench_tcp_stream: message 1..64 MiB and total >= message required");
    peer_job job = { .total_bytes = total_bytes / message_bytes * message_bytes,
                     .deadline_ns = psf_now_ns() + PSF_BENCH_BUDGET_NS };
    psf_tcp_listener *listener = NULL;
    psf_tcp_conn *conn = NULL;
    pthread_t thread;
    int32_t status = open_pair(&listener, &conn, &job, &thread, psf_bench_swallow);
    if (listener == NULL)
        return status;
    uint8_t *message = calloc(1, message_bytes);
    int64_t start = psf_now_ns();
    for (uint64_t sent = 0; status == PSF_OK && sent < job.total_bytes; sent += message_bytes) {
        psf_iovec one = { message, message_bytes };
        status = psf_tcp_sendv(conn, &one, 1, psf_bench_left(job.deadline_ns));
    }
    pthread_join(thread, NULL);
    int64_t elapsed = psf_now_ns() - start;
    free(message);
    psf_tcp_close(conn);
    psf_tcp_listener_close(listener);
    if (status == PSF_OK)
        status = job.status;
    if (status < 0)
        return status == PSF_E_TIMEOUT ? psf_fail(status, "psf_bench_tcp_stream: ran out of time")
                                       : status;
    *gbps = (double)job.total_bytes / (double)elapsed;
    return PSF_OK;
}

static void *echo(void *arg)
{
    peer_job *job = arg;
    psf_tcp_conn *conn = NULL;
    job->status = psf_tcp_accept(job->listener, psf_bench_left(job->deadline_ns), &conn);
    uint8_t buf[PSF_BENCH_PING_BYTES];
    for (uint32_t i = 0; job->status == PSF_OK && i < job->iterations; i++) {
        uint64_t count = 0;
        job->status = psf_tcp_recv(conn, buf, sizeof buf, sizeof buf, &count,
                                   psf_bench_left(job->deadline_ns));
        psf_iovec one = { buf, sizeof buf };
        if (job->status == PSF_OK)
            job->status = psf_tcp_sendv(conn, &one, 1, psf_bench_left(job->deadline_ns));
    }
    psf_tcp_close(conn);
    return NULL;
}

int32_t psf_bench_tcp_pingpong(uint32_t iterations, double *p50_us, double *p99_us)
{
    if (p50_us == NULL || p99_us == NULL || iterations == 0 || iterations > 10000000)
        return psf_fail(PSF_E_INVALID, "psf_bench_tcp_pingpong: iterations must be 1..1e7");
    int64_t *samples = malloc(sizeof *samples * iterations);
    if (samples == NULL)
        return psf_fail(PSF_E_NOMEM, "psf_bench_tcp_pingpong: out of memory");
    peer_job job = { .iterations = iterations, .deadline_ns = psf_now_ns() + PSF_BENCH_BUDGET_NS };
    psf_tcp_listener *listener = NULL;
    psf_tcp_conn *conn = NULL;
    pthread_t thread;
    int32_t status = open_pair(&listener, &conn, &job, &thread, echo);
    if (listener == NULL) {
        free(samples);
        return status;
    }
    uint8_t buf[PSF_BENCH_PING_BYTES] = { 0 };
    uint32_t done = 0;
    for (; status == PSF_OK && done < iterations; done++) {
        int64_t start = psf_now_ns();
        psf_iovec one = { buf, sizeof buf };
        uint64_t count = 0;
        status = psf_tcp_sendv(conn, &one, 1, psf_bench_left(job.deadline_ns));
        if (status == PSF_OK)
            status = psf_tcp_recv(conn, buf, sizeof buf, sizeof buf, &count,
                                  psf_bench_left(job.deadline_ns));
        samples[done] = psf_now_ns() - start;
    }
    psf_tcp_close(conn);
    pthread_join(thread, NULL);
    psf_tcp_listener_close(listener);
    if (status == PSF_OK)
        psf_bench_percentiles(samples, done, p50_us, p99_us);
    free(samples);
    return status == PSF_E_TIMEOUT ? psf_fail(status, "psf_bench_tcp_pingpong: ran out of time")
                                   : status;
}
