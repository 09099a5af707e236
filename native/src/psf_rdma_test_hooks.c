/* The exported test hooks of psf.h: the RDMA connection logic over the in-memory fake verbs,
 * so the managed transport's tests drive credits, completions and errors on machines without
 * an RDMA device. Nothing in the transport calls these. */
#include "psf_rdma_fake.h"
#include "psf_rdma_internal.h"

int32_t psf_rdma_fake_create(uint32_t recv_slots, uint32_t slot_bytes, uint64_t region_bytes,
                             uint64_t mr_cache_bytes, psf_rdma_conn **out)
{
    return psf_rdma_conn_create_with(&psf_rdma_fake_ops, recv_slots, slot_bytes, region_bytes,
                                     mr_cache_bytes, out);
}

int32_t psf_rdma_fake_fail_next(int32_t status)
{
    if (status <= 0)
        return psf_fail(PSF_E_INVALID, "psf_rdma_fake_fail_next: status %d is not an error", status);
    psf_rdma_fake_fail_next_send(status);
    return PSF_OK;
}

int32_t psf_rdma_fake_counts(uint64_t *registrations, uint64_t *deregistrations)
{
    if (registrations == NULL || deregistrations == NULL)
        return psf_fail(PSF_E_INVALID, "psf_rdma_fake_counts: null argument");
    *registrations = psf_rdma_fake_registrations();
    *deregistrations = psf_rdma_fake_deregistrations();
    return PSF_OK;
}

int32_t psf_rdma_fake_posted_write(uint32_t back, uint64_t *addr, uint64_t *length, uint32_t *lkey)
{
    if (addr == NULL || length == NULL || lkey == NULL)
        return psf_fail(PSF_E_INVALID, "psf_rdma_fake_posted_write: null argument");
    psf_rdma_send_wr last = psf_rdma_fake_write_posted(back);
    *addr = (uint64_t)(uintptr_t)last.addr;
    *length = last.length;
    *lkey = last.lkey;
    return PSF_OK;
}

int32_t psf_rdma_fake_set_deferred(int32_t deferred)
{
    psf_rdma_fake_defer(deferred != 0);
    return PSF_OK;
}
