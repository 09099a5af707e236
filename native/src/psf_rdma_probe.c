/* Tells whether RDMA verbs can be used here. The verbs transport itself builds on this. */
#include <errno.h>

#include "psf_internal.h"

#if defined(PSF_HAVE_RDMA)
#include <infiniband/verbs.h>

int32_t psf_rdma_device_count(void)
{
    int count = 0;
    errno = 0;
    struct ibv_device **devices = ibv_get_device_list(&count);
    if (devices == NULL) {
        if (errno == ENOSYS || errno == 0)
            return psf_fail(PSF_E_NODEVICE, "no RDMA device: this kernel has no RDMA support (errno %d)", errno);
        return psf_fail_errno("ibv_get_device_list");
    }
    ibv_free_device_list(devices);
    if (count == 0)
        return psf_fail(PSF_E_NODEVICE, "no RDMA device: ibv_get_device_list found none");
    return count;
}
#else
int32_t psf_rdma_device_count(void)
{
    return psf_fail(PSF_E_UNSUPPORTED,
                    "RDMA verbs not compiled in: install libibverbs-dev and rebuild the native shim");
}
#endif
