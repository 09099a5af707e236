/* Test-only controls of the in-memory fake verbs (linked through psf_native_internal). */
#ifndef PSF_RDMA_FAKE_H
#define PSF_RDMA_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "psf_rdma_ops.h"

/* Forgets every fake object; call between tests. */
void psf_rdma_fake_reset(void);

/* The next posted send or write completes with this error status instead of executing. */
void psf_rdma_fake_fail_next_send(int32_t status);

/* Registrations made and dropped so far. */
uint64_t psf_rdma_fake_registrations(void);
uint64_t psf_rdma_fake_deregistrations(void);

/* While on, posted sends and writes execute when their queue pair's completion queue is
 * polled, not at the post (a device reads the memory some time later). */
void psf_rdma_fake_defer(bool defer);

/* A copy of the RDMA write posted `back` writes before the last (0: the last; up to 15), zeroed
 * when there is none. */
psf_rdma_send_wr psf_rdma_fake_write_posted(uint32_t back);

/* Fake status codes, named like the verbs ones they stand for. */
#define PSF_RDMA_FAKE_WC_RNR_RETRY_EXC 13
#define PSF_RDMA_FAKE_WC_REM_ACCESS    10
#define PSF_RDMA_FAKE_WC_LOC_LEN       1
#define PSF_RDMA_FAKE_WC_LOC_PROT      4

#endif
