/* The loopback TCP stream again, its sender driving the socket through io_uring: several sends
 * in flight and one system call per batch instead of one per send. It decides whether a TCP
 * transport built on io_uring would beat the blocking sockets the transports use (see the
 * README's TCP section): the receiver is the same as the plain stream's, so only the sending
 * path differs. Raw system calls, so no liburing is needed. */
#include <linux/io_uring.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "psf_bench_internal.h"
#include "psf_tcp_internal.h"

typedef struct {
    int fd;
    void *sq_map, *cq_map;
    size_t sq_bytes, cq_bytes, sqe_bytes;
    _Atomic unsigned *sq_tail, *cq_head, *cq_tail;
    unsigned *sq_mask, *sq_array, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
} uring;

static void uring_close(uring *r)
{
    if (r->sqes != NULL && r->sqes != MAP_FAILED)
        munmap(r->sqes, r->sqe_bytes);
    if (r->cq_map != NULL && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map)
        munmap(r->cq_map, r->cq_bytes);
    if (r->sq_map != NULL && r->sq_map != MAP_FAILED)
        munmap(r->sq_map, r->sq_bytes);
    if (r->fd >= 0)
        close(r->fd);
}

static int32_t uring_open(uring *r, unsigned entries)
{
    memset(r, 0, sizeof *r);
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    r->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
    if (r->fd < 0)
        return psf_fail(PSF_E_UNSUPPORTED, "io_uring_setup failed: this kernel has no io_uring or forbids it");
    r->sq_bytes = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    r->cq_bytes = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single && r->cq_bytes > r->sq_bytes)
        r->sq_bytes = r->cq_bytes;
    r->sq_map = mmap(NULL, r->sq_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
    r->cq_map = single ? r->sq_map
                       : mmap(NULL, r->cq_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
    r->sqe_bytes = p.sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = mmap(NULL, r->sqe_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if (r->sq_map == MAP_FAILED || r->cq_map == MAP_FAILED || r->sqes == MAP_FAILED) {
        uring_close(r);
        return psf_fail(PSF_E_SYSTEM, "io_uring: cannot map the rings");
    }
    char *sq = r->sq_map, *cq = r->cq_map;
    r->sq_tail = (_Atomic unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    r->cq_head = (_Atomic unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (_Atomic unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    return PSF_OK;
}

/* Queues one send (not yet submitted). */
static void uring_send(uring *r, int fd, const void *data, uint32_t len)
{
    unsigned tail = atomic_load_explicit(r->sq_tail, memory_order_relaxed);
    unsigned index = tail & *r->sq_mask;
    struct io_uring_sqe *sqe = &r->sqes[index];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_SEND;
    sqe->fd = fd;
    sqe->addr = (uint64_t)(uintptr_t)data;
    sqe->len = len;
    r->sq_array[index] = index;
    atomic_store_explicit(r->sq_tail, tail + 1, memory_order_release);
}

/* Submits `count` queued sends and waits for at least `wait` completions; adds the bytes sent. */
static int32_t uring_enter(uring *r, unsigned count, unsigned wait, unsigned *in_flight, uint64_t *sent)
{
    if (syscall(__NR_io_uring_enter, r->fd, count, wait, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
        return psf_fail(PSF_E_SYSTEM, "io_uring_enter failed");
    unsigned head = atomic_load_explicit(r->cq_head, memory_order_relaxed);
    while (head != atomic_load_explicit(r->cq_tail, memory_order_acquire)) {
        int32_t res = r->cqes[head & *r->cq_mask].res;
        head++;
        (*in_flight)--;
        if (res < 0)
            return psf_fail(PSF_E_SYSTEM, "io_uring: a send failed");
        *sent += (uint64_t)res;
    }
    atomic_store_explicit(r->cq_head, head, memory_order_release);
    return PSF_OK;
}

int32_t psf_bench_tcp_stream_uring(uint64_t message_bytes, uint64_t total_bytes, uint32_t depth, double *gbps)
{
    if (gbps == NULL || message_bytes == 0 || message_bytes > ((uint64_t)64 << 20) || total_bytes < message_bytes ||
        depth == 0 || depth > 64)
        return psf_fail(PSF_E_INVALID,
                        "psf_bench_tcp_stream_uring: message 1..64 MiB, total >= message and depth 1..64 required");
    uring ring;
    int32_t status = uring_open(&ring, 64);
    if (status < 0)
        return status;
    psf_bench_peer job = { .total_bytes = total_bytes / message_bytes * message_bytes,
                     .deadline_ns = psf_now_ns() + PSF_BENCH_BUDGET_NS };
    uint16_t port = 0;
    status = psf_tcp_listen("127.0.0.1", 0, &job.listener, &port);
    if (status < 0) {
        uring_close(&ring);
        return status;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, psf_bench_swallow, &job) != 0) {
        psf_tcp_listener_close(job.listener);
        uring_close(&ring);
        return psf_fail(PSF_E_SYSTEM, "bench: cannot start a thread");
    }
    psf_tcp_conn *conn = NULL;
    status = psf_tcp_connect("127.0.0.1", port, psf_bench_left(job.deadline_ns), &conn);
    uint8_t *message = calloc(1, message_bytes);
    int64_t start = psf_now_ns();
    /* Sends share one buffer (the bytes are not checked) and a stream socket keeps them in
     * order; a short send is made up by counting bytes, not sends. */
    uint64_t queued = 0, sent = 0;
    unsigned in_flight = 0;
    while (status == PSF_OK && sent < job.total_bytes) {
        unsigned batch = 0;
        while (in_flight < depth && queued < job.total_bytes) {
            uint64_t left = job.total_bytes - queued;
            uint32_t len = (uint32_t)(left < message_bytes ? left : message_bytes);
            uring_send(&ring, conn->fd, message, len);
            queued += len;
            in_flight++;
            batch++;
        }
        status = uring_enter(&ring, batch, 1, &in_flight, &sent);
        /* Bytes a short send left out go again at the end of the stream. */
        if (status == PSF_OK && queued >= job.total_bytes && in_flight == 0 && sent < job.total_bytes)
            queued = sent;
        if (status == PSF_OK && psf_now_ns() > job.deadline_ns)
            status = psf_fail(PSF_E_TIMEOUT, "psf_bench_tcp_stream_uring: ran out of time");
    }
    psf_tcp_close(conn);
    pthread_join(thread, NULL);
    int64_t elapsed = psf_now_ns() - start;
    free(message);
    psf_tcp_listener_close(job.listener);
    uring_close(&ring);
    if (status == PSF_OK)
        status = job.status;
    if (status < 0)
        return status;
    *gbps = (double)job.total_bytes / (double)elapsed;
    return PSF_OK;
}
