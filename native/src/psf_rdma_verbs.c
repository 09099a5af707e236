/* The ops table over libibverbs: the real device. Reliable-connected queue pairs, port 1,
 * GID index 0 (RoCE needs a GID; InfiniBand uses the LID), MTU 1024 (safe on every fabric). */
#include <errno.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "psf_rdma_ops.h"

#define PSF_RDMA_PORT      1
#define PSF_RDMA_GID_INDEX 0

static int32_t verbs_open(void **ctx, psf_rdma_port *port)
{
    int count = 0;
    errno = 0;
    struct ibv_device **devices = ibv_get_device_list(&count);
    if (devices == NULL) {
        if (errno == ENOSYS || errno == 0)
            return psf_fail(PSF_E_NODEVICE,
                            "no RDMA device: this kernel has no RDMA support (errno %d)", errno);
        return psf_fail_errno("ibv_get_device_list");
    }
    if (count == 0) {
        ibv_free_device_list(devices);
        return psf_fail(PSF_E_NODEVICE, "no RDMA device: ibv_get_device_list found none");
    }
    struct ibv_context *context = ibv_open_device(devices[0]);
    int32_t status = context == NULL
                         ? psf_fail_errno("ibv_open_device(%s)", ibv_get_device_name(devices[0]))
                         : PSF_OK;
    ibv_free_device_list(devices);
    if (status < 0)
        return status;
    struct ibv_port_attr attributes;
    union ibv_gid gid;
    if (ibv_query_port(context, PSF_RDMA_PORT, &attributes) != 0 ||
        ibv_query_gid(context, PSF_RDMA_PORT, PSF_RDMA_GID_INDEX, &gid) != 0) {
        status = psf_fail_errno("ibv_query_port/gid on port %d", PSF_RDMA_PORT);
        ibv_close_device(context);
        return status;
    }
    port->lid = attributes.lid;
    port->port_num = PSF_RDMA_PORT;
    memcpy(port->gid, gid.raw, sizeof port->gid);
    *ctx = context;
    return PSF_OK;
}

static void verbs_close(void *ctx) { ibv_close_device(ctx); }

static int32_t verbs_alloc_pd(void *ctx, void **pd)
{
    *pd = ibv_alloc_pd(ctx);
    return *pd == NULL ? psf_fail_errno("ibv_alloc_pd") : PSF_OK;
}

static void verbs_dealloc_pd(void *pd) { ibv_dealloc_pd(pd); }

