/* Messages through a shared-memory connection between two threads of one process. */
#include <pthread.h>
#include <stdlib.h>

#include "psf.h"
#include "psf_test.h"
#include "psf_test_shm.h"

#define RING ((uint64_t)64 * 1024)

typedef struct {
    psf_shm_conn *conn;
    const uint64_t *sizes;
    int count;
    int failures;
} echo_job;

/* The attacher echoes every message back with its type + 1. */
static void *echo(void *arg)
{
    echo_job *job = arg;
    uint64_t cap = 4 * RING;
    uint8_t *buf = malloc(cap);
    for (int i = 0; i < job->count; i++) {
        uint64_t length = 0;
        int32_t type = 0;
        if (psf_shm_recv(job->conn, buf, cap, &length, &type, 5000 * PSF_MS) != PSF_OK ||
            length != job->sizes[i] ||
            psf_shm_send(job->conn, type + 1, buf, length, 5000 * PSF_MS) != PSF_OK)
        {
            fprintf(stderr, "echo %d: %s (length %llu)\n", i, psf_last_error(), (unsigned long long)length);
            job->failures++;
        }
    }
    free(buf);
    return NULL;
}

static void sizes_round_trip_between_threads(void)
{
    /* Straddling: the 24 + 8 byte records walk the ring so the big ones hit its end. */
    static const uint64_t sizes[] = { 0, 1, 7, 8, 9, 24, 24, 24, 1000, 30000, 32751, 32752,
                                      RING - 8, RING, RING + 1, 3 * RING, 8, 0, 65535, 12345 };
    enum { COUNT = sizeof sizes / sizeof sizes[0] };
    char name[64];
    psf_test_shm_name(name, sizeof name, "rt");
    psf_shm_conn *server = NULL, *client = NULL;
    CHECK(psf_shm_create(name, RING, &server) == PSF_OK);
    CHECK(psf_shm_attach(name, &client) == PSF_OK);
    if (server == NULL || client == NULL)
        return;
    echo_job job = { client, sizes, COUNT, 0 };
    pthread_t thread;
    pthread_create(&thread, NULL, echo, &job);
    uint8_t *out = malloc(4 * RING), *in = malloc(4 * RING);
    for (int i = 0; i < COUNT; i++) {
        psf_test_fill(out, sizes[i], (uint64_t)i);
        CHECK(psf_shm_send(server, i, out, sizes[i], 5000 * PSF_MS) == PSF_OK);
        uint64_t length = 0;
        int32_t type = -1;
        CHECK(psf_shm_recv(server, in, 4 * RING, &length, &type, 5000 * PSF_MS) == PSF_OK);
        CHECK(length == sizes[i]);
        CHECK(type == i + 1);
        CHECK(psf_test_matches(in, length, (uint64_t)i));
    }
    pthread_join(thread, NULL);
    CHECK(job.failures == 0);
    free(out);
    free(in);
    CHECK(psf_shm_close(client) == PSF_OK);
    CHECK(psf_shm_close(server) == PSF_OK);
}

typedef struct {
    psf_shm_conn *conn;
    int messages;
    uint64_t checksum;
    int failures;
} stream_job;

static void *stream_reader(void *arg)
{
    stream_job *job = arg;
    for (int i = 0; i < job->messages; i++) {
        if (psf_shm_wait(job->conn, 5000 * PSF_MS) != PSF_OK) {
            fprintf(stderr, "reader %d: wait failed\n", i);
            job->failures++;
            return NULL;
        }
        const void *ptr;
        uint32_t length;
        int32_t type;
        if (psf_shm_try_read(job->conn, &ptr, &length, &type) != PSF_OK ||
            length != (uint32_t)(i % 61) * 8 || type != i % 1000) {
            job->failures++;
            return NULL;
        }
        /* Aggregate straight out of the ring, as the server will. */
        const uint64_t *words = ptr;
        for (uint32_t w = 0; w < length / 8; w++)
            job->checksum += words[w] * (w + 1);
        psf_shm_release(job->conn);
    }
    return NULL;
}

