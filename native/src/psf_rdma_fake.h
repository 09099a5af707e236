/* Test-only controls of the in-memory fake verbs (linked through psf_native_internal). */
#ifndef PSF_RDMA_FAKE_H
#define PSF_RDMA_FAKE_H

#include <stdint.h>

/* Forgets every fake object; call between tests. */
void psf_rdma_fake_reset(void);

/* The next posted send or write completes with this error status instead of executing. */
void psf_rdma_fake_fail_next_send(int32_t status);

/* Registrations made and dropped so far. */
uint64_t psf_rdma_fake_registrations(void);
uint64_t psf_rdma_fake_deregistrations(void);

/* Fake status codes, named like the verbs ones they stand for. */
#define PSF_RDMA_FAKE_WC_RNR_RETRY_EXC 13
#define PSF_RDMA_FAKE_WC_REM_ACCESS    10
#define PSF_RDMA_FAKE_WC_LOC_LEN       1

#endif