static int32_t verbs_reg_mr(void *pd, void *addr, uint64_t length, psf_rdma_mr *out)
{
    struct ibv_mr *mr = ibv_reg_mr(pd, addr, length,
                                   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
    if (mr == NULL)
        return psf_fail_errno("ibv_reg_mr(%llu bytes)", (unsigned long long)length);
    *out = (psf_rdma_mr){ mr, addr, length, mr->lkey, mr->rkey };
    return PSF_OK;
}

static void verbs_dereg_mr(psf_rdma_mr *mr) { ibv_dereg_mr(mr->handle); }

static int32_t verbs_create_cq(void *ctx, uint32_t depth, void **cq)
{
    *cq = ibv_create_cq(ctx, (int)depth, NULL, NULL, 0);
    return *cq == NULL ? psf_fail_errno("ibv_create_cq(%u)", depth) : PSF_OK;
}

static void verbs_destroy_cq(void *cq) { ibv_destroy_cq(cq); }

static int32_t verbs_create_qp(void *pd, void *cq, uint32_t send_depth, uint32_t recv_depth,
                               void **qp, uint32_t *qpn)
{
    struct ibv_qp_init_attr init = {
        .send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
        .cap = { .max_send_wr = send_depth, .max_recv_wr = recv_depth,
                 .max_send_sge = 1, .max_recv_sge = 1 },
    };
    struct ibv_qp *created = ibv_create_qp(pd, &init);
    if (created == NULL)
        return psf_fail_errno("ibv_create_qp");
    *qp = created;
    *qpn = created->qp_num;
    return PSF_OK;
}

static void verbs_destroy_qp(void *qp) { ibv_destroy_qp(qp); }

static int32_t modify(void *qp, struct ibv_qp_attr *attributes, int mask, const char *state)
{
    int error = ibv_modify_qp(qp, attributes, mask);
    if (error != 0) {
        errno = error;
        return psf_fail_errno("ibv_modify_qp to %s", state);
    }
    return PSF_OK;
}

static int32_t verbs_to_init(void *qp, const psf_rdma_port *port)
{
    struct ibv_qp_attr attributes = {
        .qp_state = IBV_QPS_INIT, .pkey_index = 0, .port_num = port->port_num,
        .qp_access_flags = IBV_ACCESS_REMOTE_WRITE,
    };
    return modify(qp, &attributes,
                  IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS, "INIT");
}

static int32_t verbs_to_rtr(void *qp, const psf_rdma_port *port, const psf_rdma_remote *remote)
{
    struct ibv_qp_attr attributes = {
        .qp_state = IBV_QPS_RTR, .path_mtu = IBV_MTU_1024, .dest_qp_num = remote->qpn,
        .rq_psn = remote->psn, .max_dest_rd_atomic = 1, .min_rnr_timer = 12,
        .ah_attr = { .dlid = remote->lid, .sl = 0, .port_num = port->port_num },
    };
    static const uint8_t no_gid[16];
    if (memcmp(remote->gid, no_gid, sizeof no_gid) != 0) {
        /* RoCE and routed InfiniBand address by GID. */
        attributes.ah_attr.is_global = 1;
        attributes.ah_attr.grh.hop_limit = 64;
        attributes.ah_attr.grh.sgid_index = PSF_RDMA_GID_INDEX;
        memcpy(attributes.ah_attr.grh.dgid.raw, remote->gid, 16);
    }
    return modify(qp, &attributes,
                  IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER,
                  "RTR");
}

static int32_t verbs_to_rts(void *qp, uint32_t psn)
{
    /* rnr_retry 0: credits guarantee a posted receive, so a receiver-not-ready is a bug in
     * flow control and should fail loudly instead of being retried. */
    struct ibv_qp_attr attributes = {
        .qp_state = IBV_QPS_RTS, .timeout = 14, .retry_cnt = 7, .rnr_retry = 0,
        .sq_psn = psn, .max_rd_atomic = 1,
    };
    return modify(qp, &attributes,
                  IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
                      IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC,
                  "RTS");
}

static int32_t verbs_post_send(void *qp, const psf_rdma_send_wr *wr)
{
    struct ibv_sge sge = { (uint64_t)(uintptr_t)wr->addr, wr->length, wr->lkey };
    struct ibv_send_wr request = {
        .wr_id = wr->wr_id, .sg_list = &sge, .num_sge = wr->length == 0 ? 0 : 1,
        .opcode = wr->opcode == PSF_RDMA_OP_SEND ? IBV_WR_SEND : IBV_WR_RDMA_WRITE_WITH_IMM,
        .send_flags = IBV_SEND_SIGNALED,
    };
    if (wr->opcode == PSF_RDMA_OP_WRITE_IMM) {
        request.imm_data = htobe32(wr->imm);
        request.wr.rdma.remote_addr = wr->remote_addr;
        request.wr.rdma.rkey = wr->rkey;
    }
    struct ibv_send_wr *bad = NULL;
    int error = ibv_post_send(qp, &request, &bad);
    if (error != 0) {
        errno = error;
        return psf_fail_errno("ibv_post_send");
    }
    return PSF_OK;
}

static int32_t verbs_post_recv(void *qp, uint64_t wr_id, void *addr, uint32_t length, uint32_t lkey)
{
    struct ibv_sge sge = { (uint64_t)(uintptr_t)addr, length, lkey };
    struct ibv_recv_wr request = { .wr_id = wr_id, .sg_list = &sge, .num_sge = 1 };
    struct ibv_recv_wr *bad = NULL;
    int error = ibv_post_recv(qp, &request, &bad);
    if (error != 0) {
        errno = error;
        return psf_fail_errno("ibv_post_recv");
    }
    return PSF_OK;
}

static int32_t verbs_poll_cq(void *cq, psf_rdma_wc *wc, int32_t max)
{
    struct ibv_wc polled[16];
    int count = ibv_poll_cq(cq, max < 16 ? max : 16, polled);
    if (count < 0)
        return psf_fail(PSF_E_SYSTEM, "ibv_poll_cq failed (%d)", count);
    for (int i = 0; i < count; i++) {
        int32_t opcode = PSF_RDMA_OP_SEND;
        if (polled[i].opcode == IBV_WC_RDMA_WRITE)
            opcode = PSF_RDMA_OP_WRITE_IMM;
        else if (polled[i].opcode == IBV_WC_RECV)
            opcode = PSF_RDMA_OP_RECV;
        else if (polled[i].opcode == IBV_WC_RECV_RDMA_WITH_IMM)
            opcode = PSF_RDMA_OP_RECV_IMM;
        wc[i] = (psf_rdma_wc){
            .wr_id = polled[i].wr_id, .status = (int32_t)polled[i].status, .opcode = opcode,
            .byte_len = polled[i].byte_len,
            .imm = (polled[i].wc_flags & IBV_WC_WITH_IMM) ? be32toh(polled[i].imm_data) : 0,
            .status_text = ibv_wc_status_str(polled[i].status),
        };
    }
    return count;
}

const psf_rdma_ops psf_rdma_verbs_ops = {
    "verbs", verbs_open, verbs_close, verbs_alloc_pd, verbs_dealloc_pd, verbs_reg_mr,
    verbs_dereg_mr, verbs_create_cq, verbs_destroy_cq, verbs_create_qp, verbs_destroy_qp,
    verbs_to_init, verbs_to_rtr, verbs_to_rts, verbs_post_send, verbs_post_recv, verbs_poll_cq,
};
