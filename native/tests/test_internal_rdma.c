/* The RDMA connection logic over the in-memory fake verbs (this machine has no RDMA device),
 * and the real verbs path reporting that clearly. */
#include <stdlib.h>
#include <string.h>

#include "psf.h"
#include "psf_test.h"

#if defined(PSF_HAVE_RDMA)
#include "psf_rdma_fake.h"
#include "psf_rdma_internal.h"

enum { SLOTS = 8, SLOT_BYTES = 256, REGION = 64 * 1024 };

typedef struct { psf_rdma_conn *a, *b; } pair;

static pair connected_pair(uint64_t mr_cache_bytes)
{
    psf_rdma_fake_reset();
    pair p = { NULL, NULL };
    CHECK(psf_rdma_conn_create_with(&psf_rdma_fake_ops, SLOTS, SLOT_BYTES, REGION, mr_cache_bytes,
                                    &p.a) == PSF_OK);
    CHECK(psf_rdma_conn_create_with(&psf_rdma_fake_ops, SLOTS, SLOT_BYTES, REGION, mr_cache_bytes,
                                    &p.b) == PSF_OK);
    uint8_t blob_a[PSF_RDMA_INFO_BYTES], blob_b[PSF_RDMA_INFO_BYTES];
    uint32_t length_a = 0, length_b = 0;
    CHECK(psf_rdma_local_info(p.a, blob_a, sizeof blob_a, &length_a) == PSF_OK);
    CHECK(psf_rdma_local_info(p.b, blob_b, sizeof blob_b, &length_b) == PSF_OK);
    CHECK(length_a == PSF_RDMA_INFO_BYTES && length_b == PSF_RDMA_INFO_BYTES);
    CHECK(psf_rdma_connect(p.a, blob_b, length_b) == PSF_OK);
    CHECK(psf_rdma_connect(p.b, blob_a, length_a) == PSF_OK);
    return p;
}

static void close_pair(pair p)
{
    psf_rdma_close(p.a);
    psf_rdma_close(p.b);
    CHECK(psf_rdma_fake_registrations() == psf_rdma_fake_deregistrations());
}

/* Polls until an event of `kind` comes (other kinds are released or ignored). */
static int poll_for(psf_rdma_conn *conn, int32_t kind, psf_rdma_event *event)
{
    for (int i = 0; i < 100; i++) {
        int32_t status = psf_rdma_poll(conn, event);
        if (status < 0)
            return status;
        if (status == 1 && event->kind == kind)
            return 1;
    }
    return 0;
}

static void setup_blobs_connect_two_endpoints(void)
{
    pair p = connected_pair(1 << 20);
    CHECK(psf_rdma_send(p.a, 42, "hello", 5) == PSF_OK);
    psf_rdma_event event;
    CHECK(poll_for(p.b, PSF_RDMA_EVENT_MESSAGE, &event) == 1);
    CHECK(event.type == 42 && event.length == 5 && memcmp(event.data, "hello", 5) == 0);
    CHECK(psf_rdma_release(p.b, event.token) == PSF_OK);
    CHECK(psf_rdma_release(p.b, event.token + 1000) == PSF_E_INVALID);
    CHECK(psf_rdma_send(p.b, 7, NULL, 0) == PSF_OK);
    CHECK(poll_for(p.a, PSF_RDMA_EVENT_MESSAGE, &event) == 1);
    CHECK(event.type == 7 && event.length == 0);
    /* Too big for the peer's buffers, and a second connect, are refused. */
    static uint8_t big[SLOT_BYTES];
    CHECK(psf_rdma_send(p.a, 1, big, SLOT_BYTES - 15) == PSF_E_INVALID);
    CHECK(psf_rdma_send(p.a, 1, big, SLOT_BYTES - 16) == PSF_OK);
    uint8_t blob[PSF_RDMA_INFO_BYTES];
    uint32_t length;
    CHECK(psf_rdma_local_info(p.b, blob, sizeof blob, &length) == PSF_OK);
    CHECK(psf_rdma_connect(p.a, blob, length) == PSF_E_INVALID);
    close_pair(p);
}

