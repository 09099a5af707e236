/* Native TCP connections on loopback: IPv4 and IPv6, gather sends, bounded waits. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "psf.h"
#include "psf_test.h"
#include "psf_test_shm.h"

typedef struct {
    psf_tcp_listener *listener;
    uint64_t expect;
    uint8_t *received;
    int32_t status;
} sink_job;

static void *sink(void *arg)
{
    sink_job *job = arg;
    psf_tcp_conn *conn = NULL;
    job->status = psf_tcp_accept(job->listener, 5000 * PSF_MS, &conn);
    uint64_t got = 0;
    while (job->status == PSF_OK && got < job->expect) {
        uint64_t count = 0;
        job->status = psf_tcp_recv(conn, job->received + got, job->expect - got, 0, &count,
                                   5000 * PSF_MS);
        got += count;
    }
    psf_tcp_close(conn);
    return NULL;
}

/* 150 buffers of sizes 0..~70 KiB, so one sendmsg carries many and some are cut mid-buffer. */
static void gather_send_arrives_in_order(const char *address)
{
    enum { BUFFERS = 150 };
    psf_tcp_listener *listener = NULL;
    uint16_t port = 0;
    CHECK(psf_tcp_listen(address, 0, &listener, &port) == PSF_OK);
    CHECK(port != 0);
    if (listener == NULL)
        return;
    psf_iovec iov[BUFFERS];
    uint64_t total = 0;
    for (int i = 0; i < BUFFERS; i++) {
        iov[i].length = (uint64_t)(i % 7 == 0 ? 0 : (i * 7919) % 70000);
        total += iov[i].length;
    }
    uint8_t *all = malloc(total), *in = calloc(1, total);
    psf_test_fill(all, total, 9);
    uint64_t offset = 0;
    for (int i = 0; i < BUFFERS; i++) {
        iov[i].base = all + offset;
        offset += iov[i].length;
    }
    sink_job job = { listener, total, in, PSF_OK };
    pthread_t thread;
    pthread_create(&thread, NULL, sink, &job);
    psf_tcp_conn *conn = NULL;
    CHECK(psf_tcp_connect(address, port, 5000 * PSF_MS, &conn) == PSF_OK);
    CHECK(psf_tcp_sendv(conn, iov, BUFFERS, 5000 * PSF_MS) == PSF_OK);
    pthread_join(thread, NULL);
    CHECK(job.status == PSF_OK);
    CHECK(memcmp(all, in, total) == 0);
    psf_tcp_close(conn);
    psf_tcp_listener_close(listener);
    free(all);
    free(in);
}

static void gather_send_works_over_ipv4(void) { gather_send_arrives_in_order("127.0.0.1"); }

static void gather_send_works_over_ipv6(void)
{
    psf_tcp_listener *listener = NULL;
    if (psf_tcp_listen("::1", 0, &listener, NULL) != PSF_OK) {
        printf("     skipped: IPv6 loopback unavailable (%s)\n", psf_last_error());
        return;
    }
    psf_tcp_listener_close(listener);
    gather_send_arrives_in_order("::1");
}

