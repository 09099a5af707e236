/* The RDMA connection above the ops table, shared by psf_rdma_setup.c and psf_rdma_io.c. */
#ifndef PSF_RDMA_INTERNAL_H
#define PSF_RDMA_INTERNAL_H

#include <stdbool.h>

#include "psf_rdma_mr_cache.h"
#include "psf_rdma_ops.h"

/* Setup blob (PSF_RDMA_INFO_BYTES, little-endian), exchanged out of band:
 *
 *   0        4       6       8       12      16    18   19   20        24         28
 *   +--------+-------+-------+-------+-------+-----+----+----+---------+----------+---------+
 *   | magic  | vers. | bytes | qpn   | psn   | lid |port| -- | slots   | slot size| rkey    |
 *   +--------+-------+-------+-------+-------+-----+----+----+---------+----------+---------+
 *   32                40                48                                        64
 *   +-----------------+-----------------+-----------------------------------------+
 *   | region address  | region bytes    | gid (16 bytes; zero on plain InfiniBand) |
 *   +-----------------+-----------------+-----------------------------------------+
 */
#define PSF_RDMA_INFO_MAGIC   0x44525350u /* "PSRD" */
#define PSF_RDMA_INFO_VERSION 1u
#define PSF_RDMA_INFO_OFF_MAGIC        0
#define PSF_RDMA_INFO_OFF_VERSION      4
#define PSF_RDMA_INFO_OFF_BYTES        6
#define PSF_RDMA_INFO_OFF_QPN          8
#define PSF_RDMA_INFO_OFF_PSN          12
#define PSF_RDMA_INFO_OFF_LID          16
#define PSF_RDMA_INFO_OFF_PORT         18
#define PSF_RDMA_INFO_OFF_SLOTS        20
#define PSF_RDMA_INFO_OFF_SLOT_BYTES   24
#define PSF_RDMA_INFO_OFF_RKEY         28
#define PSF_RDMA_INFO_OFF_REGION_ADDR  32
#define PSF_RDMA_INFO_OFF_REGION_BYTES 40
#define PSF_RDMA_INFO_OFF_GID          48

/* Header of every two-sided message; credits ride on it:
 *   0 int32  type         the caller's, or PSF_RDMA_TYPE_CREDIT for a credit-only message
 *   4 uint32 credits      receive buffers reposted since the last report
 *   8 uint64 released     our region is free up to this absolute position
 */
#define PSF_RDMA_MSG_HEADER      16u
#define PSF_RDMA_MSG_OFF_TYPE     0
#define PSF_RDMA_MSG_OFF_CREDITS  4
#define PSF_RDMA_MSG_OFF_RELEASED 8
#define PSF_RDMA_TYPE_CREDIT (-1)

/* Writes land 64-byte aligned so the immediate can carry offset / 64 (256 GiB reach). */
#define PSF_RDMA_WRITE_ALIGN 64u

/* Work request ids: the kind in the top two bits, a slot or ticket below. Failed completions
 * carry only the id, so the id alone must say what failed. */
#define PSF_RDMA_WR_RECV  (1ull << 62)
#define PSF_RDMA_WR_SEND  (2ull << 62)
#define PSF_RDMA_WR_WRITE (3ull << 62)
#define PSF_RDMA_WR_KIND  (3ull << 62)

#define PSF_RDMA_MAX_SLOTS 4096u
/* Caller regions (tables' slabs) per connection: a server holds a handful of tables, each a
 * weights slab, so a linear scan of up to this many beats any index. */
#define PSF_RDMA_MAX_REGIONS 1024u

/* Memory the caller registered itself (psf_rdma_region_register), written from in place. */
typedef struct psf_rdma_region {
    uint64_t id;
    psf_rdma_mr mr;
} psf_rdma_region;
/* Send slots: enough to keep a link busy; more would only hold memory. */
#define PSF_RDMA_MAX_SEND_SLOTS 256u

struct psf_rdma_conn {
    const psf_rdma_ops *ops;
    void *ctx, *pd, *cq, *qp;
    psf_rdma_port port;
    uint32_t qpn, psn;
    bool connected, broken;

    /* our receive side */
    uint32_t recv_slots, slot_bytes;
    uint8_t *recv_buf;
    psf_rdma_mr recv_mr;
    uint8_t *region;
    uint64_t region_bytes;
    psf_rdma_mr region_mr;
    uint32_t grant_pending;         /* reposted receives the peer has not been told of */
    uint64_t region_taken;          /* absolute end of the last write that landed */
    uint64_t region_released;       /* absolute position released by the caller */
    uint64_t region_reported;       /* ... and told to the peer */
    uint64_t *write_ends;           /* FIFO of delivered writes' ends, released in order */
    uint32_t write_head, write_count;

    /* our sending side, sized from the peer's blob at connect */
    uint32_t credits;
    uint32_t peer_slots, peer_slot_bytes, peer_rkey;
    uint64_t peer_region_addr, peer_region_bytes;
    uint64_t written;               /* absolute end of our last write into the peer's region */
    uint64_t peer_released;
    uint8_t *send_buf;
    psf_rdma_mr send_mr;
    uint32_t send_slots;
    uint32_t *send_free;
    uint32_t send_free_count;
    psf_rdma_mr_entry **write_mrs;  /* by ticket % peer_slots: registrations in flight (NULL
                                     * for a write from a caller region) */
    uint64_t next_ticket;
    psf_rdma_mr_cache mrs;
    psf_rdma_region *regions;       /* caller regions, unordered */
    uint32_t region_count, region_cap;

    /* events reaped but not yet handed out */
    psf_rdma_event *ready;
    uint32_t ready_cap, ready_head, ready_count;
};

/* The constructor behind psf_rdma_conn_create, with the ops to use (tests pass the fake). */
int32_t psf_rdma_conn_create_with(const psf_rdma_ops *ops, uint32_t recv_slots,
                                  uint32_t slot_bytes, uint64_t region_bytes,
                                  uint64_t mr_cache_bytes, psf_rdma_conn **out);

/* PSF_OK when conn is connected and not broken and data, token and a length of 1 .. half the
 * peer's region are given; else the status naming why, under the caller's name. */
int32_t psf_rdma_check_write(psf_rdma_conn *conn, const char *caller, const void *data,
                             uint64_t length, const uint64_t *token);

/* Posts one write with immediate of [data, data + length) under lkey into the peer's region,
 * after psf_rdma_check_write; entry is the cache registration it holds until completion, or
 * NULL. PSF_E_AGAIN without credit or room. */
int32_t psf_rdma_post_write(psf_rdma_conn *conn, const void *data, uint64_t length, uint32_t lkey,
                            psf_rdma_mr_entry *entry, uint64_t *token);

/* Deregisters every caller region (the queue pair is gone or going). */
void psf_rdma_regions_clear(psf_rdma_conn *conn);

/* Marks the connection broken and records why; returns PSF_E_CLOSED. */
int32_t psf_rdma_break(psf_rdma_conn *conn, const char *what, const psf_rdma_wc *wc);

#endif
