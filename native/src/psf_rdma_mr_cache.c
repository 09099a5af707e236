/* The registration cache: keyed by the registered range (a sub-range hits), LRU order, a byte budget.
 * A linear scan finds entries: a transport registers a handful of pooled buffers (the budget
 * divided by buffer sizes of 64 KiB and up), where a list beats a hash table. */
#include <stdlib.h>

#include "psf_rdma_mr_cache.h"

void psf_rdma_mr_cache_init(psf_rdma_mr_cache *cache, const psf_rdma_ops *ops, void *pd,
                            uint64_t budget)
{
    *cache = (psf_rdma_mr_cache){ .ops = ops, .pd = pd, .budget = budget };
}

static void unlink_entry(psf_rdma_mr_cache *cache, psf_rdma_mr_entry *entry)
{
    if (entry->newer != NULL)
        entry->newer->older = entry->older;
    else
        cache->newest = entry->older;
    if (entry->older != NULL)
        entry->older->newer = entry->newer;
    else
        cache->oldest = entry->newer;
    entry->newer = entry->older = NULL;
}

static void push_newest(psf_rdma_mr_cache *cache, psf_rdma_mr_entry *entry)
{
    entry->older = cache->newest;
    entry->newer = NULL;
    if (cache->newest != NULL)
        cache->newest->newer = entry;
    cache->newest = entry;
    if (cache->oldest == NULL)
        cache->oldest = entry;
}

static void drop(psf_rdma_mr_cache *cache, psf_rdma_mr_entry *entry)
{
    unlink_entry(cache, entry);
    cache->ops->dereg_mr(&entry->mr);
    cache->bytes -= entry->mr.length;
    free(entry);
}

int32_t psf_rdma_mr_cache_get(psf_rdma_mr_cache *cache, void *addr, uint64_t length,
                              psf_rdma_mr_entry **out)
{
    for (psf_rdma_mr_entry *entry = cache->newest; entry != NULL; entry = entry->older) {
        /* Any registration that covers the range will do: a staging buffer registered whole
         * once serves every shorter write from its start. */
        uint8_t *start = entry->mr.addr;
        if (start <= (uint8_t *)addr && (uint8_t *)addr + length <= start + entry->mr.length) {
            cache->hits++;
            unlink_entry(cache, entry);
            push_newest(cache, entry);
            entry->refs++;
            *out = entry;
            return PSF_OK;
        }
    }
    if (length > cache->budget)
        return psf_fail(PSF_E_INVALID, "rdma: a %llu byte buffer exceeds the %llu byte "
                        "registration budget", (unsigned long long)length,
                        (unsigned long long)cache->budget);
    psf_rdma_mr_entry *victim = cache->oldest;
    while (cache->bytes + length > cache->budget && victim != NULL) {
        psf_rdma_mr_entry *next = victim->newer;
        if (victim->refs == 0) {
            drop(cache, victim);
            cache->evictions++;
        }
        victim = next;
    }
    if (cache->bytes + length > cache->budget)
        return PSF_E_AGAIN; /* every registration is in flight; completions will free some */
    psf_rdma_mr_entry *entry = calloc(1, sizeof *entry);
    if (entry == NULL)
        return psf_fail(PSF_E_NOMEM, "rdma: out of memory for a registration");
    int32_t status = cache->ops->reg_mr(cache->pd, addr, length, &entry->mr);
    if (status < 0) {
        free(entry);
        return status;
    }
    cache->misses++;
    cache->bytes += length;
    entry->refs = 1;
    push_newest(cache, entry);
    *out = entry;
    return PSF_OK;
}

void psf_rdma_mr_cache_put(psf_rdma_mr_cache *cache, psf_rdma_mr_entry *entry)
{
    (void)cache;
    if (entry->refs > 0)
        entry->refs--;
}

void psf_rdma_mr_cache_clear(psf_rdma_mr_cache *cache)
{
    while (cache->newest != NULL)
        drop(cache, cache->newest);
}
