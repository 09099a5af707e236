/* Creating, connecting and closing RDMA connections; the setup blob. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "psf_rdma_internal.h"

static void *alloc_pages(uint64_t bytes)
{
    /* Page aligned: registration pins whole pages anyway, and writes want 64-byte offsets. */
    return aligned_alloc(4096, (bytes + 4095) & ~(uint64_t)4095);
}

static int32_t post_all_receives(psf_rdma_conn *conn)
{
    for (uint32_t slot = 0; slot < conn->recv_slots; slot++) {
        int32_t status = conn->ops->post_recv(conn->qp, PSF_RDMA_WR_RECV | slot,
                                              conn->recv_buf + (uint64_t)slot * conn->slot_bytes,
                                              conn->slot_bytes, conn->recv_mr.lkey);
        if (status < 0)
            return status;
    }
    return PSF_OK;
}

int32_t psf_rdma_conn_create_with(const psf_rdma_ops *ops, uint32_t recv_slots,
                                  uint32_t slot_bytes, uint64_t region_bytes,
                                  uint64_t mr_cache_bytes, psf_rdma_conn **out)
{
    if (out == NULL)
        return psf_fail(PSF_E_INVALID, "psf_rdma_conn_create: null output");
    *out = NULL;
    if (recv_slots < 4 || recv_slots > PSF_RDMA_MAX_SLOTS || slot_bytes < 64 ||
        slot_bytes > (1u << 20) || (region_bytes != 0 && region_bytes < 4096) ||
        region_bytes > ((uint64_t)16 << 30) || region_bytes % PSF_RDMA_WRITE_ALIGN != 0)
        return psf_fail(PSF_E_INVALID, "psf_rdma_conn_create: need 4..4096 slots of 64 B..1 MiB "
                        "and a region of 0 or 4 KiB..16 GiB in multiples of 64");
    psf_rdma_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL)
        return psf_fail(PSF_E_NOMEM, "psf_rdma_conn_create: out of memory");
    conn->ops = ops;
    conn->recv_slots = recv_slots;
    conn->slot_bytes = slot_bytes;
    conn->region_bytes = region_bytes;
    conn->psn = ((uint32_t)getpid() * 2654435761u ^ (uint32_t)time(NULL)) & 0xFFFFFFu;
    int32_t status = ops->open(&conn->ctx, &conn->port);
    if (status < 0) {
        free(conn);
        return status;
    }
    conn->ready_cap = recv_slots + PSF_RDMA_MAX_SLOTS;
    conn->ready = calloc(conn->ready_cap, sizeof *conn->ready);
    conn->write_ends = calloc(recv_slots, sizeof *conn->write_ends);
    conn->recv_buf = alloc_pages((uint64_t)recv_slots * slot_bytes);
    if (region_bytes != 0)
        conn->region = alloc_pages(region_bytes);
    if (conn->ready == NULL || conn->write_ends == NULL || conn->recv_buf == NULL ||
        (region_bytes != 0 && conn->region == NULL))
        status = psf_fail(PSF_E_NOMEM, "psf_rdma_conn_create: out of memory for buffers");
    if (status == PSF_OK)
        status = ops->alloc_pd(conn->ctx, &conn->pd);
    /* One CQ entry per receive, per send slot and per write in flight. */
    if (status == PSF_OK)
        status = ops->create_cq(conn->ctx, recv_slots + 2 * PSF_RDMA_MAX_SLOTS, &conn->cq);
    if (status == PSF_OK)
        status = ops->create_qp(conn->pd, conn->cq, PSF_RDMA_MAX_SLOTS, recv_slots, &conn->qp,
                                &conn->qpn);
    if (status == PSF_OK)
        status = ops->qp_to_init(conn->qp, &conn->port);
    if (status == PSF_OK)
        status = ops->reg_mr(conn->pd, conn->recv_buf, (uint64_t)recv_slots * slot_bytes,
                             &conn->recv_mr);
    if (status == PSF_OK && region_bytes != 0)
        status = ops->reg_mr(conn->pd, conn->region, region_bytes, &conn->region_mr);
    if (status == PSF_OK)
        status = post_all_receives(conn);
    psf_rdma_mr_cache_init(&conn->mrs, ops, conn->pd, mr_cache_bytes);
    if (status < 0) {
        psf_rdma_close(conn);
        return status;
    }
    *out = conn;
    return PSF_OK;
}

