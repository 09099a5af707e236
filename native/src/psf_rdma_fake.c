/* In-memory verbs for tests: queue pairs in one process deliver to each other by memcpy,
 * checking what a real RC device checks (states, posted receives, rkeys and bounds), and
 * report violations as error completions, never as crashes. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "psf_rdma_fake.h"
#include "psf_rdma_ops.h"

#define FAKE_MAX_QPS 64
#define FAKE_MAX_MRS 1024
#define FAKE_CQ_DEPTH 8192
#define FAKE_QPN_BASE 0x100
/* Work requests a deferring fake holds per queue pair before it executes them regardless. */
#define FAKE_MAX_PENDING 256

enum { FAKE_RESET, FAKE_INIT, FAKE_RTR, FAKE_RTS };

typedef struct fake_cq {
    psf_rdma_wc entries[FAKE_CQ_DEPTH];
    uint32_t head, count;
} fake_cq;

typedef struct fake_recv { uint64_t wr_id; void *addr; uint32_t length; } fake_recv;

typedef struct fake_qp {
    uint32_t qpn;
    int state;
    uint32_t peer_qpn;
    fake_cq *cq;
    fake_recv *recvs;          /* FIFO of posted receives */
    uint32_t recv_depth, recv_head, recv_count;
    psf_rdma_send_wr pending[FAKE_MAX_PENDING]; /* posted, not yet executed (deferring fake) */
    uint32_t pending_count;
} fake_qp;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static fake_qp *s_qps[FAKE_MAX_QPS];
static psf_rdma_mr s_mrs[FAKE_MAX_MRS];
static uint32_t s_next_key = 1;
static int32_t s_fail_next;
static uint64_t s_registrations, s_deregistrations;
/* The last writes posted, newest at s_writes_posted - 1 (mod the ring). */
#define FAKE_WRITE_HISTORY 16
static psf_rdma_send_wr s_writes[FAKE_WRITE_HISTORY];
static uint64_t s_writes_posted;
static bool s_defer;

void psf_rdma_fake_reset(void)
{
    pthread_mutex_lock(&s_lock);
    memset(s_qps, 0, sizeof s_qps);
    memset(s_mrs, 0, sizeof s_mrs);
    s_fail_next = 0;
    s_registrations = s_deregistrations = 0;
    memset(s_writes, 0, sizeof s_writes);
    s_writes_posted = 0;
    s_defer = false;
    pthread_mutex_unlock(&s_lock);
}

void psf_rdma_fake_fail_next_send(int32_t status) { s_fail_next = status; }
uint64_t psf_rdma_fake_registrations(void) { return s_registrations; }
uint64_t psf_rdma_fake_deregistrations(void) { return s_deregistrations; }

void psf_rdma_fake_defer(bool defer)
{
    pthread_mutex_lock(&s_lock);
    s_defer = defer;
    pthread_mutex_unlock(&s_lock);
}

psf_rdma_send_wr psf_rdma_fake_write_posted(uint32_t back)
{
    psf_rdma_send_wr found = { 0 };
    pthread_mutex_lock(&s_lock);
    if (back < FAKE_WRITE_HISTORY && back < s_writes_posted)
        found = s_writes[(s_writes_posted - 1 - back) % FAKE_WRITE_HISTORY];
    pthread_mutex_unlock(&s_lock);
    return found;
}

static int32_t fake_open(void **ctx, psf_rdma_port *port)
{
    static int s_device;
    *ctx = &s_device;
    memset(port, 0, sizeof *port);
    port->lid = 7;
    port->port_num = 1;
    port->gid[15] = 1;
    return PSF_OK;
}

static void fake_close(void *ctx) { (void)ctx; }

static int32_t fake_alloc_pd(void *ctx, void **pd)
{
    *pd = ctx;
    return PSF_OK;
}

static void fake_dealloc_pd(void *pd) { (void)pd; }

static int32_t fake_reg_mr(void *pd, void *addr, uint64_t length, psf_rdma_mr *out)
{
    (void)pd;
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < FAKE_MAX_MRS; i++) {
        if (s_mrs[i].addr == NULL) {
            uint32_t key = s_next_key++;
            s_mrs[i] = (psf_rdma_mr){ &s_mrs[i], addr, length, key, key | 0x80000000u };
            *out = s_mrs[i];
            s_registrations++;
            pthread_mutex_unlock(&s_lock);
            return PSF_OK;
        }
    }
    pthread_mutex_unlock(&s_lock);
    return psf_fail(PSF_E_NOMEM, "fake verbs: out of memory regions");
}

static void fake_dereg_mr(psf_rdma_mr *mr)
{
    pthread_mutex_lock(&s_lock);
    memset(mr->handle, 0, sizeof(psf_rdma_mr));
    s_deregistrations++;
    pthread_mutex_unlock(&s_lock);
}