static void a_corrupt_blob_is_refused(void)
{
    psf_rdma_fake_reset();
    psf_rdma_conn *conn = NULL;
    CHECK(psf_rdma_conn_create_with(&psf_rdma_fake_ops, SLOTS, SLOT_BYTES, REGION, 1 << 20,
                                    &conn) == PSF_OK);
    uint8_t blob[PSF_RDMA_INFO_BYTES];
    uint32_t length;
    CHECK(psf_rdma_local_info(conn, blob, 10, &length) == PSF_E_INVALID);
    CHECK(psf_rdma_local_info(conn, blob, sizeof blob, &length) == PSF_OK);
    CHECK(psf_rdma_connect(conn, blob, 20) == PSF_E_PROTOCOL);
    blob[0] ^= 1;
    CHECK(psf_rdma_connect(conn, blob, length) == PSF_E_PROTOCOL);
    CHECK(strstr(psf_last_error(), "setup blob") != NULL);
    blob[0] ^= 1;
    uint32_t slots = 100000;
    memcpy(blob + PSF_RDMA_INFO_OFF_SLOTS, &slots, 4);
    CHECK(psf_rdma_connect(conn, blob, length) == PSF_E_PROTOCOL);
    CHECK(psf_rdma_send(conn, 1, "x", 1) == PSF_E_INVALID); /* not connected */
    psf_rdma_conn *refused = NULL;
    CHECK(psf_rdma_conn_create_with(&psf_rdma_fake_ops, 2, SLOT_BYTES, REGION, 0, &refused) ==
          PSF_E_INVALID);
    psf_rdma_close(conn);
}

static void credits_run_out_and_come_back(void)
{
    pair p = connected_pair(1 << 20);
    psf_rdma_stats stats;
    CHECK(psf_rdma_conn_stats(p.a, &stats) == PSF_OK && stats.credits == SLOTS);
    int sent = 0;
    while (psf_rdma_send(p.a, sent, &sent, sizeof sent) == PSF_OK)
        sent++;
    /* One credit stays in reserve for a credit message; the peer is never overrun. */
    CHECK(sent == SLOTS - 1);
    psf_rdma_event events[SLOTS];
    int got = 0;
    psf_rdma_event event;
    while (got < SLOTS && psf_rdma_poll(p.b, &event) == 1)
        events[got++] = event;
    CHECK(got == SLOTS - 1);
    for (int i = 0; i < got; i++)
        CHECK(events[i].type == i && *(const int *)events[i].data == i);
    /* Nothing released yet: polling brings no credit back. */
    CHECK(psf_rdma_poll(p.a, &event) == 0);
    CHECK(psf_rdma_send(p.a, 99, NULL, 0) == PSF_E_AGAIN);
    /* Releasing half of them makes B send a credit message on its own. */
    for (int i = 0; i < SLOTS / 2; i++)
        CHECK(psf_rdma_release(p.b, events[i].token) == PSF_OK);
    CHECK(psf_rdma_poll(p.a, &event) == 0); /* reaps the credit message, no event */
    CHECK(psf_rdma_conn_stats(p.a, &stats) == PSF_OK && stats.credits == 1 + SLOTS / 2);
    for (int i = SLOTS / 2; i < got; i++)
        CHECK(psf_rdma_release(p.b, events[i].token) == PSF_OK);
    /* A long exchange in both directions never stalls and never overruns. */
    int delivered = 0;
    for (int round = 0; round < 2000; round++) {
        int32_t status = psf_rdma_send(p.a, round, &round, sizeof round);
        CHECK(status == PSF_OK || status == PSF_E_AGAIN);
        while (psf_rdma_poll(p.b, &event) == 1) {
            if (event.kind == PSF_RDMA_EVENT_MESSAGE) {
                delivered++;
                CHECK(psf_rdma_release(p.b, event.token) == PSF_OK);
            }
        }
        while (psf_rdma_poll(p.a, &event) == 1)
            ;
    }
    CHECK(delivered > 1900);
    close_pair(p);
}

/* Drains both ends: B releases every write and message, A takes its completions. */
static void drain(pair p, int *writes_seen, int *written_seen)
{
    psf_rdma_event event;
    for (int i = 0; i < 4; i++) {
        while (psf_rdma_poll(p.b, &event) == 1) {
            if (event.kind == PSF_RDMA_EVENT_WRITE || event.kind == PSF_RDMA_EVENT_MESSAGE)
                CHECK(psf_rdma_release(p.b, event.token) == PSF_OK);
            if (event.kind == PSF_RDMA_EVENT_WRITE && writes_seen != NULL)
                (*writes_seen)++;
        }
        while (psf_rdma_poll(p.a, &event) == 1)
            if (event.kind == PSF_RDMA_EVENT_WRITTEN && written_seen != NULL)
                (*written_seen)++;
    }
}

