/* Shared-memory baselines: stream bandwidth and round trips, spinning or parking. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "psf_bench_internal.h"

/* 4 MiB rings: several 1 MiB messages in flight, still inside a 2-core box's L3. */
#define PSF_BENCH_SHM_RING ((uint64_t)4 << 20)

typedef struct {
    psf_shm_conn *conn;
    uint64_t message_bytes;
    uint64_t messages;         /* stream: messages to take; ping-pong: to echo */
    int64_t deadline_ns;
    int32_t status;
} peer_job;

static int32_t open_pair(psf_shm_conn **server, psf_shm_conn **client)
{
    static int counter;
    char name[64];
    snprintf(name, sizeof name, "psf-bench-%d-%d", (int)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    int32_t status = psf_shm_create(name, PSF_BENCH_SHM_RING, server);
    if (status < 0)
        return status;
    status = psf_shm_attach(name, client);
    if (status < 0)
        psf_shm_close(*server);
    return status;
}

static void *take(void *arg)
{
    peer_job *job = arg;
    uint8_t *buf = malloc(job->message_bytes);
    for (uint64_t i = 0; job->status == PSF_OK && i < job->messages; i++) {
        uint64_t length;
        int32_t type;
        job->status = psf_shm_recv(job->conn, buf, job->message_bytes, &length, &type,
                                   psf_bench_left(job->deadline_ns));
    }
    free(buf);
    return NULL;
}

int32_t psf_bench_shm_stream(uint64_t message_bytes, uint64_t total_bytes, double *gbps)
{
    if (gbps == NULL || message_bytes == 0 || message_bytes > ((uint64_t)64 << 20) ||
        total_bytes < message_bytes)
        return psf_fail(PSF_E_INVALID,
                        "psf_bench_shm_stream: message 1..64 MiB and total >= message required");
    psf_shm_conn *server, *client;
    int32_t status = open_pair(&server, &client);
    if (status < 0)
        return status;
    peer_job job = { client, message_bytes, total_bytes / message_bytes,
                     psf_now_ns() + PSF_BENCH_BUDGET_NS, PSF_OK };
    uint8_t *message = calloc(1, message_bytes);
    pthread_t thread;
    int64_t start = psf_now_ns();
    pthread_create(&thread, NULL, take, &job);
    for (uint64_t i = 0; status == PSF_OK && i < job.messages; i++)
        status = psf_shm_send(server, 1, message, message_bytes, psf_bench_left(job.deadline_ns));
    pthread_join(thread, NULL);
    int64_t elapsed = psf_now_ns() - start;
    free(message);
    psf_shm_close(client);
    psf_shm_close(server);
    if (status == PSF_OK)
        status = job.status;
    if (status < 0)
        return psf_fail(status, "psf_bench_shm_stream: failed or ran out of time (%d)", status);
    *gbps = (double)(job.messages * message_bytes) / (double)elapsed;
    return PSF_OK;
}

static void *echo(void *arg)
{
    peer_job *job = arg;
    uint8_t buf[PSF_BENCH_PING_BYTES];
    for (uint64_t i = 0; job->status == PSF_OK && i < job->messages; i++) {
        uint64_t length;
        int32_t type;
        job->status = psf_shm_recv(job->conn, buf, sizeof buf, &length, &type,
                                   psf_bench_left(job->deadline_ns));
        if (job->status == PSF_OK)
            job->status = psf_shm_send(job->conn, type, buf, length, psf_bench_left(job->deadline_ns));
    }
    return NULL;
}

int32_t psf_bench_shm_pingpong(uint32_t iterations, int32_t spin_only, double *p50_us,
                               double *p99_us)
{
    if (p50_us == NULL || p99_us == NULL || iterations == 0 || iterations > 10000000)
        return psf_fail(PSF_E_INVALID, "psf_bench_shm_pingpong: iterations must be 1..1e7");
    int64_t *samples = malloc(sizeof *samples * iterations);
    if (samples == NULL)
        return psf_fail(PSF_E_NOMEM, "psf_bench_shm_pingpong: out of memory");
    psf_shm_conn *server, *client;
    int32_t status = open_pair(&server, &client);
    if (status < 0) {
        free(samples);
        return status;
    }
    /* Parking mode spins not at all, so every wait is a futex sleep and wake: the worst case
     * a quiet connection sees. */
    int64_t spin = spin_only ? PSF_BENCH_BUDGET_NS : 0;
    psf_shm_set_spin(server, spin);
    psf_shm_set_spin(client, spin);
    peer_job job = { client, PSF_BENCH_PING_BYTES, iterations,
                     psf_now_ns() + PSF_BENCH_BUDGET_NS, PSF_OK };
    pthread_t thread;
    pthread_create(&thread, NULL, echo, &job);
    uint8_t buf[PSF_BENCH_PING_BYTES] = { 0 };
    uint32_t done = 0;
    for (; status == PSF_OK && done < iterations; done++) {
        int64_t start = psf_now_ns();
        uint64_t length;
        int32_t type;
        status = psf_shm_send(server, 1, buf, sizeof buf, psf_bench_left(job.deadline_ns));
        if (status == PSF_OK)
            status = psf_shm_recv(server, buf, sizeof buf, &length, &type,
                                  psf_bench_left(job.deadline_ns));
        samples[done] = psf_now_ns() - start;
    }
    if (status != PSF_OK)
        psf_shm_close(server); /* wakes the echo thread if it waits */
    pthread_join(thread, NULL);
    psf_shm_close(client);
    if (status == PSF_OK) {
        psf_shm_close(server);
        psf_bench_percentiles(samples, done, p50_us, p99_us);
    }
    free(samples);
    return status < 0 ? psf_fail(status, "psf_bench_shm_pingpong: failed or ran out of time")
                      : PSF_OK;
}
