/* The data-path calls of a shared-memory connection: zero-copy claim/commit and
 * try_read/release, and copying send/recv that stream large messages in chunks. */
#include <string.h>

#include "psf_shm_internal.h"

/* Chunk payload for streamed messages: 64 KiB keeps the chunk being written and the one being
 * read in L2 on both cores, so the copy in and the copy out overlap instead of taking turns. */
#define PSF_SHM_STREAM_CHUNK (64u * 1024u)

#define FLAGS_MASK (PSF_SHM_CHUNK_FIRST | PSF_SHM_CHUNK_NEXT | PSF_SHM_CHUNK_LAST)

int32_t psf_shm_try_claim(psf_shm_conn *conn, uint32_t length, void **ptr)
{
    if (conn == NULL || ptr == NULL)
        return psf_fail(PSF_E_INVALID, "psf_shm_try_claim: null argument");
    if (conn->claim_open || conn->send_open)
        return psf_fail(PSF_E_INVALID, "psf_shm_try_claim: a claim or a chunked send is open");
    if (length > psf_shm_max_payload(conn))
        return psf_fail(PSF_E_INVALID, "psf_shm_try_claim: %u bytes exceed the %u a record holds",
                        length, psf_shm_max_payload(conn));
    if (atomic_load_explicit(conn->peer_closed, memory_order_relaxed) != 0)
        return PSF_E_CLOSED;
    return psf_shm_ring_claim(conn, length, ptr);
}

int32_t psf_shm_commit(psf_shm_conn *conn, int32_t type)
{
    if (conn == NULL || !conn->claim_open)
        return psf_fail(PSF_E_INVALID, "psf_shm_commit: no open claim");
    if (type < 0 || type > PSF_SHM_TYPE_MASK)
        return psf_fail(PSF_E_INVALID, "psf_shm_commit: type %d outside 0..0xFFFFFF", type);
    psf_shm_ring_commit(conn, type);
    return PSF_OK;
}

int32_t psf_shm_wait_claim(psf_shm_conn *conn, uint32_t length, int64_t timeout_ns)
{
    if (conn == NULL)
        return psf_fail(PSF_E_INVALID, "psf_shm_wait_claim: null connection");
    if (length > psf_shm_max_payload(conn))
        return psf_fail(PSF_E_INVALID, "psf_shm_wait_claim: %u bytes exceed the %u a record holds",
                        length, psf_shm_max_payload(conn));
    if (atomic_load_explicit(conn->peer_closed, memory_order_relaxed) != 0)
        return PSF_E_CLOSED;
    return psf_shm_wait_writable(conn, length, psf_deadline(timeout_ns));
}

static int32_t send_record(psf_shm_conn *conn, int32_t type, const void *prefix,
                           uint32_t prefix_bytes, const void *data, uint32_t length,
                           int64_t deadline_ns)
{
    void *ptr;
    int32_t status = psf_shm_wait_writable(conn, prefix_bytes + length, deadline_ns);
    if (status < 0)
        return status;
    status = psf_shm_ring_claim(conn, prefix_bytes + length, &ptr);
    if (status < 0)
        return status; /* cannot happen after wait_writable; kept for safety */
    if (prefix_bytes != 0)
        memcpy(ptr, prefix, prefix_bytes);
    if (length != 0)
        memcpy((uint8_t *)ptr + prefix_bytes, data, length);
    psf_shm_ring_commit(conn, type);
    return PSF_OK;
}

int32_t psf_shm_send(psf_shm_conn *conn, int32_t type, const void *data, uint64_t length,
                     int64_t timeout_ns)
{
    if (conn == NULL || (data == NULL && length != 0))
        return psf_fail(PSF_E_INVALID, "psf_shm_send: null argument");
    if (type < 0 || type > PSF_SHM_TYPE_MASK)
        return psf_fail(PSF_E_INVALID, "psf_shm_send: type %d outside 0..0xFFFFFF", type);
    if (conn->claim_open)
        return psf_fail(PSF_E_INVALID, "psf_shm_send: a claim is open");
    int64_t deadline = psf_deadline(timeout_ns);
    uint32_t max = psf_shm_max_payload(conn);
    if (!conn->send_open) {
        if (length <= max)
            return send_record(conn, type, NULL, 0, data, (uint32_t)length, deadline);
        conn->send_open = true;
        conn->send_type = type;
        conn->send_data = data;
        conn->send_length = length;
        conn->send_offset = 0;
    } else if (conn->send_type != type || conn->send_data != data || conn->send_length != length) {
        return psf_fail(PSF_E_INVALID,
                        "psf_shm_send: finish the partly sent message of %llu bytes first",
                        (unsigned long long)conn->send_length);
    }
    uint32_t chunk = max < PSF_SHM_STREAM_CHUNK ? max : PSF_SHM_STREAM_CHUNK;
    while (conn->send_offset < length) {
        bool first = conn->send_offset == 0;
        uint32_t prefix = first ? PSF_SHM_CHUNK_TOTAL_BYTES : 0;
        uint64_t left = length - conn->send_offset;
        uint32_t part = left < chunk - prefix ? (uint32_t)left : chunk - prefix;
        int32_t flags = first ? PSF_SHM_CHUNK_FIRST
                              : PSF_SHM_CHUNK_NEXT | (part == left ? PSF_SHM_CHUNK_LAST : 0);
        int32_t status = send_record(conn, type | flags, &length, prefix,
                                     (const uint8_t *)data + conn->send_offset, part, deadline);
        if (status == PSF_E_CLOSED)
            conn->send_open = false;
        if (status < 0)
            return status;
        conn->send_offset += part;
    }
    conn->send_open = false;
    return PSF_OK;
}

