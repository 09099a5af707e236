/* Built when the verbs headers are missing: every RDMA call says how to get it. */
#include "psf_internal.h"

#define PSF_RDMA_MISSING                                                                      \
    psf_fail(PSF_E_UNSUPPORTED,                                                               \
             "RDMA verbs not compiled in: install libibverbs-dev and rebuild the native shim")

int32_t psf_rdma_conn_create(uint32_t recv_slots, uint32_t slot_bytes, uint64_t region_bytes,
                             uint64_t mr_cache_bytes, psf_rdma_conn **out)
{
    (void)recv_slots, (void)slot_bytes, (void)region_bytes, (void)mr_cache_bytes;
    if (out != NULL)
        *out = NULL;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_local_info(psf_rdma_conn *conn, void *buf, uint32_t cap, uint32_t *length)
{
    (void)conn, (void)buf, (void)cap, (void)length;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_connect(psf_rdma_conn *conn, const void *remote_info, uint32_t length)
{
    (void)conn, (void)remote_info, (void)length;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_send(psf_rdma_conn *conn, int32_t type, const void *data, uint32_t length)
{
    (void)conn, (void)type, (void)data, (void)length;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_write(psf_rdma_conn *conn, const void *data, uint64_t length, uint64_t *token)
{
    (void)conn, (void)data, (void)length, (void)token;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_region_register(psf_rdma_conn *conn, uint64_t id, void *addr, uint64_t length,
                                 uint32_t *lkey)
{
    (void)conn, (void)id, (void)addr, (void)length, (void)lkey;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_region_deregister(psf_rdma_conn *conn, uint64_t id)
{
    (void)conn, (void)id;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_write_region(psf_rdma_conn *conn, uint64_t id, const void *data,
                              uint64_t length, uint64_t *token)
{
    (void)conn, (void)id, (void)data, (void)length, (void)token;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_poll(psf_rdma_conn *conn, psf_rdma_event *event)
{
    (void)conn, (void)event;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_release(psf_rdma_conn *conn, uint64_t token)
{
    (void)conn, (void)token;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_conn_stats(psf_rdma_conn *conn, psf_rdma_stats *stats)
{
    (void)conn, (void)stats;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_close(psf_rdma_conn *conn)
{
    (void)conn;
    return PSF_OK; /* nothing can have been created */
}

int32_t psf_rdma_fake_create(uint32_t recv_slots, uint32_t slot_bytes, uint64_t region_bytes,
                             uint64_t mr_cache_bytes, psf_rdma_conn **out)
{
    (void)recv_slots, (void)slot_bytes, (void)region_bytes, (void)mr_cache_bytes;
    if (out != NULL)
        *out = NULL;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_fake_fail_next(int32_t status)
{
    (void)status;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_fake_counts(uint64_t *registrations, uint64_t *deregistrations)
{
    (void)registrations, (void)deregistrations;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_fake_posted_write(uint32_t back, uint64_t *addr, uint64_t *length, uint32_t *lkey)
{
    (void)back, (void)addr, (void)length, (void)lkey;
    return PSF_RDMA_MISSING;
}

int32_t psf_rdma_fake_set_deferred(int32_t deferred)
{
    (void)deferred;
    return PSF_RDMA_MISSING;
}