static int32_t fake_create_cq(void *ctx, uint32_t depth, void **cq)
{
    (void)ctx;
    (void)depth;
    *cq = calloc(1, sizeof(fake_cq));
    return *cq == NULL ? psf_fail(PSF_E_NOMEM, "fake verbs: cq") : PSF_OK;
}

static void fake_destroy_cq(void *cq) { free(cq); }

static int32_t fake_create_qp(void *pd, void *cq, uint32_t send_depth, uint32_t recv_depth,
                              void **qp, uint32_t *qpn)
{
    (void)pd;
    (void)send_depth;
    fake_qp *fresh = calloc(1, sizeof *fresh);
    fake_recv *recvs = calloc(recv_depth, sizeof *recvs);
    if (fresh == NULL || recvs == NULL) {
        free(fresh);
        free(recvs);
        return psf_fail(PSF_E_NOMEM, "fake verbs: qp");
    }
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < FAKE_MAX_QPS; i++) {
        if (s_qps[i] == NULL) {
            s_qps[i] = fresh;
            fresh->qpn = FAKE_QPN_BASE + (uint32_t)i;
            break;
        }
    }
    pthread_mutex_unlock(&s_lock);
    if (fresh->qpn == 0) {
        free(fresh);
        free(recvs);
        return psf_fail(PSF_E_NOMEM, "fake verbs: too many queue pairs");
    }
    fresh->cq = cq;
    fresh->recvs = recvs;
    fresh->recv_depth = recv_depth;
    *qp = fresh;
    *qpn = fresh->qpn;
    return PSF_OK;
}

static void fake_destroy_qp(void *qp)
{
    fake_qp *victim = qp;
    pthread_mutex_lock(&s_lock);
    if (victim->qpn - FAKE_QPN_BASE < FAKE_MAX_QPS && s_qps[victim->qpn - FAKE_QPN_BASE] == victim)
        s_qps[victim->qpn - FAKE_QPN_BASE] = NULL;
    pthread_mutex_unlock(&s_lock);
    free(victim->recvs);
    free(victim);
}

static int32_t transition(void *qp, int from, int to)
{
    fake_qp *target = qp;
    if (target->state != from)
        return psf_fail(PSF_E_SYSTEM, "fake verbs: qp %u is in state %d, not %d", target->qpn,
                        target->state, from);
    target->state = to;
    return PSF_OK;
}

static int32_t fake_to_init(void *qp, const psf_rdma_port *port)
{
    (void)port;
    return transition(qp, FAKE_RESET, FAKE_INIT);
}

static int32_t fake_to_rtr(void *qp, const psf_rdma_port *port, const psf_rdma_remote *remote)
{
    (void)port;
    ((fake_qp *)qp)->peer_qpn = remote->qpn;
    return transition(qp, FAKE_INIT, FAKE_RTR);
}

static int32_t fake_to_rts(void *qp, uint32_t psn)
{
    (void)psn;
    return transition(qp, FAKE_RTR, FAKE_RTS);
}

static void complete(fake_cq *cq, psf_rdma_wc wc)
{
    if (cq->count < FAKE_CQ_DEPTH) {
        cq->entries[(cq->head + cq->count) % FAKE_CQ_DEPTH] = wc;
        cq->count++;
    }
}

/* A device reads local memory only through a live registration of it under that lkey. */
static bool covered_by_lkey(const void *addr, uint32_t length, uint32_t lkey)
{
    for (int i = 0; i < FAKE_MAX_MRS; i++) {
        const uint8_t *start = s_mrs[i].addr;
        if (start != NULL && s_mrs[i].lkey == lkey && start <= (const uint8_t *)addr &&
            (const uint8_t *)addr + length <= start + s_mrs[i].length)
            return true;
    }
    return false;
}

static const psf_rdma_mr *find_rkey(uint32_t rkey)
{
    for (int i = 0; i < FAKE_MAX_MRS; i++)
        if (s_mrs[i].addr != NULL && s_mrs[i].rkey == rkey)
            return &s_mrs[i];
    return NULL;
}

