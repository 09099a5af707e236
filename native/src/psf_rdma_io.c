/* The data path of an RDMA connection: sends, writes with immediate, completions, credits. */
#include <string.h>

#include "psf_rdma_internal.h"

static uint64_t align_write(uint64_t bytes)
{
    return (bytes + PSF_RDMA_WRITE_ALIGN - 1) & ~(uint64_t)(PSF_RDMA_WRITE_ALIGN - 1);
}

int32_t psf_rdma_break(psf_rdma_conn *conn, const char *what, const psf_rdma_wc *wc)
{
    conn->broken = true;
    if (wc == NULL)
        return psf_fail(PSF_E_CLOSED, "rdma: connection closed: %s", what);
    return psf_fail(PSF_E_CLOSED, "rdma: connection closed: %s completion %#llx failed: %s "
                    "(status %d)", what, (unsigned long long)wc->wr_id,
                    wc->status_text ? wc->status_text : "?", wc->status);
}

static int32_t usable(psf_rdma_conn *conn, const char *caller)
{
    if (conn == NULL)
        return psf_fail(PSF_E_INVALID, "%s: null connection", caller);
    if (conn->broken)
        return psf_fail(PSF_E_CLOSED, "%s: the connection failed earlier", caller);
    if (!conn->connected)
        return psf_fail(PSF_E_INVALID, "%s: not connected", caller);
    return PSF_OK;
}

/* Posts one two-sided message from a send slot, carrying our pending grants. The caller has
 * checked for a credit and a free slot. */
static int32_t post_message(psf_rdma_conn *conn, int32_t type, const void *data, uint32_t length)
{
    uint32_t slot = conn->send_free[--conn->send_free_count];
    uint8_t *buf = conn->send_buf + (uint64_t)slot * conn->peer_slot_bytes;
    memcpy(buf + PSF_RDMA_MSG_OFF_TYPE, &type, 4);
    memcpy(buf + PSF_RDMA_MSG_OFF_CREDITS, &conn->grant_pending, 4);
    memcpy(buf + PSF_RDMA_MSG_OFF_RELEASED, &conn->region_released, 8);
    if (length != 0)
        memcpy(buf + PSF_RDMA_MSG_HEADER, data, length);
    psf_rdma_send_wr wr = { .wr_id = PSF_RDMA_WR_SEND | slot, .opcode = PSF_RDMA_OP_SEND,
                            .addr = buf, .length = PSF_RDMA_MSG_HEADER + length,
                            .lkey = conn->send_mr.lkey };
    int32_t status = conn->ops->post_send(conn->qp, &wr);
    if (status < 0) {
        conn->send_free[conn->send_free_count++] = slot;
        return psf_rdma_break(conn, "post_send refused", NULL);
    }
    conn->credits--;
    conn->grant_pending = 0;
    conn->region_reported = conn->region_released;
    return PSF_OK;
}

/* Returns grants in a message of their own once half the buffers (or half the region) wait
 * to be reported: it may spend the one credit data never uses, so credits cannot deadlock. */
static int32_t maybe_grant(psf_rdma_conn *conn)
{
    bool many = conn->grant_pending >= conn->recv_slots / 2 ||
                (conn->region_bytes != 0 &&
                 conn->region_released - conn->region_reported >= conn->region_bytes / 2);
    if (!many || conn->credits == 0 || conn->send_free_count == 0 || !conn->connected)
        return PSF_OK;
    return post_message(conn, PSF_RDMA_TYPE_CREDIT, NULL, 0);
}

int32_t psf_rdma_send(psf_rdma_conn *conn, int32_t type, const void *data, uint32_t length)
{
    int32_t status = usable(conn, "psf_rdma_send");
    if (status < 0)
        return status;
    if ((data == NULL && length != 0) || type < 0 ||
        length > conn->peer_slot_bytes - PSF_RDMA_MSG_HEADER)
        return psf_fail(PSF_E_INVALID, "psf_rdma_send: type %d, %u bytes (at most %u)", type,
                        length, conn->peer_slot_bytes - PSF_RDMA_MSG_HEADER);
    if (conn->credits < 2 || conn->send_free_count == 0)
        return PSF_E_AGAIN;
    return post_message(conn, type, data, length);
}