static void put32(uint8_t *blob, uint32_t offset, uint32_t value) { memcpy(blob + offset, &value, 4); }
static void put64(uint8_t *blob, uint32_t offset, uint64_t value) { memcpy(blob + offset, &value, 8); }
static uint32_t get32(const uint8_t *blob, uint32_t offset)
{
    uint32_t value;
    memcpy(&value, blob + offset, 4);
    return value;
}
static uint64_t get64(const uint8_t *blob, uint32_t offset)
{
    uint64_t value;
    memcpy(&value, blob + offset, 8);
    return value;
}

int32_t psf_rdma_local_info(psf_rdma_conn *conn, void *buf, uint32_t cap, uint32_t *length)
{
    if (conn == NULL || buf == NULL || length == NULL || cap < PSF_RDMA_INFO_BYTES)
        return psf_fail(PSF_E_INVALID, "psf_rdma_local_info: null argument or cap < %d",
                        PSF_RDMA_INFO_BYTES);
    uint8_t *blob = buf;
    memset(blob, 0, PSF_RDMA_INFO_BYTES);
    put32(blob, PSF_RDMA_INFO_OFF_MAGIC, PSF_RDMA_INFO_MAGIC);
    uint16_t version = PSF_RDMA_INFO_VERSION, bytes = PSF_RDMA_INFO_BYTES;
    memcpy(blob + PSF_RDMA_INFO_OFF_VERSION, &version, 2);
    memcpy(blob + PSF_RDMA_INFO_OFF_BYTES, &bytes, 2);
    put32(blob, PSF_RDMA_INFO_OFF_QPN, conn->qpn);
    put32(blob, PSF_RDMA_INFO_OFF_PSN, conn->psn);
    memcpy(blob + PSF_RDMA_INFO_OFF_LID, &conn->port.lid, 2);
    blob[PSF_RDMA_INFO_OFF_PORT] = conn->port.port_num;
    put32(blob, PSF_RDMA_INFO_OFF_SLOTS, conn->recv_slots);
    put32(blob, PSF_RDMA_INFO_OFF_SLOT_BYTES, conn->slot_bytes);
    put32(blob, PSF_RDMA_INFO_OFF_RKEY, conn->region_mr.rkey);
    put64(blob, PSF_RDMA_INFO_OFF_REGION_ADDR, (uint64_t)(uintptr_t)conn->region);
    put64(blob, PSF_RDMA_INFO_OFF_REGION_BYTES, conn->region_bytes);
    memcpy(blob + PSF_RDMA_INFO_OFF_GID, conn->port.gid, 16);
    *length = PSF_RDMA_INFO_BYTES;
    return PSF_OK;
}

static int32_t read_blob(const uint8_t *blob, uint32_t length, psf_rdma_remote *remote,
                         psf_rdma_conn *conn)
{
    uint16_t version, bytes;
    if (length < PSF_RDMA_INFO_BYTES)
        return psf_fail(PSF_E_PROTOCOL, "psf_rdma_connect: blob of %u bytes, expected %d",
                        length, PSF_RDMA_INFO_BYTES);
    memcpy(&version, blob + PSF_RDMA_INFO_OFF_VERSION, 2);
    memcpy(&bytes, blob + PSF_RDMA_INFO_OFF_BYTES, 2);
    if (get32(blob, PSF_RDMA_INFO_OFF_MAGIC) != PSF_RDMA_INFO_MAGIC ||
        version != PSF_RDMA_INFO_VERSION || bytes != PSF_RDMA_INFO_BYTES)
        return psf_fail(PSF_E_PROTOCOL, "psf_rdma_connect: not a version %u setup blob",
                        PSF_RDMA_INFO_VERSION);
    remote->qpn = get32(blob, PSF_RDMA_INFO_OFF_QPN);
    remote->psn = get32(blob, PSF_RDMA_INFO_OFF_PSN);
    memcpy(&remote->lid, blob + PSF_RDMA_INFO_OFF_LID, 2);
    memcpy(remote->gid, blob + PSF_RDMA_INFO_OFF_GID, 16);
    conn->peer_slots = get32(blob, PSF_RDMA_INFO_OFF_SLOTS);
    conn->peer_slot_bytes = get32(blob, PSF_RDMA_INFO_OFF_SLOT_BYTES);
    conn->peer_rkey = get32(blob, PSF_RDMA_INFO_OFF_RKEY);
    conn->peer_region_addr = get64(blob, PSF_RDMA_INFO_OFF_REGION_ADDR);
    conn->peer_region_bytes = get64(blob, PSF_RDMA_INFO_OFF_REGION_BYTES);
    if (conn->peer_slots < 4 || conn->peer_slots > PSF_RDMA_MAX_SLOTS ||
        conn->peer_slot_bytes < 64 || conn->peer_slot_bytes > (1u << 20) ||
        conn->peer_region_bytes % PSF_RDMA_WRITE_ALIGN != 0)
        return psf_fail(PSF_E_PROTOCOL, "psf_rdma_connect: blob has %u slots of %u bytes and a "
                        "%llu byte region", conn->peer_slots, conn->peer_slot_bytes,
                        (unsigned long long)conn->peer_region_bytes);
    return PSF_OK;
}

