/* The process-local side of a shared-memory connection, shared by the psf_shm_*.c files. */
#ifndef PSF_SHM_INTERNAL_H
#define PSF_SHM_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "psf_internal.h"
#include "psf_shm_layout.h"

/* One direction as seen from this process. */
typedef struct psf_shm_ring {
    uint8_t *data;                  /* ring_bytes of records */
    uint64_t mask;                  /* ring_bytes - 1 */
    _Atomic uint64_t *head;         /* reader's consumed position */
    _Atomic uint32_t *reader_waiting;
    _Atomic uint32_t *data_seq;
    _Atomic uint32_t *writer_waiting;
    _Atomic uint32_t *space_seq;
} psf_shm_ring;

struct psf_shm_conn {
    uint8_t *base;
    uint64_t map_bytes;
    uint64_t ring_bytes;
    psf_shm_ring tx;                /* the ring this end writes */
    psf_shm_ring rx;                /* the ring this end reads */
    _Atomic uint32_t *own_closed;
    _Atomic uint32_t *peer_closed;
    _Atomic int32_t *peer_pid_word;
    bool is_creator;
    int peer_pidfd;                 /* -1 until the peer is known; -2 when pidfd is unavailable */
    int32_t peer_pid;
    int64_t spin_ns;
    char name[256];

    /* writer state, touched by the writing thread only */
    uint64_t tail;                  /* next record position */
    uint64_t cached_head;           /* last head read; refreshed only when the ring looks full */
    uint64_t claim_pos;             /* position of the open claim's record */
    uint32_t claim_length;
    bool claim_open;
    bool send_open;                 /* a chunked message is partly sent */
    int32_t send_type;
    uint64_t send_length;
    uint64_t send_offset;
    const void *send_data;

    /* reader state, touched by the reading thread only */
    uint64_t head;                  /* local copy of the consumed position */
    uint32_t read_aligned;          /* aligned size of the record handed out, 0 when none */
    bool recv_open;                 /* a chunked message is partly received */
    int32_t recv_type;
    uint64_t recv_length;
    uint64_t recv_offset;
};

/* Longest payload one record can carry: a record plus a worst-case padding record plus the
 * free header slot must fit into the ring. */
static inline uint32_t psf_shm_max_payload(const psf_shm_conn *conn)
{
    return (uint32_t)(conn->ring_bytes / 2 - 2 * PSF_SHM_RECORD_HEADER);
}

static inline uint64_t psf_shm_align(uint64_t bytes)
{
    return (bytes + PSF_SHM_RECORD_ALIGN - 1) & ~(uint64_t)(PSF_SHM_RECORD_ALIGN - 1);
}

/* psf_shm_ring.c: the non-blocking record protocol. */
int32_t psf_shm_ring_claim(psf_shm_conn *conn, uint32_t length, void **ptr);
void psf_shm_ring_commit(psf_shm_conn *conn, int32_t type);
int32_t psf_shm_ring_peek(psf_shm_conn *conn, const void **ptr, uint32_t *length, int32_t *type);
void psf_shm_ring_release(psf_shm_conn *conn);
bool psf_shm_ring_ready(psf_shm_conn *conn); /* a record (not padding) is at the head */

/* psf_shm_wait.c: spinning, futex parking, peer liveness. */
int32_t psf_shm_wait_readable(psf_shm_conn *conn, int64_t deadline_ns);
int32_t psf_shm_wait_writable(psf_shm_conn *conn, uint32_t length, int64_t deadline_ns);
void psf_shm_wake(_Atomic uint32_t *waiting, _Atomic uint32_t *seq);
void psf_shm_wake_all(_Atomic uint32_t *seq);
bool psf_shm_peer_gone(psf_shm_conn *conn);
void psf_shm_peer_forget(psf_shm_conn *conn);

#endif