int32_t psf_rdma_check_write(psf_rdma_conn *conn, const char *caller, const void *data,
                             uint64_t length, const uint64_t *token)
{
    int32_t status = usable(conn, caller);
    if (status < 0)
        return status;
    uint64_t region = conn->peer_region_bytes;
    if (data == NULL || token == NULL || length == 0 || length > region / 2 || length > UINT32_MAX)
        return psf_fail(PSF_E_INVALID, "%s: %llu bytes; the peer's region takes "
                        "1..%llu per write", caller, (unsigned long long)length,
                        (unsigned long long)(region / 2));
    return PSF_OK;
}

int32_t psf_rdma_post_write(psf_rdma_conn *conn, const void *data, uint64_t length, uint32_t lkey,
                            psf_rdma_mr_entry *entry, uint64_t *token)
{
    uint64_t region = conn->peer_region_bytes;
    if (conn->credits < 2)
        return PSF_E_AGAIN;
    /* Contiguous in the peer's region: skip its tail when the write would wrap. */
    uint64_t aligned = align_write(length);
    uint64_t start = conn->written;
    if (region - start % region < aligned)
        start += region - start % region;
    if (start + aligned - conn->peer_released > region)
        return PSF_E_AGAIN;
    uint64_t ticket = conn->next_ticket;
    psf_rdma_send_wr wr = {
        .wr_id = PSF_RDMA_WR_WRITE | ticket, .opcode = PSF_RDMA_OP_WRITE_IMM, .addr = data,
        .length = (uint32_t)length, .lkey = lkey,
        .remote_addr = conn->peer_region_addr + start % region, .rkey = conn->peer_rkey,
        .imm = (uint32_t)(start % region / PSF_RDMA_WRITE_ALIGN),
    };
    conn->write_mrs[ticket % conn->peer_slots] = entry;
    if (conn->ops->post_send(conn->qp, &wr) < 0)
        return psf_rdma_break(conn, "post_send refused", NULL);
    conn->next_ticket++;
    conn->credits--;
    conn->written = start + aligned;
    *token = ticket;
    return PSF_OK;
}

int32_t psf_rdma_write(psf_rdma_conn *conn, const void *data, uint64_t length, uint64_t *token)
{
    int32_t status = psf_rdma_check_write(conn, "psf_rdma_write", data, length, token);
    if (status < 0)
        return status;
    psf_rdma_mr_entry *entry;
    status = psf_rdma_mr_cache_get(&conn->mrs, (void *)(uintptr_t)data, length, &entry);
    if (status < 0)
        return status;
    status = psf_rdma_post_write(conn, data, length, entry->mr.lkey, entry, token);
    if (status < 0)
        psf_rdma_mr_cache_put(&conn->mrs, entry);
    return status;
}

static void enqueue(psf_rdma_conn *conn, psf_rdma_event event)
{
    conn->ready[(conn->ready_head + conn->ready_count) % conn->ready_cap] = event;
    conn->ready_count++;
}

static int32_t repost(psf_rdma_conn *conn, uint32_t slot)
{
    int32_t status = conn->ops->post_recv(conn->qp, PSF_RDMA_WR_RECV | slot,
                                          conn->recv_buf + (uint64_t)slot * conn->slot_bytes,
                                          conn->slot_bytes, conn->recv_mr.lkey);
    if (status < 0)
        return psf_rdma_break(conn, "post_recv refused", NULL);
    conn->grant_pending++;
    return PSF_OK;
}

static int32_t on_message(psf_rdma_conn *conn, uint32_t slot, uint32_t bytes)
{
    const uint8_t *buf = conn->recv_buf + (uint64_t)slot * conn->slot_bytes;
    if (bytes < PSF_RDMA_MSG_HEADER)
        return psf_rdma_break(conn, "a message shorter than its header arrived", NULL);
    int32_t type;
    uint32_t credits;
    uint64_t released;
    memcpy(&type, buf + PSF_RDMA_MSG_OFF_TYPE, 4);
    memcpy(&credits, buf + PSF_RDMA_MSG_OFF_CREDITS, 4);
    memcpy(&released, buf + PSF_RDMA_MSG_OFF_RELEASED, 8);
    if (credits > conn->peer_slots - conn->credits || released > conn->written)
        return psf_rdma_break(conn, "the peer granted more than it was owed", NULL);
    conn->credits += credits;
    if (released > conn->peer_released)
        conn->peer_released = released;
    if (type == PSF_RDMA_TYPE_CREDIT)
        return repost(conn, slot);
    enqueue(conn, (psf_rdma_event){ PSF_RDMA_EVENT_MESSAGE, type, bytes - PSF_RDMA_MSG_HEADER,
                                    buf + PSF_RDMA_MSG_HEADER, PSF_RDMA_WR_RECV | slot });
    return PSF_OK;
}