static void many_messages_arrive_intact_in_order(void)
{
    enum { MESSAGES = 200000 };
    char name[64];
    psf_test_shm_name(name, sizeof name, "many");
    psf_shm_conn *server = NULL, *client = NULL;
    CHECK(psf_shm_create(name, RING, &server) == PSF_OK);
    CHECK(psf_shm_attach(name, &client) == PSF_OK);
    if (server == NULL || client == NULL)
        return;
    stream_job job = { client, MESSAGES, 0, 0 };
    pthread_t thread;
    pthread_create(&thread, NULL, stream_reader, &job);
    uint64_t expected = 0;
    double give_up = psf_test_seconds() + 20;
    for (int i = 0; i < MESSAGES && psf_test_seconds() < give_up; i++) {
        uint32_t length = (uint32_t)(i % 61) * 8;
        void *ptr;
        int32_t status;
        while ((status = psf_shm_try_claim(server, length, &ptr)) == PSF_E_AGAIN &&
               psf_test_seconds() < give_up)
            ;
        CHECK(status == PSF_OK);
        if (status != PSF_OK)
            break;
        CHECK(((uintptr_t)ptr & 7) == 0);
        uint64_t *words = ptr;
        for (uint32_t w = 0; w < length / 8; w++) {
            words[w] = (uint64_t)i * 1000003u + w;
            expected += words[w] * (w + 1);
        }
        CHECK(psf_shm_commit(server, i % 1000) == PSF_OK);
    }
    pthread_join(thread, NULL);
    CHECK(job.failures == 0);
    CHECK(job.checksum == expected);
    psf_shm_close(client);
    psf_shm_close(server);
}

static void full_ring_pushes_back_then_frees(void)
{
    char name[64];
    psf_test_shm_name(name, sizeof name, "bp");
    psf_shm_conn *server = NULL, *client = NULL;
    CHECK(psf_shm_create(name, RING, &server) == PSF_OK);
    CHECK(psf_shm_attach(name, &client) == PSF_OK);
    if (server == NULL || client == NULL)
        return;
    uint32_t max = 0;
    CHECK(psf_shm_max_claim(server, &max) == PSF_OK);
    CHECK(max == RING / 2 - 16);
    void *ptr;
    CHECK(psf_shm_try_claim(server, max + 1, &ptr) == PSF_E_INVALID);
    int claimed = 0;
    while (psf_shm_try_claim(server, 1000, &ptr) == PSF_OK) {
        memset(ptr, claimed, 1000);
        CHECK(psf_shm_commit(server, claimed) == PSF_OK);
        claimed++;
    }
    CHECK(claimed == (int)((RING - 8) / 1008));
    CHECK(psf_shm_try_claim(server, 1000, &ptr) == PSF_E_AGAIN);
    /* A bounded send on a full ring times out; the message is not half written. */
    uint8_t small[16] = { 0 };
    double start = psf_test_seconds();
    CHECK(psf_shm_send(server, 1, small, sizeof small, 30 * PSF_MS) == PSF_E_TIMEOUT);
    CHECK(psf_test_seconds() - start < 1.0);
    const void *in;
    uint32_t length;
    int32_t type;
    CHECK(psf_shm_try_read(client, &in, &length, &type) == PSF_OK);
    CHECK(length == 1000 && type == 0 && ((const uint8_t *)in)[999] == 0);
    CHECK(psf_shm_release(client) == PSF_OK);
    /* One record freed is not enough here: the claim would wrap and needs padding too. */
    CHECK(psf_shm_try_claim(server, 1000, &ptr) == PSF_E_AGAIN);
    CHECK(psf_shm_try_read(client, &in, &length, &type) == PSF_OK);
    CHECK(length == 1000 && type == 1);
    CHECK(psf_shm_release(client) == PSF_OK);
    CHECK(psf_shm_try_claim(server, 1000, &ptr) == PSF_OK);
    CHECK(psf_shm_commit(server, 7) == PSF_OK);
    CHECK(psf_shm_release(client) == PSF_E_INVALID);
    psf_shm_close(client);
    psf_shm_close(server);
}

static void chunked_send_resumes_after_a_timeout(void)
{
    char name[64];
    psf_test_shm_name(name, sizeof name, "resume");
    psf_shm_conn *server = NULL, *client = NULL;
    CHECK(psf_shm_create(name, RING, &server) == PSF_OK);
    CHECK(psf_shm_attach(name, &client) == PSF_OK);
    if (server == NULL || client == NULL)
        return;
    uint64_t size = 5 * RING + 123;
    uint8_t *out = malloc(size), *in = malloc(size);
    psf_test_fill(out, size, 42);
    int timeouts = 0, status;
    uint64_t length = 0;
    int32_t type = 0;
    /* One thread plays both sides: send until it stalls, drain what is there, repeat. */
    while ((status = psf_shm_send(server, 5, out, size, 2 * PSF_MS)) == PSF_E_TIMEOUT) {
        timeouts++;
        CHECK(psf_shm_send(server, 5, in, 10, 0) == PSF_E_INVALID); /* a different message */
        CHECK(psf_shm_recv(client, in, size, &length, &type, 2 * PSF_MS) == PSF_E_TIMEOUT);
    }
    CHECK(status == PSF_OK);
    CHECK(timeouts > 0);
    CHECK(psf_shm_recv(client, in, size, &length, &type, 1000 * PSF_MS) == PSF_OK);
    CHECK(length == size && type == 5 && psf_test_matches(in, size, 42));
    free(out);
    free(in);
    psf_shm_close(client);
    psf_shm_close(server);
}