int32_t psf_rdma_connect(psf_rdma_conn *conn, const void *remote_info, uint32_t length)
{
    if (conn == NULL || remote_info == NULL)
        return psf_fail(PSF_E_INVALID, "psf_rdma_connect: null argument");
    if (conn->connected || conn->broken)
        return psf_fail(PSF_E_INVALID, "psf_rdma_connect: already connected");
    psf_rdma_remote remote;
    int32_t status = read_blob(remote_info, length, &remote, conn);
    if (status < 0)
        return status;
    conn->send_slots = conn->peer_slots < PSF_RDMA_MAX_SEND_SLOTS ? conn->peer_slots
                                                                  : PSF_RDMA_MAX_SEND_SLOTS;
    uint64_t send_bytes = (uint64_t)conn->send_slots * conn->peer_slot_bytes;
    conn->send_buf = alloc_pages(send_bytes);
    conn->send_free = calloc(conn->send_slots, sizeof *conn->send_free);
    conn->write_mrs = calloc(conn->peer_slots, sizeof *conn->write_mrs);
    if (conn->send_buf == NULL || conn->send_free == NULL || conn->write_mrs == NULL)
        return psf_fail(PSF_E_NOMEM, "psf_rdma_connect: out of memory for send slots");
    status = conn->ops->reg_mr(conn->pd, conn->send_buf, send_bytes, &conn->send_mr);
    if (status < 0)
        return status;
    for (uint32_t slot = 0; slot < conn->send_slots; slot++)
        conn->send_free[slot] = conn->send_slots - 1 - slot;
    conn->send_free_count = conn->send_slots;
    status = conn->ops->qp_to_rtr(conn->qp, &conn->port, &remote);
    if (status == PSF_OK)
        status = conn->ops->qp_to_rts(conn->qp, conn->psn);
    if (status < 0)
        return status;
    /* The peer posted all its receives before it produced its blob. */
    conn->credits = conn->peer_slots;
    conn->connected = true;
    return PSF_OK;
}

int32_t psf_rdma_conn_stats(psf_rdma_conn *conn, psf_rdma_stats *stats)
{
    if (conn == NULL || stats == NULL)
        return psf_fail(PSF_E_INVALID, "psf_rdma_conn_stats: null argument");
    *stats = (psf_rdma_stats){ conn->credits, conn->recv_slots, conn->mrs.hits, conn->mrs.misses,
                               conn->mrs.evictions, conn->mrs.bytes };
    return PSF_OK;
}

int32_t psf_rdma_close(psf_rdma_conn *conn)
{
    if (conn == NULL)
        return PSF_OK;
    const psf_rdma_ops *ops = conn->ops;
    /* Queue pair first: after it is gone the device touches none of the memory below. */
    if (conn->qp != NULL)
        ops->destroy_qp(conn->qp);
    psf_rdma_mr_cache_clear(&conn->mrs);
    psf_rdma_regions_clear(conn);
    if (conn->send_mr.handle != NULL)
        ops->dereg_mr(&conn->send_mr);
    if (conn->recv_mr.handle != NULL)
        ops->dereg_mr(&conn->recv_mr);
    if (conn->region_mr.handle != NULL)
        ops->dereg_mr(&conn->region_mr);
    if (conn->cq != NULL)
        ops->destroy_cq(conn->cq);
    if (conn->pd != NULL)
        ops->dealloc_pd(conn->pd);
    if (conn->ctx != NULL)
        ops->close(conn->ctx);
    free(conn->send_buf);
    free(conn->send_free);
    free(conn->write_mrs);
    free(conn->recv_buf);
    free(conn->region);
    free(conn->write_ends);
    free(conn->ready);
    free(conn);
    return PSF_OK;
}

int32_t psf_rdma_conn_create(uint32_t recv_slots, uint32_t slot_bytes, uint64_t region_bytes,
                             uint64_t mr_cache_bytes, psf_rdma_conn **out)
{
    return psf_rdma_conn_create_with(&psf_rdma_verbs_ops, recv_slots, slot_bytes, region_bytes,
                                     mr_cache_bytes, out);
}