static int32_t on_write(psf_rdma_conn *conn, uint32_t slot, uint32_t bytes, uint32_t imm)
{
    uint64_t region = conn->region_bytes;
    uint64_t offset = (uint64_t)imm * PSF_RDMA_WRITE_ALIGN;
    uint64_t start = conn->region_taken;
    if (region != 0 && offset != start % region)
        start += region - start % region; /* the writer skipped the region's tail */
    uint64_t end = start + align_write(bytes);
    if (region == 0 || offset != start % region || offset + bytes > region ||
        end - conn->region_released > region)
        return psf_rdma_break(conn, "a write landed outside the free region", NULL);
    conn->region_taken = end;
    conn->write_ends[(conn->write_head + conn->write_count) % conn->recv_slots] = end;
    conn->write_count++;
    enqueue(conn, (psf_rdma_event){ PSF_RDMA_EVENT_WRITE, 0, bytes, conn->region + offset,
                                    PSF_RDMA_WR_WRITE | end });
    /* The receive buffer only carried the immediate: it can take the next one at once. */
    return repost(conn, slot);
}

static int32_t on_completion(psf_rdma_conn *conn, const psf_rdma_wc *wc)
{
    uint64_t kind = wc->wr_id & PSF_RDMA_WR_KIND;
    uint64_t index = wc->wr_id & ~PSF_RDMA_WR_KIND;
    if (wc->status != 0)
        return psf_rdma_break(conn, kind == PSF_RDMA_WR_RECV   ? "receive"
                                    : kind == PSF_RDMA_WR_SEND ? "send"
                                                               : "write", wc);
    if (kind == PSF_RDMA_WR_SEND) {
        conn->send_free[conn->send_free_count++] = (uint32_t)index;
        return PSF_OK;
    }
    if (kind == PSF_RDMA_WR_WRITE) {
        psf_rdma_mr_entry *entry = conn->write_mrs[index % conn->peer_slots];
        if (entry != NULL)
            psf_rdma_mr_cache_put(&conn->mrs, entry);
        enqueue(conn, (psf_rdma_event){ PSF_RDMA_EVENT_WRITTEN, 0, wc->byte_len, NULL, index });
        return PSF_OK;
    }
    if (index >= conn->recv_slots)
        return psf_rdma_break(conn, "a completion named an unknown receive buffer", NULL);
    if (wc->opcode == PSF_RDMA_OP_RECV_IMM)
        return on_write(conn, (uint32_t)index, wc->byte_len, wc->imm);
    return on_message(conn, (uint32_t)index, wc->byte_len);
}

int32_t psf_rdma_poll(psf_rdma_conn *conn, psf_rdma_event *event)
{
    int32_t status = usable(conn, "psf_rdma_poll");
    if (status < 0)
        return status;
    if (event == NULL)
        return psf_fail(PSF_E_INVALID, "psf_rdma_poll: null event");
    if (conn->ready_count == 0) {
        psf_rdma_wc polled[16];
        int32_t count = conn->ops->poll_cq(conn->cq, polled, 16);
        if (count < 0)
            return psf_rdma_break(conn, "poll_cq failed", NULL);
        for (int32_t i = 0; i < count; i++) {
            status = on_completion(conn, &polled[i]);
            if (status < 0)
                return status;
        }
        status = maybe_grant(conn);
        if (status < 0)
            return status;
        if (conn->ready_count == 0)
            return 0;
    }
    *event = conn->ready[conn->ready_head];
    conn->ready_head = (conn->ready_head + 1) % conn->ready_cap;
    conn->ready_count--;
    return 1;
}

int32_t psf_rdma_release(psf_rdma_conn *conn, uint64_t token)
{
    int32_t status = usable(conn, "psf_rdma_release");
    if (status < 0)
        return status;
    uint64_t kind = token & PSF_RDMA_WR_KIND, index = token & ~PSF_RDMA_WR_KIND;
    if (kind == PSF_RDMA_WR_RECV && index < conn->recv_slots) {
        status = repost(conn, (uint32_t)index);
    } else if (kind == PSF_RDMA_WR_WRITE && conn->write_count != 0 &&
               conn->write_ends[conn->write_head] == index) {
        conn->write_head = (conn->write_head + 1) % conn->recv_slots;
        conn->write_count--;
        conn->region_released = index;
    } else {
        return psf_fail(PSF_E_INVALID, "psf_rdma_release: token %#llx is not the next "
                        "releasable buffer", (unsigned long long)token);
    }
    return status < 0 ? status : maybe_grant(conn);
}
