/* Caller regions: memory the caller owns and registers for the connection's lifetime (the
 * tables' slabs), written from in place with no staging copy. Unlike the registration cache,
 * nothing here is ever evicted or registered on the fly: the caller registers a region when it
 * is allocated or grown and deregisters it before freeing it, which is what makes writing from
 * it safe (memory freed while registered could be remapped while the device still reads the
 * old pages). */
#include <stdlib.h>

#include "psf_rdma_internal.h"

static psf_rdma_region *find(psf_rdma_conn *conn, uint64_t id)
{
    for (uint32_t i = 0; i < conn->region_count; i++)
        if (conn->regions[i].id == id)
            return &conn->regions[i];
    return NULL;
}

int32_t psf_rdma_region_register(psf_rdma_conn *conn, uint64_t id, void *addr, uint64_t length,
                                 uint32_t *lkey)
{
    if (conn == NULL || addr == NULL || length == 0 || lkey == NULL)
        return psf_fail(PSF_E_INVALID, "psf_rdma_region_register: null argument or empty region");
    if (conn->broken)
        return psf_fail(PSF_E_CLOSED, "psf_rdma_region_register: the connection failed earlier");
    psf_rdma_region *existing = find(conn, id);
    if (existing == NULL && conn->region_count == conn->region_cap) {
        uint32_t cap = conn->region_cap == 0 ? 8 : conn->region_cap * 2;
        if (cap > PSF_RDMA_MAX_REGIONS)
            return psf_fail(PSF_E_NOMEM, "psf_rdma_region_register: more than %u regions",
                            PSF_RDMA_MAX_REGIONS);
        psf_rdma_region *grown = realloc(conn->regions, cap * sizeof *grown);
        if (grown == NULL)
            return psf_fail(PSF_E_NOMEM, "psf_rdma_region_register: out of memory");
        conn->regions = grown;
        conn->region_cap = cap;
    }
    /* A grown region is registered anew before the old registration goes: if the device
     * refuses (the memlock limit), the old one still covers what it covered. */
    psf_rdma_mr mr;
    int32_t status = conn->ops->reg_mr(conn->pd, addr, length, &mr);
    if (status < 0)
        return status;
    if (existing != NULL)
        conn->ops->dereg_mr(&existing->mr);
    else
        existing = &conn->regions[conn->region_count++];
    *existing = (psf_rdma_region){ id, mr };
    *lkey = mr.lkey;
    return PSF_OK;
}

int32_t psf_rdma_region_deregister(psf_rdma_conn *conn, uint64_t id)
{
    if (conn == NULL)
        return psf_fail(PSF_E_INVALID, "psf_rdma_region_deregister: null connection");
    psf_rdma_region *region = find(conn, id);
    if (region == NULL)
        return psf_fail(PSF_E_INVALID, "psf_rdma_region_deregister: no region %llu",
                        (unsigned long long)id);
    conn->ops->dereg_mr(&region->mr);
    *region = conn->regions[--conn->region_count];
    return PSF_OK;
}

int32_t psf_rdma_write_region(psf_rdma_conn *conn, uint64_t id, const void *data,
                              uint64_t length, uint64_t *token)
{
    int32_t status = psf_rdma_check_write(conn, "psf_rdma_write_region", data, length, token);
    if (status < 0)
        return status;
    psf_rdma_region *region = find(conn, id);
    const uint8_t *start = region != NULL ? region->mr.addr : NULL;
    if (region == NULL || (const uint8_t *)data < start ||
        length > region->mr.length - (uint64_t)((const uint8_t *)data - start))
        return psf_fail(PSF_E_INVALID, "psf_rdma_write_region: %llu bytes at %p do not lie in "
                        "region %llu", (unsigned long long)length, data, (unsigned long long)id);
    return psf_rdma_post_write(conn, data, length, region->mr.lkey, NULL, token);
}

void psf_rdma_regions_clear(psf_rdma_conn *conn)
{
    for (uint32_t i = 0; i < conn->region_count; i++)
        conn->ops->dereg_mr(&conn->regions[i].mr);
    free(conn->regions);
    conn->regions = NULL;
    conn->region_count = conn->region_cap = 0;
}