static void waits_are_bounded_and_closes_are_seen(void)
{
    psf_tcp_listener *listener = NULL;
    uint16_t port = 0;
    CHECK(psf_tcp_listen("127.0.0.1", 0, &listener, &port) == PSF_OK);
    if (listener == NULL)
        return;
    psf_tcp_conn *server = NULL, *client = NULL;
    double start = psf_test_seconds();
    CHECK(psf_tcp_accept(listener, 30 * PSF_MS, &server) == PSF_E_TIMEOUT);
    CHECK(psf_test_seconds() - start < 1.0);
    CHECK(psf_tcp_connect("127.0.0.1", port, 1000 * PSF_MS, &client) == PSF_OK);
    CHECK(psf_tcp_accept(listener, 1000 * PSF_MS, &server) == PSF_OK);
    uint8_t buf[16];
    uint64_t count = 99;
    start = psf_test_seconds();
    CHECK(psf_tcp_recv(server, buf, sizeof buf, 1, &count, 30 * PSF_MS) == PSF_E_TIMEOUT);
    CHECK(count == 0);
    CHECK(psf_test_seconds() - start < 1.0);
    psf_iovec hello = { "hello", 5 };
    CHECK(psf_tcp_sendv(client, &hello, 1, 1000 * PSF_MS) == PSF_OK);
    /* min_bytes 8 but only 5 come before the close: CLOSED with the 5 in the buffer. */
    psf_tcp_close(client);
    CHECK(psf_tcp_recv(server, buf, sizeof buf, 8, &count, 1000 * PSF_MS) == PSF_E_CLOSED);
    CHECK(count == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(psf_tcp_recv(server, buf, sizeof buf, 1, &count, 1000 * PSF_MS) == PSF_E_CLOSED);
    psf_tcp_close(server);
    psf_tcp_listener_close(listener);
    /* Nobody listens on the port any more. */
    CHECK(psf_tcp_connect("127.0.0.1", port, 1000 * PSF_MS, &client) == PSF_E_CLOSED);
    CHECK(client == NULL);
}

static void bad_addresses_are_refused(void)
{
    psf_tcp_listener *listener = NULL;
    psf_tcp_conn *conn = NULL;
    CHECK(psf_tcp_listen("localhost", 0, &listener, NULL) == PSF_E_INVALID);
    CHECK(strstr(psf_last_error(), "localhost") != NULL);
    CHECK(psf_tcp_connect("300.1.1.1", 1, 100 * PSF_MS, &conn) == PSF_E_INVALID);
    CHECK(psf_tcp_connect(NULL, 1, 100 * PSF_MS, &conn) == PSF_E_INVALID);
    uint64_t count;
    CHECK(psf_tcp_recv(NULL, NULL, 0, 0, &count, 0) == PSF_E_INVALID);
    CHECK(psf_tcp_sendv(NULL, NULL, 0, 0) == PSF_E_INVALID);
}

/* Fills the client's send buffer while nobody reads: try_sendv then says AGAIN with nothing
 * sent, and every byte that was accepted arrives intact once the server reads. */
static void try_send_reports_back_pressure_without_sending(void)
{
    psf_tcp_listener *listener = NULL;
    uint16_t port = 0;
    CHECK(psf_tcp_listen("127.0.0.1", 0, &listener, &port) == PSF_OK);
    if (listener == NULL)
        return;
    psf_tcp_conn *server = NULL, *client = NULL;
    CHECK(psf_tcp_connect("127.0.0.1", port, 1000 * PSF_MS, &client) == PSF_OK);
    CHECK(psf_tcp_accept(listener, 1000 * PSF_MS, &server) == PSF_OK);
    char address[64];
    uint16_t peer_port = 0;
    CHECK(psf_tcp_peer(server, address, sizeof address, &peer_port) == PSF_OK);
    CHECK(strcmp(address, "127.0.0.1") == 0 && peer_port != 0);
    enum { CHUNK = 1024 };
    static uint8_t chunk[CHUNK];
    uint64_t accepted = 0;
    int32_t status = PSF_OK;
    /* Bounded: loopback buffers hold a few MiB at most. */
    for (int i = 0; i < 1 << 16 && status == PSF_OK; i++) {
        memset(chunk, (uint8_t)i, CHUNK);
        psf_iovec one = { chunk, CHUNK };
        status = psf_tcp_try_sendv(client, &one, 1);
        if (status == PSF_OK)
            accepted += CHUNK;
    }
    CHECK(status == PSF_E_AGAIN);
    CHECK(accepted > 0);
    /* Drain: every accepted chunk arrives whole and in order. */
    uint8_t *in = malloc(accepted);
    uint64_t got = 0, count = 0;
    while (got < accepted &&
           psf_tcp_recv(server, in + got, accepted - got, 0, &count, 2000 * PSF_MS) == PSF_OK)
        got += count;
    CHECK(got == accepted);
    int intact = 1;
    for (uint64_t i = 0; i < got; i++)
        intact &= in[i] == (uint8_t)(i / CHUNK);
    CHECK(intact);
    free(in);
    psf_tcp_close(client);
    psf_tcp_close(server);
    psf_tcp_listener_close(listener);
}

typedef struct { psf_tcp_conn *conn; int32_t status; } blocked_job;

static void *receive_forever(void *arg)
{
    blocked_job *job = arg;
    uint8_t buf[16];
    uint64_t count = 0;
    job->status = psf_tcp_recv(job->conn, buf, sizeof buf, 1, &count, -1);
    return NULL;
}

/* A thread blocked without a timeout is released by psf_tcp_shutdown from another thread. */
static void shutdown_releases_a_blocked_receiver(void)
{
    psf_tcp_listener *listener = NULL;
    uint16_t port = 0;
    CHECK(psf_tcp_listen("127.0.0.1", 0, &listener, &port) == PSF_OK);
    if (listener == NULL)
        return;
    psf_tcp_conn *server = NULL, *client = NULL;
    CHECK(psf_tcp_connect("127.0.0.1", port, 1000 * PSF_MS, &client) == PSF_OK);
    CHECK(psf_tcp_accept(listener, 1000 * PSF_MS, &server) == PSF_OK);
    blocked_job job = { server, 1 };
    pthread_t thread;
    pthread_create(&thread, NULL, receive_forever, &job);
    struct timespec pause = { 0, 50 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    double start = psf_test_seconds();
    CHECK(psf_tcp_shutdown(server) == PSF_OK);
    pthread_join(thread, NULL);
    CHECK(job.status == PSF_E_CLOSED);
    CHECK(psf_test_seconds() - start < 1.0);
    psf_iovec one = { "x", 1 };
    CHECK(psf_tcp_sendv(server, &one, 1, 100 * PSF_MS) == PSF_E_CLOSED);
    /* The peer sees end of stream. */
    uint8_t buf[4];
    uint64_t count = 0;
    CHECK(psf_tcp_recv(client, buf, sizeof buf, 1, &count, 1000 * PSF_MS) == PSF_E_CLOSED);
    psf_tcp_close(client);
    psf_tcp_close(server);
    psf_tcp_listener_close(listener);
}

PSF_TEST_MAIN(PSF_TEST(gather_send_works_over_ipv4),
              PSF_TEST(try_send_reports_back_pressure_without_sending),
              PSF_TEST(shutdown_releases_a_blocked_receiver),
              PSF_TEST(gather_send_works_over_ipv6),
              PSF_TEST(waits_are_bounded_and_closes_are_seen),
              PSF_TEST(bad_addresses_are_refused))