static void small_buffer_reports_the_size_and_keeps_the_message(void)
{
    char name[64];
    psf_test_shm_name(name, sizeof name, "cap");
    psf_shm_conn *server = NULL, *client = NULL;
    CHECK(psf_shm_create(name, RING, &server) == PSF_OK);
    CHECK(psf_shm_attach(name, &client) == PSF_OK);
    if (server == NULL || client == NULL)
        return;
    uint8_t out[300], in[300];
    psf_test_fill(out, sizeof out, 3);
    CHECK(psf_shm_send(client, 9, out, sizeof out, 100 * PSF_MS) == PSF_OK);
    uint64_t length = 0;
    int32_t type = 0;
    CHECK(psf_shm_recv(server, in, 100, &length, &type, 100 * PSF_MS) == PSF_E_INVALID);
    CHECK(length == sizeof out);
    CHECK(psf_shm_recv(server, in, sizeof in, &length, &type, 100 * PSF_MS) == PSF_OK);
    CHECK(length == sizeof out && type == 9 && psf_test_matches(in, length, 3));
    /* The same for a chunked message: the full size comes from the first chunk. */
    uint64_t big = 2 * RING;
    uint8_t *large = malloc(big);
    psf_test_fill(large, big, 4);
    psf_shm_set_spin(client, 0);
    CHECK(psf_shm_send(client, 1, large, RING / 4, 100 * PSF_MS) == PSF_OK);
    CHECK(psf_shm_recv(server, in, sizeof in, &length, &type, 100 * PSF_MS) == PSF_E_INVALID);
    CHECK(length == RING / 4);
    CHECK(psf_shm_recv(server, large, big, &length, &type, 100 * PSF_MS) == PSF_OK);
    CHECK(length == RING / 4);
    free(large);
    psf_shm_close(client);
    psf_shm_close(server);
}

static void orderly_close_is_seen_after_the_last_message(void)
{
    char name[64];
    psf_test_shm_name(name, sizeof name, "close");
    psf_shm_conn *server = NULL, *client = NULL;
    CHECK(psf_shm_create(name, RING, &server) == PSF_OK);
    CHECK(psf_shm_attach(name, &client) == PSF_OK);
    if (server == NULL || client == NULL)
        return;
    CHECK(psf_shm_send(client, 1, "bye", 3, 100 * PSF_MS) == PSF_OK);
    CHECK(psf_shm_close(client) == PSF_OK);
    char in[8];
    uint64_t length = 0;
    int32_t type = 0;
    CHECK(psf_shm_recv(server, in, sizeof in, &length, &type, 100 * PSF_MS) == PSF_OK);
    CHECK(length == 3 && memcmp(in, "bye", 3) == 0);
    double start = psf_test_seconds();
    CHECK(psf_shm_recv(server, in, sizeof in, &length, &type, 5000 * PSF_MS) == PSF_E_CLOSED);
    CHECK(psf_test_seconds() - start < 0.1);
    CHECK(psf_shm_send(server, 1, "x", 1, 100 * PSF_MS) == PSF_E_CLOSED);
    const void *ptr;
    uint32_t bytes;
    CHECK(psf_shm_try_read(server, &ptr, &bytes, &type) == PSF_E_CLOSED);
    psf_shm_close(server);
}

static void parked_reader_wakes_on_close_from_another_thread(void)
{
    char name[64];
    psf_test_shm_name(name, sizeof name, "park");
    psf_shm_conn *server = NULL, *client = NULL;
    CHECK(psf_shm_create(name, RING, &server) == PSF_OK);
    CHECK(psf_shm_attach(name, &client) == PSF_OK);
    if (server == NULL || client == NULL)
        return;
    psf_shm_set_spin(server, 0);
    CHECK(psf_shm_wait(server, 50 * PSF_MS) == PSF_E_TIMEOUT);
    psf_shm_close(client);
    CHECK(psf_shm_wait(server, 50 * PSF_MS) == PSF_E_CLOSED);
    psf_shm_close(server);
}

PSF_TEST_MAIN(PSF_TEST(sizes_round_trip_between_threads),
              PSF_TEST(many_messages_arrive_intact_in_order),
              PSF_TEST(full_ring_pushes_back_then_frees),
              PSF_TEST(chunked_send_resumes_after_a_timeout),
              PSF_TEST(small_buffer_reports_the_size_and_keeps_the_message),
              PSF_TEST(orderly_close_is_seen_after_the_last_message),
              PSF_TEST(parked_reader_wakes_on_close_from_another_thread))