int32_t psf_shm_try_read(psf_shm_conn *conn, const void **ptr, uint32_t *length, int32_t *type)
{
    if (conn == NULL || ptr == NULL || length == NULL || type == NULL)
        return psf_fail(PSF_E_INVALID, "psf_shm_try_read: null argument");
    int32_t status = psf_shm_ring_peek(conn, ptr, length, type);
    if (status != PSF_E_AGAIN)
        return status;
    if (atomic_load_explicit(conn->peer_closed, memory_order_acquire) == 0)
        return PSF_E_AGAIN;
    status = psf_shm_ring_peek(conn, ptr, length, type); /* records written before the close */
    return status == PSF_E_AGAIN ? PSF_E_CLOSED : status;
}

int32_t psf_shm_release(psf_shm_conn *conn)
{
    if (conn == NULL || conn->read_aligned == 0)
        return psf_fail(PSF_E_INVALID, "psf_shm_release: no record was read");
    psf_shm_ring_release(conn);
    return PSF_OK;
}

int32_t psf_shm_wait(psf_shm_conn *conn, int64_t timeout_ns)
{
    if (conn == NULL)
        return psf_fail(PSF_E_INVALID, "psf_shm_wait: null connection");
    return psf_shm_wait_readable(conn, psf_deadline(timeout_ns));
}

/* Takes one record of a message into buf; returns 1 when the message is complete. */
static int32_t take_record(psf_shm_conn *conn, const uint8_t *payload, uint32_t bytes,
                           int32_t type, uint8_t *buf, uint64_t cap, uint64_t *length)
{
    int32_t flags = type & FLAGS_MASK;
    int32_t user_type = type & PSF_SHM_TYPE_MASK;
    if (!conn->recv_open) {
        if (flags == 0) {
            *length = bytes;
            if (bytes > cap)
                return psf_fail(PSF_E_INVALID, "psf_shm_recv: message of %u bytes, buffer %llu",
                                bytes, (unsigned long long)cap);
            memcpy(buf, payload, bytes);
            conn->recv_type = user_type;
            conn->recv_length = bytes;
            return 1;
        }
        if (flags != PSF_SHM_CHUNK_FIRST || bytes < PSF_SHM_CHUNK_TOTAL_BYTES)
            return psf_fail(PSF_E_PROTOCOL, "shm %s: chunk (flags %#x) without a first chunk",
                            conn->name, (unsigned)flags);
        uint64_t total;
        memcpy(&total, payload, sizeof total);
        *length = total;
        bytes -= PSF_SHM_CHUNK_TOTAL_BYTES;
        if (bytes >= total)
            return psf_fail(PSF_E_PROTOCOL, "shm %s: first chunk of %u bytes for a %llu byte message",
                            conn->name, bytes, (unsigned long long)total);
        if (total > cap)
            return psf_fail(PSF_E_INVALID, "psf_shm_recv: message of %llu bytes, buffer %llu",
                            (unsigned long long)total, (unsigned long long)cap);
        memcpy(buf, payload + PSF_SHM_CHUNK_TOTAL_BYTES, bytes);
        conn->recv_open = true;
        conn->recv_type = user_type;
        conn->recv_length = total;
        conn->recv_offset = bytes;
        return 0;
    }
    *length = conn->recv_length;
    if (conn->recv_length > cap)
        return psf_fail(PSF_E_INVALID, "psf_shm_recv: continue with the buffer of the message");
    uint64_t left = conn->recv_length - conn->recv_offset;
    bool last = (flags & PSF_SHM_CHUNK_LAST) != 0;
    if ((flags & PSF_SHM_CHUNK_NEXT) == 0 || user_type != conn->recv_type || bytes > left ||
        last != (bytes == left))
        return psf_fail(PSF_E_PROTOCOL, "shm %s: chunk of %u bytes (flags %#x) breaks the message",
                        conn->name, bytes, (unsigned)flags);
    memcpy(buf + conn->recv_offset, payload, bytes);
    conn->recv_offset += bytes;
    if (!last)
        return 0;
    conn->recv_open = false;
    return 1;
}

int32_t psf_shm_recv(psf_shm_conn *conn, void *buf, uint64_t cap, uint64_t *length,
                     int32_t *type, int64_t timeout_ns)
{
    if (conn == NULL || (buf == NULL && cap != 0) || length == NULL || type == NULL)
        return psf_fail(PSF_E_INVALID, "psf_shm_recv: null argument");
    int64_t deadline = psf_deadline(timeout_ns);
    for (;;) {
        int32_t status = psf_shm_wait_readable(conn, deadline);
        if (status < 0)
            return status;
        const void *payload;
        uint32_t bytes;
        int32_t record_type;
        status = psf_shm_ring_peek(conn, &payload, &bytes, &record_type);
        if (status == PSF_E_AGAIN)
            continue;
        if (status < 0)
            return status;
        uint64_t whole = 0;
        status = take_record(conn, payload, bytes, record_type, buf, cap, &whole);
        if (status < 0) {
            *length = whole;
            conn->read_aligned = 0; /* leave the record in place */
            return status;
        }
        psf_shm_ring_release(conn);
        if (status == 1) {
            *length = conn->recv_length;
            *type = conn->recv_type;
            return PSF_OK;
        }
    }
}