static void writes_land_in_the_region_and_wrap(void)
{
    pair p = connected_pair(1 << 20);
    enum { SIZE = REGION / 3 + 100, ROUNDS = 12 };
    static uint8_t buffers[4][SIZE];
    int writes_seen = 0, written_seen = 0;
    for (int round = 0; round < ROUNDS; round++) {
        uint8_t *buf = buffers[round % 4];
        memset(buf, round + 1, SIZE);
        uint64_t token = 99;
        CHECK(psf_rdma_write(p.a, buf, SIZE, &token) == PSF_OK);
        CHECK(token == (uint64_t)round);
        psf_rdma_event event;
        CHECK(poll_for(p.b, PSF_RDMA_EVENT_WRITE, &event) == 1);
        CHECK(event.length == SIZE && ((uintptr_t)event.data & 63) == 0);
        const uint8_t *landed = event.data;
        CHECK(landed[0] == round + 1 && landed[SIZE - 1] == round + 1);
        CHECK(psf_rdma_release(p.b, event.token) == PSF_OK);
        writes_seen++;
        drain(p, &writes_seen, &written_seen);
    }
    CHECK(writes_seen == ROUNDS && written_seen == ROUNDS);
    close_pair(p);
}

static void region_space_pushes_back_and_releases_in_order(void)
{
    pair p = connected_pair(1 << 20);
    enum { SIZE = REGION / 4 };
    static uint8_t buf[SIZE];
    uint64_t token;
    int written = 0;
    while (psf_rdma_write(p.a, buf, SIZE, &token) == PSF_OK)
        written++;
    CHECK(written == 4); /* the region is full */
    psf_rdma_event writes[4], event;
    int got = 0;
    while (psf_rdma_poll(p.b, &event) == 1)
        if (event.kind == PSF_RDMA_EVENT_WRITE)
            writes[got++] = event;
    CHECK(got == 4);
    CHECK(psf_rdma_release(p.b, writes[1].token) == PSF_E_INVALID); /* out of order */
    CHECK(psf_rdma_release(p.b, writes[0].token) == PSF_OK);
    CHECK(psf_rdma_release(p.b, writes[1].token) == PSF_OK);
    /* Half the region free: B reports it in a credit message, A may write again. */
    drain(p, NULL, NULL);
    CHECK(psf_rdma_write(p.a, buf, SIZE, &token) == PSF_OK);
    CHECK(psf_rdma_write(p.a, buf, REGION, &token) == PSF_E_INVALID); /* > half the region */
    close_pair(p);
}

static void registrations_are_cached_and_evicted(void)
{
    pair p = connected_pair(3 * 4096);
    static uint8_t buffers[4][4096];
    uint64_t before = psf_rdma_fake_registrations(), token;
    CHECK(psf_rdma_write(p.a, buffers[0], 4096, &token) == PSF_OK);
    CHECK(psf_rdma_write(p.a, buffers[0], 4096, &token) == PSF_OK);
    psf_rdma_stats stats;
    CHECK(psf_rdma_conn_stats(p.a, &stats) == PSF_OK);
    CHECK(stats.mr_hits == 1 && stats.mr_misses == 1 && stats.mr_bytes == 4096);
    CHECK(psf_rdma_fake_registrations() == before + 1);
    CHECK(psf_rdma_write(p.a, buffers[1], 4096, &token) == PSF_OK);
    CHECK(psf_rdma_write(p.a, buffers[2], 4096, &token) == PSF_OK);
    /* Budget full and every registration still in flight: back-pressure, not eviction. */
    CHECK(psf_rdma_write(p.a, buffers[3], 4096, &token) == PSF_E_AGAIN);
    drain(p, NULL, NULL);
    /* Touch buffer 0 so buffer 1 is the least recently used, then need room. */
    CHECK(psf_rdma_write(p.a, buffers[0], 4096, &token) == PSF_OK);
    CHECK(psf_rdma_write(p.a, buffers[3], 4096, &token) == PSF_OK);
    CHECK(psf_rdma_conn_stats(p.a, &stats) == PSF_OK);
    CHECK(stats.mr_evictions == 1 && stats.mr_bytes == 3 * 4096);
    CHECK(stats.mr_hits == 2 && stats.mr_misses == 4);
    CHECK(psf_rdma_write(p.a, buffers[2], 4096, &token) == PSF_OK); /* still cached: a hit */
    CHECK(psf_rdma_conn_stats(p.a, &stats) == PSF_OK && stats.mr_hits == 3);
    static uint8_t huge[4 * 4096];
    CHECK(psf_rdma_write(p.a, huge, sizeof huge, &token) == PSF_E_INVALID); /* over budget */
    close_pair(p);
}

