/* Native TCP connections on loopback: IPv4 and IPv6, gather sends, bounded waits. */
#include <pthread.h>
#include <stdlib.h>

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

PSF_TEST_MAIN(PSF_TEST(gather_send_works_over_ipv4),
              PSF_TEST(gather_send_works_over_ipv6),
              PSF_TEST(waits_are_bounded_and_closes_are_seen),
              PSF_TEST(bad_addresses_are_refused))