/* Executes one send or write (under s_lock): the fake has no wire, so delivery is a memcpy. */
static void execute(fake_qp *self, const psf_rdma_send_wr *wr)
{
    psf_rdma_wc done = { .wr_id = wr->wr_id, .opcode = wr->opcode, .byte_len = wr->length };
    uint32_t slot = self->peer_qpn - FAKE_QPN_BASE;
    fake_qp *peer = slot < FAKE_MAX_QPS ? s_qps[slot] : NULL;
    if (s_fail_next != 0) {
        done.status = s_fail_next;
        s_fail_next = 0;
    } else if (!covered_by_lkey(wr->addr, wr->length, wr->lkey)) {
        done.status = PSF_RDMA_FAKE_WC_LOC_PROT; /* the source is not (or no longer) registered */
    } else if (peer == NULL || peer->recv_count == 0) {
        done.status = PSF_RDMA_FAKE_WC_RNR_RETRY_EXC; /* nobody posted a receive */
    } else {
        fake_recv *recv = &peer->recvs[peer->recv_head];
        psf_rdma_wc arrived = { .wr_id = recv->wr_id, .byte_len = wr->length };
        if (wr->opcode == PSF_RDMA_OP_SEND) {
            arrived.opcode = PSF_RDMA_OP_RECV;
            if (wr->length > recv->length)
                done.status = arrived.status = PSF_RDMA_FAKE_WC_LOC_LEN;
            else
                memcpy(recv->addr, wr->addr, wr->length);
        } else {
            arrived.opcode = PSF_RDMA_OP_RECV_IMM;
            arrived.imm = wr->imm;
            const psf_rdma_mr *target = find_rkey(wr->rkey);
            uint64_t start = (uint64_t)(uintptr_t)(target ? target->addr : NULL);
            if (target == NULL || wr->remote_addr < start ||
                wr->remote_addr + wr->length > start + target->length)
                done.status = arrived.status = PSF_RDMA_FAKE_WC_REM_ACCESS;
            else
                memcpy((void *)(uintptr_t)wr->remote_addr, wr->addr, wr->length);
        }
        peer->recv_head = (peer->recv_head + 1) % peer->recv_depth;
        peer->recv_count--;
        complete(peer->cq, arrived);
    }
    done.status_text = done.status == 0 ? "success" : "fake error";
    complete(self->cq, done);
}

/* A deferring fake executes a queue pair's work requests when its completion queue is polled,
 * in order, as a device reads the memory some time after the post: a caller that changes the
 * memory before it sees the completion sends the changed bytes, as it would on hardware. */
static void execute_pending(fake_cq *cq)
{
    for (int i = 0; i < FAKE_MAX_QPS; i++) {
        fake_qp *qp = s_qps[i];
        if (qp == NULL || qp->cq != cq)
            continue;
        for (uint32_t k = 0; k < qp->pending_count; k++)
            execute(qp, &qp->pending[k]);
        qp->pending_count = 0;
    }
}

static int32_t fake_post_send(void *qp, const psf_rdma_send_wr *wr)
{
    fake_qp *self = qp;
    if (self->state != FAKE_RTS)
        return psf_fail(PSF_E_SYSTEM, "fake verbs: post_send on qp %u before RTS", self->qpn);
    pthread_mutex_lock(&s_lock);
    if (wr->opcode == PSF_RDMA_OP_WRITE_IMM)
        s_writes[s_writes_posted++ % FAKE_WRITE_HISTORY] = *wr;
    if (s_defer && self->pending_count < FAKE_MAX_PENDING) {
        self->pending[self->pending_count++] = *wr;
    } else {
        for (uint32_t k = 0; k < self->pending_count; k++) /* keep the order */
            execute(self, &self->pending[k]);
        self->pending_count = 0;
        execute(self, wr);
    }
    pthread_mutex_unlock(&s_lock);
    return PSF_OK;
}

static int32_t fake_post_recv(void *qp, uint64_t wr_id, void *addr, uint32_t length, uint32_t lkey)
{
    (void)lkey;
    fake_qp *self = qp;
    pthread_mutex_lock(&s_lock);
    int32_t status = PSF_OK;
    if (self->recv_count == self->recv_depth)
        status = psf_fail(PSF_E_SYSTEM, "fake verbs: receive queue of qp %u is full", self->qpn);
    else {
        self->recvs[(self->recv_head + self->recv_count) % self->recv_depth] =
            (fake_recv){ wr_id, addr, length };
        self->recv_count++;
    }
    pthread_mutex_unlock(&s_lock);
    return status;
}

static int32_t fake_poll_cq(void *cq, psf_rdma_wc *wc, int32_t max)
{
    fake_cq *queue = cq;
    pthread_mutex_lock(&s_lock);
    execute_pending(queue);
    int32_t count = 0;
    while (count < max && queue->count > 0) {
        wc[count] = queue->entries[queue->head];
        if (wc[count].status_text == NULL)
            wc[count].status_text = wc[count].status == 0 ? "success" : "fake error";
        queue->head = (queue->head + 1) % FAKE_CQ_DEPTH;
        queue->count--;
        count++;
    }
    pthread_mutex_unlock(&s_lock);
    return count;
}

const psf_rdma_ops psf_rdma_fake_ops = {
    "fake", fake_open, fake_close, fake_alloc_pd, fake_dealloc_pd, fake_reg_mr, fake_dereg_mr,
    fake_create_cq, fake_destroy_cq, fake_create_qp, fake_destroy_qp, fake_to_init, fake_to_rtr,
    fake_to_rts, fake_post_send, fake_post_recv, fake_poll_cq,
};
