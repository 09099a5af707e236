/* Memory registrations of caller buffers, kept for reuse: registering pins pages and talks to
 * the device (tens of microseconds), so a buffer written every iteration is registered once. */
#ifndef PSF_RDMA_MR_CACHE_H
#define PSF_RDMA_MR_CACHE_H

#include "psf_rdma_ops.h"

typedef struct psf_rdma_mr_entry {
    psf_rdma_mr mr;
    uint32_t refs;                         /* writes in flight that use it: not evictable */
    struct psf_rdma_mr_entry *newer, *older;
} psf_rdma_mr_entry;

typedef struct psf_rdma_mr_cache {
    const psf_rdma_ops *ops;
    void *pd;
    uint64_t budget;                       /* registered bytes allowed */
    uint64_t bytes;
    psf_rdma_mr_entry *newest, *oldest;    /* LRU list, most recently used first */
    uint64_t hits, misses, evictions;
} psf_rdma_mr_cache;

void psf_rdma_mr_cache_init(psf_rdma_mr_cache *cache, const psf_rdma_ops *ops, void *pd,
                            uint64_t budget);

/* Finds a registration covering [addr, addr + length), or registers exactly that range, and
 * takes a reference. PSF_E_INVALID when length
 * exceeds the budget, PSF_E_AGAIN when only referenced entries could be evicted. */
int32_t psf_rdma_mr_cache_get(psf_rdma_mr_cache *cache, void *addr, uint64_t length,
                              psf_rdma_mr_entry **out);

/* Drops the reference taken by get. */
void psf_rdma_mr_cache_put(psf_rdma_mr_cache *cache, psf_rdma_mr_entry *entry);

/* Deregisters everything (references or not: the queue pair is gone). */
void psf_rdma_mr_cache_clear(psf_rdma_mr_cache *cache);

#endif
