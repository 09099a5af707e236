/* The record protocol of one ring, without any waiting: claim, commit, peek, release.
 * See psf_shm_layout.h for the record format and why the next header slot is zeroed. */
#include <string.h>

#include "psf_shm_internal.h"

static inline _Atomic int32_t *length_word(uint8_t *data, uint64_t index)
{
    return (_Atomic int32_t *)(void *)(data + index + PSF_SHM_REC_LENGTH);
}

static inline int32_t *type_word(uint8_t *data, uint64_t index)
{
    return (int32_t *)(void *)(data + index + PSF_SHM_REC_TYPE);
}

/* Publishes a record whose payload is already written: zero the following header slot so the
 * reader stops there, then the type, then the length with release ordering. */
static inline void publish(uint8_t *data, uint64_t mask, uint64_t index, uint32_t length,
                           int32_t type)
{
    uint64_t next = (index + psf_shm_align(length)) & mask;
    atomic_store_explicit(length_word(data, next), 0, memory_order_relaxed);
    *type_word(data, index) = type;
    atomic_store_explicit(length_word(data, index), (int32_t)length, memory_order_release);
}

int32_t psf_shm_ring_claim(psf_shm_conn *conn, uint32_t length, void **ptr)
{
    const uint64_t capacity = conn->ring_bytes;
    uint64_t aligned = psf_shm_align((uint64_t)PSF_SHM_RECORD_HEADER + length);
    uint64_t index = conn->tail & conn->tx.mask;
    uint64_t to_end = capacity - index;
    uint64_t padding = aligned > to_end ? to_end : 0;
    /* + one header slot: the zeroed length word after this record must be free space. */
    uint64_t need = padding + aligned + PSF_SHM_RECORD_HEADER;
    if (conn->tail - conn->cached_head + need > capacity) {
        conn->cached_head = atomic_load_explicit(conn->tx.head, memory_order_acquire);
        if (conn->tail - conn->cached_head + need > capacity)
            return PSF_E_AGAIN;
    }
    if (padding != 0) {
        publish(conn->tx.data, conn->tx.mask, index, (uint32_t)padding, PSF_SHM_TYPE_PADDING);
        conn->tail += padding;
        index = 0;
    }
    conn->claim_pos = conn->tail;
    conn->claim_length = length;
    conn->claim_open = true;
    *ptr = conn->tx.data + index + PSF_SHM_RECORD_HEADER;
    return PSF_OK;
}

void psf_shm_ring_commit(psf_shm_conn *conn, int32_t type)
{
    uint64_t index = conn->claim_pos & conn->tx.mask;
    uint32_t length = PSF_SHM_RECORD_HEADER + conn->claim_length;
    publish(conn->tx.data, conn->tx.mask, index, length, type);
    conn->tail = conn->claim_pos + psf_shm_align(length);
    conn->claim_open = false;
    psf_shm_wake(conn->tx.reader_waiting, conn->tx.data_seq);
}

int32_t psf_shm_ring_peek(psf_shm_conn *conn, const void **ptr, uint32_t *length, int32_t *type)
{
    for (;;) {
        uint64_t index = conn->head & conn->rx.mask;
        int32_t record = atomic_load_explicit(length_word(conn->rx.data, index),
                                              memory_order_acquire);
        if (record == 0)
            return PSF_E_AGAIN;
        /* The peer is another process: never trust its lengths. */
        if (record < (int32_t)PSF_SHM_RECORD_HEADER ||
            psf_shm_align((uint64_t)record) > conn->ring_bytes - index)
            return psf_fail(PSF_E_PROTOCOL,
                            "shm %s: record length %d at ring offset %llu is out of range",
                            conn->name, record, (unsigned long long)index);
        int32_t record_type = *type_word(conn->rx.data, index);
        if (record_type == PSF_SHM_TYPE_PADDING) {
            conn->head += (uint64_t)record;
            atomic_store_explicit(conn->rx.head, conn->head, memory_order_release);
            psf_shm_wake(conn->rx.writer_waiting, conn->rx.space_seq);
            continue;
        }
        *ptr = conn->rx.data + index + PSF_SHM_RECORD_HEADER;
        *length = (uint32_t)record - PSF_SHM_RECORD_HEADER;
        *type = record_type;
        conn->read_aligned = (uint32_t)psf_shm_align((uint64_t)record);
        return PSF_OK;
    }
}

bool psf_shm_ring_ready(psf_shm_conn *conn)
{
    const void *ptr;
    uint32_t length;
    int32_t type;
    uint32_t handed_out = conn->read_aligned;
    /* peek skips padding, so a wait never wakes for a record that is only padding; a
     * protocol error counts as ready so that the caller's peek reports it. */
    bool ready = psf_shm_ring_peek(conn, &ptr, &length, &type) != PSF_E_AGAIN;
    conn->read_aligned = handed_out;
    return ready;
}

void psf_shm_ring_release(psf_shm_conn *conn)
{
    conn->head += conn->read_aligned;
    conn->read_aligned = 0;
    atomic_store_explicit(conn->rx.head, conn->head, memory_order_release);
    psf_shm_wake(conn->rx.writer_waiting, conn->rx.space_seq);
}