static void writes_from_a_caller_region_go_in_place_under_its_key(void)
{
    pair p = connected_pair(1 << 20);
    static uint8_t slab[3 * 4096];
    memset(slab, 7, sizeof slab);
    uint64_t before = psf_rdma_fake_registrations(), token;
    uint32_t lkey = 0, grown_lkey = 0;
    CHECK(psf_rdma_region_register(p.a, 5, slab, 2 * 4096, &lkey) == PSF_OK);
    CHECK(lkey != 0 && psf_rdma_fake_registrations() == before + 1);
    CHECK(psf_rdma_write_region(p.a, 5, slab + 100, 4096, &token) == PSF_OK);
    psf_rdma_send_wr last = psf_rdma_fake_write_posted(0);
    CHECK(last.addr == slab + 100 && last.length == 4096 && last.lkey == lkey);
    psf_rdma_event event;
    CHECK(poll_for(p.b, PSF_RDMA_EVENT_WRITE, &event) == 1);
    CHECK(event.length == 4096 && ((const uint8_t *)event.data)[4095] == 7);
    CHECK(psf_rdma_release(p.b, event.token) == PSF_OK);
    CHECK(poll_for(p.a, PSF_RDMA_EVENT_WRITTEN, &event) == 1 && event.token == token);
    /* Beyond the registered extent, or another id: refused, nothing posted. */
    CHECK(psf_rdma_write_region(p.a, 5, slab + 4096, 4097, &token) == PSF_E_INVALID);
    CHECK(psf_rdma_write_region(p.a, 6, slab, 64, &token) == PSF_E_INVALID);
    /* The region grew: one registration replaces the other, and the tail is writable. */
    uint64_t live = psf_rdma_fake_registrations() - psf_rdma_fake_deregistrations();
    CHECK(psf_rdma_region_register(p.a, 5, slab, sizeof slab, &grown_lkey) == PSF_OK);
    CHECK(grown_lkey != lkey);
    CHECK(psf_rdma_fake_registrations() - psf_rdma_fake_deregistrations() == live);
    CHECK(psf_rdma_write_region(p.a, 5, slab + 4096, 4097, &token) == PSF_OK);
    CHECK(psf_rdma_fake_write_posted(0).lkey == grown_lkey);
    drain(p, NULL, NULL);
    psf_rdma_stats stats;
    CHECK(psf_rdma_conn_stats(p.a, &stats) == PSF_OK && stats.mr_misses == 0);
    uint64_t dropped = psf_rdma_fake_deregistrations();
    CHECK(psf_rdma_region_deregister(p.a, 5) == PSF_OK);
    CHECK(psf_rdma_fake_deregistrations() == dropped + 1);
    CHECK(psf_rdma_region_deregister(p.a, 5) == PSF_E_INVALID);
    CHECK(psf_rdma_write_region(p.a, 5, slab, 64, &token) == PSF_E_INVALID);
    close_pair(p);
}

/* A connected pair whose end a registered `bytes` of `slab` as region 1. */
static pair pair_with_region(uint8_t *slab, uint64_t bytes)
{
    pair p = connected_pair(1 << 20);
    uint32_t lkey;
    CHECK(psf_rdma_region_register(p.a, 1, slab, bytes, &lkey) == PSF_OK);
    return p;
}

static void a_write_from_memory_no_longer_registered_fails_on_the_wire(void)
{
    static uint8_t slab[4096];
    pair p = pair_with_region(slab, sizeof slab);
    uint32_t lkey;
    uint64_t token;
    /* A region left registered at close is dropped with the connection. */
    CHECK(psf_rdma_region_register(p.b, 2, slab, sizeof slab, &lkey) == PSF_OK);
    CHECK(psf_rdma_write_region(p.a, 1, slab, sizeof slab, &token) == PSF_OK);
    drain(p, NULL, NULL);
    /* What the device does with a stale key: a local protection error closes the connection. */
    psf_rdma_send_wr wr = { .wr_id = PSF_RDMA_WR_SEND | 0, .opcode = PSF_RDMA_OP_SEND,
                            .addr = slab, .length = 64, .lkey = 0x7fffffffu };
    CHECK(p.a->ops->post_send(p.a->qp, &wr) == PSF_OK);
    psf_rdma_event event;
    CHECK(poll_for(p.a, PSF_RDMA_EVENT_MESSAGE, &event) == PSF_E_CLOSED);
    CHECK(psf_rdma_region_deregister(p.a, 1) == PSF_OK); /* still allowed once broken */
    close_pair(p);
}

