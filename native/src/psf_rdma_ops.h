/* The thin table every verbs call goes through, so the connection logic above it runs the
 * same against a real device (psf_rdma_verbs.c) and the in-memory fake (psf_rdma_fake.c). */
#ifndef PSF_RDMA_OPS_H
#define PSF_RDMA_OPS_H

#include <stdint.h>

#include "psf_internal.h"

typedef struct psf_rdma_port {
    uint16_t lid;
    uint8_t port_num;
    uint8_t gid[16];
} psf_rdma_port;

typedef struct psf_rdma_mr {
    void *handle;
    void *addr;
    uint64_t length;
    uint32_t lkey;
    uint32_t rkey;
} psf_rdma_mr;

/* What the peer's setup blob tells us about its queue pair. */
typedef struct psf_rdma_remote {
    uint32_t qpn;
    uint32_t psn;
    uint16_t lid;
    uint8_t gid[16];
} psf_rdma_remote;

#define PSF_RDMA_OP_SEND      1
#define PSF_RDMA_OP_WRITE_IMM 2
#define PSF_RDMA_OP_RECV      3
#define PSF_RDMA_OP_RECV_IMM  4 /* a receive consumed by a peer's write with immediate */

typedef struct psf_rdma_send_wr {
    uint64_t wr_id;
    int32_t opcode;            /* SEND or WRITE_IMM */
    const void *addr;
    uint32_t length;
    uint32_t lkey;
    uint64_t remote_addr;      /* WRITE_IMM only */
    uint32_t rkey;
    uint32_t imm;
} psf_rdma_send_wr;

typedef struct psf_rdma_wc {
    uint64_t wr_id;
    int32_t status;            /* 0 = success, else the provider's code */
    int32_t opcode;
    uint32_t byte_len;
    uint32_t imm;
    const char *status_text;
} psf_rdma_wc;

typedef struct psf_rdma_ops {
    const char *name;
    /* Lists the devices, opens the first, queries port 1 and GID 0. */
    int32_t (*open)(void **ctx, psf_rdma_port *port);
    void (*close)(void *ctx);
    int32_t (*alloc_pd)(void *ctx, void **pd);
    void (*dealloc_pd)(void *pd);
    int32_t (*reg_mr)(void *pd, void *addr, uint64_t length, psf_rdma_mr *out);
    void (*dereg_mr)(psf_rdma_mr *mr);
    int32_t (*create_cq)(void *ctx, uint32_t depth, void **cq);
    void (*destroy_cq)(void *cq);
    /* One CQ for sends and receives: the connection reaps both in one poll. */
    int32_t (*create_qp)(void *pd, void *cq, uint32_t send_depth, uint32_t recv_depth, void **qp,
                         uint32_t *qpn);
    void (*destroy_qp)(void *qp);
    int32_t (*qp_to_init)(void *qp, const psf_rdma_port *port);
    int32_t (*qp_to_rtr)(void *qp, const psf_rdma_port *port, const psf_rdma_remote *remote);
    int32_t (*qp_to_rts)(void *qp, uint32_t psn);
    int32_t (*post_send)(void *qp, const psf_rdma_send_wr *wr);
    int32_t (*post_recv)(void *qp, uint64_t wr_id, void *addr, uint32_t length, uint32_t lkey);
    /* Returns how many completions were written to wc (<= max), or a negative status. */
    int32_t (*poll_cq)(void *cq, psf_rdma_wc *wc, int32_t max);
} psf_rdma_ops;

extern const psf_rdma_ops psf_rdma_verbs_ops;
extern const psf_rdma_ops psf_rdma_fake_ops;

#endif