static void a_deferring_fake_reads_the_source_only_when_polled(void)
{
    static uint8_t slab[4096];
    pair p = pair_with_region(slab, sizeof slab);
    uint64_t token;
    psf_rdma_fake_defer(true);
    memset(slab, 1, sizeof slab);
    CHECK(psf_rdma_write_region(p.a, 1, slab, sizeof slab, &token) == PSF_OK);
    memset(slab, 2, sizeof slab); /* changed before the completion: the peer gets this */
    psf_rdma_event event;
    CHECK(poll_for(p.b, PSF_RDMA_EVENT_WRITE, &event) == 0); /* nothing moved yet */
    CHECK(poll_for(p.a, PSF_RDMA_EVENT_WRITTEN, &event) == 1 && event.token == token);
    CHECK(poll_for(p.b, PSF_RDMA_EVENT_WRITE, &event) == 1);
    CHECK(((const uint8_t *)event.data)[0] == 2);
    psf_rdma_fake_defer(false);
    close_pair(p);
}

static void a_failed_completion_closes_the_connection(void)
{
    pair p = connected_pair(1 << 20);
    psf_rdma_fake_fail_next_send(PSF_RDMA_FAKE_WC_REM_ACCESS);
    CHECK(psf_rdma_send(p.a, 1, "x", 1) == PSF_OK); /* accepted; fails on the wire */
    psf_rdma_event event;
    CHECK(psf_rdma_poll(p.a, &event) == PSF_E_CLOSED);
    CHECK(strstr(psf_last_error(), "send completion") != NULL);
    CHECK(psf_rdma_send(p.a, 1, "x", 1) == PSF_E_CLOSED);
    CHECK(psf_rdma_poll(p.a, &event) == PSF_E_CLOSED);
    psf_rdma_close(p.b);
    psf_rdma_close(p.a);
}

static void a_send_to_a_vanished_peer_fails_cleanly(void)
{
    pair p = connected_pair(1 << 20);
    psf_rdma_close(p.b);
    CHECK(psf_rdma_send(p.a, 1, "x", 1) == PSF_OK);
    psf_rdma_event event;
    CHECK(psf_rdma_poll(p.a, &event) == PSF_E_CLOSED);
    CHECK(strstr(psf_last_error(), "failed") != NULL);
    psf_rdma_close(p.a);
}
#endif

static void the_real_device_path_says_there_is_none(void)
{
    psf_rdma_conn *conn = (psf_rdma_conn *)1;
    psf_last_error_clear();
    int32_t status = psf_rdma_conn_create(16, 4096, 1 << 20, 1 << 20, &conn);
    CHECK(conn == NULL);
#if defined(PSF_HAVE_RDMA)
    if (psf_rdma_device_count() > 0) {
        printf("     skipped: this machine has an RDMA device\n");
        return;
    }
    CHECK(status == PSF_E_NODEVICE);
    CHECK(strstr(psf_last_error(), "no RDMA device") != NULL);
#else
    CHECK(status == PSF_E_UNSUPPORTED);
    CHECK(strstr(psf_last_error(), "libibverbs-dev") != NULL);
#endif
    printf("     %s\n", psf_last_error());
}

#if defined(PSF_HAVE_RDMA)
PSF_TEST_MAIN(PSF_TEST(setup_blobs_connect_two_endpoints),
              PSF_TEST(a_corrupt_blob_is_refused),
              PSF_TEST(credits_run_out_and_come_back),
              PSF_TEST(writes_land_in_the_region_and_wrap),
              PSF_TEST(region_space_pushes_back_and_releases_in_order),
              PSF_TEST(registrations_are_cached_and_evicted),
              PSF_TEST(writes_from_a_caller_region_go_in_place_under_its_key),
              PSF_TEST(a_write_from_memory_no_longer_registered_fails_on_the_wire),
              PSF_TEST(a_deferring_fake_reads_the_source_only_when_polled),
              PSF_TEST(a_failed_completion_closes_the_connection),
              PSF_TEST(a_send_to_a_vanished_peer_fails_cleanly),
              PSF_TEST(the_real_device_path_says_there_is_none))
#else
PSF_TEST_MAIN(PSF_TEST(the_real_device_path_says_there_is_none))
#endif
